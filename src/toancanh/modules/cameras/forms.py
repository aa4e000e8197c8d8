"""The camera form (thêm / sửa camera): `/cameras/new` and `/cameras/{id}/edit`, for whoever may write cameras
in a unit. A plain HTML form posted to the server (it works without scripts; a small script only lets the map
pick the position); the same checks as the API (`service.create_camera`, `service.update_camera`), and a
rejected form is shown again with the reasons and the values typed, having changed nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.api.deps import SessionDep
from toancanh.core.assets import DOMAIN_LABELS, DOMAINS
from toancanh.core.auth.scope import Principal, scoped
from toancanh.core.errors import AppError
from toancanh.core.units import Unit
from toancanh.modules.cameras import service
from toancanh.modules.cameras.models import GROUPS, SOURCE_KINDS
from toancanh.modules.cameras.runtime import runtime_of
from toancanh.modules.cameras.schemas import CameraCreate, CameraUpdate, NewAsset
from toancanh.modules.cameras.web import _page
from toancanh.web import render
from toancanh.web.pages import csrf_ok, form_errors, locale_of, page_principal

router = APIRouter()
SOURCE_LABELS = {
    "rtsp": ("RTSP (đầu ghi, camera IP)", "RTSP (NVR, IP camera)"),
    "http_mjpeg": ("HTTP MJPEG", "HTTP MJPEG"),
    "hls": ("HLS (.m3u8)", "HLS (.m3u8)"),
    "file": ("Tệp video (thử nghiệm)", "Video file (testing)"),
}
Text = Annotated[str, Form(max_length=1000)]
Short = Annotated[str, Form(max_length=200)]


def _writable_units(db: Session, principal: Principal) -> list[Unit]:
    return list(db.scalars(scoped(select(Unit), principal, Unit, service.WRITE).order_by(Unit.path)))


def _number(value: str) -> float | None:
    value = value.strip().replace(",", ".")
    return float(value) if value else None


def _form(request: Request, db: Session, principal: Principal, values: dict[str, Any], **extra: Any) -> Any:
    locale = locale_of(request)
    i = 0 if locale == "vi" else 1
    ctx = _page(
        request,
        v=values,
        units=_writable_units(db, principal),
        domains=DOMAINS,
        domain_label={k: v[i] for k, v in DOMAIN_LABELS.items()},
        source_kinds=SOURCE_KINDS,
        source_label={k: v[i] for k, v in SOURCE_LABELS.items()},
        errors=[],
        **extra,
    )
    return ctx


def _values(
    code: str = "",
    name: str = "",
    unit_id: str = "",
    domain: str = "security",
    lat: str = "",
    lon: str = "",
    source_kind: str = "rtsp",
    substream_url: str = "",
    main_url: str = "",
    username: str = "",
    detect_fps: str = "5",
    direction_deg: str = "",
    fov_deg: str = "90",
    range_m: str = "60",
    groups: list[str] | None = None,
    enabled: bool = True,
) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "unit_id": unit_id,
        "domain": domain,
        "lat": lat,
        "lon": lon,
        "source_kind": source_kind,
        "substream_url": substream_url,
        "main_url": main_url,
        "username": username,
        "detect_fps": detect_fps,
        "direction_deg": direction_deg,
        "fov_deg": fov_deg,
        "range_m": range_m,
        "groups": groups or [],
        "enabled": enabled,
    }


def _fields(v: dict[str, Any], password: str) -> dict[str, Any]:
    """What both forms send to the service, typed; blank optional fields are left out."""
    out: dict[str, Any] = {
        "source_kind": v["source_kind"],
        "substream_url": v["substream_url"].strip(),
        "main_url": v["main_url"].strip(),
        "groups": [g for g in v["groups"] if g in GROUPS],
        "enabled": v["enabled"],
    }
    for key in ("detect_fps", "direction_deg", "fov_deg", "range_m"):
        number = _number(v[key])
        if number is not None:
            out[key] = number
    if v["username"].strip():
        out["username"] = v["username"].strip()
    if password:
        out["password"] = password
    return out


@router.get("/cameras/new")
def new_page(request: Request, db: SessionDep) -> Any:
    principal = page_principal(request, db, service.WRITE)
    if isinstance(principal, Response):
        return principal
    unit = next(iter(_writable_units(db, principal)), None)
    values = _values(unit_id=str(unit.id) if unit else "")
    if unit is not None and unit.lat is not None:
        values["lat"], values["lon"] = f"{unit.lat:.6f}", f"{unit.lon:.6f}"
    return render(request, "cameras/form.html", _form(request, db, principal, values, camera=None))


@router.post("/cameras/new")
def create(
    request: Request,
    tasks: BackgroundTasks,
    db: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    code: Annotated[str, Form(max_length=64)] = "",
    name: Short = "",
    unit_id: Annotated[str, Form(max_length=20)] = "",
    domain: Annotated[str, Form(max_length=32)] = "",
    lat: Annotated[str, Form(max_length=30)] = "",
    lon: Annotated[str, Form(max_length=30)] = "",
    source_kind: Annotated[str, Form(max_length=16)] = "rtsp",
    substream_url: Text = "",
    main_url: Text = "",
    username: Annotated[str, Form(max_length=120)] = "",
    password: Short = "",
    detect_fps: Annotated[str, Form(max_length=10)] = "",
    direction_deg: Annotated[str, Form(max_length=10)] = "",
    fov_deg: Annotated[str, Form(max_length=10)] = "",
    range_m: Annotated[str, Form(max_length=10)] = "",
    groups: Annotated[list[str] | None, Form(max_length=len(GROUPS))] = None,
    enabled: Annotated[str, Form(max_length=5)] = "",
) -> Any:
    principal = page_principal(request, db, service.WRITE)
    if isinstance(principal, Response):
        return principal
    if not csrf_ok(request, csrf):
        return render(request, "error.html", {"title": "403"}, 403)
    v = _values(
        code, name, unit_id, domain, lat, lon, source_kind, substream_url, main_url, username,
        detect_fps, direction_deg, fov_deg, range_m, groups, enabled == "on",
    )  # fmt: skip
    try:
        asset = NewAsset(
            code=code.strip(),
            name=name.strip(),
            unit_id=int(unit_id or 0),
            domain=domain,
            lat=_number(lat),  # type: ignore[arg-type]
            lon=_number(lon),  # type: ignore[arg-type]
        )
        body = CameraCreate(asset=asset, **_fields(v, password))
        rt = runtime_of(request.app)
        camera, _ = service.create_camera(db, principal, body, rt.vault, request.app.state.settings)
        db.commit()
    except (AppError, ValidationError, ValueError) as exc:
        db.rollback()
        ctx = _form(request, db, principal, v, camera=None)
        ctx["errors"] = form_errors(exc, locale_of(request))
        return render(request, "cameras/form.html", ctx, 400)
    tasks.add_task(runtime_of(request.app).resync)
    return RedirectResponse(f"/cameras/{camera.id}", status_code=303)


@router.get("/cameras/{camera_id:int}/edit")
def edit_page(camera_id: int, request: Request, db: SessionDep) -> Any:
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    found = _editable(request, db, principal, camera_id)
    if isinstance(found, Response):
        return found
    camera, asset = found
    values = _values(
        asset.code, asset.name, str(asset.unit_id), asset.domain, f"{asset.lat}", f"{asset.lon}",
        camera.source_kind, camera.substream_url, camera.main_url or "", "",
        f"{camera.detect_fps:g}", "" if camera.direction_deg is None else f"{camera.direction_deg:g}",
        f"{camera.fov_deg:g}", f"{camera.range_m:g}", list(camera.groups or []), camera.enabled,
    )  # fmt: skip
    ctx = _form(request, db, principal, values, camera=camera, asset=asset)
    return render(request, "cameras/form.html", ctx)


def _editable(request: Request, db: Session, principal: Principal, camera_id: int) -> Any:
    try:
        return service.get_camera(db, principal, camera_id, service.WRITE)
    except AppError as exc:
        return render(request, "error.html", {"title": form_errors(exc, locale_of(request))[0]}, exc.status)


@router.post("/cameras/{camera_id:int}/edit")
def update(
    camera_id: int,
    request: Request,
    tasks: BackgroundTasks,
    db: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    name: Short = "",
    source_kind: Annotated[str, Form(max_length=16)] = "rtsp",
    substream_url: Text = "",
    main_url: Text = "",
    username: Annotated[str, Form(max_length=120)] = "",
    password: Short = "",
    clear_credentials: Annotated[str, Form(max_length=5)] = "",
    detect_fps: Annotated[str, Form(max_length=10)] = "",
    direction_deg: Annotated[str, Form(max_length=10)] = "",
    fov_deg: Annotated[str, Form(max_length=10)] = "",
    range_m: Annotated[str, Form(max_length=10)] = "",
    groups: Annotated[list[str] | None, Form(max_length=len(GROUPS))] = None,
    enabled: Annotated[str, Form(max_length=5)] = "",
) -> Any:
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    if not csrf_ok(request, csrf):
        return render(request, "error.html", {"title": "403"}, 403)
    found = _editable(request, db, principal, camera_id)
    if isinstance(found, Response):
        return found
    camera, asset = found
    v = _values(
        asset.code, name, str(asset.unit_id), asset.domain, f"{asset.lat}", f"{asset.lon}",
        source_kind, substream_url, main_url, username, detect_fps, direction_deg, fov_deg, range_m,
        groups, enabled == "on",
    )  # fmt: skip
    try:
        fields = _fields(v, password)
        if name.strip():
            fields["name"] = name.strip()
        body = CameraUpdate(clear_credentials=clear_credentials == "on", **fields)
        rt = runtime_of(request.app)
        service.update_camera(db, principal, camera, asset, body, rt.vault, request.app.state.settings)
        db.commit()
    except (AppError, ValidationError, ValueError) as exc:
        db.rollback()
        ctx = _form(request, db, principal, v, camera=camera, asset=asset)
        ctx["errors"] = form_errors(exc, locale_of(request))
        return render(request, "cameras/form.html", ctx, 400)
    tasks.add_task(runtime_of(request.app).resync)
    return RedirectResponse(f"/cameras/{camera_id}", status_code=303)

"""The cameras API: `/api/v1/cameras` (registry, health, snapshot, MJPEG live view, ONVIF discovery) and
`/api/v1/cameras/{id}/zones`. Every view of a camera's image is audited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select

from toancanh.core.api.deps import CurrentPrincipal, DetachedPrincipal, SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.core.auth.scope import Principal, unit_path_of
from toancanh.core.errors import ServiceUnavailable
from toancanh.modules.cameras import onvif, service
from toancanh.modules.cameras.models import Camera
from toancanh.modules.cameras.monitor import CameraMonitor, cached_snapshot
from toancanh.modules.cameras.privacy import UNBLURRED
from toancanh.modules.cameras.runtime import runtime_of
from toancanh.modules.cameras.schemas import CameraCreate, CameraUpdate, ZoneIn, ZoneUpdate
from toancanh.modules.cameras.stream import StreamError, grab_snapshot
from toancanh.settings import Settings

router = APIRouter(prefix="/api/v1/cameras", tags=["cameras"])
BOUNDARY = "frame"
NO_IMAGE = (
    "Camera chưa có hình ảnh (mất tín hiệu hoặc đang kết nối)",
    "No image from this camera (offline or connecting)",
)


def _health(request: Request, camera: Camera) -> dict[str, Any] | None:
    monitor = runtime_of(request.app).monitor
    h = monitor.health(camera.id) if monitor is not None else None
    return h.as_dict() if h is not None else None


async def _resync(app: Any) -> None:
    await runtime_of(app).resync()


def _commit_then_resync(db: Any, request: Request, tasks: BackgroundTasks) -> None:
    # The monitor reads the registry in sessions of its own: commit first (the request's session would
    # commit only after the background task ran), then let it pick the change up.
    db.commit()
    tasks.add_task(_resync, request.app)


# ------------------------------------------------------------------------------------------ registry


@router.get("")
def list_cameras(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    group: Annotated[str | None, Query(max_length=32)] = None,
    unit_id: DbId | None = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    format: Annotated[str, Query(pattern="^(json|geojson)$")] = "json",
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> Any:
    """Cameras the caller may see, with filters; `format=geojson` for a map (view direction and cone)."""
    rows = service.list_cameras(db, principal, group=group, unit_id=unit_id, status=status, q=q, limit=limit)
    if format == "geojson":
        return service.cameras_geojson(rows)
    return [service.camera_summary(c, a, _health(request, c)) for c, a in rows]


@router.post("", status_code=201)
def create_camera(
    body: CameraCreate, request: Request, db: SessionDep, principal: CurrentPrincipal, tasks: BackgroundTasks
) -> dict[str, Any]:
    rt = runtime_of(request.app)
    camera, asset = service.create_camera(db, principal, body, rt.vault, request.app.state.settings)
    out = service.camera_summary(camera, asset)
    _commit_then_resync(db, request, tasks)
    return out


@router.get("/discover")
def discover(request: Request, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """ONVIF devices on the local network that no registered camera points at yet (administrators)."""
    principal.require(service.DISCOVER)
    s = request.app.state.settings
    try:
        found = onvif.discover(s.onvif_probe_address, s.onvif_timeout_s)
    except OSError as exc:
        raise ServiceUnavailable(
            "Không gửi được gói dò tìm ONVIF trên mạng này", "Cannot send the ONVIF probe on this network"
        ) from exc
    hosts = set()
    for sub, main in db.execute(select(Camera.substream_url, Camera.main_url)).tuples():
        hosts |= {urlsplit(u).hostname for u in (sub, main) if u}
    new = [d for d in found if d.host not in hosts]
    return {"found": len(found), "devices": [d.as_dict() for d in new]}


@router.get("/{camera_id}")
def get_camera(
    camera_id: DbId, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """A camera with its health (from the monitor when it watches this camera) and its zones."""
    camera, asset = service.get_camera(db, principal, camera_id)
    out = service.camera_summary(camera, asset, _health(request, camera))
    out["zones"] = [z.summary() for z in service.list_zones(db, camera)]
    out["can_view"] = principal.can(service.VIEW, unit_path_of(db, asset.unit_id), asset.domain)
    return out


@router.patch("/{camera_id}")
def update_camera(
    camera_id: DbId,
    body: CameraUpdate,
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    tasks: BackgroundTasks,
) -> dict[str, Any]:
    camera, asset = service.get_camera(db, principal, camera_id, service.WRITE)
    rt = runtime_of(request.app)
    service.update_camera(db, principal, camera, asset, body, rt.vault, request.app.state.settings)
    out = service.camera_summary(camera, asset)
    _commit_then_resync(db, request, tasks)
    return out


@router.delete("/{camera_id}", status_code=204)
def delete_camera(
    camera_id: DbId, request: Request, db: SessionDep, principal: CurrentPrincipal, tasks: BackgroundTasks
) -> Response:
    camera, asset = service.get_camera(db, principal, camera_id, service.WRITE)
    service.delete_camera(db, principal, camera, asset)
    _commit_then_resync(db, request, tasks)
    return Response(status_code=204)


# ------------------------------------------------------------------------------------------ images


def _viewable(request: Request, principal: Principal, camera_id: int, kind: str) -> tuple[Camera, bool]:
    """The camera if the caller may watch it, and whether they see it unblurred; audits the view (once per
    viewing session). Short sessions of its own: a live stream must not hold a request transaction open."""
    database = request.app.state.db
    with database.read_session() as db:
        camera, asset = service.get_camera(db, principal, camera_id, service.VIEW)
        raw = principal.can(UNBLURRED, unit_path_of(db, asset.unit_id), asset.domain)
        db.expunge_all()  # loaded: they outlive this session's rollback
    rt = runtime_of(request.app)
    if rt.views.due(principal.user_id, camera.id, kind):
        with database.session() as db:
            service.record_view(db, principal, camera, asset, kind, blurred=not raw)
    return camera, raw


@router.get("/{camera_id}/snapshot.jpg")
def snapshot(camera_id: DbId, request: Request, principal: DetachedPrincipal) -> Response:
    """The camera's latest frame as a JPEG: from the monitor, else taken now (monitor off), else the last
    one cached on disk; 503 when there is none."""
    camera, raw = _viewable(request, principal, camera_id, "snapshot")
    rt = runtime_of(request.app)
    settings = request.app.state.settings
    data: bytes | None = None
    if rt.monitor is not None:
        data = rt.monitor.jpeg(camera.id)
    elif camera.enabled:
        try:
            data = grab_snapshot(service.source_of(camera, rt.vault, settings)).jpeg
        except StreamError:
            data = None
    if data is None:
        cached = cached_snapshot(settings, camera.id)
        data = cached.read_bytes() if cached is not None else None
    if data is None:
        raise ServiceUnavailable(*NO_IMAGE, code="no_image")
    if not raw:
        data = rt.privacy.blur_jpeg(data)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


def _live_frames(monitor: CameraMonitor, settings: Settings, camera_id: int) -> Callable[[], bytes | None]:
    """Where the live view's frames come from: this process's watcher when it holds the camera's lease,
    else the image the watching process (a worker) leaves on disk, sent again only when it changed."""
    if monitor.health(camera_id) is not None:
        return lambda: monitor.jpeg(camera_id)
    seen: list[float] = []

    def from_disk() -> bytes | None:
        path = cached_snapshot(settings, camera_id)
        if path is None:
            return None
        try:
            mtime = path.stat().st_mtime
            if seen and seen[0] == mtime:
                return None
            data = path.read_bytes()
        except OSError:
            return None
        seen[:] = [mtime]
        return data

    return from_disk


@router.get("/{camera_id}/mjpeg")
async def mjpeg(
    camera_id: DbId,
    request: Request,
    principal: DetachedPrincipal,
    fps: Annotated[float, Query(gt=0, le=30)] = 5.0,
    limit: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Live view: `multipart/x-mixed-replace` JPEG frames at most `camera_mjpeg_max_fps` a second
    (`limit` frames, 0 for no end)."""
    camera, raw = await asyncio.to_thread(_viewable, request, principal, camera_id, "live")
    rt = runtime_of(request.app)
    monitor = rt.monitor
    settings = request.app.state.settings
    if monitor is None:
        raise ServiceUnavailable(
            "Xem trực tiếp cần bộ giám sát camera (camera_monitor)", "Live view needs the camera monitor"
        )
    frames = _live_frames(monitor, settings, camera.id)

    def latest() -> bytes | None:
        data = frames()
        return data if raw or data is None else rt.privacy.blur_jpeg(data)

    if await asyncio.to_thread(latest) is None:
        raise ServiceUnavailable(*NO_IMAGE, code="no_image")
    period = 1.0 / min(fps, settings.camera_mjpeg_max_fps)

    async def parts() -> AsyncIterator[bytes]:
        sent = 0
        while limit == 0 or sent < limit:
            data = await asyncio.to_thread(latest)
            if data is not None:
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
                yield head.encode() + data + b"\r\n"
                sent += 1
            if await request.is_disconnected():
                return
            await asyncio.sleep(period)

    return StreamingResponse(
        parts(),
        media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
        headers={"Cache-Control": "no-store"},
    )


# ------------------------------------------------------------------------------------------ zones


@router.get("/{camera_id}/zones")
def list_zones(camera_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    camera, _ = service.get_camera(db, principal, camera_id)
    return [z.summary() for z in service.list_zones(db, camera)]


@router.post("/{camera_id}/zones", status_code=201)
def create_zone(camera_id: DbId, body: ZoneIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    camera, asset = service.get_camera(db, principal, camera_id, service.WRITE)
    return service.create_zone(db, principal, camera, asset, body).summary()


@router.patch("/{camera_id}/zones/{zone_id}")
def update_zone(
    camera_id: DbId, zone_id: DbId, body: ZoneUpdate, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    camera, asset = service.get_camera(db, principal, camera_id, service.WRITE)
    zone = service.get_zone(db, camera, zone_id)
    service.update_zone(db, principal, zone, asset, body)
    return zone.summary()


@router.delete("/{camera_id}/zones/{zone_id}", status_code=204)
def delete_zone(camera_id: DbId, zone_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> Response:
    camera, asset = service.get_camera(db, principal, camera_id, service.WRITE)
    service.delete_zone(db, principal, service.get_zone(db, camera, zone_id), asset)
    return Response(status_code=204)

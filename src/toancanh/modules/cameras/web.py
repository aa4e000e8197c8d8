"""Pages of the cameras module (Vietnamese first):

- `/cameras`: the list with status dots, filters and the cameras on a map with their view cones;
- `/cameras/wall`: the camera wall (màn hình camera) for the control room: a 2x2, 3x3 or 4x4 grid of
  snapshots refreshed every few seconds, full screen, rotating through pages;
- `/cameras/{id}`: one camera: live view, health, the zones editor drawn on its snapshot.

The static scripts act through the JSON API (the CSP allows no inline script).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response

from toancanh.core.api.deps import SessionDep
from toancanh.core.auth.scope import unit_path_of
from toancanh.core.errors import AppError, NotFound
from toancanh.modules.cameras import service
from toancanh.modules.cameras.models import GROUPS, PURPOSES
from toancanh.modules.cameras.runtime import runtime_of
from toancanh.web import render
from toancanh.web.pages import home_unit, locale_of, page_principal

router = APIRouter()
STATIC = Path(__file__).parent / "static"
_STATIC_NAME = re.compile(r"^[a-z0-9-]+\.(js|css)$")
_MEDIA = {"js": "text/javascript", "css": "text/css"}

GROUP_LABELS = {
    "school_gate": ("Cổng trường", "School gate"),
    "intersection": ("Nút giao thông", "Intersection"),
    "waste_point": ("Điểm tập kết rác", "Waste point"),
    "kitchen": ("Bếp ăn trường học", "School kitchen"),
    "public_place": ("Nơi công cộng", "Public place"),
}
STATUS_LABELS = {
    "online": ("Trực tuyến", "Online"),
    "offline": ("Mất tín hiệu", "Offline"),
    "connecting": ("Đang kết nối", "Connecting"),
    "maintenance": ("Bảo trì", "Maintenance"),
    "active": ("Chưa rõ", "Unknown"),
    "retired": ("Ngừng sử dụng", "Retired"),
}
PURPOSE_LABELS = {
    "no_dumping": ("Cấm đổ rác", "No dumping"),
    "gate": ("Cổng trường", "Gate"),
    "no_stopping": ("Cấm dừng đỗ", "No stopping"),
    "food_prep": ("Khu sơ chế, chế biến", "Food preparation"),
    "crossing": ("Vạch sang đường", "Crossing"),
    "count_line": ("Vạch đếm xe", "Count line"),
    "loitering": ("Tụ tập, lảng vảng", "Loitering"),
    "privacy": ("Che vùng riêng tư", "Privacy"),
}
KIND_LABELS = {"zone": ("Vùng", "Zone"), "line": ("Vạch", "Line"), "mask": ("Vùng che", "Mask")}
SCHEDULE_LABELS = {
    "always": ("Luôn luôn", "Always"),
    "school_hours": ("Giờ học, ngày học (06:30–17:30)", "School hours on school days (06:30–17:30)"),
    "custom": ("Tùy chỉnh theo tuần", "Custom weekly hours"),
}
DIRECTION_LABELS = {
    "a_to_b": ("A → B", "A → B"),
    "b_to_a": ("B → A", "B → A"),
    "both": ("Hai chiều", "Both ways"),
}
# Messages of the static scripts, (Vietnamese, English).
JS_MESSAGES = {
    "saved": ("Đã lưu vùng", "Zone saved"),
    "deleted": ("Đã xóa vùng", "Zone deleted"),
    "need_points": (
        "Bấm lên hình để thêm điểm, bấm đúp để kết thúc",
        "Click to add points, double-click to finish",
    ),
    "confirm_delete": ("Xóa vùng này?", "Delete this zone?"),
    "no_image": ("Chưa có hình ảnh", "No image"),
    "offline": ("Mất tín hiệu", "Offline"),
    "page": ("Trang", "Page"),
    "error": ("Lỗi", "Error"),
}


def _labels(table: dict[str, tuple[str, str]], locale: str) -> dict[str, str]:
    i = 0 if locale == "vi" else 1
    return {k: v[i] for k, v in table.items()}


def _page(request: Request, **extra: Any) -> dict[str, Any]:
    locale = locale_of(request)
    return {
        "t": lambda vi, en: vi if locale == "vi" else en,
        "group_label": _labels(GROUP_LABELS, locale),
        "status_label": _labels(STATUS_LABELS, locale),
        "purpose_label": _labels(PURPOSE_LABELS, locale),
        "kind_label": _labels(KIND_LABELS, locale),
        "schedule_label": _labels(SCHEDULE_LABELS, locale),
        "direction_label": _labels(DIRECTION_LABELS, locale),
        "groups": GROUPS,
        "purposes": PURPOSES,
        **extra,
    }


@router.get("/cameras/static/{name}")
def static_file(name: str) -> Response:
    path = STATIC / name
    if not _STATIC_NAME.fullmatch(name) or not path.is_file():
        raise NotFound()
    return FileResponse(
        path, media_type=_MEDIA[name.rsplit(".", 1)[1]], headers={"Cache-Control": "no-cache"}
    )


@router.get("/cameras")
def list_page(
    request: Request,
    db: SessionDep,
    group: str = Query("", max_length=32),
    status: str = Query("", max_length=16),
    q: str = Query("", max_length=100),
) -> Any:
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    group = group if group in GROUPS else ""
    rows = service.list_cameras(db, principal, group=group or None, status=status or None, q=q or None)
    counts = {"all": len(rows), "online": sum(1 for _, a in rows if a.status == "online")}
    monitor = runtime_of(request.app).monitor
    health = {}
    for c, a in rows:  # the monitor's figures when it watches the camera, else the last ones stored
        h = monitor.health(c.id) if monitor is not None else None
        state = a.last_state or {}
        health[c.id] = (
            h.as_dict()
            if h is not None
            else {"fps": state.get("fps"), "last_frame_at": state.get("last_frame_at")}
        )
    unit = home_unit(db, principal)
    ctx = _page(
        request,
        rows=rows,
        counts=counts,
        health=health,
        f={"group": group, "status": status, "q": q},
        unit=unit,
        can_view=principal.has(service.VIEW),
        can_write=principal.has(service.WRITE),
    )
    return render(request, "cameras/list.html", ctx)


@router.get("/cameras/wall")
def wall_page(
    request: Request,
    db: SessionDep,
    grid: int = Query(3, ge=2, le=4),
    interval: int = Query(5, ge=1, le=300),
    rotate: int = Query(30, ge=0, le=3600),
    group: str = Query("", max_length=32),
) -> Any:
    principal = page_principal(request, db, service.VIEW)
    if isinstance(principal, Response):
        return principal
    rows = service.list_cameras(db, principal, group=group if group in GROUPS else None)
    viewable = [
        (c, a)
        for c, a in rows
        if principal.can(service.VIEW, unit_path_of(db, a.unit_id), a.domain) and c.enabled
    ]
    ctx = _page(
        request,
        rows=viewable,
        grid=grid,
        interval=interval,
        rotate=rotate,
        f={"group": group},
        msg=_labels(JS_MESSAGES, locale_of(request)),
    )
    return render(request, "cameras/wall.html", ctx)


@router.get("/cameras/{camera_id:int}")
def detail_page(camera_id: int, request: Request, db: SessionDep) -> Any:
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    try:
        camera, asset = service.get_camera(db, principal, camera_id)
    except AppError:
        title = "Không tìm thấy camera" if locale_of(request) == "vi" else "Camera not found"
        return render(request, "error.html", {"title": title}, 404)
    path = unit_path_of(db, asset.unit_id)
    monitor = runtime_of(request.app).monitor
    h = monitor.health(camera.id) if monitor is not None else None
    summary = service.camera_summary(camera, asset, h.as_dict() if h is not None else None)
    ctx = _page(
        request,
        camera=camera,
        asset=asset,
        cam=summary,
        zones=[z.summary() for z in service.list_zones(db, camera)],
        can_view=principal.can(service.VIEW, path, asset.domain),
        can_write=principal.can(service.WRITE, path, asset.domain),
        live=monitor is not None,
        msg=_labels(JS_MESSAGES, locale_of(request)),
    )
    return render(request, "cameras/detail.html", ctx)

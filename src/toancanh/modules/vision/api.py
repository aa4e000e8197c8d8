"""`GET /api/v1/vision/status`: this process's analytics pipelines, for the cameras the caller may see."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.core.assets import Asset
from toancanh.modules.cameras.service import READ, scoped_cameras
from toancanh.modules.vision.runtime import VisionRuntime

router = APIRouter(prefix="/api/v1/vision", tags=["vision"])


def pipeline_status(request: Request, db: Any, principal: Any) -> dict[str, Any]:
    """Whether analytics run here; per visible camera: running, frames decoded/analysed/skipped, events."""
    principal.require(READ)
    runtime: VisionRuntime | None = getattr(request.app.state, "vision", None)
    runners = runtime.runners if runtime is not None else {}
    cameras = []
    for camera, asset in db.execute(scoped_cameras(principal).order_by(Asset.code)).tuples():
        runner = runners.get(camera.id)
        stats = runner.stats if runner is not None else None
        cameras.append(
            {
                "camera_id": camera.id,
                "code": asset.code,
                "name": asset.name,
                "running": bool(runner is not None and runner.running),
                "decoded": stats.decoded if stats else 0,
                "analysed": stats.analysed if stats else 0,
                "skipped": stats.skipped if stats else 0,
                "detector_skipped": runner.pipeline.detector_skipped if runner is not None else 0,
                "events": stats.events if stats else 0,
                "errors": stats.errors if stats else 0,
                "last_error": (stats.last_error or None) if stats else None,
            }
        )
    detectors = runtime.detectors.summary() if runtime is not None else []
    return {
        "enabled": bool(request.app.state.settings.vision_enabled),
        "cameras": cameras,
        "detectors": detectors,
    }


@router.get("/status")
def status(request: Request, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """The analytics pipelines of this process for the cameras the caller may see."""
    return pipeline_status(request, db, principal)

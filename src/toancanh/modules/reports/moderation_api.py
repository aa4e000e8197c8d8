"""Moderation over HTTP: the block list of abusive reporters and blurring faces and plates on photos.

Registered before `api.router`, whose `/{report_id}` would otherwise take `/blocks`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.core.auth.scope import unit_path_of
from toancanh.modules.reports import blocks, redaction, service
from toancanh.modules.reports.schemas import BlockIn, BlurIn

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.get("/blocks")
def list_blocks(
    db: SessionDep, principal: CurrentPrincipal, include_expired: bool = Query(default=False)
) -> list[dict[str, Any]]:
    """Identifiers refused as reporters in the caller's units (active ones unless `include_expired`)."""
    return [blocks.summary(b) for b in blocks.list_blocks(db, principal, include_expired=include_expired)]


@router.post("/blocks", status_code=201)
def add_block(body: BlockIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Block a phone number, e-mail, device id or IP address (or network) in a unit and below; audited.

    Blocking the same identifier in the same unit again replaces the reason and the expiry.
    """
    principal.require(blocks.PERMISSION)
    row = blocks.block(
        db,
        principal,
        kind=body.kind,
        value=body.value,
        reason=body.reason,
        unit_id=body.unit_id,
        expires_at=body.expires_at,
    )
    return blocks.summary(row)


@router.delete("/blocks/{block_id}")
def remove_block(block_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Lift a block (audited)."""
    return blocks.summary(blocks.unblock(db, principal, block_id))


@router.post("/{report_id}/photos/{sha256}/blur")
def blur(
    report_id: DbId,
    sha256: str,
    body: BlurIn,
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    """Blur regions (faces, plates) of a report photo for the public; the original stays for staff.

    `boxes` are fractions (0-1) of the photo's size; the whole list replaces an earlier blur, and an empty
    list publishes the original again.
    """
    report = service.get_for_staff(db, principal, report_id)
    principal.require("reports.moderate", unit_path_of(db, report.unit_id), report.domain)
    photo = redaction.blur_photo(
        db, request.app.state.blobs, principal, report, sha256, [b.box() for b in body.boxes]
    )
    return {
        "sha256": photo.sha256,
        "public_sha256": photo.public_sha256,
        "public": photo.public,
        "url": f"/reports/photo/{photo.sha256}",
        "public_url": f"/reports/photo/{photo.published_sha256}",
    }

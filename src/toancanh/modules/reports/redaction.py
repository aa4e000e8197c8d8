"""Blurring faces and number plates on report photos before they are published (làm mờ ảnh).

The blurred picture is a new blob, recorded as the photo's `public_sha256`: the public pages, the public
photo URL and Open311 serve it instead of the original, which staff keep seeing. Blurring again starts from
the original with the full new list of boxes; an empty list publishes the original again.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core import audit
from toancanh.core.auth.scope import Principal
from toancanh.core.errors import BadRequest, NotFound
from toancanh.core.files import BlobStore
from toancanh.modules.reports.models import FieldReport, ReportPhoto
from toancanh.modules.reports.photos import MAX_BLUR_BOXES, Box, blur_regions


def blur_photo(
    db: Session,
    blobs: BlobStore,
    principal: Principal,
    report: FieldReport,
    sha256: str,
    boxes: Sequence[Box],
) -> ReportPhoto:
    """Publish a blurred version of one of `report`'s photos (the caller checked reports.moderate)."""
    photo = db.scalar(
        select(ReportPhoto)
        .where(ReportPhoto.report_id == report.id, ReportPhoto.sha256 == sha256[:64])
        .limit(1)
    )
    if photo is None:
        raise NotFound("Không tìm thấy ảnh của phản ánh này", "No such photo on this report")
    if len(boxes) > MAX_BLUR_BOXES:
        raise BadRequest(f"Tối đa {MAX_BLUR_BOXES} vùng làm mờ", f"At most {MAX_BLUR_BOXES} regions to blur")
    if boxes:
        data = blur_regions(blobs.read(photo.sha256), list(boxes))
        photo.public_sha256 = blobs.put(db, data, allowed=frozenset({"image/jpeg"})).sha256
    else:
        photo.public_sha256 = None
    audit.record_by(
        db,
        principal,
        "field_report.blur_photo",
        entity_type="field_report",
        entity_id=report.id,
        unit_id=report.unit_id,
        changes={
            "photo": photo.sha256,
            "public_sha256": photo.public_sha256,
            "boxes": [[round(v, 4) for v in b] for b in boxes],
        },
    )
    db.flush()
    return photo

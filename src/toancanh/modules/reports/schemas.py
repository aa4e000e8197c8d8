"""Request bodies of the reports API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field, model_validator

from toancanh.core.api.schemas import DbId, Strict
from toancanh.modules.reports.photos import MAX_BLUR_BOXES

MAX_BULK = 200


class TransitionIn(Strict):
    agency_id: DbId | None = None
    user_id: DbId | None = None
    target_id: DbId | None = None
    reason: str = Field(default="", max_length=1000)
    answer: str = Field(default="", max_length=5000)
    evidence: list[str] = Field(default_factory=list, max_length=10)
    comment: str = Field(default="", max_length=1000)
    days: int | None = Field(default=None, ge=1, le=30)  # "extend": working days added to the deadline

    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v not in (None, "", [])}


class RatingIn(Strict):
    rating: int = Field(ge=1, le=5)
    satisfied: bool
    comment: str = Field(default="", max_length=1000)


class FollowIn(Strict):
    phone: str = Field(default="", max_length=20, pattern=r"^[0-9+ ]*$")
    email: str = Field(default="", max_length=200)


class ModerationIn(Strict):
    approve: bool
    public_photos: list[str] = Field(default_factory=list, max_length=10)


class RoutingIn(Strict):
    unit_id: DbId
    category_code: str = Field(max_length=40)
    agency_id: DbId


class BoxIn(Strict):
    """A region of a photo in fractions of its size (0-1) from the top-left corner."""

    x: float = Field(ge=0, le=1, allow_inf_nan=False)
    y: float = Field(ge=0, le=1, allow_inf_nan=False)
    w: float = Field(gt=0, le=1, allow_inf_nan=False)
    h: float = Field(gt=0, le=1, allow_inf_nan=False)

    @model_validator(mode="after")
    def _inside(self) -> BoxIn:
        if self.x + self.w > 1 + 1e-6 or self.y + self.h > 1 + 1e-6:
            raise ValueError("the box must lie inside the photo (x + w <= 1, y + h <= 1)")
        return self

    def box(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, min(self.w, 1 - self.x), min(self.h, 1 - self.y))


class BlurIn(Strict):
    boxes: list[BoxIn] = Field(max_length=MAX_BLUR_BOXES)  # empty: publish the original again


class BlockIn(Strict):
    kind: Literal["phone", "email", "device", "ip"]
    value: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=3, max_length=500)
    unit_id: DbId | None = None  # default: the unit of the caller's moderation grant
    expires_at: AwareDatetime | None = None


class BulkIn(Strict):
    ids: list[DbId] = Field(min_length=1, max_length=MAX_BULK)
    action: Literal["assign", "reject", "close", "moderate"]
    agency_id: DbId | None = None  # assign
    reason: str = Field(default="", max_length=1000)  # reject
    comment: str = Field(default="", max_length=1000)
    approve: bool | None = None  # moderate: publish (true) or hide (false)

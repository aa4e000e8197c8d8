"""Request bodies of the reports API."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from toancanh.core.api.schemas import DbId, Strict


class TransitionIn(Strict):
    agency_id: DbId | None = None
    user_id: DbId | None = None
    target_id: DbId | None = None
    reason: str = Field(default="", max_length=1000)
    answer: str = Field(default="", max_length=5000)
    evidence: list[str] = Field(default_factory=list, max_length=10)
    comment: str = Field(default="", max_length=1000)

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

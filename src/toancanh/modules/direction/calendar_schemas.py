"""Request bodies of the calendar and meetings API."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from toancanh.core.api.schemas import DbId, Strict
from toancanh.modules.direction.schemas import MAX_FILES, Sha256

MAX_PARTICIPANTS = 60
MAX_ITEMS = 30
MAX_CONCLUSIONS = 30
MAX_HOURS = 24 * 14  # an entry lasts at most two weeks


class EntryIn(Strict):
    """A calendar entry: a leader's (owner_user_id) or an agency's (owner_agency_id), exactly one."""

    unit_id: DbId
    title: str = Field(min_length=3, max_length=300)
    place: str = Field(default="", max_length=300)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    owner_user_id: DbId | None = None
    owner_agency_id: DbId | None = None
    participant_user_ids: list[DbId] = Field(default_factory=list, max_length=MAX_PARTICIPANTS)
    participant_agency_ids: list[DbId] = Field(default_factory=list, max_length=MAX_PARTICIPANTS)
    host: str = Field(default="", max_length=200)
    notes: str = Field(default="", max_length=5000)
    published: bool = False

    @model_validator(mode="after")
    def _check(self) -> EntryIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("Giờ kết thúc phải sau giờ bắt đầu / the end must be after the start")
        if (self.ends_at - self.starts_at) > dt.timedelta(hours=MAX_HOURS):
            raise ValueError("Một mục lịch dài tối đa 14 ngày / an entry lasts at most 14 days")
        if (self.owner_user_id is None) == (self.owner_agency_id is None):
            raise ValueError(
                "Cho đúng một chủ thể: lãnh đạo hoặc cơ quan / "
                "give exactly one owner: owner_user_id or owner_agency_id"
            )
        return self


class EntryPatch(Strict):
    """A change of an entry; only the fields given change."""

    title: str | None = Field(default=None, min_length=3, max_length=300)
    place: str | None = Field(default=None, max_length=300)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    host: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=5000)
    published: bool | None = None


class ItemIn(Strict):
    title: str = Field(min_length=3, max_length=300)
    presenter: str = Field(default="", max_length=200)
    minutes: int = Field(default=15, ge=1, le=480)


class DocumentIn(Strict):
    sha256: Sha256
    title: str = Field(min_length=1, max_length=300)


class MeetingIn(Strict):
    """A meeting and its calendar entry (the chair owns it): agenda, invitees, documents."""

    unit_id: DbId
    title: str = Field(min_length=3, max_length=300)
    chair_id: DbId
    place: str = Field(default="", max_length=300)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    host: str = Field(default="", max_length=200)
    published: bool = False
    items: list[ItemIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    invitee_user_ids: list[DbId] = Field(default_factory=list, max_length=MAX_PARTICIPANTS)
    invitee_agency_ids: list[DbId] = Field(default_factory=list, max_length=MAX_PARTICIPANTS)
    documents: list[DocumentIn] = Field(default_factory=list, max_length=MAX_FILES)

    @model_validator(mode="after")
    def _check(self) -> MeetingIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("Giờ kết thúc phải sau giờ bắt đầu / the end must be after the start")
        if (self.ends_at - self.starts_at) > dt.timedelta(hours=24):
            raise ValueError("Một cuộc họp dài tối đa 24 giờ / a meeting lasts at most 24 hours")
        return self


class AttendanceIn(Strict):
    invitee_id: DbId
    attendance: Literal["present", "absent", "delegated"]
    delegate: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _check(self) -> AttendanceIn:
        if self.attendance == "delegated" and not self.delegate.strip():
            raise ValueError("Cho biết người dự thay / name the delegate")
        return self


class StateIn(Strict):
    state: Literal["in_progress", "finished"] | None = None
    current_item_id: DbId | None = None


class SpeakIn(Strict):
    item_id: DbId | None = None


class VoteIn(Strict):
    question: str = Field(min_length=3, max_length=500)


class BallotIn(Strict):
    choice: Literal["yes", "no", "abstain"]


class ConclusionIn(Strict):
    text: str = Field(min_length=5, max_length=300)
    lead_agency_id: DbId
    deadline: dt.date
    domain: str = Field(default="administration", max_length=32)


class MinutesIn(Strict):
    """The minutes (biên bản) and conclusions (kết luận) of a meeting."""

    minutes: str = Field(default="", max_length=50_000)
    conclusions: list[ConclusionIn] = Field(default_factory=list, max_length=MAX_CONCLUSIONS)


class ConcludeIn(Strict):
    """Turn the conclusions into a directive of kind "conclusion" with one task each."""

    number: str = Field(min_length=1, max_length=60)

"""Request bodies of the direction API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from toancanh.core.api.schemas import DbId, Strict
from toancanh.modules.direction.deadlines import MAX_DAYS

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
MAX_FILES = 10
MAX_TASKS = 30


class SourceIn(Strict):
    kind: Literal["meeting_conclusion", "incident", "indicator", "field_report", "other"] = "other"
    id: DbId | None = None
    ref: str = Field(default="", max_length=200)


class TaskIn(Strict):
    title: str = Field(min_length=5, max_length=300)
    lead_agency_id: DbId
    cooperating_agency_ids: list[DbId] = Field(default_factory=list, max_length=20)
    domain: str = Field(default="administration", max_length=32)
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    expected_output: str = Field(default="", max_length=2000)
    deadline: dt.date | None = None
    deadline_days: int | None = Field(default=None, ge=1, le=MAX_DAYS)
    source: SourceIn = Field(default_factory=SourceIn)

    @model_validator(mode="after")
    def _one_deadline(self) -> TaskIn:
        if (self.deadline is None) == (self.deadline_days is None):
            raise ValueError(
                "Cho một hạn: ngày hoặc số ngày làm việc / "
                "give exactly one of deadline (a date) or deadline_days (working days)"
            )
        if self.lead_agency_id in self.cooperating_agency_ids:
            raise ValueError(
                "Cơ quan chủ trì không đồng thời là cơ quan phối hợp / "
                "the lead agency cannot also be a co-operating agency"
            )
        return self


class DirectiveIn(Strict):
    unit_id: DbId
    number: str = Field(min_length=1, max_length=60)
    kind: Literal["directive", "conclusion", "notice"] = "directive"
    title: str = Field(min_length=5, max_length=300)
    summary: str = Field(default="", max_length=5000)
    issued_on: dt.date | None = None  # default: today
    attachments: list[Sha256] = Field(default_factory=list, max_length=MAX_FILES)
    tasks: list[TaskIn] = Field(min_length=1, max_length=MAX_TASKS)


class ActionIn(Strict):
    """The fields of one task action; which ones are required depends on the action."""

    percent: int | None = Field(default=None, ge=0, le=100)
    text: str = Field(default="", max_length=5000)
    reason: str = Field(default="", max_length=2000)
    comment: str = Field(default="", max_length=2000)
    attachments: list[Sha256] = Field(default_factory=list, max_length=MAX_FILES)
    evidence: list[Sha256] = Field(default_factory=list, max_length=MAX_FILES)
    new_deadline: dt.date | AwareDatetime | None = None
    request_id: DbId | None = None

    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v not in (None, "", [])}


# ------------------------------------------------------------------------------------------- e-documents

EDocState = Literal["received", "in_process", "finished", "no_action", "drafted", "signed", "sent"]
MAX_IMPORT_ROWS = 5000


class EDocumentIn(Strict):
    """One document of the register (văn bản đến / đi), entered by hand or sent by the document system."""

    unit_id: DbId
    direction: Literal["incoming", "outgoing"]
    number: str = Field(min_length=1, max_length=60)
    document_date: dt.date
    issuer: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1, max_length=5000)
    domain: str = Field(default="administration", max_length=32)
    handler_agency_id: DbId | None = None
    handler_user_id: DbId | None = None
    deadline: dt.date | None = None
    deadline_days: int | None = Field(default=None, ge=1, le=MAX_DAYS)
    state: EDocState | None = None  # default: received (incoming), drafted (outgoing)
    finished_at: AwareDatetime | None = None
    digitally_signed: bool = False
    sent_electronically: bool = False
    external_id: str | None = Field(default=None, min_length=1, max_length=100)
    task_id: DbId | None = None

    @model_validator(mode="after")
    def _one_deadline(self) -> EDocumentIn:
        if self.deadline is not None and self.deadline_days is not None:
            raise ValueError(
                "Cho một hạn: ngày hoặc số ngày làm việc / "
                "give at most one of deadline (a date) or deadline_days (working days)"
            )
        return self


class EDocumentPatch(Strict):
    """A change of state or of the handling of a document; only the fields given change."""

    state: EDocState | None = None
    handler_agency_id: DbId | None = None
    handler_user_id: DbId | None = None
    deadline: dt.date | None = None
    digitally_signed: bool | None = None
    sent_electronically: bool | None = None
    task_id: DbId | None = None
    note: str = Field(default="", max_length=2000)


class EDocumentImportIn(Strict):
    """A batch from the document management system: rows with the columns of the import template."""

    unit_id: DbId
    documents: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_IMPORT_ROWS)

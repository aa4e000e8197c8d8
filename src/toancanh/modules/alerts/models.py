"""Tables of the warning and command center (cảnh báo, sự cố): events, rules, alerts, incidents, SOPs.

The flow: anything that happens becomes an `Event` (sensor, camera AI, citizen report, manual entry, CAP);
`AlertRule`s evaluated on the stream of readings and events raise `Alert`s (de-duplicated by key); alerts are
grouped into `Incident`s (cases on the shared workflow engine), and an incident runs `SopRun`s of its type's
`SopTemplate` step by step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from toancanh.core.db import Base, BigId, IdMixin, TimestampMixin, UnitScopedMixin, utcnow
from toancanh.core.workflow import CaseMixin

# CAP 1.2 vocabularies (lower case here; the CAP feed writes them capitalised)
SEVERITIES = ("extreme", "severe", "moderate", "minor", "unknown")
URGENCIES = ("immediate", "expected", "future", "past", "unknown")
CERTAINTIES = ("observed", "likely", "possible", "unlikely", "unknown")
EVENT_SOURCES = ("sensor", "camera", "report", "manual", "cap", "system", "rule", "siem")
SEVERITY_RANK = {"unknown": 0, "minor": 1, "moderate": 2, "severe": 3, "extreme": 4}


class Event(IdMixin, UnitScopedMixin, Base):
    """One thing that happened (sự kiện), from any source, in one shape (CAP vocabulary)."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_unit_id_at", "unit_id", "at"),
        Index("ix_events_category_at", "category", "at"),
        Index("ix_events_asset_id_at", "asset_id", "at"),
        UniqueConstraint("source", "source_ref"),  # a re-sent CAP alert or camera event is recorded once
    )

    at: Mapped[datetime] = mapped_column(index=True)  # when it happened
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(16))  # EVENT_SOURCES
    source_ref: Mapped[str | None] = mapped_column(String(200))  # the source's own id, when it has one
    asset_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("assets.id"))
    domain: Mapped[str] = mapped_column(String(32), index=True)
    category: Mapped[str] = mapped_column(String(64))  # e.g. fire.smoke, flood.water_level, weather.storm
    severity: Mapped[str] = mapped_column(String(12), default="unknown")
    urgency: Mapped[str] = mapped_column(String(12), default="unknown")
    certainty: Mapped[str] = mapped_column(String(12), default="unknown")
    title: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{kind, ref, label}]
    created_by_id: Mapped[int | None] = mapped_column(BigId)


class AlertRule(IdMixin, TimestampMixin, UnitScopedMixin, Base):
    """A rule (quy tắc cảnh báo) as data; `definition` is validated by `rules.spec`. Every save is a
    version."""

    __tablename__ = "alert_rules"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by_id: Mapped[int | None] = mapped_column(BigId)


class AlertRuleVersion(IdMixin, Base):
    """An earlier (or the current) definition of a rule: who saved it, when and why."""

    __tablename__ = "alert_rule_versions"
    __table_args__ = (UniqueConstraint("rule_id", "version"),)

    rule_id: Mapped[int] = mapped_column(BigId, ForeignKey("alert_rules.id", ondelete="CASCADE"))
    version: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(default=True)
    comment: Mapped[str] = mapped_column(String(300), default="")
    author_id: Mapped[int | None] = mapped_column(BigId)
    author: Mapped[str] = mapped_column(String(80), default="system")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(IdMixin, UnitScopedMixin, Base):
    """A raised alert (cảnh báo): one per rule and place while it lasts; repeats add to `count`."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_dedup_key_status", "dedup_key", "status"),
        Index("ix_alerts_unit_id_status", "unit_id", "status"),
    )

    dedup_key: Mapped[str] = mapped_column(String(200))
    rule_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("alert_rules.id"))
    rule_version: Mapped[int | None]
    event_id: Mapped[int | None] = mapped_column(BigId)  # the event that raised it, when one did
    asset_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("assets.id"))
    incident_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("incidents.id"), index=True)
    domain: Mapped[str] = mapped_column(String(32), index=True)
    category: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(12))
    urgency: Mapped[str] = mapped_column(String(12), default="unknown")
    certainty: Mapped[str] = mapped_column(String(12), default="unknown")
    title: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    count: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(12), default="active")  # active|acknowledged|resolved
    acknowledged_by_id: Mapped[int | None] = mapped_column(BigId)
    acknowledged_by: Mapped[str] = mapped_column(String(80), default="")
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what the rule saw
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)


class Incident(IdMixin, TimestampMixin, UnitScopedMixin, CaseMixin, Base):
    """An incident (sự cố): grouped alerts handled as one case, with an SOP, an assignee and a timeline."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_group_key_state", "group_key", "state"),)

    code: Mapped[str] = mapped_column(String(24), unique=True)  # SC-2026-000123
    type: Mapped[str] = mapped_column(
        String(32), index=True
    )  # fire, flood, air_quality, device, weather, ...
    domain: Mapped[str] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(12), default="moderate")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    group_key: Mapped[str] = mapped_column(String(200), default="")  # rule/category + place, for grouping
    last_alert_at: Mapped[datetime | None]
    team: Mapped[str] = mapped_column(String(120), default="")  # the field team dispatched
    acknowledged_by_id: Mapped[int | None] = mapped_column(BigId)
    acknowledged_by: Mapped[str] = mapped_column(String(80), default="")
    acknowledged_at: Mapped[datetime | None]
    merged_into_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("incidents.id"))
    source: Mapped[str] = mapped_column(String(16), default="rule")  # rule | manual | cap | report


class IncidentAttachment(IdMixin, Base):
    """A file attached to an incident (photo, clip, document) in the blob store."""

    __tablename__ = "incident_attachments"

    incident_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    blob_key: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    uploaded_by_id: Mapped[int | None] = mapped_column(BigId)
    uploaded_by: Mapped[str] = mapped_column(String(80), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SopTemplate(IdMixin, TimestampMixin, Base):
    """A standard operating procedure (quy trình ứng phó) for one incident type: ordered steps.

    `steps`: [{"key", "title_vi", "title_en", "role", "minutes", "action"}] where `role` is who is responsible
    (a role name such as "operator" or "leader") and `minutes` the time allowed from the start of the run.
    """

    __tablename__ = "sop_templates"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    incident_type: Mapped[str] = mapped_column(String(32), index=True)
    auto_start: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)
    steps: Mapped[list[Any]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)


class SopRun(IdMixin, Base):
    """One SOP followed for one incident."""

    __tablename__ = "sop_runs"

    incident_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    template_id: Mapped[int] = mapped_column(BigId, ForeignKey("sop_templates.id"))
    template_version: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_by_id: Mapped[int | None] = mapped_column(BigId)
    started_by: Mapped[str] = mapped_column(String(80), default="system")
    completed_at: Mapped[datetime | None]


class SopStep(IdMixin, Base):
    """One step of a run: who is responsible, by when, and who did it when."""

    __tablename__ = "sop_steps"
    __table_args__ = (Index("ix_sop_steps_status_due_at", "status", "due_at"),)

    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("sop_runs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    key: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300), default="")
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32), default="check")
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | done | skipped
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(BigId)
    done_by: Mapped[str] = mapped_column(String(80), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    escalated_at: Mapped[datetime | None]


class DeviceCredential(IdMixin, Base):
    """How a device (an asset) proves who it is: MQTT username = asset code, a secret, a heartbeat
    interval."""

    __tablename__ = "device_credentials"

    asset_id: Mapped[int] = mapped_column(BigId, ForeignKey("assets.id", ondelete="CASCADE"), unique=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(300))  # for our own checks (HTTP)
    broker_hash: Mapped[str] = mapped_column(String(300))  # Mosquitto password-file line hash ($7$...)
    heartbeat_s: Mapped[int] = mapped_column(default=300)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[datetime | None]


class PublicWarning(IdMixin, TimestampMixin, UnitScopedMixin, Base):
    """A public warning (cảnh báo công khai) the IOC publishes, served as CAP 1.2 and Atom."""

    __tablename__ = "public_warnings"

    identifier: Mapped[str] = mapped_column(String(120), unique=True)
    incident_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("incidents.id"))
    status: Mapped[str] = mapped_column(String(12), default="Actual")  # Actual|Exercise|System|Test|Draft
    msg_type: Mapped[str] = mapped_column(String(8), default="Alert")  # Alert|Update|Cancel
    references: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16), default="Safety")  # CAP category
    event: Mapped[str] = mapped_column(String(200))
    urgency: Mapped[str] = mapped_column(String(12))
    severity: Mapped[str] = mapped_column(String(12))
    certainty: Mapped[str] = mapped_column(String(12))
    headline: Mapped[str] = mapped_column(String(300))
    headline_en: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    instruction: Mapped[str] = mapped_column(Text, default="")
    instruction_en: Mapped[str] = mapped_column(Text, default="")
    area_desc: Mapped[str] = mapped_column(String(300))
    area: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # GeoJSON geometry
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    effective_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    published: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(BigId)

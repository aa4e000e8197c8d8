"""Tests for the case workflow engine (quy trình xử lý): transitions, checks, SLA clocks, escalation."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

import toancanh.core.auth.models
import toancanh.core.units
from toancanh.core import audit, outbox
from toancanh.core.audit import AuditEntry
from toancanh.core.auth import permissions
from toancanh.core.auth.models import User
from toancanh.core.auth.scope import Principal, ScopedGrant
from toancanh.core.db import Base, Database, IdMixin, UnitScopedMixin
from toancanh.core.errors import AppError, BadRequest, Conflict, Forbidden, Unprocessable
from toancanh.core.outbox import OutboxEvent
from toancanh.core.units import Agency, add_unit
from toancanh.core.workflow import (
    CaseHistory,
    CaseMixin,
    CaseType,
    StateSLA,
    Transition,
    WorkflowEngine,
)
from toancanh.core.worktime import VN_TZ, WorkCalendar

assert audit and outbox and toancanh.core.auth.models and toancanh.core.units  # tables join the metadata


class DemoCase(IdMixin, UnitScopedMixin, CaseMixin, Base):
    """A case type that exists only for these tests."""

    __tablename__ = "test_demo_cases"

    title: Mapped[str] = mapped_column(String(200), default="")
    domain: Mapped[str | None] = mapped_column(String(40))


def _rating_guard(case: Any, fields: Mapping[str, Any]) -> str | None:
    rating = fields.get("rating")
    if rating is not None and not 1 <= int(rating) <= 5:
        return "Điểm đánh giá phải từ 1 đến 5"
    return None


H = "testcases.handle"
A = "testcases.assign"
DEMO = CaseType(
    name="demo_case",
    states=("new", "assigned", "in_progress", "resolved", "closed", "rejected"),
    initial="new",
    final=("closed", "rejected"),
    transitions=(
        Transition("assign", ("new", "assigned"), "assigned", A, required=("agency_id",)),
        Transition("accept", ("assigned",), "in_progress", H, assignee_only=True, label_vi="Tiếp nhận"),
        Transition(
            "resolve", ("in_progress",), "resolved", H, required=("comment", "evidence"), assignee_only=True
        ),
        Transition("close", ("resolved",), "closed", A, guard=_rating_guard),
        Transition("reject", ("*",), "rejected", A, required=("comment",)),
        Transition("reopen", ("closed", "rejected"), "assigned", A, required=("comment",)),
        Transition("note", ("*",), "*", H, required=("comment",)),  # stays put: a note or a transfer
    ),
    sla={
        "new": StateSLA(hours=8),
        "assigned": StateSLA(hours=4),
        "in_progress": StateSLA(days=2),
        "resolved": StateSLA(hours=16),
    },
    subject_prefix="toancanh.tests.demo",
    labels_vi={"new": "Mới", "assigned": "Đã giao", "closed": "Đã đóng"},
    labels_en={"new": "New", "assigned": "Assigned", "closed": "Closed"},
)

CAL = WorkCalendar.default()


def vn(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A moment in Asia/Ho_Chi_Minh in November 2025 (14 = Friday, 17 = Monday; no holidays nearby)."""
    return datetime(2025, month, day, hour, minute, tzinfo=VN_TZ)


@dataclass
class World:
    db: Database
    engine: WorkflowEngine
    unit_id: int
    other_unit_id: int
    agency_id: int
    other_agency_id: int
    parent_agency_id: int
    user_id: int
    operator: Principal
    staff: Principal
    other_staff: Principal
    outsider: Principal
    leader: Principal

    def session(self) -> Session:
        return self.db.sessionmaker()

    def new_case(self, at: datetime = vn(14, 16), actor: Principal | None = None, **kw: Any) -> int:
        with self.db.session() as s:
            case = DemoCase(unit_id=self.unit_id, title="Rác thải tại chợ", **kw)
            self.engine.open(s, DEMO, case, actor, comment="mở", now=at)
            return case.id

    def run(
        self,
        case_id: int,
        name: str,
        actor: Principal | None,
        fields: Mapping[str, Any] | None = None,
        **kw: Any,
    ) -> CaseHistory:
        """One request: load, transition, commit; rolled back on any error (as the API does)."""
        with self.db.session() as s:
            case = s.get_one(DemoCase, case_id)
            return self.engine.transition(s, DEMO, case, name, actor, fields, **kw)

    def case(self, case_id: int) -> DemoCase:
        with self.session() as s:
            return s.get_one(DemoCase, case_id)

    def counts(self, case_id: int) -> tuple[int, int, int]:
        with self.session() as s:
            hist = s.scalar(select(func.count()).where(CaseHistory.case_id == case_id)) or 0
            events = s.scalar(select(func.count()).select_from(OutboxEvent)) or 0
            audits = s.scalar(select(func.count()).select_from(AuditEntry)) or 0
            return hist, events, audits


def build_world(path: Path) -> World:
    db = Database(f"sqlite:///{path}/t.db")
    Base.metadata.create_all(db.engine)
    with db.session() as s:
        province = add_unit(s, code="01", name="Hà Nội", kind="thành phố trung ương")
        commune = add_unit(s, code="00004", name="Phường Ba Đình", kind="phường", parent=province)
        other = add_unit(s, code="02", name="Hà Giang", kind="tỉnh")
        agencies = [
            Agency(unit_id=commune.id, code="ubnd-badinh", name="UBND phường Ba Đình", kind="ubnd"),
            Agency(unit_id=commune.id, code="ca-badinh", name="Công an phường Ba Đình", kind="công an"),
            Agency(unit_id=province.id, code="sxd-hanoi", name="Sở Xây dựng Hà Nội", kind="sở"),
        ]
        s.add_all(agencies)
        s.flush()
        user = User(username="canbo1", full_name="Cán bộ 1", agency_id=agencies[0].id)
        s.add(user)
        s.flush()
        ids = (commune.id, other.id, *(a.id for a in agencies), user.id)
    unit_id, other_unit_id, agency_id, other_agency_id, parent_agency_id, user_id = ids

    def grant(role: str, path: str = "/01/") -> tuple[ScopedGrant, ...]:
        return (ScopedGrant(role, path, None),)

    return World(
        db=db,
        engine=WorkflowEngine(CAL),
        unit_id=unit_id,
        other_unit_id=other_unit_id,
        agency_id=agency_id,
        other_agency_id=other_agency_id,
        parent_agency_id=parent_agency_id,
        user_id=user_id,
        operator=Principal(user_id=1, username="op", grants=grant("operator")),
        staff=Principal(user_id=2, username="staff", grants=grant("agency_staff"), agency_id=agency_id),
        other_staff=Principal(
            user_id=3, username="other", grants=grant("agency_staff"), agency_id=other_agency_id
        ),
        outsider=Principal(user_id=4, username="hagiang", grants=grant("operator", "/02/")),
        leader=Principal(user_id=5, username="leader", grants=grant("leader")),
    )


@pytest.fixture(autouse=True)
def _test_permissions(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test permissions, on a copy of the role table so that other test modules never see them."""
    table = {role: set(perms) for role, perms in permissions._ROLE_PERMISSIONS.items()}
    monkeypatch.setattr(permissions, "_ROLE_PERMISSIONS", table)
    permissions.register(
        {
            "operator": {"testcases.handle", "testcases.assign"},
            "leader": {"testcases.handle"},
            "agency_staff": {"testcases.handle"},
        }
    )


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    world = build_world(tmp_path)
    yield world
    world.db.dispose()


# --------------------------------------------------------------------------------------------- lifecycle


def test_full_lifecycle_writes_history_audit_and_events_in_order(w: World) -> None:
    cid = w.new_case(actor=w.operator)
    w.run(cid, "assign", w.operator, {"agency_id": w.agency_id, "comment": "giao UBND"}, now=vn(17, 9))
    w.run(cid, "accept", w.staff, now=vn(17, 10))
    w.run(cid, "resolve", w.staff, {"comment": "đã dọn", "evidence": ["sha256:ab"]}, now=vn(18, 10))
    w.run(cid, "close", w.operator, {"rating": 5}, now=vn(18, 11))

    case = w.case(cid)
    assert case.state == "closed"
    assert case.closed_at == vn(18, 11)
    assert case.due_at is None
    assert case.assignee_agency_id == w.agency_id

    with w.session() as s:
        rows = w.engine.history(s, DEMO, cid)
        assert [(r.transition, r.from_state, r.to_state, r.actor) for r in rows] == [
            ("open", None, "new", "op"),
            ("assign", "new", "assigned", "op"),
            ("accept", "assigned", "in_progress", "staff"),
            ("resolve", "in_progress", "resolved", "staff"),
            ("close", "resolved", "closed", "op"),
        ]
        assert rows[0].comment == "mở"
        assert rows[1].assignee_agency_id == w.agency_id and rows[0].assignee_agency_id is None
        assert rows[3].comment == "đã dọn" and rows[3].data["evidence"] == ["sha256:ab"]
        assert [r.at for r in rows] == [vn(14, 16), vn(17, 9), vn(17, 10), vn(18, 10), vn(18, 11)]

        events = list(s.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))
        assert [e.subject for e in events] == [
            "toancanh.tests.demo.opened",
            "toancanh.tests.demo.assign",
            "toancanh.tests.demo.accept",
            "toancanh.tests.demo.resolve",
            "toancanh.tests.demo.close",
        ]
        assign = events[1]
        assert assign.unit_id == w.unit_id and assign.unit_path == "/01/00004/"
        assert assign.data["case_id"] == cid and assign.data["case_type"] == "demo_case"
        assert (assign.data["from"], assign.data["to"]) == ("new", "assigned")
        assert assign.data["actor"] == "op" and assign.data["assignee_agency_id"] == w.agency_id
        assert datetime.fromisoformat(assign.data["due_at"]) == vn(17, 14, 30)  # 09:00 + 4 working hours

        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions == [
            "demo_case.open",
            "demo_case.assign",
            "demo_case.accept",
            "demo_case.resolve",
            "demo_case.close",
        ]
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "demo_case.resolve")).one()
        assert entry.entity_type == "demo_case" and entry.entity_id == str(cid) and entry.unit_id == w.unit_id
        assert entry.changes == {
            "state": ["in_progress", "resolved"],
            "fields": {"comment": "đã dọn", "evidence": ["sha256:ab"]},
        }


def test_due_at_counts_working_time_over_the_weekend(w: World) -> None:
    opened = vn(14, 16)  # Friday 16:00
    cid = w.new_case(at=opened)
    case = w.case(cid)
    # 1 h on Friday (16:00-17:00), 4 h Monday morning (07:30-11:30), 3 h after lunch (13:00-16:00).
    assert case.due_at == vn(17, 16) == CAL.add_working_hours(opened, 8)
    assert case.due_at.tzinfo is not None
    assert case.opened_at == case.state_since == opened
    assert w.engine.sla_remaining(case, vn(15, 10)) == 7 * 3600  # Saturday: the clock is stopped
    assert w.engine.sla_remaining(case, vn(17, 17)) == -3600  # one working hour late at Monday 17:00

    w.run(cid, "assign", w.operator, {"agency_id": w.agency_id}, now=vn(17, 9))
    w.run(cid, "accept", w.staff, now=vn(17, 10))
    assert w.case(cid).due_at == vn(19, 10) == CAL.add_working_days(vn(17, 10), 2)  # days=2 → Wednesday


def test_system_actor_may_run_anything_and_is_recorded_as_system(w: World) -> None:
    cid = w.new_case()
    w.run(cid, "assign", None, {"agency_id": w.agency_id}, now=vn(17, 9))
    w.run(cid, "accept", None, now=vn(17, 9, 30))
    with w.session() as s:
        rows = w.engine.history(s, "demo_case", cid)
        assert [(r.actor, r.actor_id) for r in rows[1:]] == [("system", None), ("system", None)]


def test_reassigning_to_another_agency_clears_the_assigned_user(w: World) -> None:
    cid = w.new_case()
    w.run(cid, "assign", w.operator, {"agency_id": w.agency_id, "user_id": w.user_id}, now=vn(17, 9))
    assert (w.case(cid).assignee_agency_id, w.case(cid).assignee_user_id) == (w.agency_id, w.user_id)
    w.run(cid, "assign", w.operator, {"agency_id": str(w.other_agency_id)}, now=vn(17, 10))
    case = w.case(cid)
    assert (case.assignee_agency_id, case.assignee_user_id) == (w.other_agency_id, None)
    assert case.state_since == vn(17, 10) and case.due_at == vn(17, 15, 30)  # the clock restarts


# --------------------------------------------------------------------------------------------- refusals


def assert_unchanged(w: World, cid: int, before: tuple[int, int, int], state: str) -> None:
    assert w.counts(cid) == before
    assert w.case(cid).state == state


def test_wrong_source_state_is_a_conflict_and_changes_nothing(w: World) -> None:
    cid = w.new_case()
    before = w.counts(cid)
    with pytest.raises(Conflict) as exc:
        w.run(cid, "resolve", w.operator, {"comment": "x", "evidence": "y"}, now=vn(17, 9))
    assert exc.value.details["state"] == "new"
    assert exc.value.details["allowed"] == ["assign", "reject", "note"]
    assert "Mới" in exc.value.message and "New" in exc.value.message_en
    assert_unchanged(w, cid, before, "new")
    assert w.case(cid).due_at == vn(17, 16)


def test_unknown_transition_lists_the_allowed_ones(w: World) -> None:
    cid = w.new_case()
    before = w.counts(cid)
    with pytest.raises(BadRequest) as exc:
        w.run(cid, "teleport", w.operator)
    assert exc.value.details["allowed"] == ["assign", "reject", "note"]
    assert "assign, reject, note" in exc.value.message and "assign, reject, note" in exc.value.message_en
    assert_unchanged(w, cid, before, "new")


def test_missing_required_fields_are_listed(w: World) -> None:
    cid = w.new_case()
    w.run(cid, "assign", w.operator, {"agency_id": w.agency_id})
    w.run(cid, "accept", w.staff)
    before = w.counts(cid)
    with pytest.raises(Unprocessable) as exc:
        w.run(cid, "resolve", w.staff, {"comment": "   ", "evidence": []})
    assert exc.value.details == {"missing": ["comment", "evidence"]}
    assert "comment" in exc.value.message and "evidence" in exc.value.message_en
    assert_unchanged(w, cid, before, "in_progress")


@pytest.mark.parametrize("agency", [999_999, "abc", True, -1])
def test_assigning_an_unknown_agency_is_refused(w: World, agency: object) -> None:
    cid = w.new_case()
    before = w.counts(cid)
    with pytest.raises(Unprocessable) as exc:
        w.run(cid, "assign", w.operator, {"agency_id": agency})
    assert exc.value.details["field"] == "agency_id"
    assert_unchanged(w, cid, before, "new")


def test_principal_outside_the_unit_is_forbidden(w: World) -> None:
    cid = w.new_case()
    before = w.counts(cid)
    with pytest.raises(Forbidden) as exc:
        w.run(cid, "assign", w.outsider, {"agency_id": w.agency_id})
    assert exc.value.details["permission"] == A
    assert_unchanged(w, cid, before, "new")
    # The permission is also checked against the case's domain for domain-limited grants.
    traffic_only = Principal(
        user_id=9, username="csgt", grants=(ScopedGrant("operator", "/", frozenset({"traffic"})),)
    )
    env_case = w.new_case(domain="environment")
    with pytest.raises(Forbidden):
        w.run(env_case, "assign", traffic_only, {"agency_id": w.agency_id})
    traffic_case = w.new_case(domain="traffic")
    w.run(traffic_case, "assign", traffic_only, {"agency_id": w.agency_id})


def test_assignee_only_transition_refuses_staff_of_another_agency(w: World) -> None:
    cid = w.new_case()
    w.run(cid, "assign", w.operator, {"agency_id": w.agency_id}, now=vn(17, 9))
    before = w.counts(cid)
    with pytest.raises(Forbidden) as exc:
        w.run(cid, "accept", w.other_staff)
    assert exc.value.details["assignee_agency_id"] == w.agency_id
    assert_unchanged(w, cid, before, "assigned")
    # A supervisor role holding the permission may act for the agency; so may the agency's own staff.
    w.run(cid, "accept", w.leader, now=vn(17, 10))
    assert w.case(cid).state == "in_progress"


def test_guard_refusal_is_a_bad_request_with_its_message(w: World) -> None:
    cid = w.new_case()
    w.run(cid, "assign", None, {"agency_id": w.agency_id})
    w.run(cid, "accept", None)
    w.run(cid, "resolve", None, {"comment": "xong", "evidence": "sha256:cd"})
    before = w.counts(cid)
    with pytest.raises(BadRequest) as exc:
        w.run(cid, "close", w.operator, {"rating": 9})
    assert exc.value.message == "Điểm đánh giá phải từ 1 đến 5"
    assert exc.value.code == "transition_refused"
    assert_unchanged(w, cid, before, "resolved")


def test_reopen_from_a_final_state_clears_closed_at(w: World) -> None:
    cid = w.new_case()
    w.run(cid, "reject", w.operator, {"comment": "trùng lặp"}, now=vn(17, 9))
    case = w.case(cid)
    assert case.state == "rejected" and case.closed_at == vn(17, 9) and case.due_at is None
    with pytest.raises(Conflict):  # "*" never covers a final state
        w.run(cid, "reject", w.operator, {"comment": "lần nữa"})
    w.run(cid, "reopen", w.operator, {"comment": "không trùng", "agency_id": w.agency_id}, now=vn(17, 10))
    case = w.case(cid)
    assert case.state == "assigned" and case.closed_at is None
    assert case.due_at == vn(17, 15, 30) and case.sla_status == "ok"


def test_available_lists_what_the_principal_may_do(w: World) -> None:
    cid = w.new_case()
    w.run(cid, "assign", w.operator, {"agency_id": w.agency_id})
    with w.session() as s:
        case = s.get_one(DemoCase, cid)
        names = {
            p.username: [t.name for t in w.engine.available(DEMO, case, p)]
            for p in (w.operator, w.staff, w.other_staff, w.outsider, w.leader)
        }
        assert [t.name for t in w.engine.available(DEMO, case, None)] == [
            "assign",
            "accept",
            "reject",
            "note",
        ]
    assert names == {
        "op": ["assign", "accept", "reject", "note"],
        "staff": ["accept", "note"],
        "other": ["note"],
        "hagiang": [],
        "leader": ["accept", "note"],
    }


# --------------------------------------------------------------------------------------------- deadlines


def test_check_deadlines_warns_then_escalates_once(w: World) -> None:
    calls: list[tuple[int, int]] = []
    w.engine.on_escalate("demo_case", lambda db, case, level: calls.append((case.id, level)))
    cid = w.new_case(at=vn(14, 16))  # due Monday 16:00; 75 % of 8 h = 6 h, reached Monday 14:00
    closed = w.new_case(at=vn(14, 16))
    w.run(closed, "reject", None, {"comment": "x"}, now=vn(14, 16, 30))

    def check(now: datetime) -> list[tuple[int, str, str]]:
        with w.db.session() as s:
            return [(c.id, old, new) for c, old, new in w.engine.check_deadlines(s, DEMO, DemoCase, now)]

    assert check(vn(15, 12)) == []  # Saturday
    assert check(vn(17, 13, 59)) == []
    assert w.case(cid).sla_status == "ok"
    assert check(vn(17, 14)) == [(cid, "ok", "warning")]
    assert check(vn(17, 14)) == []
    assert check(vn(17, 13)) == []  # an earlier clock never moves the status back
    assert w.case(cid).sla_status == "warning" and calls == []
    assert check(vn(17, 16)) == []  # due exactly now: not late yet
    assert check(vn(17, 16, 1)) == [(cid, "warning", "overdue")]
    before = w.counts(cid)
    assert check(vn(17, 16, 1)) == []  # idempotent
    assert check(vn(18, 9)) == []  # still overdue: no second escalation
    assert w.counts(cid) == before
    assert calls == [(cid, 1)]
    case = w.case(cid)
    assert case.sla_status == "overdue" and case.escalation_level == 1 and case.state == "new"

    with w.session() as s:
        rows = w.engine.history(s, DEMO, cid)
        assert [(r.transition, r.from_state, r.to_state, r.actor) for r in rows] == [
            ("open", None, "new", "system"),
            ("sla_warning", "new", "new", "system"),
            ("sla_overdue", "new", "new", "system"),
        ]
        assert rows[2].data == {"due_at": vn(17, 16).astimezone(UTC).isoformat(), "escalation_level": 1}
        subjects = list(s.scalars(select(OutboxEvent.subject).where(OutboxEvent.subject.like("%.sla_%"))))
        assert subjects == ["toancanh.tests.demo.sla_warning", "toancanh.tests.demo.sla_overdue"]


def test_escalation_hook_may_reassign_and_the_clock_restarts(w: World) -> None:
    def to_parent(db: Session, case: Any, level: int) -> None:
        fields = {"agency_id": w.parent_agency_id, "level": level}
        w.engine.transition(db, DEMO, case, "assign", None, fields, now=vn(18, 9))  # the checker's clock

    w.engine.on_escalate("demo_case", to_parent)
    cid = w.new_case(at=vn(17, 7, 30))  # due Monday 17:00; first checked Tuesday 09:00, already overdue
    with w.db.session() as s:
        changes = w.engine.check_deadlines(s, DEMO, DemoCase, vn(18, 9))
        assert [(old, new) for _, old, new in changes] == [("ok", "overdue")]
    case = w.case(cid)
    assert case.state == "assigned" and case.assignee_agency_id == w.parent_agency_id
    assert case.sla_status == "ok" and case.escalation_level == 1
    assert case.due_at == CAL.add_working_hours(vn(18, 9), 4) == vn(18, 14, 30)
    with w.db.session() as s:
        assert w.engine.check_deadlines(s, DEMO, DemoCase, vn(18, 9)) == []
        assert [r.transition for r in w.engine.history(s, DEMO, cid)] == ["open", "sla_overdue", "assign"]


def test_staying_transition_keeps_state_and_clocks(w: World) -> None:
    cid = w.new_case(at=vn(14, 16))
    with w.db.session() as s:
        assert len(w.engine.check_deadlines(s, DEMO, DemoCase, vn(17, 14))) == 1
    w.run(cid, "note", w.staff, {"comment": "đang xác minh", "agency_id": w.other_agency_id}, now=vn(17, 15))
    case = w.case(cid)
    assert case.state == "new" and case.state_since == vn(14, 16) and case.due_at == vn(17, 16)
    assert case.sla_status == "warning" and case.assignee_agency_id == w.other_agency_id
    with w.session() as s:
        last = w.engine.history(s, DEMO, cid)[-1]
        assert (last.transition, last.from_state, last.to_state) == ("note", "new", "new")
    w.run(cid, "reject", w.operator, {"comment": "x"})
    with pytest.raises(Conflict):  # "*" sources never include a final state
        w.run(cid, "note", w.operator, {"comment": "sau khi đóng"})


def test_sla_remaining_without_a_deadline_is_none(w: World) -> None:
    cid = w.new_case()
    w.run(cid, "reject", None, {"comment": "x"})
    assert w.engine.sla_remaining(w.case(cid), vn(20, 9)) is None


# --------------------------------------------------------------------------------------------- declarations


def test_case_type_rejects_mistakes() -> None:
    def make(**kw: Any) -> CaseType:
        base: dict[str, Any] = dict(
            name="x",
            states=("a", "b", "z"),
            initial="a",
            final=("z",),
            transitions=(Transition("go", ("a",), "b", "p"), Transition("end", ("*",), "z", "p")),
            subject_prefix="toancanh.x",
        )
        return CaseType(**{**base, **kw})

    assert make().find("go") is not None
    with pytest.raises(ValueError, match="undeclared state 'q'"):
        make(transitions=(Transition("go", ("a",), "q", "p"),))
    with pytest.raises(ValueError, match="undeclared"):
        make(transitions=(Transition("go", ("nowhere",), "b", "p"),))
    with pytest.raises(ValueError, match="duplicate transition"):
        make(transitions=(Transition("go", ("a",), "b", "p"), Transition("go", ("b",), "a", "p")))
    with pytest.raises(ValueError, match="initial"):
        make(initial="q")
    with pytest.raises(ValueError, match="final"):
        make(final=("q",))
    with pytest.raises(ValueError, match="SLA"):
        make(sla={"z": StateSLA(hours=1)})
    with pytest.raises(ValueError, match="sla"):
        make(sla={"q": StateSLA(hours=1)})
    with pytest.raises(ValueError):
        make(subject_prefix="toancanh.bad prefix")
    with pytest.raises(ValueError, match="reserved"):
        Transition("opened", ("a",), "b", "p")
    with pytest.raises(ValueError):
        StateSLA()
    with pytest.raises(ValueError):
        StateSLA(hours=1, warn_ratio=0)


def test_engine_registry() -> None:
    engine = WorkflowEngine()
    engine.register(DEMO)
    engine.register(DEMO)
    assert engine.get("demo_case") is DEMO
    with pytest.raises(KeyError):
        engine.get("nope")
    clash = CaseType(
        name="demo_case", states=("a", "z"), initial="a", final=("z",), transitions=(), subject_prefix="x"
    )
    with pytest.raises(ValueError):
        engine.register(clash)


# --------------------------------------------------------------------------------------------- properties

ACTORS = ("operator", "staff", "other_staff", "outsider", "leader", None)
NAMES = (*(t.name for t in DEMO.transitions), "teleport")
COMPLETE = {"comment": "xong", "evidence": "sha256:ef", "agency_id": "AGENCY", "rating": 4}
FIELD_SETS: tuple[dict[str, Any], ...] = (
    COMPLETE,
    {**COMPLETE, "agency_id": "OTHER"},
    {},
    {"comment": "ghi chú"},
    {"agency_id": "AGENCY"},
    {"agency_id": 999_999, "comment": "x"},
    {**COMPLETE, "rating": 9},
    {**COMPLETE, "evidence": []},
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), n=st.integers(0, 15))
def test_random_attempts_keep_the_case_consistent(w: World, data: st.DataObject, n: int) -> None:
    cid = w.new_case(at=vn(14, 16))
    ok = 0
    for _ in range(n):
        state = w.case(cid).state
        allowed = [t.name for t in DEMO.from_state(state)]
        # Mostly transitions that may start from here, so that runs get deep into the life of the case.
        name = data.draw(
            st.sampled_from(allowed) | st.sampled_from(NAMES) if allowed else st.sampled_from(NAMES)
        )
        who = data.draw(st.sampled_from(ACTORS))
        raw = data.draw(st.sampled_from(FIELD_SETS))
        actor = getattr(w, who) if who else None
        ids = {"AGENCY": w.agency_id, "OTHER": w.other_agency_id}
        fields = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in raw.items()}
        before = w.case(cid)
        counts = w.counts(cid)
        try:
            w.run(cid, name, actor, fields, now=vn(17, 9))
            ok += 1
        except AppError:
            after = w.case(cid)
            assert w.counts(cid) == counts
            assert (after.state, after.due_at, after.closed_at, after.assignee_agency_id) == (
                before.state,
                before.due_at,
                before.closed_at,
                before.assignee_agency_id,
            )
        case = w.case(cid)
        assert case.state in DEMO.states
        assert (case.closed_at is not None) == DEMO.is_final(case.state)
        assert (case.due_at is not None) == (case.state in DEMO.sla)
    with w.session() as s:
        rows = w.engine.history(s, DEMO, cid)
    assert len(rows) == ok + 1
    assert all(r.to_state in DEMO.states for r in rows)
    assert rows[-1].to_state == w.case(cid).state

"""A world for directed tasks: commune A's leader issues tasks to the police (lead) and the culture office
(co-operating); commune B has its own police and leader."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.conftest import World
from toancanh.core.auth.service import create_user, open_session
from toancanh.core.db import utcnow
from toancanh.core.units import Agency


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(out, "PNG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def dworld(world: World, db: Any) -> World:
    """The shared world plus a culture office in A with its own staff, and a leader of commune B."""
    with db.session() as s:
        a, b = s.merge(world.units["A"]), s.merge(world.units["B"])
        vh = Agency(
            unit_id=a.id, code="vhxh-a", name="Phòng Văn hóa - Xã hội A", kind="department", domains=[]
        )
        s.add(vh)
        s.flush()
        world.agencies["vhxh-a"] = vh
        now = utcnow()
        for who, role, unit, agency in (
            ("staff_vh", "agency_staff", "00664", vh.id),
            ("leader_b", "leader", "00070", None),
            ("staff_b", "agency_staff", "00070", world.agencies["ca-b"].id),
        ):
            user = create_user(s, who, f"{who}-password", role=role, unit_code=unit, agency_id=agency)
            world.users[who] = user
            world.tokens[who], _ = open_session(s, user, kind="token", hours=1, now=now)
        _ = b
    return world


def task_spec(w: World, **over: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "title": "Xử lý dứt điểm điểm tập kết rác tự phát",
        "lead_agency_id": w.agencies["ca-a"].id,
        "cooperating_agency_ids": [w.agencies["vhxh-a"].id],
        "domain": "security",
        "priority": "high",
        "expected_output": "Báo cáo kết quả kèm ảnh hiện trường",
        "deadline_days": 5,
        "source": {"kind": "field_report", "id": 12, "ref": "PA-12"},
    }
    spec.update(over)
    return spec


def directive_body(
    w: World, unit: str = "A", tasks: list[dict[str, Any]] | None = None, **over: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "unit_id": w.units[unit].id,
        "number": "45/TB-UBND",
        "kind": "conclusion",
        "title": "Kết luận giao ban tuần 47",
        "summary": "Chủ tịch UBND xã kết luận tại cuộc giao ban",
        "tasks": tasks if tasks is not None else [task_spec(w)],
    }
    body.update(over)
    return body


def issue(client: Any, w: World, who: str = "leader_a", **over: Any) -> dict[str, Any]:
    r = client.post("/api/v1/directives", json=directive_body(w, **over), headers=w.auth(who))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def upload(client: Any, w: World, who: str, data: bytes | None = None) -> str:
    r = client.post(
        "/api/v1/files", files={"file": ("f.pdf", data or PDF, "application/pdf")}, headers=w.auth(who)
    )
    assert r.status_code == 201, r.text
    return str(r.json()["sha256"])


def act(client: Any, w: World, who: str, task_id: int, name: str, **body: Any) -> Any:
    return client.post(f"/api/v1/direction-tasks/{task_id}/actions/{name}", json=body, headers=w.auth(who))

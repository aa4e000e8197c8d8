"""Incidents: opening (code, one event, SOP auto-start), the handling lifecycle with who and when, the
permission matrix, merge and split, attachments checked by content, size and count, and the after-action PDF.
"""

from __future__ import annotations

import io
import re
import uuid
import zlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.conftest import WORLD_USERS
from tests.permission_matrix import covers
from toancanh.core.audit import AuditEntry
from toancanh.core.db import utcnow
from toancanh.core.outbox import OutboxEvent
from toancanh.modules.alerts import incidents
from toancanh.modules.alerts.models import Alert, Incident, IncidentAttachment
from toancanh.modules.alerts.report_pdf import after_action_pdf

BASE = "/api/v1/alerts/incidents"
FIRE = "Cháy bếp ăn trường Tiểu học Đại Thanh"


# ------------------------------------------------------------------------------------------- helpers


def open_incident(db: Any, engine: Any, world: Any, *, unit: str = "H1", **kw: Any) -> int:
    """A fire incident opened by the system (as a rule would), in hamlet 1 of commune A unless told."""
    fields: dict[str, Any] = {
        "type": "fire",
        "title": FIRE,
        "title_en": "Fire in the school kitchen",
        "domain": "security",
        "severity": "severe",
        "lat": 20.905,
        "lon": 105.805,
        **kw,
    }
    if unit == "B":
        fields.update(lat=21.03, lon=105.85)
    with db.session() as s:
        return incidents.open_incident(s, engine, unit_id=world.units[unit].id, **fields).id


def add_alerts(db: Any, incident_id: int, n: int, severity: str = "severe") -> list[int]:
    """Alerts grouped into an incident, as the rule engine leaves them."""
    now = utcnow()
    ids = []
    with db.session() as s:
        inc = s.get(Incident, incident_id)
        for k in range(n):
            a = Alert(
                dedup_key=f"test:{uuid.uuid4().hex}",
                unit_id=inc.unit_id,
                incident_id=inc.id,
                domain=inc.domain,
                category="fire.smoke",
                severity=severity,
                title=f"Phát hiện khói tại camera {k + 1}",
                title_en=f"Smoke seen by camera {k + 1}",
                lat=20.905 + k * 0.001,
                lon=105.805,
                first_at=now - timedelta(minutes=n - k),
                last_at=now,
            )
            s.add(a)
            s.flush()
            ids.append(a.id)
    return ids


def png(color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, "PNG")
    return out.getvalue()


def count(db: Any, model: Any, *where: Any) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def act(client: Any, world: Any, who: str, incident_id: int, name: str, **body: Any) -> Any:
    return client.post(f"{BASE}/{incident_id}/actions/{name}", json=body, headers=world.auth(who))


def pdf_text(data: bytes) -> str:
    """The text an fpdf2 PDF shows: strings of each Tj, decoded through its font's ToUnicode map
    (Type0 fonts), or as Latin-1 (core fonts). Enough to check what a report says, no PDF library needed."""
    objects = {int(m[1]): m[2] for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", data, re.S)}

    def stream(body: bytes) -> bytes | None:
        m = re.search(rb"stream\r?\n", body)
        length = re.search(rb"/Length\s+(\d+)", body)
        if m is None or length is None:
            return None
        data = body[m.end() : m.end() + int(length[1])]  # by /Length: the data may end in CR or LF bytes
        return zlib.decompress(data) if b"/FlateDecode" in body[: m.start()] else data

    def cmap(raw: bytes) -> dict[int, str]:
        out: dict[int, str] = {}
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", raw, re.S):
            for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                out[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", raw, re.S):
            for lo, hi, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                for k in range(int(lo, 16), int(hi, 16) + 1):
                    out[k] = chr(int(dst, 16) + k - int(lo, 16))
        return out

    fonts: dict[bytes, dict[int, str] | None] = {}
    for body in objects.values():
        for name, ref in re.findall(rb"/(F\d+)\s+(\d+) 0 R", body):
            to_unicode = re.search(rb"/ToUnicode\s+(\d+) 0 R", objects.get(int(ref), b""))
            raw = stream(objects[int(to_unicode[1])]) if to_unicode else None
            fonts[name] = cmap(raw) if raw else None

    def unescape(s: bytes) -> bytes:
        out, i = bytearray(), 0
        while i < len(s):
            if s[i] == 0x5C:
                nxt = s[i + 1 : i + 2]
                if nxt.isdigit():
                    digits = re.match(rb"[0-7]{1,3}", s[i + 1 : i + 4])[0]
                    out.append(int(digits, 8))
                    i += 1 + len(digits)
                    continue
                out += {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}.get(nxt, nxt)
                i += 2
            else:
                out.append(s[i])
                i += 1
        return bytes(out)

    lines = []
    for body in objects.values():
        content = stream(body) if b"stream" in body else None
        if not content or b" Tf" not in content:
            continue
        current: dict[int, str] | None = None
        for m in re.finditer(rb"/(F\d+)\s+[\d.]+\s+Tf|\(((?:\\.|[^\\)])*)\)\s*Tj", content, re.S):
            if m[1] is not None:
                current = fonts.get(m[1])
                continue
            raw = unescape(m[2])
            if current is None:
                lines.append(raw.decode("latin-1"))
            else:
                codes = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw) - 1, 2)]
                lines.append("".join(current.get(c, "?") for c in codes))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- opening


def test_open_gives_code_one_event_and_starts_the_sop(client: Any, world: Any, db: Any) -> None:
    body = {
        "type": "fire",
        "title": FIRE,
        "severity": "severe",
        "domain": "security",
        "lat": 20.905,
        "lon": 105.805,
        "description": "Người dân gọi báo có khói đen",
    }
    r = client.post(BASE, json=body, headers=world.auth("op_a"))
    assert r.status_code == 201, r.text
    d = r.json()
    inc = d["incident"]
    assert re.fullmatch(r"SC-\d{4}-\d{6}", inc["code"]) and inc["code"].endswith(f"{inc['id']:06d}")
    assert inc["state"] == "new" and inc["source"] == "manual"
    assert inc["unit"]["id"] == world.units["H1"].id  # found from the point: the hamlet
    assert "Xã Đại Thanh" in inc["unit"]["place"]
    with db.session() as s:
        opened = s.scalars(
            select(OutboxEvent).where(OutboxEvent.subject.like("toancanh.alerts.incident.%"))
        ).all()
    assert [e.subject for e in opened] == ["toancanh.alerts.incident.opened"]  # one event, not two
    data = opened[0].data
    assert data["code"] == inc["code"] and data["severity"] == "severe" and data["case_id"] == inc["id"]
    assert (data["lat"], data["lon"]) == (20.905, 105.805) and FIRE in data["title_vi"]
    assert data["title_en"].startswith(f"Incident {inc['code']}")
    # the fire SOP started by itself, each step due `minutes` after the opening
    [run] = d["sop_runs"]
    assert run["template_code"] == "sop-fire" and run["started_by"] == "system"
    opened_at = inc["opened_at"]
    first = run["steps"][0]
    assert first["key"] == "check_camera" and first["status"] == "pending"
    assert datetime.fromisoformat(first["due_at"]) - datetime.fromisoformat(opened_at) == timedelta(minutes=2)
    assert [t["kind"] for t in d["timeline"]][:2] == ["case", "sop_run"]
    assert d["nearby_cameras"] and d["nearby_cameras"][0]["code"] == "cam-a1"  # 0 m away


def test_two_incidents_get_distinct_codes_and_bad_input_changes_nothing(
    client: Any, world: Any, db: Any
) -> None:
    engine = client.app.state.workflow
    a, b = open_incident(db, engine, world), open_incident(db, engine, world)
    with db.session() as s:
        assert s.get(Incident, a).code != s.get(Incident, b).code
    before = count(db, Incident)
    cases = [
        ({"severity": "catastrophic"}, 422),
        ({"domain": "weather-ish"}, 400),
        ({"unit_id": world.units["B"].id, "lat": None, "lon": None}, 403),  # op_a does not hold commune B
        ({"lat": 10.0, "lon": 106.0}, 400),  # outside the area served
        ({"lat": 20.9, "lon": None}, 422),
        ({"lat": None, "lon": None}, 422),  # neither a unit nor a point
    ]
    for change, status in cases:
        body = {"type": "fire", "title": FIRE, "domain": "security", "lat": 20.905, "lon": 105.805, **change}
        r = client.post(BASE, json=body, headers=world.auth("op_a"))
        assert r.status_code == status, (change, r.text)
        err = r.json()["error"]
        assert err["message"] and err["message_en"] and err["code"]
    assert count(db, Incident) == before


# ------------------------------------------------------------------------------------------- lifecycle


def test_lifecycle_records_who_and_when(client: Any, world: Any, db: Any) -> None:
    iid = open_incident(db, client.app.state.workflow, world)
    alert_ids = add_alerts(db, iid, 2)
    r = act(client, world, "op_a", iid, "acknowledge")
    assert r.status_code == 200, r.text
    inc = r.json()["incident"]
    assert inc["state"] == "acknowledged" and inc["acknowledged_by"] == "op_a" and inc["acknowledged_at"]
    with db.session() as s:
        alerts = s.scalars(select(Alert).where(Alert.id.in_(alert_ids))).all()
        assert {a.status for a in alerts} == {"acknowledged"}
        assert {a.acknowledged_by for a in alerts} == {"op_a"} and all(a.acknowledged_at for a in alerts)
    ca_a = world.agencies["ca-a"].id
    r = act(client, world, "op_a", iid, "dispatch", agency_id=ca_a, team="Tổ PCCC cơ sở")
    assert r.status_code == 200, r.text
    assert r.json()["incident"]["team"] == "Tổ PCCC cơ sở"
    assert r.json()["incident"]["assignee_agency"] == {"id": ca_a, "name": "Công an Xã Đại Thanh"}
    assert act(client, world, "police_a", iid, "start").status_code == 200
    r = act(client, world, "police_a", iid, "resolve")
    assert r.status_code == 422 and r.json()["error"]["details"]["missing"] == ["comment"]
    r = act(client, world, "police_a", iid, "resolve", comment="Đã dập tắt, không có thương vong")
    assert r.status_code == 200, r.text
    with db.session() as s:
        assert {a.status for a in s.scalars(select(Alert).where(Alert.id.in_(alert_ids)))} == {"resolved"}
    r = act(client, world, "op_a", iid, "close")
    assert r.status_code == 200
    d = r.json()
    assert d["incident"]["state"] == "closed" and d["incident"]["closed_at"]
    assert all(d["milestones"][k] for k in ("acknowledged_at", "dispatched_at", "started_at", "resolved_at"))
    assert (
        d["durations"]["to_acknowledge_s"] >= 0
        and d["durations"]["to_close_s"] >= d["durations"]["to_resolve_s"]
    )
    case_steps = [(t["transition"], t["actor"]) for t in d["timeline"] if t["kind"] == "case"]
    assert case_steps == [
        ("open", "system"),
        ("acknowledge", "op_a"),
        ("dispatch", "op_a"),
        ("start", "police_a"),
        ("resolve", "police_a"),
        ("close", "op_a"),
    ]
    with db.session() as s:
        actions = s.execute(
            select(AuditEntry.action, AuditEntry.actor)
            .where(AuditEntry.entity_id == str(iid))
            .order_by(AuditEntry.id)
        ).all()
    assert ("incident.acknowledge", "op_a") in actions and ("alert.acknowledge", "op_a") in actions
    assert ("incident.resolve", "police_a") in actions and ("alert.resolve", "police_a") in actions
    assert {a["name"] for a in d["actions"]} == {"reopen", "comment"}


def test_dispatch_checks_agency_and_user_and_changes_nothing(client: Any, world: Any, db: Any) -> None:
    iid = open_incident(db, client.app.state.workflow, world)
    r = act(client, world, "op_a", iid, "dispatch")
    assert r.status_code == 422 and r.json()["error"]["details"]["missing"] == ["agency_id"]
    r = act(
        client,
        world,
        "op_a",
        iid,
        "dispatch",
        agency_id=world.agencies["ca-b"].id,
        user_id=world.users["police_a"].id,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = act(client, world, "op_a", iid, "dispatch", agency_id=987654)
    assert r.status_code == 422
    r = act(client, world, "op_a", iid, "dispatch", bogus=1)
    assert r.status_code == 422
    with db.session() as s:
        inc = s.get(Incident, iid)
        assert inc.state == "new" and inc.assignee_agency_id is None and inc.acknowledged_at is None
    r = act(
        client,
        world,
        "op_a",
        iid,
        "dispatch",
        agency_id=world.agencies["ca-a"].id,
        user_id=world.users["police_a"].id,
    )
    assert r.status_code == 200, r.text
    inc = r.json()["incident"]
    assert inc["assignee_user"]["username"] == "police_a"
    assert inc["acknowledged_by"] == "op_a"  # dispatching straight away acknowledges it too
    assert act(client, world, "op_a", iid, "fly").status_code == 400
    assert act(client, world, "op_a", iid, "close").status_code == 409


# ------------------------------------------------------------------------------------------- permissions


@pytest.fixture
def three(client: Any, world: Any, db: Any) -> dict[str, tuple[int, str, str]]:
    """Incidents in hamlet 1 of A (security), in A (environment), in B (security): key -> (id, path, domain)."""
    engine = client.app.state.workflow
    out = {}
    for key, unit, domain in (
        ("a-sec", "H1", "security"),
        ("a-env", "A", "environment"),
        ("b-sec", "B", "security"),
    ):
        iid = open_incident(
            db,
            engine,
            world,
            unit=unit,
            domain=domain,
            type="air_quality" if domain != "security" else "fire",
        )
        out[key] = (iid, world.units[unit].path, domain)
    return out


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_read_follows_grants(client: Any, world: Any, three: Any, who: str) -> None:
    expected = {iid for iid, path, dom in three.values() if covers(who, "incidents.read", path, dom)}
    r = client.get(BASE, headers=world.auth(who))
    if r.status_code == 403:
        assert not expected
        return
    assert r.status_code == 200, r.text
    assert {i["id"] for i in r.json()} == expected
    for iid, path, dom in three.values():
        want = 200 if covers(who, "incidents.read", path, dom) else 404
        for url in (f"{BASE}/{iid}", f"{BASE}/{iid}/report.pdf"):
            resp = client.get(url, headers=world.auth(who))
            assert resp.status_code == want, (who, url, resp.status_code)
        resp = act(client, world, who, iid, "acknowledge")
        assert resp.status_code == (
            404 if want == 404 else 200 if covers(who, "incidents.handle", path, dom) else 403
        )


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_manual_create_follows_grants(client: Any, world: Any, db: Any, who: str) -> None:
    for unit, domain in (("A", "security"), ("B", "security"), ("A", "environment")):
        before = count(db, Incident)
        body = {"type": "fire", "title": FIRE, "domain": domain, "unit_id": world.units[unit].id}
        r = client.post(BASE, json=body, headers=world.auth(who))
        allowed = covers(who, "incidents.handle", world.units[unit].path, domain)
        assert r.status_code == (201 if allowed else 403), (who, unit, domain, r.text)
        assert count(db, Incident) == before + (1 if allowed else 0)


def test_viewer_reads_but_does_not_handle_and_agency_acts_only_when_assigned(
    client: Any, world: Any, db: Any
) -> None:
    iid = open_incident(db, client.app.state.workflow, world)
    d = client.get(f"{BASE}/{iid}", headers=world.auth("viewer_a")).json()
    assert [a["name"] for a in d["actions"]] == ["comment"]  # a note is all a viewer may add
    assert all(not s["can_do"] for s in d["sop_runs"][0]["steps"])
    for name, body in (
        ("acknowledge", {}),
        ("dispatch", {"agency_id": world.agencies["ca-a"].id}),
        ("dismiss", {"reason": "x"}),
    ):
        r = act(client, world, "viewer_a", iid, name, **body)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert act(client, world, "police_a", iid, "acknowledge").status_code == 403
    assert act(client, world, "leader_a", iid, "acknowledge").status_code == 403
    # assigned to commune B's police: commune A's police may neither start nor resolve
    assert act(client, world, "op_a", iid, "dispatch", agency_id=world.agencies["ca-b"].id).status_code == 200
    assert act(client, world, "police_a", iid, "start").status_code == 403
    assert act(client, world, "police_a", iid, "resolve", comment="xong").status_code == 403
    assert act(client, world, "op_a", iid, "dispatch", agency_id=world.agencies["ca-a"].id).status_code == 200
    assert act(client, world, "police_a", iid, "start").status_code == 200
    assert act(client, world, "police_a", iid, "resolve", comment="xong").status_code == 200
    assert act(client, world, "police_a", iid, "close").status_code == 403
    assert client.get(f"{BASE}/{iid}").status_code == 401


def test_list_filters(client: Any, world: Any, db: Any) -> None:
    engine = client.app.state.workflow
    ids = [open_incident(db, engine, world, severity=s) for s in ("minor", "severe", "extreme")]
    act(client, world, "op_a", ids[0], "dismiss", reason="Báo động giả")
    h = world.auth("op_a")
    assert [i["id"] for i in client.get(BASE, headers=h).json()] == ids[::-1]
    assert {i["id"] for i in client.get(f"{BASE}?open_only=true", headers=h).json()} == set(ids[1:])
    assert [i["id"] for i in client.get(f"{BASE}?state=closed", headers=h).json()] == [ids[0]]
    assert [i["id"] for i in client.get(f"{BASE}?severity=extreme", headers=h).json()] == [ids[2]]
    assert [i["id"] for i in client.get(f"{BASE}?limit=1&offset=1", headers=h).json()] == [ids[1]]
    assert client.get(f"{BASE}?unit_id={world.units['B'].id}", headers=h).json() == []
    r = client.get(f"{BASE}?state=DROP%20TABLE", headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert client.get(f"{BASE}?limit=100000", headers=h).status_code == 422


# ------------------------------------------------------------------------------------------- merge / split


def test_merge_moves_alerts_and_attachments(client: Any, world: Any, db: Any) -> None:
    engine = client.app.state.workflow
    source, target, other = (open_incident(db, engine, world) for _ in range(3))
    b_incident = open_incident(db, engine, world, unit="B")
    moved = add_alerts(db, source, 2)
    kept = add_alerts(db, target, 1)
    up = client.post(
        f"{BASE}/{source}/attachments",
        files={"file": ("anh.png", png(), "image/png")},
        headers=world.auth("op_a"),
    )
    assert up.status_code == 201, up.text
    for bad, status in ((source, 400), (b_incident, 404), (987654, 404)):
        r = act(client, world, "op_a", source, "merge", target_id=bad)
        assert r.status_code == status, r.text
    act(client, world, "op_a", other, "dismiss", reason="Trùng")
    assert act(client, world, "op_a", source, "merge", target_id=other).status_code == 400  # closed
    assert act(client, world, "viewer_a", source, "merge", target_id=target).status_code == 403
    with db.session() as s:
        assert s.get(Incident, source).state == "new"
    r = act(client, world, "op_a", source, "merge", target_id=target)
    assert r.status_code == 200, r.text
    assert r.json()["incident"]["state"] == "merged" and r.json()["incident"]["merged_into"]["id"] == target
    with db.session() as s:
        assert set(s.scalars(select(Alert.id).where(Alert.incident_id == target))) == set(moved + kept)
        assert s.scalar(select(IncidentAttachment.incident_id)) == target
    d = client.get(f"{BASE}/{target}", headers=world.auth("op_a")).json()
    assert d["merged_from"][0]["id"] == source and len(d["alerts"]) == 3 and len(d["attachments"]) == 1
    assert any(t["transition"] == "comment" and "Gộp sự cố" in t["comment"] for t in d["timeline"])
    assert act(client, world, "op_a", source, "acknowledge").status_code == 409  # merged is final
    src = client.get(f"{BASE}/{source}", headers=world.auth("op_a")).json()
    step = src["sop_runs"][0]["steps"][0]
    assert not step["can_do"]
    assert (
        client.post(f"{BASE}/steps/{step['id']}/done", json={}, headers=world.auth("op_a")).status_code == 409
    )


def test_split_moves_the_chosen_alerts_into_a_new_incident(client: Any, world: Any, db: Any) -> None:
    engine = client.app.state.workflow
    iid = open_incident(db, engine, world)
    other = open_incident(db, engine, world)
    a1, a2, a3 = add_alerts(db, iid, 3)
    (foreign,) = add_alerts(db, other, 1)
    h = world.auth("op_a")
    before = count(db, Incident)
    for ids, status in (([a1, foreign], 400), ([a1, a2, a3], 400), ([], 422)):
        r = client.post(f"{BASE}/{iid}/split", json={"alert_ids": ids}, headers=h)
        assert r.status_code == status, r.text
    r = client.post(f"{BASE}/{iid}/split", json={"alert_ids": [a2]}, headers=world.auth("viewer_a"))
    assert r.status_code == 403
    assert count(db, Incident) == before
    r = client.post(
        f"{BASE}/{iid}/split", json={"alert_ids": [a2, a3], "title": "Cháy nhà dân thôn Một"}, headers=h
    )
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["incident"]["title"] == "Cháy nhà dân thôn Một" and new["incident"]["type"] == "fire"
    assert new["incident"]["unit_id"] == world.units["H1"].id and new["incident"]["domain"] == "security"
    assert {a["id"] for a in new["alerts"]} == {a2, a3} and len(new["sop_runs"]) == 1
    with db.session() as s:
        assert list(s.scalars(select(Alert.id).where(Alert.incident_id == iid))) == [a1]
    d = client.get(f"{BASE}/{iid}", headers=h).json()
    assert any(new["incident"]["code"] in (t["comment"] or "") for t in d["timeline"])


# ------------------------------------------------------------------------------------------- attachments


def test_attachments_checked_by_content_size_and_count(client: Any, world: Any, db: Any) -> None:
    iid = open_incident(db, client.app.state.workflow, world)
    url = f"{BASE}/{iid}/attachments"
    h = world.auth("op_a")
    r = client.post(url, files={"file": ("../../hiện trường.png", png(), "image/jpeg")}, headers=h)
    assert r.status_code == 201, r.text
    att = r.json()
    assert (
        att["content_type"] == "image/png"
        and att["filename"] == "hiện trường.png"
        and att["uploaded_by"] == "op_a"
    )
    got = client.get(att["url"], headers=world.auth("viewer_a"))
    assert got.status_code == 200 and got.content == png() and got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert client.get(att["url"], headers=world.auth("op_b")).status_code == 404
    assert client.get(f"{BASE}/{iid}/attachments/987654", headers=h).status_code == 404
    refused = [
        (("x.jpg", b"<script>alert(1)</script>", "image/jpeg"), 400),  # the name and the claimed type lie
        (("x.gif", b"GIF89a" + b"\0" * 20, "image/gif"), 400),
        (("x.heic", b"\0\0\0\x18ftypheic" + b"\0" * 20, "video/mp4"), 400),
        (("empty.pdf", b"", "application/pdf"), 400),
        (("big.pdf", b"%PDF-" + b"0" * incidents.MAX_ATTACHMENT_BYTES, "application/pdf"), 413),
    ]
    for file, status in refused:
        r = client.post(url, files={"file": file}, headers=h)
        assert r.status_code == status, (file[0], r.text)
        assert r.json()["error"]["message_en"]
    for who in ("viewer_a", "leader_a", "police_a"):  # police_a: its agency is not assigned
        assert (
            client.post(
                url, files={"file": ("a.png", png(), "image/png")}, headers=world.auth(who)
            ).status_code
            == 403
        )
    assert count(db, IncidentAttachment) == 1
    clip = b"\0\0\0\x18ftypisom" + b"\0" * 64
    assert client.post(url, files={"file": ("c.mp4", clip, "video/mp4")}, headers=h).status_code == 201
    assert (
        client.post(
            url, files={"file": ("d.pdf", b"%PDF-1.4\n%%EOF", "application/pdf")}, headers=h
        ).status_code
        == 201
    )
    for k in range(incidents.MAX_ATTACHMENTS - 3):
        r = client.post(url, files={"file": (f"{k}.png", png(), "image/png")}, headers=h)
        assert r.status_code == 201
    r = client.post(url, files={"file": ("21.png", png(), "image/png")}, headers=h)
    assert r.status_code == 400 and "20" in r.json()["error"]["message"]
    assert count(db, IncidentAttachment) == incidents.MAX_ATTACHMENTS
    # staff of the assigned agency may add evidence
    other = open_incident(db, client.app.state.workflow, world)
    act(client, world, "op_a", other, "dispatch", agency_id=world.agencies["ca-a"].id)
    r = client.post(
        f"{BASE}/{other}/attachments",
        files={"file": ("b.png", png("blue"), "image/png")},
        headers=world.auth("police_a"),
    )
    assert r.status_code == 201 and r.json()["uploaded_by"] == "police_a"


# ------------------------------------------------------------------------------------------- after-action report


def test_after_action_pdf_in_vietnamese_and_english(client: Any, world: Any, db: Any) -> None:
    iid = open_incident(db, client.app.state.workflow, world)
    add_alerts(db, iid, 1)
    act(client, world, "op_a", iid, "acknowledge")
    act(client, world, "op_a", iid, "dispatch", agency_id=world.agencies["ca-a"].id, team="Đội xung kích")
    act(client, world, "leader_a", iid, "comment", comment="Yêu cầu báo cáo thiệt hại trước 17 giờ")
    d = client.get(f"{BASE}/{iid}", headers=world.auth("op_a")).json()
    step = d["sop_runs"][0]["steps"][1]["id"]
    assert (
        client.post(
            f"{BASE}/steps/{step}/done", json={"note": "Đã gọi 114"}, headers=world.auth("op_a")
        ).status_code
        == 200
    )
    act(client, world, "police_a", iid, "resolve", comment="Đã dập tắt đám cháy")
    r = client.get(f"{BASE}/{iid}/report.pdf", headers=world.auth("viewer_a"))
    assert (
        r.status_code == 200
        and r.headers["content-type"] == "application/pdf"
        and r.content.startswith(b"%PDF")
    )
    text = pdf_text(r.content)
    code = d["incident"]["code"]
    for expected in (
        "BÁO CÁO SAU SỰ CỐ",
        f"{code}: {FIRE}",
        "Thôn Một, Xã Đại Thanh, Thành phố Hà Nội",
        "Nghiêm trọng",
        "(bởi op_a)",
        "Công an Xã Đại Thanh — đội Đội xung kích",
        "Phát hiện khói tại camera 1",
        "Ứng phó cháy",
        "[x] Gọi 114 báo Cảnh sát PCCC và CNCH",
        "Yêu cầu báo cáo thiệt hại trước 17 giờ",
        "Đã dập tắt đám cháy",
        "Đến khi xác nhận",
    ):
        assert expected in text, expected
    en = pdf_text(client.get(f"{BASE}/{iid}/report.pdf?lang=en", headers=world.auth("op_a")).content)
    assert "AFTER-ACTION REPORT" in en and "Fire in the school kitchen" in en and "Fire response" in en
    assert client.get(f"{BASE}/{iid}/report.pdf?lang=fr", headers=world.auth("op_a")).status_code == 422


def test_pdf_without_a_unicode_font_is_transliterated(
    client: Any, world: Any, db: Any, tmp_path: Path
) -> None:
    iid = open_incident(db, client.app.state.workflow, world)
    d = client.get(f"{BASE}/{iid}", headers=world.auth("op_a")).json()
    text = pdf_text(after_action_pdf(d, font_dir=tmp_path))  # an empty folder: no DejaVu
    assert "BAO CAO SAU SU CO" in text and "Chay bep an truong Tieu hoc Dai Thanh" in text

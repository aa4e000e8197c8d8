"""The e-documents register: import by file (.xlsx, .csv) and by API, all or nothing and idempotent on the
external id; state changes audited with events; the figures, each checked; overdue on the working-time
clock; the permission matrix; the page as each role."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from tests.conftest import WORLD_USERS
from tests.modules.direction.test_pages import web_login
from tests.permission_matrix import Resource, covers
from toancanh.core.audit import AuditEntry
from toancanh.core.auth.permissions import role_has
from toancanh.core.outbox import OutboxEvent
from toancanh.core.worktime import VN_TZ
from toancanh.modules.direction import edocs_import, edocuments, service
from toancanh.modules.direction.models import EDocument

URL = "/api/v1/edocuments"


def row(ext: str, **over: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "external_id": ext,
        "direction": "incoming",
        "number": f"{ext}/UBND-VP",
        "document_date": "2026-11-02",
        "issuer": "UBND thành phố Hà Nội",
        "summary": f"V/v triển khai nhiệm vụ {ext}",
        "state": "received",
        "handler_agency": "ca-a",
        "deadline": "2099-12-31",
        "digitally_signed": "có",
        "sent_electronically": "không",
    }
    r.update(over)
    return {k: v for k, v in r.items() if v is not None}


def xlsx(rows: list[dict[str, Any]], header: list[str] | None = None) -> bytes:
    cols = header or list(edocs_import.COLUMNS)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(cols)
    for r in rows:
        ws.append([r.get(c) for c in cols])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(rows: list[dict[str, Any]], header: list[str] | None = None) -> bytes:
    cols = header or list(edocs_import.COLUMNS)
    out = io.StringIO()
    w = csv.writer(out, delimiter=";")
    w.writerow(cols)
    for r in rows:
        w.writerow([r.get(c, "") for c in cols])
    return out.getvalue().encode("utf-8")


def upload(client: Any, w: Any, name: str, data: bytes, who: str = "op_a", unit: str = "A") -> Any:
    return client.post(
        f"{URL}/import/file",
        data={"unit_id": str(w.units[unit].id)},
        files={"file": (name, data, "application/octet-stream")},
        headers=w.auth(who),
    )


def batch(client: Any, w: Any, rows: list[dict[str, Any]], who: str = "op_a", unit: str = "A") -> Any:
    return client.post(
        f"{URL}/import", json={"unit_id": w.units[unit].id, "documents": rows}, headers=w.auth(who)
    )


def count(db: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(EDocument)) or 0)


# ------------------------------------------------------------------------------------------- import


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_import_file_then_reimport_updates(client: Any, dworld: Any, db: Any, fmt: str) -> None:
    w = dworld
    rows = [row("VB-1"), row("VB-2", direction="outgoing", state="drafted", issuer="UBND xã Đại Thanh")]
    make = xlsx if fmt == "xlsx" else csv_bytes
    r = upload(client, w, f"vb.{fmt}", make(rows))
    assert r.status_code == 201, r.text
    assert r.json() == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0}
    # again, one changed: no duplicate, one update
    rows[0]["state"] = "in_process"
    r = upload(client, w, f"vb.{fmt}", make(rows))
    assert r.status_code == 201, r.text
    assert r.json() == {"rows": 2, "created": 0, "updated": 1, "unchanged": 1}
    assert count(db) == 2
    listed = {d["external_id"]: d for d in client.get(URL, headers=w.auth("op_a")).json()}
    assert listed["VB-1"]["state"] == "in_process" and listed["VB-1"]["digitally_signed"] is True
    assert (
        listed["VB-2"]["direction"] == "outgoing"
        and listed["VB-2"]["handler_agency_id"] == w.agencies["ca-a"].id
    )
    assert listed["VB-1"]["deadline_at"].startswith("2099-12-31T")
    with db.session() as s:
        imports = s.scalar(select(func.count()).where(AuditEntry.action == "edocument.import"))
        events = s.scalar(select(func.count()).where(OutboxEvent.subject == edocuments.IMPORTED))
    assert imports == events == 2


def test_import_batch_api_is_idempotent(client: Any, dworld: Any, db: Any) -> None:
    w = dworld
    rows = [row(f"API-{i}") for i in range(5)]
    assert batch(client, w, rows).json()["created"] == 5
    assert batch(client, w, rows).json() == {"rows": 5, "created": 0, "updated": 0, "unchanged": 5}
    # the same external id in another unit is another document
    other = [row("API-0", handler_agency="ca-b")]
    assert batch(client, w, other, who="op_b", unit="B").status_code == 201
    assert count(db) == 6


BAD_FILES = [
    (
        "wrong columns",
        lambda: xlsx([row("X")], header=["external_id", "so_hieu", "state"]),
        {"so_hieu", "direction"},
    ),
    (
        "bad dates",
        lambda: xlsx([row("X", document_date="31/02/2026"), row("Y", deadline="tomorrow")]),
        {"document_date", "deadline"},
    ),
    (
        "unknown agency",
        lambda: csv_bytes([row("X"), row("Y", handler_agency="khong-co")]),
        {"handler_agency"},
    ),
    ("duplicate rows", lambda: csv_bytes([row("X"), row("X")]), {"external_id"}),
    ("bad state", lambda: csv_bytes([row("X", state="sent")]), {"state"}),
    ("finished without date", lambda: csv_bytes([row("X", state="finished")]), {"finished_at"}),
]


@pytest.mark.parametrize(("name", "make", "columns"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_write_nothing(
    client: Any, dworld: Any, db: Any, name: str, make: Any, columns: set[str]
) -> None:
    w = dworld
    assert batch(client, w, [row("KEEP")]).status_code == 201
    data = make()
    fname = "vb.xlsx" if data.startswith(b"PK") else "vb.csv"
    # a good row next to the bad ones is not written either
    r = upload(client, w, fname, data)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "import_errors" and "không có gì được ghi" in err["message"]
    got = {e["column"] for e in err["details"]["errors"]}
    assert columns <= got, got
    assert all(e["message"] and e["message_en"] and e["row"] >= 1 for e in err["details"]["errors"])
    assert count(db) == 1


def test_bad_batch_and_bad_file_kinds(client: Any, dworld: Any, db: Any) -> None:
    w = dworld
    r = batch(client, w, [row("A1"), {**row("A2"), "colour": "red"}, row("A3", direction="sideways")])
    assert r.status_code == 422
    assert {(e["row"], e["column"]) for e in r.json()["error"]["details"]["errors"]} == {
        (2, "colour"),
        (3, "direction"),
    }
    assert upload(client, w, "vb.pdf", b"%PDF-1.4").status_code == 400
    assert upload(client, w, "vb.xlsx", b"not a zip").status_code == 400
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * 30_000_000)
    r = upload(client, w, "vb.xlsx", bomb.getvalue())
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_file"
    assert batch(client, w, []).status_code == 422
    assert count(db) == 0


def test_template_downloads(client: Any, dworld: Any) -> None:
    h = dworld.auth("op_a")
    r = client.get(f"{URL}/template.xlsx", headers=h)
    assert r.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert [c.value for c in wb.worksheets[0][1]] == list(edocs_import.COLUMNS)
    assert r.content and client.get(f"{URL}/template.csv", headers=h).text.lstrip("\ufeff").startswith(
        "external_id,"
    )
    assert client.get(f"{URL}/template.pdf", headers=h).status_code == 404
    # the template itself imports
    assert upload(client, dworld, "mau.xlsx", r.content).status_code == 201


# ------------------------------------------------------------------------------------------- records


def test_create_and_state_changes(client: Any, dworld: Any, db: Any) -> None:
    w = dworld
    body = {
        "unit_id": w.units["A"].id,
        "direction": "incoming",
        "number": "88/SNNMT-QLĐĐ",
        "document_date": "2026-11-10",
        "issuer": "Sở Nông nghiệp và Môi trường",
        "summary": "V/v rà soát hiện trạng sử dụng đất công",
        "handler_agency_id": w.agencies["vhxh-a"].id,
        "deadline": "2099-01-05",
        "digitally_signed": True,
    }
    r = client.post(URL, json=body, headers=w.auth("leader_a"))
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["state"] == "received"
    patch = lambda **b: client.patch(f"{URL}/{doc['id']}", json=b, headers=w.auth("op_a"))  # noqa: E731
    assert patch(state="signed").status_code == 400  # not a state of an incoming document
    assert patch(state="in_process").json()["state"] == "in_process"
    assert patch(state="received").status_code == 409  # no way back
    done = patch(state="finished", note="Đã báo cáo Sở")
    assert done.status_code == 200 and done.json()["finished_at"]
    assert patch().status_code == 400
    assert patch(handler_agency_id=w.agencies["ca-b"].id).status_code == 400  # commune B's police
    with db.session() as s:
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(doc["id"]))))
        events = s.scalar(select(func.count()).where(OutboxEvent.subject == edocuments.CHANGED))
    assert actions.count("edocument.update") == 2 and actions.count("edocument.create") == 1
    assert events == 3
    # duplicate external id, bad domain, bad body: clear 4xx, nothing written
    assert client.post(URL, json={**body, "external_id": "Z1"}, headers=w.auth("op_a")).status_code == 201
    assert client.post(URL, json={**body, "external_id": "Z1"}, headers=w.auth("op_a")).status_code == 409
    assert client.post(URL, json={**body, "domain": "nope"}, headers=w.auth("op_a")).status_code == 400
    assert client.post(URL, json={**body, "state": "sent"}, headers=w.auth("op_a")).status_code == 400
    assert client.post(URL, json={**body, "deadline_days": 3}, headers=w.auth("op_a")).status_code == 422
    assert count(db) == 2


# ------------------------------------------------------------------------------------------- figures

PAST, FUTURE = "2020-01-06", "2099-01-05"


def test_metrics_each_figure(client: Any, dworld: Any, db: Any) -> None:
    w = dworld
    rows = [
        row("I1", state="received", deadline=FUTURE),  # in process on time
        row("I2", state="in_process", deadline=PAST),  # overdue
        row("I3", state="received", deadline=PAST, digitally_signed="không"),  # overdue
        row("I4", state="in_process", deadline=""),  # no deadline: on time
        row("I5", state="finished", deadline="2026-11-20", finished_at="2026-11-19"),  # on time
        row("I6", state="finished", deadline="2026-11-20", finished_at="2026-11-20"),  # on time (same day)
        row("I7", state="finished", deadline="2026-11-20", finished_at="2026-11-23"),  # late
        row("I8", state="no_action", deadline=""),
        row(
            "O1", direction="outgoing", state="drafted", digitally_signed="không"
        ),  # in process, not signable
        row("O2", direction="outgoing", state="signed", deadline=PAST),  # overdue
        row("O3", direction="outgoing", state="sent", finished_at="2026-11-05", sent_electronically="có"),
        row("O4", direction="outgoing", state="sent", finished_at="2026-11-05", digitally_signed="không"),
        row("OLD", document_date="2025-01-02", state="received", deadline=PAST),  # outside the window
    ]
    assert batch(client, w, rows).status_code == 201
    r = client.get(
        f"{URL}/metrics",
        params={"unit": w.units["A"].id, "from": "2026-01-01", "to": "2026-12-31"},
        headers=w.auth("op_a"),
    )
    assert r.status_code == 200, r.text
    m = r.json()
    assert (m["incoming"], m["outgoing"]) == (8, 4)
    assert (m["in_process_on_time"], m["in_process_overdue"]) == (3, 3)  # I1 I4 O1 / I2 I3 O2
    assert (m["finished_on_time"], m["finished_late"], m["no_action"]) == (4, 1, 1)  # I5 I6 O3 O4 / I7
    # signable: all but O1 (11); signed: all but I3, O1, O4 -> 9 of 11
    assert m["digitally_signed"] == 9 and m["digitally_signed_pct"] == round(900 / 11, 1)
    assert (m["sent"], m["sent_electronically"], m["sent_electronically_pct"]) == (2, 1, 50.0)
    with db.session() as s:  # what the indicators module calls: the same figures, unscoped
        fig = service.edocument_figures(s, w.units["A"].id, since=date(2026, 1, 1), until=date(2026, 12, 31))
    assert fig == m
    all_time = client.get(f"{URL}/metrics", headers=w.auth("op_a")).json()
    assert all_time["incoming"] == 9 and all_time["in_process_overdue"] == 4
    # the unit filter: commune B has nothing; its operator sees nothing of A
    assert (
        client.get(f"{URL}/metrics", params={"unit": w.units["B"].id}, headers=w.auth("op_a")).json()[
            "incoming"
        ]
        == 0
    )
    assert client.get(f"{URL}/metrics", headers=w.auth("op_b")).json()["incoming"] == 0
    assert client.get(f"{URL}/metrics", params={"from": "soon"}, headers=w.auth("op_a")).status_code == 422
    # the list filters agree with the figures
    overdue = client.get(URL, params={"overdue": "true"}, headers=w.auth("op_a")).json()
    assert {d["external_id"] for d in overdue} == {"I2", "I3", "O2", "OLD"}
    outgoing = client.get(
        URL, params={"direction": "outgoing", "state": "sent"}, headers=w.auth("op_a")
    ).json()
    assert {d["external_id"] for d in outgoing} == {"O3", "O4"}


def test_overdue_on_the_working_time_clock(client: Any, dworld: Any, db: Any) -> None:
    """5 working days from Wednesday 29/4/2026 skip 30/4, 1/5 and the weekend: due Friday 8/5 at 17:00."""
    w = dworld
    body = {
        "unit_id": w.units["A"].id,
        "direction": "incoming",
        "number": "15/UBND-VP",
        "document_date": "2026-04-29",
        "issuer": "UBND thành phố Hà Nội",
        "summary": "V/v báo cáo công tác phòng cháy dịp nghỉ lễ",
        "deadline_days": 5,
    }
    r = client.post(URL, json=body, headers=w.auth("op_a"))
    assert r.status_code == 201, r.text
    due = datetime.fromisoformat(r.json()["deadline_at"]).astimezone(VN_TZ)
    assert due == datetime(2026, 5, 8, 17, 0, tzinfo=VN_TZ)
    unit = w.units["A"].id
    with db.session() as s:
        before = edocuments.metrics(s, None, unit, now=datetime(2026, 5, 8, 16, 59, tzinfo=VN_TZ))
        after = edocuments.metrics(s, None, unit, now=datetime(2026, 5, 8, 17, 1, tzinfo=VN_TZ))
        holiday = edocuments.metrics(s, None, unit, now=datetime(2026, 5, 1, 12, 0, tzinfo=VN_TZ))
        doc = s.scalars(select(EDocument)).one()
        assert not edocuments.is_overdue(doc, datetime(2026, 5, 8, 16, 59, tzinfo=VN_TZ))
        assert edocuments.is_overdue(doc, datetime(2026, 5, 8, 17, 1, tzinfo=VN_TZ))
    assert (before["in_process_on_time"], before["in_process_overdue"]) == (1, 0)
    assert (after["in_process_on_time"], after["in_process_overdue"]) == (0, 1)
    assert holiday["in_process_overdue"] == 0
    assert date(2026, 5, 8).weekday() == 4


# ------------------------------------------------------------------------------------------- permissions

# key: (unit, domain, handling agency)
DOCS = {
    "a-admin-police": ("A", "administration", "ca-a"),
    "a-security-police": ("A", "security", "ca-a"),
    "h1-traffic-police": ("H1", "traffic", "ca-a"),
    "a-culture-office": ("A", "culture", "vhxh-a"),
    "a-nobody": ("A", "administration", None),
    "b-security-police": ("B", "security", "ca-b"),
}


@pytest.fixture
def eworld(client: Any, dworld: Any) -> Any:
    w = dworld
    w.edocs = {}
    for key, (unit, domain, agency) in DOCS.items():
        body = {
            "unit_id": w.units[unit].id,
            "direction": "incoming",
            "number": f"{key}/VP",
            "document_date": "2026-11-02",
            "issuer": "Sở Xây dựng",
            "summary": f"Văn bản {key}",
            "domain": domain,
            "handler_agency_id": w.agencies[agency].id if agency else None,
        }
        r = client.post(URL, json=body, headers=w.auth("admin"))
        assert r.status_code == 201, r.text
        w.edocs[key] = (r.json()["id"], w.units[unit].path, domain)
    return w


def _agency_rule(who: str, key: str) -> bool:
    return WORLD_USERS[who][0] != "agency_staff" or DOCS[key][2] == "ca-a"


def _create_body(w: Any, unit: str, sfx: str) -> dict[str, Any]:
    return {
        "unit_id": w.units[unit].id,
        "direction": "outgoing",
        "number": f"{sfx[:50]}/UBND",
        "document_date": "2026-11-02",
        "issuer": "UBND xã",
        "summary": "Văn bản đi",
    }


EDOCS = Resource(
    name="edocuments",
    list_url=f"{URL}?limit=500",
    detail_url=lambda i: f"{URL}/{i}",
    read_permission="direction.read",
    objects=lambda w: w.edocs,
    ids_from_list=lambda body: {d["id"] for d in body},
    create_url=URL,
    write_permission="edocuments.write",
    create_body=_create_body,
    create_targets=[("A", "administration"), ("B", "administration"), ("H1", "administration")],
    extra_rule=_agency_rule,
)


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_read_matrix(client: Any, eworld: Any, who: str) -> None:
    w = eworld

    def sees(key: str, path: str, dom: str | None) -> bool:
        return covers(who, EDOCS.read_permission, path, dom) and _agency_rule(who, key)

    expected = {oid for key, (oid, path, dom) in w.edocs.items() if sees(key, path, dom)}
    resp = client.get(EDOCS.list_url, headers=w.auth(who))
    if not role_has(WORLD_USERS[who][0], EDOCS.read_permission):
        assert resp.status_code == 403 and who in ("viewer_a", "citizen")
        assert client.get(f"{URL}/metrics", headers=w.auth(who)).status_code == 403
        return
    assert resp.status_code == 200, resp.text
    assert EDOCS.ids_from_list(resp.json()) == expected, who
    for key, (oid, path, dom) in w.edocs.items():
        r = client.get(EDOCS.detail_url(oid), headers=w.auth(who))
        assert r.status_code == (200 if sees(key, path, dom) else 404), (who, key)
    m = client.get(f"{URL}/metrics", headers=w.auth(who)).json()
    assert m["incoming"] == len(expected)


def test_the_matrix_is_not_trivial(eworld: Any) -> None:
    def seen(who: str) -> set[str]:
        return {
            k
            for k, (_, p, d) in eworld.edocs.items()
            if covers(who, "direction.read", p, d) and _agency_rule(who, k)
        }

    assert seen("police_a") == {"a-security-police", "h1-traffic-police"}
    assert seen("op_a") == set(DOCS) - {"b-security-police"}
    assert seen("op_hamlet") == {"h1-traffic-police"}
    assert seen("traffic_center") == {"h1-traffic-police"}
    assert seen("op_b") == {"b-security-police"}


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_write_matrix(client: Any, eworld: Any, who: str) -> None:
    w = eworld
    assert EDOCS.create_body and EDOCS.create_url and EDOCS.write_permission
    for n, (unit, domain) in enumerate(EDOCS.create_targets):
        before = len(client.get(EDOCS.list_url, headers=w.auth("admin")).json())
        r = client.post(EDOCS.create_url, json=EDOCS.create_body(w, unit, f"{who}-{n}"), headers=w.auth(who))
        allowed = covers(who, EDOCS.write_permission, w.units[unit].path, domain)
        assert r.status_code == (201 if allowed else 403), (who, unit, r.text)
        after = len(client.get(EDOCS.list_url, headers=w.auth("admin")).json())
        assert after == before + (1 if allowed else 0)
        # imports and state changes follow the same grant
        imp = batch(client, w, [row(f"M-{who}-{n}", handler_agency="")], who=who, unit=unit)
        assert imp.status_code == (201 if allowed else 403), (who, unit, imp.text)
    doc_id = w.edocs["a-admin-police"][0]
    r = client.patch(f"{URL}/{doc_id}", json={"state": "in_process"}, headers=w.auth(who))
    readable = covers(who, "direction.read", w.units["A"].path, "administration")
    writable = covers(who, "edocuments.write", w.units["A"].path, "administration")
    readable = readable and _agency_rule(who, "a-admin-police")
    assert r.status_code == (200 if writable else 403 if readable else 404), (who, r.text)


def test_writers_are_clerks_and_leaders() -> None:
    assert role_has("operator", "edocuments.write") and role_has("leader", "edocuments.write")
    assert role_has("admin", "edocuments.write")
    assert not role_has("agency_staff", "edocuments.write") and not role_has("viewer", "edocuments.write")


def test_unauthenticated_and_unknown(client: Any, eworld: Any) -> None:
    assert client.get(URL).status_code == 401
    assert client.post(f"{URL}/import", json={}).status_code == 401
    assert client.get(f"{URL}/999999", headers=eworld.auth("op_a")).status_code == 404
    assert (
        client.patch(f"{URL}/999999", json={"state": "finished"}, headers=eworld.auth("op_a")).status_code
        == 404
    )


# ------------------------------------------------------------------------------------------- page


@pytest.mark.parametrize("who", list(WORLD_USERS) + ["staff_vh"])
def test_page_by_role(client: Any, eworld: Any, who: str) -> None:
    web_login(client, who)
    r = client.get("/direction/documents")
    reads = who not in ("viewer_a", "citizen")
    assert r.status_code == (200 if reads else 403), who
    if not reads:
        return
    assert "Sổ văn bản điện tử" in r.text and "Văn bản đến" in r.text
    assert ("/direction/documents/import" in r.text) == (
        who in ("admin", "leader_a", "op_a", "op_hamlet", "op_b", "traffic_center")
    )
    shown = {k for k in DOCS if f"Văn bản {k}<" in r.text}
    if who == "staff_vh":
        expected = {"a-culture-office"}
    else:
        expected = {
            k
            for k, (_, p, d) in eworld.edocs.items()
            if covers(who, "direction.read", p, d) and _agency_rule(who, k)
        }
    assert shown == expected, who
    assert client.get("/direction/documents?direction=outgoing").status_code == 200
    assert client.get("/direction/documents?overdue=true&state=received").status_code == 200
    assert client.get("/direction/documents?state=bogus").status_code == 422
    assert "/direction/documents" in client.get("/direction").text


def test_page_upload_shows_errors(client: Any, eworld: Any, db: Any) -> None:
    token = web_login(client, "op_a")
    before = count(db)
    unit = str(eworld.units["A"].id)
    bad = csv_bytes([row("P1"), row("P1", document_date="hôm qua")])
    r = client.post(
        "/direction/documents/import",
        data={"csrf": token, "unit_id": unit},
        files={"file": ("vb.csv", bad, "text/csv")},
    )
    assert r.status_code == 400 and 'id="import-errors"' in r.text and "Mã văn bản trùng với dòng 2" in r.text
    assert count(db) == before
    r = client.post(
        "/direction/documents/import",
        data={"csrf": "wrong", "unit_id": unit},
        files={"file": ("vb.csv", csv_bytes([row("P2")]), "text/csv")},
    )
    assert r.status_code == 403 and count(db) == before
    r = client.post(
        "/direction/documents/import",
        data={"csrf": token, "unit_id": unit},
        files={"file": ("vb.xlsx", xlsx([row("P2"), row("P3")]), XLSX)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert count(db) == before + 2
    assert "2 mới" in client.get(r.headers["location"]).text


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

"""Statistics of field reports and the Excel export: counts, Vietnam-time buckets, QĐ 766 rates, scope, privacy.

A fortnight of reports in commune A (2-15 March 2026), driven through the service with explicit times, plus
one in commune B and two just outside the window.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.modules.reports.conftest import jpeg
from toancanh.core.audit import AuditEntry
from toancanh.core.units import unit_index
from toancanh.core.worktime import VN_TZ
from toancanh.modules.reports import deadlines, service
from toancanh.modules.reports.models import FieldReport

H1 = (20.905, 105.805)  # hamlet 1 of commune A
H2 = (20.905, 105.825)  # hamlet 2 of commune A
B = (21.03, 105.85)
WINDOW = {"start": "2026-03-02", "end": "2026-03-15"}
FORMULA = '=HYPERLINK("http://example.invalid","Bấm vào đây") rác thải ùn ứ'


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


class Fortnight:
    """Drives reports through the real procedure at explicit times."""

    def __init__(self, app: Any, db: Any) -> None:
        self.app, self.db = app, db
        self.engine = app.state.workflow
        self.ids: dict[str, int] = {}

    def submit(
        self, key: str, at: datetime, where: tuple[float, float], category: str = "an-ninh", **kw: Any
    ):
        with self.db.session() as s:
            r = service.submit(
                s,
                self.engine,
                self.app.state.blobs,
                unit_index(s, self.app.state).locate,
                category_code=category,
                description=kw.pop("description", "Người dân phản ánh sự việc cần xử lý sớm"),
                lat=where[0],
                lon=where[1],
                now=at,
                **kw,
            )
            self.ids[key] = r.id

    def act(self, key: str, name: str, at: datetime, **fields: Any) -> None:
        with self.db.session() as s:
            report = s.get(FieldReport, self.ids[key])
            if name == "resolve":
                photo = service.store_photos(s, self.app.state.blobs, report, [jpeg()], "evidence")[0]
                fields = {
                    "answer": "Đã kiểm tra hiện trường và xử lý xong sự việc",
                    "evidence": [photo.sha256],
                }
            service.act(s, self.engine, report, name, None, fields, now=at)

    def rate(self, key: str, rating: int, satisfied: bool) -> None:
        with self.db.session() as s:
            service.rate(
                s, self.engine, s.get(FieldReport, self.ids[key]), rating=rating, satisfied=satisfied
            )

    def check(self, at: datetime) -> None:
        deadlines.check_once(self.db, self.engine, at)


@pytest.fixture(autouse=True)
def _no_clock_behind_our_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's deadline loop would judge these March reports by today's clock."""
    monkeypatch.setattr(deadlines, "FIRST_CHECK_AFTER_S", 3600.0)


@pytest.fixture
def fortnight(rworld: Any, app: Any, db: Any) -> Fortnight:
    f = Fortnight(app, db)
    f.submit("before", vn(2026, 3, 1, 12, 0), H1)
    f.submit("r2", vn(2026, 3, 6, 16, 0), H1)  # Friday afternoon: overdue on Monday 16:00
    f.submit("r1", vn(2026, 3, 9, 6, 30), H1)  # 8 March 23:30 UTC, 9 March in Vietnam
    f.act("r1", "accept", vn(2026, 3, 9, 8, 0))
    f.act("r1", "resolve", vn(2026, 3, 9, 10, 0))
    f.rate("r1", 5, True)
    f.check(vn(2026, 3, 9, 16, 1))
    f.act("r2", "accept", vn(2026, 3, 9, 16, 30))
    f.act("r2", "resolve", vn(2026, 3, 10, 10, 0))
    f.rate("r2", 4, True)
    f.submit("r3", vn(2026, 3, 10, 9, 0), H2, "rac-thai")  # no routing rule: waits in triage
    f.submit("b", vn(2026, 3, 10, 9, 0), B, "rac-thai")
    f.submit("r4", vn(2026, 3, 11, 9, 0), H1)
    f.act("r4", "reject", vn(2026, 3, 11, 10, 0), reason="Không thuộc thẩm quyền")
    f.submit("r5", vn(2026, 3, 12, 9, 0), H1, description=FORMULA, phone="0912345678", name="Trần Văn B")
    f.act("r5", "accept", vn(2026, 3, 12, 9, 30))
    f.act("r5", "resolve", vn(2026, 3, 12, 11, 0))
    f.rate("r5", 2, False)  # reopened
    f.submit("r6", vn(2026, 3, 12, 9, 0), H1)
    f.check(vn(2026, 3, 13, 10, 0))  # r3 and r6 fall overdue (and B's report)
    f.submit("r9", vn(2026, 3, 15, 23, 30), H1, "giao-thong")
    f.submit("after", vn(2026, 3, 16, 0, 30), H1)
    return f


def stats(client: Any, world: Any, who: str, **params: Any) -> Any:
    r = client.get("/api/v1/reports/stats", params={**WINDOW, **params}, headers=world.auth(who))
    assert r.status_code == 200, r.text
    return r.json()


def test_totals_and_the_two_qd766_rates(client: Any, rworld: Any, fortnight: Fortnight) -> None:
    body = stats(client, rworld, "op_a")
    assert body["totals"] == {
        "received": 7,
        "in_process": 4,
        "answered": 2,
        "closed": 2,
        "rejected": 1,
        "merged": 0,
        "on_time": 1,
        "late": 1,
        "overdue": 2,
        "rated": 3,
        "satisfied": 2,
        "on_time_rate": 0.5,
        "satisfaction_rate": 0.6667,
        "mean_rating": 3.67,
    }
    assert body["qd766"]["on_time_rate"] == 0.5 and body["qd766"]["satisfaction_rate"] == 0.6667


def test_breakdowns_add_up(client: Any, rworld: Any, fortnight: Fortnight) -> None:
    body = stats(client, rworld, "op_a")
    assert {g["code"]: g["received"] for g in body["by_category"]} == {
        "an-ninh": 5,
        "rac-thai": 1,
        "giao-thong": 1,
    }
    assert {g["code"]: g["received"] for g in body["by_unit"]} == {"0066401": 6, "0066402": 1}
    agencies = [(g["code"], g["received"], g["name"]) for g in body["by_agency"]]
    assert agencies == [("ca-a", 5, "Công an Xã Đại Thanh"), (None, 2, "Chưa giao")]
    ca = body["by_agency"][0]
    assert (ca["on_time"], ca["late"], ca["rejected"], ca["overdue"]) == (1, 1, 1, 1)


def test_period_buckets_in_vietnam_time(client: Any, rworld: Any, fortnight: Fortnight) -> None:
    days = {b["bucket"]: b["received"] for b in stats(client, rworld, "op_a")["by_period"]}
    assert len(days) == 14 and list(days)[0] == "2026-03-02" and list(days)[-1] == "2026-03-15"
    assert {k: v for k, v in days.items() if v} == {
        "2026-03-06": 1,
        "2026-03-09": 1,  # opened 8 March 23:30 UTC
        "2026-03-10": 1,
        "2026-03-11": 1,
        "2026-03-12": 2,
        "2026-03-15": 1,  # 23:30 on Sunday in Hà Nội, already Monday's bucket nowhere
    }
    weeks = stats(client, rworld, "op_a", period="week")["by_period"]
    assert [(w["bucket"], w["received"]) for w in weeks] == [("2026-03-02", 1), ("2026-03-09", 6)]
    months = stats(client, rworld, "op_a", period="month")["by_period"]
    assert [(m["bucket"], m["received"], m["late"]) for m in months] == [("2026-03-01", 7, 1)]


def test_scope_is_the_queue_scope(client: Any, rworld: Any, fortnight: Fortnight) -> None:
    received = {
        who: stats(client, rworld, who)["totals"]["received"]
        for who in ("admin", "op_a", "viewer_a", "op_b", "police_a", "op_hamlet")
    }
    assert received == {"admin": 8, "op_a": 7, "viewer_a": 7, "op_b": 1, "police_a": 5, "op_hamlet": 6}
    h2 = rworld.units["H2"].id
    assert stats(client, rworld, "op_a", unit_id=h2)["totals"]["received"] == 1
    assert stats(client, rworld, "op_a", category="an-ninh")["totals"]["received"] == 5
    ca = rworld.agencies["ca-a"].id
    assert stats(client, rworld, "op_a", agency_id=ca)["totals"]["received"] == 5


def test_bad_requests(client: Any, rworld: Any) -> None:
    url = "/api/v1/reports/stats"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=rworld.auth("citizen")).status_code == 403
    op = rworld.auth("op_a")
    r = client.get(url, params={"start": "2026-03-10", "end": "2026-03-01"}, headers=op)
    assert r.status_code == 400 and r.json()["error"]["message"]
    assert client.get(url, params={"period": "year"}, headers=op).status_code == 422
    assert client.get(url, params={"start": "0001-01-01"}, headers=op).status_code == 400
    assert client.get(url, params={"start": "2000-01-01", "end": "2026-01-01"}, headers=op).status_code == 400
    body = client.get(url, headers=op).json()  # the last 30 days, empty
    assert len(body["by_period"]) == 30 and body["totals"]["received"] == 0
    assert body["totals"]["on_time_rate"] is None and body["totals"]["mean_rating"] is None


def _sheet(client: Any, world: Any, who: str, **params: Any) -> Any:
    r = client.get("/api/v1/reports/export.xlsx", params={**WINDOW, **params}, headers=world.auth(who))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="phan-anh-20260302-20260315.xlsx"' in r.headers["content-disposition"]
    return load_workbook(io.BytesIO(r.content))


def _exports(db: Any) -> list[AuditEntry]:
    with db.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == "field_report.export")))


def test_export_with_identity_for_operators(client: Any, rworld: Any, fortnight: Fortnight, db: Any) -> None:
    book = _sheet(client, rworld, "op_a")
    assert book.sheetnames == ["Phản ánh", "Thống kê"]
    rows = list(book["Phản ánh"].iter_rows(values_only=True))
    header, data = rows[0], rows[1:]
    assert header[:4] == ("Mã phản ánh", "Thời điểm tiếp nhận", "Lĩnh vực", "Nội dung phản ánh")
    assert header[-3:] == ("Người phản ánh", "Số điện thoại", "Thư điện tử")
    assert len(data) == 7
    r5 = next(r for r in data if r[3] == FORMULA)  # the formula stayed text
    assert r5[-3:-1] == ("Trần Văn B", "0912345678")
    cell = next(c for c in book["Phản ánh"]["D"] if c.value == FORMULA)
    assert cell.data_type == "s"
    assert data[-1][1] == datetime(2026, 3, 6, 16, 0)  # Vietnam wall-clock time, oldest last
    stats_rows = list(book["Thống kê"].iter_rows(values_only=True))
    assert ("Tỷ lệ xử lý đúng hạn", 0.5) in [r[:2] for r in stats_rows]
    assert any(r[0] == "An ninh trật tự" and r[1] == 5 for r in stats_rows)
    (entry,) = _exports(db)
    assert entry.actor == "op_a" and entry.changes["rows"] == 7
    assert entry.changes["identity_of"] == [fortnight.ids["r5"]]


def test_export_without_identity_and_filtered(
    client: Any, rworld: Any, fortnight: Fortnight, db: Any
) -> None:
    book = _sheet(client, rworld, "viewer_a")
    rows = list(book["Phản ánh"].iter_rows(values_only=True))
    assert "Số điện thoại" not in rows[0] and len(rows) == 8
    assert "0912345678" not in str(rows) and "Trần Văn B" not in str(rows)
    book = _sheet(client, rworld, "op_a", state=["closed"], limit=1)
    assert len(list(book["Phản ánh"].iter_rows())) == 2
    assert [e.changes["identity_of"] for e in _exports(db)] == [[], []]
    r = client.get("/api/v1/reports/export.xlsx", headers=rworld.auth("citizen"))
    assert r.status_code == 403

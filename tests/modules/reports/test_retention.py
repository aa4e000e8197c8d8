"""Citizens' personal data in field reports is erased once the report has been closed past its period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.modules.reports.conftest import submit
from toancanh.core.db import utcnow
from toancanh.core.retention import module_rules, purge
from toancanh.modules.reports.models import FieldReport, ReportFollower


def test_reporters_of_long_closed_reports_are_erased_and_the_report_stays(
    client: Any, rworld: Any, db: Any
) -> None:
    ids = []
    for phone in ("0912345678", "0987654321", "0909000111"):
        r = submit(client, lat="20.905", lon="105.805", name="Nguyễn Văn A", phone=phone)
        assert r.status_code in (200, 201), r.text
        ids.append(r.json()["id"])
    long_closed, recently_closed, still_open = ids
    with db.session() as s:
        stored = s.scalars(select(FieldReport.reporter_phone).where(FieldReport.id.in_(ids))).all()
        assert sorted(stored) == ["0909000111", "0912345678", "0987654321"]
        for rid, days in ((long_closed, 400), (recently_closed, 10)):
            report = s.get(FieldReport, rid)
            report.state, report.closed_at = "closed", utcnow() - timedelta(days=days)
        s.add(ReportFollower(report_id=long_closed, phone="0911111111", email="a@example.vn"))
    rules, holds = module_rules(client.app.state.modules)
    results = purge(db, client.app.state.settings, rules, holds, kinds=["personal"])
    assert [r.removed for r in results] == [1]
    with db.session() as s:
        rows = {r.id: r for r in s.scalars(select(FieldReport).where(FieldReport.id.in_(ids)))}
        follower = s.scalars(select(ReportFollower).where(ReportFollower.report_id == long_closed)).one()
    erased = rows[long_closed]
    assert (erased.reporter_name, erased.reporter_phone, erased.client_ip) == ("", "", "")
    assert erased.description and erased.tracking_code  # the case itself stays, with its figures
    assert (follower.phone, follower.email) == ("", "")
    assert rows[recently_closed].reporter_phone == "0987654321"
    assert rows[still_open].reporter_phone == "0909000111"
    assert purge(db, client.app.state.settings, rules, holds, kinds=["personal"])[0].removed == 0

"""Booking a calendar entry from the page: a leader adds one for themselves with participants and publishes
it; a bad form is shown again with the reasons, changing nothing; who may use the form."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from tests.modules.direction.test_calendar import WEEK
from tests.modules.direction.test_pages import web_login
from toancanh.modules.direction.calendar_models import CalendarEntry, CalendarParticipant


def _csrf(client: Any, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


def _count(db: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(CalendarEntry)) or 0)


def _form(w: Any, csrf: str, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf": csrf,
        "unit_id": str(w.units["A"].id),
        "owner": f"u:{w.users['leader_a'].id}",
        "title": "Tiếp công dân định kỳ tháng 11",
        "day": "2026-11-26",
        "start": "08:00",
        "end": "11:00",
        "place": "Trụ sở tiếp công dân",
        "host": "Văn phòng UBND",
        "participants": [f"a:{w.agencies['ca-a'].id}", f"u:{w.users['op_a'].id}"],
        "notes": "Mời thêm cán bộ địa chính",
        "published": "on",
    }
    data.update(over)
    return data


def test_a_leader_books_an_entry_from_the_page(client: Any, dworld: Any, db: Any) -> None:
    w = dworld
    web_login(client, "leader_a")
    week = client.get(f"/direction/calendar?week={WEEK}")
    assert 'id="entry-add"' in week.text
    form = client.get(f"/direction/calendar/new?unit={w.units['A'].id}")
    assert form.status_code == 200 and f'value="a:{w.agencies["ca-a"].id}"' in form.text
    r = client.post(
        "/direction/calendar/new",
        data=_form(w, _csrf(client, "/direction/calendar/new")),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/direction/calendar?week={WEEK}&unit={w.units['A'].id}"
    with db.session() as s:
        e = s.scalars(select(CalendarEntry)).one()
        assert (
            e.title == "Tiếp công dân định kỳ tháng 11"
            and e.published
            and e.owner_user_id == w.users["leader_a"].id
        )
        assert (e.ends_at - e.starts_at).total_seconds() == 3 * 3600
        parts = {(p.user_id, p.agency_id) for p in s.scalars(select(CalendarParticipant))}
        assert parts == {(None, w.agencies["ca-a"].id), (w.users["op_a"].id, None)}
    page = client.get(f"/direction/calendar?week={WEEK}").text
    assert "Tiếp công dân định kỳ tháng 11" in page
    client.cookies.clear()
    public = client.get(f"/lich-cong-tac/{w.units['A'].code}?week={WEEK}").text
    assert "Tiếp công dân định kỳ tháng 11" in public and "Mời thêm cán bộ địa chính" not in public


def test_a_bad_form_is_shown_again_and_changes_nothing(client: Any, dworld: Any, db: Any) -> None:
    w = dworld
    web_login(client, "leader_a")
    csrf = _csrf(client, "/direction/calendar/new")
    for over in (
        {"end": "07:00"},  # before the start
        {"owner": ""},
        {"owner": f"u:{w.users['leader_b'].id}"},  # a leader of another commune
        {"participants": [f"a:{w.agencies['ca-b'].id}"]},  # an agency of another commune
        {"day": "26/11/2026"},
        {"start": "8h"},
        {"title": "x"},
        {"unit_id": str(w.units["B"].id)},  # not theirs to write
        {"end_day": "2026-12-31"},  # longer than 14 days
    ):
        r = client.post("/direction/calendar/new", data=_form(w, csrf, **over))
        assert r.status_code in (400, 403), (over, r.status_code)
        if r.status_code == 400:
            assert 'id="form-errors"' in r.text, over
            assert "Trụ sở tiếp công dân" in r.text  # the typed values are kept
    assert _count(db) == 0
    assert client.post("/direction/calendar/new", data=_form(w, "wrong")).status_code == 403
    assert _count(db) == 0


def test_who_may_use_the_form(client: Any, dworld: Any, db: Any) -> None:
    for who in ("viewer_a", "staff_vh"):
        web_login(client, who)
        assert client.get("/direction/calendar/new").status_code == 403, who
    client.cookies.clear()
    assert client.get("/direction/calendar/new", follow_redirects=False).status_code in (302, 303)

"""The public weekly schedule: only published entries, without login, without internal notes or conflicts;
the list of units that publish one; its PDF; bad codes and weeks refused."""

from __future__ import annotations

from typing import Any

from tests.modules.alerts.test_incidents import pdf_text
from tests.modules.direction.test_calendar import WEEK, at, book


def test_only_published_entries_are_shown_to_everyone(client: Any, dworld: Any) -> None:
    w = dworld
    book(client, w, title="Tiếp công dân định kỳ", published=True, notes="Ghi chú nội bộ: mời công an xã")
    book(client, w, title="Họp kín về nhân sự", starts_at=at(24, 14), ends_at=at(24, 16))  # not published
    code = w.units["A"].code
    client.cookies.clear()
    index = client.get("/lich-cong-tac")
    assert index.status_code == 200 and f'href="/lich-cong-tac/{code}"' in index.text
    assert f'href="/lich-cong-tac/{w.units["B"].code}"' not in index.text  # B published nothing
    page = client.get(f"/lich-cong-tac/{code}?week={WEEK}")
    assert page.status_code == 200
    assert "Tiếp công dân định kỳ" in page.text and "Phòng họp tầng 2" in page.text
    assert "Văn phòng UBND" in page.text  # who prepares it
    assert "Họp kín về nhân sự" not in page.text
    assert "Ghi chú nội bộ" not in page.text and "/direction/meetings/" not in page.text
    pdf = client.get(f"/lich-cong-tac/{code}.pdf?week={WEEK}")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "Tiếp công dân định kỳ" in text and "Họp kín về nhân sự" not in text
    # another week: nothing
    assert "Tiếp công dân định kỳ" not in client.get(f"/lich-cong-tac/{code}?week=2026-W50").text


def test_bad_codes_and_weeks_are_refused(client: Any, dworld: Any) -> None:
    assert client.get("/lich-cong-tac/99999").status_code == 404
    assert client.get("/lich-cong-tac/00664?week=2026-48").status_code == 422
    assert client.get("/lich-cong-tac/00664?week=2026-W99").status_code in (400, 422)
    assert client.get("/lich-cong-tac/%3Cscript%3E").status_code == 404

"""The official weekly schedule (lịch công tác tuần) of a unit as a PDF: one landscape A4 table, a row per
entry grouped by day and morning / afternoon, with time, content, leader or agency, participants and place;
conflicts marked. Fonts through `core.pdf` (DejaVu Sans embedded for Vietnamese)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fpdf.enums import XPos, YPos

from toancanh.core.pdf import FONT_DIRS, UnicodePDF, find_font_dir
from toancanh.core.worktime import VN_TZ

WEEKDAYS = (
    ("Thứ Hai", "Monday"),
    ("Thứ Ba", "Tuesday"),
    ("Thứ Tư", "Wednesday"),
    ("Thứ Năm", "Thursday"),
    ("Thứ Sáu", "Friday"),
    ("Thứ Bảy", "Saturday"),
    ("Chủ nhật", "Sunday"),
)
_WORDS = {
    "title": ("LỊCH CÔNG TÁC TUẦN", "WEEKLY WORK SCHEDULE"),
    "week": ("Tuần", "Week"),
    "from": ("từ ngày", "from"),
    "to": ("đến ngày", "to"),
    "day": ("Ngày", "Day"),
    "time": ("Thời gian", "Time"),
    "content": ("Nội dung", "Content"),
    "owner": ("Lãnh đạo / cơ quan", "Leader / agency"),
    "participants": ("Thành phần", "Participants"),
    "place": ("Địa điểm", "Place"),
    "morning": ("Sáng", "Morning"),
    "afternoon": ("Chiều", "Afternoon"),
    "none": ("Không có lịch", "Nothing scheduled"),
    "conflict": ("TRÙNG LỊCH", "CONFLICT"),
    "host": ("Chuẩn bị", "Prepared by"),
}


def _w(key: str, lang: str) -> str:
    vi, en = _WORDS[key]
    return en if lang == "en" else vi


def week_pdf(week: Mapping[str, Any], lang: str = "vi", *, font_dir: Path | None = None) -> bytes:
    """The PDF of `week` (from `calendar.week`)."""
    lang = "en" if lang == "en" else "vi"
    folder = find_font_dir([font_dir] if font_dir is not None else FONT_DIRS)
    pdf = UnicodePDF(folder, orientation="landscape")
    clean = pdf.clean
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.set_margins(12, 12, 12)
    pdf.set_title(clean(f"{_w('title', lang)} {week['week']}"))
    pdf.set_creator("Toàn Cảnh IOC" if folder else "Toan Canh IOC")
    pdf.add_page()
    days = [date.fromisoformat(d) for d in week["days"]]
    pdf.set_font(pdf.base_family, "B", 12)
    pdf.cell(0, 6, clean(week["unit"]["name"].upper()), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(pdf.base_family, "B", 16)
    pdf.cell(0, 9, clean(_w("title", lang)), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(pdf.base_family, "", 10)
    span = (
        f"{_w('week', lang)} {week['week']} ({_w('from', lang)} {days[0]:%d/%m/%Y} "
        f"{_w('to', lang)} {days[-1]:%d/%m/%Y})"
    )
    pdf.cell(0, 6, clean(span), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    header = [_w(k, lang) for k in ("day", "time", "content", "owner", "participants", "place")]
    by_day: dict[date, list[Mapping[str, Any]]] = {d: [] for d in days}
    for e in week["entries"]:
        start = datetime.fromisoformat(e["starts_at"]).astimezone(VN_TZ)
        by_day.setdefault(max(start.date(), days[0]), []).append(e)
    pdf.set_font(pdf.base_family, "", 8.5)
    with pdf.table(
        col_widths=(30, 28, 95, 45, 50, 25), line_height=4.5, text_align="LEFT", first_row_as_headings=True
    ) as table:
        head = table.row()
        for text in header:
            head.cell(clean(text))
        for i, d in enumerate(days):
            label = f"{WEEKDAYS[i][1 if lang == 'en' else 0]}\n{d:%d/%m/%Y}"
            entries = by_day.get(d, [])
            if not entries:
                row = table.row()
                for text in (label, "", _w("none", lang), "", "", ""):
                    row.cell(clean(text))
                continue
            for e in entries:
                start = datetime.fromisoformat(e["starts_at"]).astimezone(VN_TZ)
                end = datetime.fromisoformat(e["ends_at"]).astimezone(VN_TZ)
                period = _w("morning" if start.hour < 12 else "afternoon", lang)
                content = e["title"]
                if e.get("host"):
                    content += f"\n{_w('host', lang)}: {e['host']}"
                if e.get("conflict"):
                    content += f"\n[{_w('conflict', lang)}]"
                row = table.row()
                for text in (
                    label,
                    f"{period} {start:%H:%M}-{end:%H:%M}",
                    content,
                    e["owner"],
                    ", ".join(p for p in e["participants"] if p),
                    e["place"],
                ):
                    row.cell(clean(text))
                label = ""
    return bytes(pdf.output())

"""The after-action report (báo cáo sau sự cố) of an incident as a PDF, in Vietnamese or English.

Built from `incidents.detail()`: the facts and durations, the alerts, the SOP checklist with who did each
step when (and which were late), the full timeline and the comments. Vietnamese needs a Unicode font:
DejaVu Sans, which Debian and most Linux systems ship; without it the text is transliterated to ASCII
(Đà Nẵng -> Da Nang) in a core PDF font, so the report still comes out, readable if plain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf.enums import XPos, YPos

from toancanh.core.pdf import FONT_DIRS, UnicodePDF, find_font_dir
from toancanh.core.worktime import VN_TZ

_WORDS: dict[str, tuple[str, str]] = {
    "title": ("BÁO CÁO SAU SỰ CỐ", "AFTER-ACTION REPORT"),
    "facts": ("Thông tin sự cố", "Incident facts"),
    "code": ("Mã sự cố", "Code"),
    "type": ("Loại", "Type"),
    "severity": ("Mức độ", "Severity"),
    "state": ("Trạng thái", "State"),
    "source": ("Nguồn", "Source"),
    "unit": ("Địa bàn", "Area"),
    "coords": ("Tọa độ", "Coordinates"),
    "opened": ("Phát hiện / mở lúc", "Opened"),
    "acknowledged": ("Xác nhận lúc", "Acknowledged"),
    "by": ("bởi", "by"),
    "dispatched": ("Điều phối lúc", "Dispatched"),
    "assignee": ("Lực lượng xử lý", "Assigned to"),
    "team": ("đội", "team"),
    "resolved": ("Xử lý xong lúc", "Resolved"),
    "closed": ("Đóng lúc", "Closed"),
    "merged_into": ("Đã gộp vào", "Merged into"),
    "durations": ("Thời gian phản ứng", "Response times"),
    "to_acknowledge_s": ("Đến khi xác nhận", "To acknowledge"),
    "to_dispatch_s": ("Đến khi điều phối", "To dispatch"),
    "to_resolve_s": ("Đến khi xử lý xong", "To resolve"),
    "to_close_s": ("Đến khi đóng", "To close"),
    "description": ("Mô tả", "Description"),
    "alerts": ("Cảnh báo", "Alerts"),
    "time": ("Thời điểm", "Time"),
    "alert": ("Cảnh báo", "Alert"),
    "count": ("Số lần", "Count"),
    "sop": ("Quy trình ứng phó", "Response procedure"),
    "step": ("Bước", "Step"),
    "role": ("Vai trò", "Role"),
    "due": ("Hạn", "Due"),
    "done": ("Thực hiện", "Done"),
    "timeline": ("Diễn biến", "Timeline"),
    "who": ("Người thực hiện", "Who"),
    "what": ("Nội dung", "What"),
    "comments": ("Ghi chú", "Comments"),
    "attachments": ("Tệp đính kèm", "Attachments"),
    "none": ("Không có", "None"),
    "generated": ("Lập lúc", "Generated"),
    "page": ("Trang", "Page"),
    "late": ("QUÁ HẠN", "LATE"),
    "out_of_order": ("không theo thứ tự", "out of order"),
    "pending": ("Chưa thực hiện", "Pending"),
    "skipped": ("Bỏ qua", "Skipped"),
    "version": ("phiên bản", "version"),
    "started": ("bắt đầu", "started"),
}
_SEVERITY = {
    "extreme": ("Đặc biệt nghiêm trọng", "Extreme"),
    "severe": ("Nghiêm trọng", "Severe"),
    "moderate": ("Trung bình", "Moderate"),
    "minor": ("Nhẹ", "Minor"),
    "unknown": ("Chưa rõ", "Unknown"),
}
_TYPES = {
    "fire": ("Cháy", "Fire"),
    "flood": ("Ngập lụt, nước dâng", "Flood"),
    "air_quality": ("Ô nhiễm không khí", "Air pollution"),
    "device": ("Thiết bị mất kết nối", "Device offline"),
    "weather": ("Thời tiết nguy hiểm", "Dangerous weather"),
}
_SOURCES = {
    "rule": ("Quy tắc cảnh báo", "Alert rule"),
    "manual": ("Nhập tay", "Entered by hand"),
    "cap": ("Bản tin cảnh báo (CAP)", "CAP warning"),
    "report": ("Phản ánh hiện trường", "Field report"),
}
_ALERT_STATUS = {
    "active": ("Đang cảnh báo", "Active"),
    "acknowledged": ("Đã xác nhận", "Acknowledged"),
    "resolved": ("Đã kết thúc", "Resolved"),
}
_ROLES = {
    "operator": ("Trực ban", "Operator"),
    "leader": ("Lãnh đạo", "Leader"),
    "agency_staff": ("Cơ quan xử lý", "Agency staff"),
    "admin": ("Quản trị", "Administrator"),
}


class _Report(UnicodePDF):
    def __init__(self, lang: str, font_dir: Path | None, footer_text: str) -> None:
        super().__init__(font_dir)
        self.report_lang = lang
        self.footer_text = footer_text
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(15, 15, 15)
        self.alias_nb_pages()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.base_family, "", 8)
        self.set_text_color(110)
        page = f"{self.word('page')} {self.page_no()}/{{nb}}"
        self.cell(0, 5, self.clean(f"{self.footer_text}    {page}"), align="R")
        self.set_text_color(0)

    def word(self, key: str) -> str:
        vi, en = _WORDS[key]
        return en if self.report_lang == "en" else vi

    def heading(self, text: str) -> None:
        self.ln(3)
        self.set_font(self.base_family, "B", 12)
        self.set_fill_color(225, 232, 240)
        self.cell(0, 7, self.clean(text), fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(self.base_family, "", 9)
        self.ln(1)

    def para(self, text: str) -> None:
        self.set_font(self.base_family, "", 9)
        self.multi_cell(0, 5, self.clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def rows(self, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int]) -> None:
        """A table of wrapping cells under a bold `header` row (if any); the word "none" when empty."""
        if not rows:
            self.para(self.word("none"))
            return
        self.set_font(self.base_family, "", 8)
        with self.table(
            col_widths=tuple(widths), line_height=4.5, text_align="LEFT", first_row_as_headings=bool(header)
        ) as table:
            if header:
                head = table.row()
                for text in header:
                    head.cell(self.clean(text))
            for values in rows:
                row = table.row()
                for text in values:
                    row.cell(self.clean(text))
        self.set_font(self.base_family, "", 9)


def _when(value: str | None) -> str:
    if not value:
        return "—"
    return datetime.fromisoformat(value).astimezone(VN_TZ).strftime("%H:%M:%S %d/%m/%Y")


def _duration(seconds: float | None, lang: str) -> str:
    if seconds is None:
        return "—"
    total = max(0, int(round(seconds)))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = ("ngày", "giờ", "phút", "giây") if lang != "en" else ("d", "h", "min", "s")
    parts = [f"{n} {u}" for n, u in zip((days, hours, minutes, secs), units, strict=True) if n]
    return " ".join(parts[:2]) or f"0 {units[3]}"


def _pick(lang: str, vi: str, en: str) -> str:
    return (en or vi) if lang == "en" else vi


def _label(table: Mapping[str, tuple[str, str]], key: str, lang: str) -> str:
    vi, en = table.get(key, (key, key))
    return en if lang == "en" else vi


def _actor(name: str, lang: str) -> str:
    return ("hệ thống" if lang != "en" else "system") if name in ("", "system") else name


def _facts(pdf: _Report, d: Mapping[str, Any], lang: str) -> None:
    inc, ms = d["incident"], d["milestones"]
    unit = inc.get("unit") or {}
    state = _pick(lang, inc["state_label"], inc["state_label_en"])
    ack = _when(ms["acknowledged_at"])
    if inc.get("acknowledged_by"):
        ack += f" ({pdf.word('by')} {inc['acknowledged_by']})"
    assignee = (inc.get("assignee_agency") or {}).get("name", "") or "—"
    if inc.get("team"):
        assignee += f" — {pdf.word('team')} {inc['team']}"
    coords = f"{inc['lat']:.5f}, {inc['lon']:.5f}" if inc.get("lat") is not None else "—"
    facts = [
        ("code", inc["code"]),
        ("type", _label(_TYPES, inc["type"], lang)),
        ("severity", _label(_SEVERITY, inc["severity"], lang)),
        ("state", state),
        ("source", _label(_SOURCES, inc["source"], lang)),
        ("unit", unit.get("place") or unit.get("name") or "—"),
        ("coords", coords),
        ("opened", _when(ms["opened_at"])),
        ("acknowledged", ack),
        ("dispatched", _when(ms["dispatched_at"])),
        ("assignee", assignee),
        ("resolved", _when(ms["resolved_at"])),
        ("closed", _when(ms["closed_at"])),
    ]
    if inc.get("merged_into"):
        facts.append(("merged_into", inc["merged_into"]["code"]))
    pdf.heading(pdf.word("facts"))
    pdf.rows([], [(pdf.word(k), v) for k, v in facts], (50, 130))
    durations = d["durations"]
    pdf.heading(pdf.word("durations"))
    keys = ("to_acknowledge_s", "to_dispatch_s", "to_resolve_s", "to_close_s")
    pdf.rows([], [(pdf.word(k), _duration(durations.get(k), lang)) for k in keys], (50, 130))
    if inc.get("description"):
        pdf.heading(pdf.word("description"))
        pdf.para(inc["description"])


def _alerts(pdf: _Report, d: Mapping[str, Any], lang: str) -> None:
    pdf.heading(pdf.word("alerts"))
    rows = [
        (
            _when(a["first_at"]),
            _label(_SEVERITY, a["severity"], lang),
            _pick(lang, a["title"], a["title_en"]),
            str(a["count"]),
            _label(_ALERT_STATUS, a["status"], lang),
        )
        for a in d["alerts"]
    ]
    header = [pdf.word("time"), pdf.word("severity"), pdf.word("alert"), pdf.word("count"), pdf.word("state")]
    pdf.rows(header, rows, (32, 28, 82, 14, 24))


def _checklist(pdf: _Report, d: Mapping[str, Any], lang: str) -> None:
    pdf.heading(pdf.word("sop"))
    if not d["sop_runs"]:
        pdf.para(pdf.word("none"))
    for run in d["sop_runs"]:
        name = _pick(lang, run["name"], run["name_en"])
        pdf.set_font(pdf.base_family, "B", 9)
        pdf.multi_cell(
            0,
            5,
            pdf.clean(
                f"{name} ({pdf.word('version')} {run['template_version']}, {pdf.word('started')} "
                f"{_when(run['started_at'])}, {pdf.word('by')} {_actor(run['started_by'], lang)})"
            ),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        rows = []
        for s in run["steps"]:
            mark = {"done": "[x]", "skipped": "[-]"}.get(s["status"], "[ ]")
            done = (
                pdf.word("pending") if s["status"] == "pending" else f"{_when(s['done_at'])} — {s['done_by']}"
            )
            if s["status"] == "skipped":
                done = f"{pdf.word('skipped')}: {done}"
            flags = [pdf.word("late")] if s["overdue"] else []
            if s["out_of_order"]:
                flags.append(pdf.word("out_of_order"))
            if flags:
                done += f" [{', '.join(flags)}]"
            if s["note"]:
                done += f"\n{s['note']}"
            role = _label(_ROLES, s["role"], lang)
            rows.append((f"{mark} {_pick(lang, s['title'], s['title_en'])}", role, _when(s["due_at"]), done))
        header = [pdf.word("step"), pdf.word("role"), pdf.word("due"), pdf.word("done")]
        pdf.rows(header, rows, (70, 24, 32, 54))


def _timeline(pdf: _Report, d: Mapping[str, Any], lang: str) -> None:
    pdf.heading(pdf.word("timeline"))
    rows = []
    for e in d["timeline"]:
        what = _pick(lang, e["title_vi"], e["title_en"])
        if e.get("comment"):
            what += f"\n{e['comment']}"
        rows.append((_when(e["at"]), _actor(e.get("actor") or "", lang), what))
    pdf.rows([pdf.word("time"), pdf.word("who"), pdf.word("what")], rows, (32, 30, 118))


def _comments(pdf: _Report, d: Mapping[str, Any]) -> None:
    pdf.heading(pdf.word("comments"))
    rows = [(_when(c["at"]), c["actor"], c["comment"]) for c in d["comments"]]
    pdf.rows([pdf.word("time"), pdf.word("who"), pdf.word("comments")], rows, (32, 30, 118))
    if d.get("attachments"):
        pdf.heading(pdf.word("attachments"))
        rows = [
            (_when(a["at"]), a["uploaded_by"], f"{a['filename']} ({a['content_type']}, {a['size']} B)")
            for a in d["attachments"]
        ]
        pdf.rows([pdf.word("time"), pdf.word("who"), pdf.word("attachments")], rows, (32, 30, 118))


def after_action_pdf(detail: Mapping[str, Any], lang: str = "vi", *, font_dir: Path | None = None) -> bytes:
    """The after-action report of `detail` (from `incidents.detail`) as PDF bytes.

    `font_dir`: where to look for DejaVuSans.ttf and DejaVuSans-Bold.ttf instead of the usual system folders.
    """
    lang = "en" if lang == "en" else "vi"
    inc = detail["incident"]
    folder = find_font_dir([font_dir] if font_dir is not None else FONT_DIRS)
    generated = _when(detail.get("generated_at"))
    pdf = _Report(
        lang, folder, f"{inc['code']} — {_WORDS['generated'][1 if lang == 'en' else 0]} {generated}"
    )
    pdf.set_title(pdf.clean(f"{pdf.word('title')} {inc['code']}"))
    pdf.set_creator("Toàn Cảnh IOC" if folder else "Toan Canh IOC")
    pdf.add_page()
    pdf.set_font(pdf.base_family, "B", 16)
    pdf.cell(0, 9, pdf.clean(pdf.word("title")), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(pdf.base_family, "B", 12)
    title = _pick(lang, inc["title"], inc["title_en"])
    pdf.multi_cell(0, 6, pdf.clean(f"{inc['code']}: {title}"), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _facts(pdf, detail, lang)
    _alerts(pdf, detail, lang)
    _checklist(pdf, detail, lang)
    _timeline(pdf, detail, lang)
    _comments(pdf, detail)
    return bytes(pdf.output())

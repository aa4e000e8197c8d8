"""The Excel workbook of the report queue (xuất Excel): one sheet of reports, one of statistics.

Citizens' text goes in as text, never as a formula ("=HYPERLINK(...)" in a description stays a string), and
the reporter's identity only where the caller may see it (Nghị định 13/2023/NĐ-CP); the caller audits.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.auth.scope import Principal
from toancanh.core.units import Agency, Unit
from toancanh.core.worktime import VN_TZ
from toancanh.modules.reports.models import FieldReport, ReportCategory
from toancanh.modules.reports.workflow import FIELD_REPORT

MAX_ROWS = 100_000
DATE_FORMAT = "dd/mm/yyyy hh:mm"
BOLD = Font(bold=True)
SLA_VI = {"ok": "Trong hạn", "warning": "Sắp đến hạn", "overdue": "Quá hạn"}
CHANNEL_VI = {"web": "Cổng/ứng dụng", "hotline": "Đường dây nóng", "open311": "Open311"}
# (header, width) of the report sheet; the identity columns follow for callers who may see them.
COLUMNS = (
    ("Mã phản ánh", 14),
    ("Thời điểm tiếp nhận", 18),
    ("Lĩnh vực", 24),
    ("Nội dung phản ánh", 60),
    ("Địa chỉ", 30),
    ("Địa bàn", 22),
    ("Cơ quan xử lý", 30),
    ("Trạng thái", 20),
    ("Mức độ", 10),
    ("Hạn xử lý bước hiện tại", 18),
    ("Tình trạng hạn", 14),
    ("Đúng hạn", 10),
    ("Kênh tiếp nhận", 16),
    ("Số người phản ánh", 10),
    ("Kết quả xử lý", 60),
    ("Thời điểm trả lời", 18),
    ("Điểm đánh giá", 10),
    ("Hài lòng", 10),
    ("Vĩ độ", 11),
    ("Kinh độ", 11),
)
IDENTITY_COLUMNS = (("Người phản ánh", 24), ("Số điện thoại", 14), ("Thư điện tử", 26))
STAT_COLUMNS = (
    ("received", "Tiếp nhận"),
    ("in_process", "Đang xử lý"),
    ("answered", "Đã có kết quả"),
    ("rejected", "Từ chối"),
    ("merged", "Gộp trùng"),
    ("on_time", "Đúng hạn"),
    ("late", "Trễ hạn"),
    ("overdue", "Đang quá hạn"),
    ("on_time_rate", "Tỷ lệ xử lý đúng hạn"),
    ("rated", "Lượt đánh giá"),
    ("satisfaction_rate", "Tỷ lệ hài lòng"),
    ("mean_rating", "Điểm trung bình"),
)


@dataclass
class Book:
    data: bytes
    identity_ids: list[int] = field(default_factory=list)
    """The reports whose reporter identity went into the file (for the audit entry)."""


def _cell(ws: WriteOnlyWorksheet, value: Any, *, bold: bool = False, fmt: str | None = None) -> WriteOnlyCell:
    if isinstance(value, datetime):
        value = value.astimezone(VN_TZ).replace(tzinfo=None)  # Excel has no time zones
        fmt = fmt or DATE_FORMAT
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text stays text, even when it starts with "="
    if bold:
        cell.font = BOLD
    if fmt:
        cell.number_format = fmt
    return cell


def _row(ws: WriteOnlyWorksheet, values: Sequence[Any], **kw: Any) -> None:
    ws.append([_cell(ws, v, **kw) for v in values])


def workbook(
    db: Session, principal: Principal, reports: Sequence[FieldReport], figures: dict[str, Any]
) -> Book:
    """The reports sheet ("Phản ánh") and the statistics sheet ("Thống kê") as an .xlsx file."""
    book = Book(b"")
    wb = Workbook(write_only=True)
    _reports_sheet(db, wb, principal, reports, book)
    _stats_sheet(wb, figures)
    out = io.BytesIO()
    wb.save(out)
    book.data = out.getvalue()
    return book


def _reports_sheet(
    db: Session, wb: Workbook, principal: Principal, reports: Sequence[FieldReport], book: Book
) -> None:
    ws = wb.create_sheet("Phản ánh")
    identity = principal.has("reports.identity")
    columns = COLUMNS + (IDENTITY_COLUMNS if identity else ())
    for i, (_, width) in enumerate(columns):
        ws.column_dimensions[_letter(i)].width = width
    ws.freeze_panes = "B2"
    _row(ws, [h for h, _ in columns], bold=True)
    cats = {c.id: c for c in db.scalars(select(ReportCategory))}
    unit_ids = {r.unit_id for r in reports}
    units = {u.id: u for u in db.scalars(select(Unit).where(Unit.id.in_(unit_ids)))} if unit_ids else {}
    agency_ids = {r.assignee_agency_id for r in reports if r.assignee_agency_id}
    agencies = (
        {a.id: a.name for a in db.scalars(select(Agency).where(Agency.id.in_(agency_ids)))}
        if agency_ids
        else {}
    )
    for r in reports:
        cat = cats.get(r.category_id)
        unit = units.get(r.unit_id)
        answered = r.state in ("resolved", "closed")
        values: list[Any] = [
            r.tracking_code,
            r.opened_at,
            cat.name if cat else "",
            r.description,
            r.address,
            unit.name if unit else "",
            agencies.get(r.assignee_agency_id or 0, ""),
            FIELD_REPORT.label(r.state, "vi"),
            "Khẩn" if r.priority == "urgent" else "Thường",
            r.due_at,
            SLA_VI.get(r.sla_status, r.sla_status) if r.due_at else "",
            ("Trễ hạn" if r.escalation_level else "Đúng hạn") if answered else "",
            CHANNEL_VI.get(r.channel, r.channel),
            r.supporters,
            r.answer,
            r.answered_at,
            r.rating,
            "" if r.satisfied is None else ("Có" if r.satisfied else "Không"),
            r.lat,
            r.lon,
        ]
        if identity:
            shown = not r.anonymous and principal.can(
                "reports.identity", unit.path if unit else None, r.domain
            )
            values += [r.reporter_name, r.reporter_phone, r.reporter_email] if shown else ["", "", ""]
            if shown:
                book.identity_ids.append(r.id)
        _row(ws, values)


def _stats_sheet(wb: Workbook, figures: dict[str, Any]) -> None:
    ws = wb.create_sheet("Thống kê")
    ws.column_dimensions["A"].width = 36
    for i in range(1, len(STAT_COLUMNS) + 1):
        ws.column_dimensions[_letter(i)].width = 14
    start = datetime.fromisoformat(figures["start"]).strftime("%d/%m/%Y")
    end = datetime.fromisoformat(figures["end"]).strftime("%d/%m/%Y")
    _row(ws, [f"Thống kê phản ánh hiện trường từ {start} đến {end}"], bold=True)
    _row(ws, [])
    _row(ws, ["Chỉ số theo Quyết định 766/QĐ-TTg", "Giá trị"], bold=True)
    totals = figures["totals"]
    ws.append([_cell(ws, "Tỷ lệ xử lý đúng hạn"), _cell(ws, totals["on_time_rate"], fmt="0.0%")])
    ws.append([_cell(ws, "Tỷ lệ hài lòng"), _cell(ws, totals["satisfaction_rate"], fmt="0.0%")])
    _row(ws, [])
    for title, key in (
        ("Tổng hợp", None),
        ("Theo lĩnh vực", "by_category"),
        ("Theo địa bàn", "by_unit"),
        ("Theo cơ quan xử lý", "by_agency"),
        ("Theo thời gian", "by_period"),
    ):
        _row(ws, [title] + [label for _, label in STAT_COLUMNS], bold=True)
        rows = [("Tổng số", totals)] if key is None else [(_label(g), g) for g in figures[key]]
        for name, counts in rows:
            ws.append([_cell(ws, name)] + [_stat(ws, k, counts[k]) for k, _ in STAT_COLUMNS])
        _row(ws, [])


def _label(group: dict[str, Any]) -> str:
    if "bucket" in group:
        return datetime.fromisoformat(group["bucket"]).strftime("%d/%m/%Y")
    return str(group["name"])


def _stat(ws: WriteOnlyWorksheet, key: str, value: Any) -> WriteOnlyCell:
    return _cell(ws, value, fmt="0.0%" if key.endswith("_rate") else None)


def _letter(i: int) -> str:
    return str(get_column_letter(i + 1))

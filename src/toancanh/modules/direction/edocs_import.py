"""Import of the e-documents register from the document management system: an .xlsx or .csv file made
from the template, or a JSON batch with the same columns.

All or nothing: every row is checked first and the errors come back as (row, column, message vi/en); only
a clean batch is written. The document's id in that system (`external_id`) makes an import idempotent: a
document already in the unit's register is updated, never duplicated. The file checks (size, .xlsx zip
bomb, row count) are the indicators intake's, reached through its service.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from toancanh.core import audit, outbox
from toancanh.core.assets import DOMAINS
from toancanh.core.auth.models import User
from toancanh.core.auth.scope import Principal
from toancanh.core.errors import Conflict
from toancanh.core.tables import Limits as UploadLimits
from toancanh.core.tables import Problems as RowProblems
from toancanh.core.tables import read_table
from toancanh.core.units import Agency, Unit, get_unit
from toancanh.core.worktime import VN_TZ, WorkCalendar
from toancanh.modules.direction import figures
from toancanh.modules.direction.deadlines import end_of_day
from toancanh.modules.direction.edocuments import IMPORTED, WRITE, states_of
from toancanh.modules.direction.models import EDOC_DONE_STATES, DirectionTask, EDocument

REQUIRED = ("external_id", "direction", "number", "document_date", "issuer", "summary", "state")
OPTIONAL = (
    "handler_agency",
    "handler_user",
    "deadline",
    "finished_at",
    "digitally_signed",
    "sent_electronically",
    "domain",
    "task_id",
)
COLUMNS = REQUIRED + OPTIONAL
GUIDE = {
    "external_id": ("Mã văn bản trên hệ thống quản lý văn bản", "Id in the document management system"),
    "direction": ("incoming (đến) hoặc outgoing (đi)", "incoming or outgoing"),
    "number": ("Số, ký hiệu (vd 123/UBND-VP)", "Number and symbol (e.g. 123/UBND-VP)"),
    "document_date": ("Ngày văn bản (yyyy-mm-dd hoặc dd/mm/yyyy)", "Document date"),
    "issuer": ("Cơ quan ban hành", "Issuing authority"),
    "summary": ("Trích yếu", "Summary"),
    "state": (
        "received, in_process, finished, no_action (đến); drafted, signed, sent (đi)",
        "received, in_process, finished, no_action (incoming); drafted, signed, sent (outgoing)",
    ),
    "handler_agency": ("Mã cơ quan xử lý", "Code of the handling agency"),
    "handler_user": ("Tên đăng nhập người xử lý", "Username of the handler"),
    "deadline": ("Hạn xử lý (ngày)", "Deadline (a date)"),
    "finished_at": ("Ngày hoàn thành / gửi (bắt buộc khi finished, sent)", "Finished / sent date"),
    "digitally_signed": ("Có ký số: có / không", "Digitally signed: yes / no"),
    "sent_electronically": ("Gửi điện tử không kèm giấy: có / không", "Sent electronically: yes / no"),
    "domain": ("Lĩnh vực (mặc định administration)", "Domain (default administration)"),
    "task_id": ("Số nhiệm vụ chỉ đạo liên kết", "Linked direction task id"),
}
DIRECTIONS = {
    "incoming": "incoming",
    "đến": "incoming",
    "den": "incoming",
    "outgoing": "outgoing",
    "đi": "outgoing",
}
TRUE = {"1", "true", "yes", "có", "co", "x"}
FALSE = {"", "0", "false", "no", "không", "khong"}


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


def limits_from(settings: Any) -> UploadLimits:
    return UploadLimits.from_settings(settings)


# ------------------------------------------------------------------------------------------- rows


def rows_from_table(table: list[list[Any]], problems: RowProblems) -> list[tuple[int, dict[str, Any]]]:
    """Check the header against the template's columns; the rows as (row number, values)."""
    if not table:
        problems.add(1, "", "Tệp không có dòng tiêu đề", "The file has no header row")
        return []
    header = [str(h).strip().lower() if h is not None else "" for h in table[0]]
    while header and header[-1] == "":
        header.pop()
    for i, name in enumerate(header):
        if name not in COLUMNS:
            problems.add(1, name, f"Cột '{name}' không thuộc biểu mẫu", f"Unknown column '{name}'")
        elif name in header[:i]:
            problems.add(1, name, f"Cột '{name}' bị lặp", f"Column '{name}' appears twice")
    for need in REQUIRED:
        if need not in header:
            problems.add(1, need, f"Thiếu cột '{need}'", f"Missing column '{need}'")
    if problems.items:
        return []
    out = []
    for n, row in enumerate(table[1:], start=2):
        cells = [row[i] if i < len(row) else None for i in range(len(header))]
        if all(c is None or str(c).strip() == "" for c in cells):
            continue
        out.append((n, dict(zip(header, cells, strict=True))))
    return out


def rows_from_batch(items: list[dict[str, Any]], problems: RowProblems) -> list[tuple[int, dict[str, Any]]]:
    """A JSON batch: row numbers count from 1; unknown keys are errors, like unknown columns."""
    out = []
    for n, item in enumerate(items, start=1):
        for key in item:
            if key not in COLUMNS:
                problems.add(
                    n, str(key)[:60], f"Trường '{key}' không thuộc biểu mẫu", f"Unknown field '{key}'"
                )
        for need in REQUIRED:
            if need not in item:
                problems.add(n, need, f"Thiếu trường '{need}'", f"Missing field '{need}'")
        out.append((n, {k.lower(): v for k, v in item.items() if k in COLUMNS}))
    return out


def _text(raw: Any) -> str:
    return "" if raw is None else str(raw).strip()


def parse_date(raw: Any) -> date | None:
    """yyyy-mm-dd, dd/mm/yyyy or an Excel date; None when empty; ValueError otherwise."""
    if isinstance(raw, datetime):
        return raw.astimezone(VN_TZ).date() if raw.tzinfo else raw.date()
    if isinstance(raw, date):
        return raw
    text = _text(raw)
    if not text:
        return None
    if "/" in text:
        return datetime.strptime(text, "%d/%m/%Y").date()
    return date.fromisoformat(text[:10])


def _flag(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = _text(raw).lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(text)


def check_rows(
    db: Session,
    calendar: WorkCalendar,
    unit: Unit,
    rows: list[tuple[int, dict[str, Any]]],
    problems: RowProblems,
) -> list[tuple[int, dict[str, Any]]]:
    """Every row's values checked and converted into EDocument fields; errors go to `problems`."""
    agencies = {
        a.code: a
        for a in db.scalars(
            select(Agency).where(Agency.code.in_([_text(r.get("handler_agency")) for _, r in rows]))
        )
    }
    users = dict(
        db.execute(
            select(User.username, User.id).where(
                User.username.in_([_text(r.get("handler_user")) for _, r in rows])
            )
        )
        .tuples()
        .all()
    )
    seen: dict[str, int] = {}
    out = []
    for n, raw in rows:
        bad = len(problems.items)

        def err(column: str, vi: str, en: str, n: int = n) -> None:
            problems.add(n, column, vi, en)

        ext = _text(raw.get("external_id"))
        if not ext or len(ext) > 100:
            err(
                "external_id",
                "Thiếu mã văn bản (tối đa 100 ký tự)",
                "Missing external id (max 100 characters)",
            )
        elif ext in seen:
            err("external_id", f"Mã văn bản trùng với dòng {seen[ext]}", f"Duplicate of row {seen[ext]}")
        else:
            seen[ext] = n
        direction = DIRECTIONS.get(_text(raw.get("direction")).lower())
        if direction is None:
            err(
                "direction",
                "Chiều văn bản phải là incoming (đến) hoặc outgoing (đi)",
                "Direction: incoming or outgoing",
            )
        fields: dict[str, Any] = {"external_id": ext, "direction": direction}
        for col, limit in (("number", 60), ("issuer", 200), ("summary", 5000)):
            value = _text(raw.get(col))
            if not value or len(value) > limit:
                err(col, f"Cần có giá trị (tối đa {limit} ký tự)", f"Required (max {limit} characters)")
            fields[col] = value
        for col in ("document_date", "deadline", "finished_at"):
            try:
                fields[col] = parse_date(raw.get(col))
            except (ValueError, TypeError):
                err(
                    col,
                    f"Ngày không hợp lệ: {_text(raw.get(col))[:30]}",
                    f"Invalid date: {_text(raw.get(col))[:30]}",
                )
                fields[col] = None
        if fields["document_date"] is None and not any(
            p["column"] == "document_date" and p["row"] == n for p in problems.items
        ):
            err("document_date", "Thiếu ngày văn bản", "Missing document date")
        state = _text(raw.get("state")).lower()
        if direction is not None and state not in states_of(direction):
            err("state", f"Trạng thái không hợp lệ: {state[:30]}", f"Invalid state: {state[:30]}")
        fields["state"] = state
        if state in EDOC_DONE_STATES and fields["finished_at"] is None:
            err("finished_at", "Cần ngày hoàn thành / gửi", "The finished / sent date is required")
        code = _text(raw.get("handler_agency"))
        fields["handler_agency_id"] = None
        if code:
            agency = agencies.get(code)
            path = db.get(Unit, agency.unit_id).path if agency is not None else None  # type: ignore[union-attr]
            if (
                agency is None
                or not agency.active
                or path is None
                or not (path.startswith(unit.path) or unit.path.startswith(path))
            ):
                err(
                    "handler_agency",
                    f"Không có cơ quan mã '{code[:60]}' ở đơn vị này",
                    f"Unknown agency '{code[:60]}'",
                )
            else:
                fields["handler_agency_id"] = agency.id
        username = _text(raw.get("handler_user"))
        fields["handler_user_id"] = users.get(username) if username else None
        if username and fields["handler_user_id"] is None:
            err("handler_user", f"Không có người dùng '{username[:60]}'", f"Unknown user '{username[:60]}'")
        for col in ("digitally_signed", "sent_electronically"):
            try:
                fields[col] = _flag(raw.get(col))
            except ValueError:
                err(col, "Giá trị phải là có / không", "Must be yes / no")
        domain = _text(raw.get("domain")) or "administration"
        if domain not in DOMAINS:
            err("domain", f"Lĩnh vực không hợp lệ: {domain[:32]}", f"Unknown domain: {domain[:32]}")
        fields["domain"] = domain
        task = _text(raw.get("task_id"))
        fields["task_id"] = None
        if task:
            t = db.get(DirectionTask, int(task)) if task.isdigit() and len(task) < 18 else None
            if t is None or not (db.get(Unit, t.unit_id).path or "").startswith(unit.path):  # type: ignore[union-attr]
                err("task_id", "Không có nhiệm vụ này ở đơn vị", "No such task in this unit")
            else:
                fields["task_id"] = t.id
        if len(problems.items) == bad:
            out.append((n, _to_columns(calendar, fields)))
    return out


def _to_columns(calendar: WorkCalendar, f: dict[str, Any]) -> dict[str, Any]:
    finished = f.pop("finished_at")
    deadline = f.pop("deadline")
    f["deadline_at"] = end_of_day(calendar, deadline) if deadline else None
    f["finished_at"] = end_of_day(calendar, finished) if finished and f["state"] in EDOC_DONE_STATES else None
    return f


# ------------------------------------------------------------------------------------------- writing


def write(
    db: Session, principal: Principal, unit: Unit, clean: list[tuple[int, dict[str, Any]]], source: str
) -> ImportResult:
    """Insert the new documents and update those already registered (same unit and external id)."""
    result = ImportResult(rows=len(clean))
    ids = [f["external_id"] for _, f in clean]
    existing = {
        d.external_id: d
        for d in db.scalars(
            select(EDocument).where(EDocument.unit_id == unit.id, EDocument.external_id.in_(ids))
        )
    }
    touched: set[tuple[int, date]] = set()  # (unit, document date) whose month's figures change
    for _, fields in clean:
        doc = existing.get(fields["external_id"])
        touched.add((unit.id, fields["document_date"]))
        if doc is None:
            db.add(EDocument(unit_id=unit.id, **fields))
            result.created += 1
            continue
        touched.add((unit.id, doc.document_date))
        changed = False
        for key, value in fields.items():
            if getattr(doc, key) != value:
                setattr(doc, key, value)
                changed = True
        result.updated += changed
        result.unchanged += not changed
    try:
        db.flush()
    except IntegrityError as exc:  # another import registered one of these external ids just now
        raise Conflict(
            "Văn bản đang được nhập đồng thời từ nguồn khác; hãy thử lại",
            "The same documents are being imported at the same time; try again",
        ) from exc
    figures.feed_edocuments(db, touched)
    counts = result.as_dict()
    audit.record_by(
        db,
        principal,
        "edocument.import",
        entity_type="edocument",
        unit_id=unit.id,
        changes={"source": source, **counts},
    )
    outbox.emit(
        db, IMPORTED, {"unit_id": unit.id, "source": source, **counts}, unit_id=unit.id, unit_path=unit.path
    )
    return result


def _unit_for_write(db: Session, principal: Principal, unit_id: int) -> Unit:
    unit = get_unit(db, unit_id)
    principal.require(WRITE, unit.path, "administration")
    return unit


def import_rows(
    db: Session,
    calendar: WorkCalendar,
    principal: Principal,
    unit_id: int,
    rows: list[tuple[int, dict[str, Any]]],
    problems: RowProblems,
    source: str,
) -> ImportResult:
    unit = _unit_for_write(db, principal, unit_id)
    clean = check_rows(db, calendar, unit, rows, problems)
    problems.raise_if_any()
    return write(db, principal, unit, clean, source)


def import_file(
    db: Session,
    calendar: WorkCalendar,
    principal: Principal,
    unit_id: int,
    filename: str,
    data: bytes,
    limits: UploadLimits,
) -> ImportResult:
    """Read (with the size and zip checks), check and, only when every row is clean, write a file."""
    _unit_for_write(db, principal, unit_id)
    table = read_table(filename, data, limits)
    problems = RowProblems()
    rows = rows_from_table(table, problems)
    return import_rows(db, calendar, principal, unit_id, rows, problems, "file")


def import_batch(
    db: Session, calendar: WorkCalendar, principal: Principal, unit_id: int, items: list[dict[str, Any]]
) -> ImportResult:
    problems = RowProblems()
    rows = rows_from_batch(items, problems)
    return import_rows(db, calendar, principal, unit_id, rows, problems, "api")


# ------------------------------------------------------------------------------------------- template

EXAMPLE = [
    "VB-2026-0001",
    "incoming",
    "123/UBND-VP",
    "2026-11-20",
    "UBND thành phố Hà Nội",
    "V/v triển khai kế hoạch chuyển đổi số năm 2027",
    "received",
    "",
    "",
    "2026-11-30",
    "",
    "có",
    "không",
    "administration",
    "",
]


def template_csv() -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(COLUMNS)
    w.writerow(EXAMPLE)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Văn bản")
    ws.append(list(COLUMNS))
    ws.append(EXAMPLE)
    guide = wb.create_sheet("Hướng dẫn")
    guide.append(["Cột / Column", "Bắt buộc / Required", "Mô tả", "Description"])
    for col in COLUMNS:
        vi, en = GUIDE[col]
        guide.append([col, "x" if col in REQUIRED else "", vi, en])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()

"""Data intake (tiếp nhận số liệu): Excel/CSV files and JSON batches, checked row by row, all or nothing.

A file or batch with any error changes nothing: every row is checked first and the errors come back as a
list of (row, column, message vi/en); only a clean batch is written, in the request's transaction. Values
land in the unit's submission for the period as drafts; a submitted or approved report is locked.

Files are read by `core.tables` (size, zip-bomb and encoding checks before parsing).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from toancanh.core.auth.scope import Principal
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest
from toancanh.core.outbox import emit
from toancanh.core.tables import Limits, Problems, read_table
from toancanh.core.units import Unit
from toancanh.modules.indicators import submissions
from toancanh.modules.indicators.catalogue import elements_by_code
from toancanh.modules.indicators.models import DataElement, Dataset, DataValue
from toancanh.modules.indicators.periods import parse_period

SUBMIT = "indicators.submit"
UNIT_COLUMN, PERIOD_COLUMN = "unit_code", "period"
_UNIT_ALIASES = {"unit_code", "unit", "ma_don_vi", "mã đơn vị", "ma don vi"}
_PERIOD_ALIASES = {"period", "ky", "kỳ", "kỳ báo cáo", "ky_bao_cao"}
_NUMBER = re.compile(r"^[+-]?\d+([.,]\d+)?$", re.ASCII)


@dataclass
class Record:
    """One row of a file or a batch: where it came from, its unit, period and element values."""

    row: int
    unit: str
    period: str
    values: dict[str, Any]


@dataclass
class ImportResult:
    dataset: str
    rows: int = 0
    values: int = 0
    created: int = 0
    updated: int = 0
    submissions: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "rows": self.rows,
            "values": self.values,
            "created": self.created,
            "updated": self.updated,
            "submissions": self.submissions,
        }


def records_from_table(dataset: Dataset, rows: list[list[Any]], problems: Problems) -> list[Record]:
    """Check the header against the dataset's template and turn the rows into records."""
    if not rows:
        problems.add(1, "", "Tệp không có dòng tiêu đề", "The file has no header row")
        return []
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    while header and header[-1] == "":
        header.pop()
    expected = list(dataset.element_codes)
    positions: dict[str, int] = {}
    for i, name in enumerate(header):
        low = name.lower()
        key = UNIT_COLUMN if low in _UNIT_ALIASES else PERIOD_COLUMN if low in _PERIOD_ALIASES else name
        if key in positions:
            problems.add(1, name, f"Cột '{name}' bị lặp", f"Column '{name}' appears twice")
        elif key not in expected and key not in (UNIT_COLUMN, PERIOD_COLUMN):
            problems.add(
                1, name, f"Cột '{name}' không thuộc biểu mẫu {dataset.code}", f"Unknown column '{name}'"
            )
        positions.setdefault(key, i)
    for need in [UNIT_COLUMN, PERIOD_COLUMN, *expected]:
        if need not in positions:
            problems.add(1, need, f"Thiếu cột '{need}'", f"Missing column '{need}'")
    if problems.items:
        return []
    out = []
    for n, row in enumerate(rows[1:], start=2):
        cells = [row[i] if i < len(row) else None for i in range(len(header))]
        if all(c is None or str(c).strip() == "" for c in cells):
            continue  # blank lines at the end of a sheet
        out.append(
            Record(
                row=n,
                unit=str(cells[positions[UNIT_COLUMN]] or "").strip(),
                period=str(cells[positions[PERIOD_COLUMN]] or "").strip(),
                values={code: cells[positions[code]] for code in expected},
            )
        )
    return out


# ---------------------------------------------------------------------------------------- checking


def parse_number(raw: Any) -> float | None:
    """A cell's number; None for an empty cell; ValueError for text."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ValueError("boolean")
    if isinstance(raw, int | float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise ValueError("not finite")
        return float(raw)
    text = str(raw).strip().replace(" ", "")
    if text == "":
        return None
    if not _NUMBER.match(text):
        raise ValueError(text)
    return float(text.replace(",", "."))


@dataclass
class Clean:
    unit: Unit
    period: str
    values: dict[str, float]


def check_records(
    db: Session, principal: Principal, dataset: Dataset, records: list[Record], problems: Problems
) -> list[Clean]:
    """Every row against units, scope, period, duplicates, numbers and locks; the clean rows."""
    codes = {r.unit for r in records if r.unit}
    units = {u.code: u for u in db.scalars(select(Unit).where(Unit.code.in_(sorted(codes))))} if codes else {}
    elements = elements_by_code(db, set(dataset.element_codes))
    periods = {r.period for r in records}
    locked = submissions.locked_keys(db, dataset, [u.id for u in units.values()], periods)
    seen: dict[tuple[str, str], int] = {}
    out = []
    for r in records:
        ok = True
        unit = units.get(r.unit)
        if not r.unit:
            problems.add(r.row, UNIT_COLUMN, "Thiếu mã đơn vị", "Missing unit code")
            ok = False
        elif unit is None:
            problems.add(
                r.row, UNIT_COLUMN, f"Không có đơn vị mã '{r.unit[:20]}'", f"Unknown unit '{r.unit[:20]}'"
            )
            ok = False
        elif not principal.can(SUBMIT, unit.path, dataset.domain):
            problems.add(
                r.row,
                UNIT_COLUMN,
                f"Bạn không có quyền nhập số liệu cho đơn vị '{r.unit}'",
                f"You may not submit data for unit '{r.unit}'",
            )
            ok = False
        try:
            period = parse_period(r.period)
            if period.type != dataset.period_type:
                problems.add(
                    r.row,
                    PERIOD_COLUMN,
                    f"Biểu mẫu báo cáo theo {dataset.period_type}, kỳ '{r.period}' không phù hợp",
                    f"The dataset reports by {dataset.period_type}; period '{r.period}' does not fit",
                )
                ok = False
        except BadRequest:
            problems.add(
                r.row,
                PERIOD_COLUMN,
                f"Kỳ báo cáo không hợp lệ: '{r.period[:20]}'",
                f"Invalid period: '{r.period[:20]}'",
            )
            ok = False
        key = (r.unit, r.period)
        if key in seen:
            problems.add(
                r.row,
                UNIT_COLUMN,
                f"Trùng dòng {seen[key]} (cùng đơn vị và kỳ)",
                f"Duplicate of row {seen[key]} (same unit and period)",
            )
            ok = False
        else:
            seen[key] = r.row
        if ok and unit is not None and (unit.id, r.period) in locked:
            problems.add(
                r.row,
                PERIOD_COLUMN,
                f"Báo cáo kỳ {r.period} của đơn vị {r.unit} đã nộp hoặc đã duyệt, không sửa được",
                f"The report of {r.unit} for {r.period} is submitted or approved and locked",
            )
            ok = False
        values: dict[str, float] = {}
        for code, raw in r.values.items():
            element = elements.get(code)
            if element is None:
                problems.add(
                    r.row, code, f"Không có phần tử dữ liệu '{code}'", f"Unknown data element '{code}'"
                )
                ok = False
                continue
            try:
                number = parse_number(raw)
            except ValueError:
                problems.add(
                    r.row,
                    code,
                    f"Giá trị '{str(raw)[:30]}' không phải là số",
                    f"Value '{str(raw)[:30]}' is not a number",
                )
                ok = False
                continue
            if number is None:
                continue
            if element.value_type == "integer" and (number != int(number) or number < 0):
                problems.add(
                    r.row,
                    code,
                    f"'{code}' phải là số nguyên không âm",
                    f"'{code}' must be a whole number >= 0",
                )
                ok = False
                continue
            if abs(number) > 1e15:
                problems.add(r.row, code, "Giá trị quá lớn", "Value too large")
                ok = False
                continue
            values[code] = number
        if ok and unit is not None:
            out.append(Clean(unit, r.period, values))
    return out


# ---------------------------------------------------------------------------------------- writing


def write(
    db: Session,
    principal: Principal,
    dataset: Dataset,
    rows: list[Clean],
    source: str,
    *,
    now: datetime | None = None,
) -> ImportResult:
    """Upsert the values (bulk: one read of what exists, one insert, one update) into draft submissions."""
    now = now or utcnow()
    result = ImportResult(dataset=dataset.code, rows=len(rows))
    if not rows:
        return result
    elements = elements_by_code(db, set(dataset.element_codes))
    subs = submissions.ensure(db, dataset, {(c.unit.id, c.period) for c in rows}, now)
    unit_ids = sorted({c.unit.id for c in rows})
    periods = sorted({c.period for c in rows})
    element_ids = {e.id: e for e in elements.values()}
    existing: dict[tuple[int, int, str], int] = {}
    stmt = select(DataValue.id, DataValue.data_element_id, DataValue.unit_id, DataValue.period).where(
        DataValue.data_element_id.in_(list(element_ids)),
        DataValue.unit_id.in_(unit_ids),
        DataValue.period.in_(periods),
    )
    for row_id, eid, uid, per in db.execute(stmt):
        existing[(eid, uid, per)] = row_id
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for c in rows:
        p = parse_period(c.period)
        sub = subs[(c.unit.id, c.period)]
        for code, value in c.values.items():
            e: DataElement = elements[code]
            common = {
                "value": value,
                "source": source,
                "status": "draft",
                "submission_id": sub.id,
                "updated_by": principal.username,
                "updated_at": now,
            }
            vid = existing.get((e.id, c.unit.id, c.period))
            if vid is None:
                inserts.append(
                    {
                        "data_element_id": e.id,
                        "unit_id": c.unit.id,
                        "domain": e.domain,
                        "period": c.period,
                        "period_type": p.type,
                        "period_start": p.start,
                        "period_end": p.end,
                        **common,
                    }
                )
            else:
                updates.append({"id": vid, **common})
    if inserts:
        db.execute(insert(DataValue), inserts)
    if updates:
        db.execute(update(DataValue), updates)
    submissions.refresh_counts(db, [s.id for s in subs.values()])
    result.values, result.created, result.updated = len(inserts) + len(updates), len(inserts), len(updates)
    result.submissions = sorted(s.id for s in subs.values())
    emit(
        db,
        "toancanh.indicators.values.imported",
        {
            "dataset": dataset.code,
            "source": source,
            "rows": result.rows,
            "values": result.values,
            "actor": principal.username,
            "title_vi": f"Nhập {result.values} số liệu biểu mẫu {dataset.name}",
            "title_en": f"{result.values} values imported for {dataset.name_en or dataset.code}",
        },
        unit_id=rows[0].unit.id if len({c.unit.id for c in rows}) == 1 else None,
        domain=dataset.domain,
    )
    return result


def import_file(
    db: Session, principal: Principal, dataset: Dataset, filename: str, data: bytes, limits: Limits
) -> ImportResult:
    """Read, check and (only when every row is clean) write a file."""
    table = read_table(filename, data, limits)
    problems = Problems()
    records = records_from_table(dataset, table, problems)
    clean = check_records(db, principal, dataset, records, problems)
    problems.raise_if_any()
    return write(db, principal, dataset, clean, "import")


def records_from_batch(items: list[Any], dataset: Dataset, problems: Problems) -> list[Record]:
    """A JSON batch of {unit, period, element, value} items, grouped into rows by (unit, period)."""
    allowed = set(dataset.element_codes)
    grouped: dict[tuple[str, str], Record] = {}
    for i, item in enumerate(items):
        key = (item.unit, item.period)
        rec = grouped.get(key)
        if rec is None:
            rec = grouped[key] = Record(row=i, unit=item.unit, period=item.period, values={})
        if item.element not in allowed:
            problems.add(
                i,
                "element",
                f"'{item.element}' không thuộc biểu mẫu {dataset.code}",
                f"'{item.element}' is not in {dataset.code}",
            )
            continue
        if item.element in rec.values:
            problems.add(i, item.element, "Giá trị bị lặp", "Duplicate value")
            continue
        rec.values[item.element] = item.value
    return list(grouped.values())


def export_errors_xlsx(errors: list[dict[str, Any]]) -> bytes:
    """The error report as a workbook: row, column, message (vi), message (en)."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Lỗi")
    ws.append(["Dòng / Row", "Cột / Column", "Lỗi", "Error"])
    for e in errors:
        ws.append([e.get("row"), e.get("column"), e.get("message"), e.get("message_en")])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def template_xlsx(
    dataset: Dataset, elements: dict[str, DataElement], units: list[Unit], period: str
) -> bytes:
    """The dataset's template: one column per data element, one row per unit, a sheet of explanations."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Số liệu")
    ws.append([UNIT_COLUMN, PERIOD_COLUMN, *dataset.element_codes])
    for u in units:
        ws.append([u.code, period])
    guide = wb.create_sheet("Hướng dẫn")
    guide.append(["Cột / Column", "Tên", "Name", "Đơn vị tính / Unit"])
    guide.append([UNIT_COLUMN, "Mã đơn vị hành chính", "Administrative unit code", ""])
    guide.append(
        [PERIOD_COLUMN, f"Kỳ báo cáo ({dataset.period_type})", f"Period ({dataset.period_type})", ""]
    )
    for code in dataset.element_codes:
        e = elements.get(code)
        if e:
            guide.append([code, e.name, e.name_en, e.unit_of_measure])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def template_csv(dataset: Dataset, units: list[Unit], period: str) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([UNIT_COLUMN, PERIOD_COLUMN, *dataset.element_codes])
    for u in units:
        w.writerow([u.code, period])
    return ("\ufeff" + out.getvalue()).encode("utf-8")

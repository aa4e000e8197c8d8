"""Tables that users upload (bảng số liệu tải lên): .xlsx and .csv files read defensively, and the row-level
errors of an import.

Files are distrusted: the size is checked before parsing; an .xlsx must be a zip whose total uncompressed size
and compression ratio are checked before openpyxl opens it (a zip bomb never gets decompressed); a CSV must be
UTF-8. Imports check every row first and report (row, column, message vi/en), so that a file with any error
changes nothing.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from toancanh.core.errors import BadRequest, PayloadTooLarge, Unprocessable

MAX_ERRORS = 1000
MAX_RATIO = 100  # uncompressed / compressed, per entry and overall (xlsx XML compresses ~10-20x)
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Limits:
    """How large an uploaded table may be."""

    max_bytes: int = 20 * 1024 * 1024
    max_unzipped_bytes: int = 200 * 1024 * 1024
    max_rows: int = 200_000

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        return cls(
            max_bytes=settings.table_max_upload_bytes,
            max_unzipped_bytes=settings.table_max_unzipped_bytes,
            max_rows=settings.table_max_rows,
        )


class Problems:
    """The row-level errors of one batch."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.truncated = False

    def add(self, row: int, column: str, vi: str, en: str) -> None:
        if len(self.items) >= MAX_ERRORS:
            self.truncated = True
            return
        self.items.append({"row": row, "column": column, "message": vi, "message_en": en})

    def raise_if_any(self) -> None:
        if self.items:
            raise Unprocessable(
                f"Dữ liệu có {len(self.items)}{'+' if self.truncated else ''} lỗi; không có gì được ghi",
                f"The data has {len(self.items)}{'+' if self.truncated else ''} errors; nothing was written",
                details={"errors": self.items, "truncated": self.truncated},
                code="import_errors",
            )


# ---------------------------------------------------------------------------------------- reading files


def _file_error(vi: str, en: str) -> BadRequest:
    return BadRequest(vi, en, code="bad_file")


def check_zip(data: bytes, limits: Limits) -> None:
    """Refuse what is not a zip, and a zip that would inflate past the limits (checked from its directory,
    nothing is decompressed)."""
    if not data.startswith(b"PK\x03\x04"):
        raise _file_error(
            "Tệp không phải Excel .xlsx (không đúng định dạng)", "The file is not an Excel .xlsx workbook"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise _file_error("Tệp Excel bị hỏng", "The Excel file is damaged") from exc
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    too_big = total > limits.max_unzipped_bytes or len(infos) > 10_000
    bomb = any(i.file_size > MAX_RATIO * max(i.compress_size, 1) and i.file_size > 1_000_000 for i in infos)
    if too_big or bomb or (total > 1_000_000 and total > MAX_RATIO * max(packed, 1)):
        raise _file_error(
            "Tệp Excel bất thường (dung lượng giải nén quá lớn); không được xử lý",
            "Suspicious Excel file (expands too much when unzipped); refused",
        )


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):  # Excel turned "2026-11-22" into a date
        return value.date().isoformat()
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    return value


def read_xlsx(data: bytes, limits: Limits) -> Iterator[list[Any]]:
    check_zip(data, limits)
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise _file_error("Không đọc được tệp Excel", "Cannot read the Excel file") from exc
    try:
        ws = wb.worksheets[0]
        for row in ws.iter_rows(values_only=True):
            yield [_cell(v) for v in row]
    finally:
        wb.close()


def read_csv(data: bytes) -> Iterator[list[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _file_error("Tệp CSV phải mã hóa UTF-8", "The CSV file must be UTF-8") from exc
    if "\x00" in text[:4096]:
        raise _file_error("Tệp CSV không hợp lệ", "Invalid CSV file")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    yield from csv.reader(io.StringIO(text), delimiter=delimiter)


def read_table(filename: str, data: bytes, limits: Limits) -> list[list[Any]]:
    """The rows of an uploaded .xlsx or .csv (header first), after the size and format checks."""
    if len(data) > limits.max_bytes:
        mb = limits.max_bytes / 1024 / 1024
        raise PayloadTooLarge(f"Tệp quá lớn (tối đa {mb:g} MB)", f"File too large (max {mb:g} MB)")
    if not data:
        raise _file_error("Tệp rỗng", "Empty file")
    name = filename.lower()
    if name.endswith(".xlsx"):
        reader: Iterable[list[Any]] = read_xlsx(data, limits)
    elif name.endswith(".csv"):
        reader = read_csv(data)
    else:
        raise _file_error("Chỉ nhận tệp .xlsx hoặc .csv", "Only .xlsx or .csv files are accepted")
    rows: list[list[Any]] = []
    for row in reader:
        if len(rows) > limits.max_rows:
            raise PayloadTooLarge(
                f"Tệp có quá nhiều dòng (tối đa {limits.max_rows})", f"Too many rows (max {limits.max_rows})"
            )
        rows.append(list(row))
    return rows

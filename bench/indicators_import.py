"""Import of an indicator file: a generated .xlsx of ``--rows`` rows (default 100,000) through the same path
as ``POST /api/v1/indicators/datasets/{code}/import`` (size and zip checks, openpyxl read-only, every row
checked, one bulk write in one transaction), against the raw database insert rate.

The file is the daily quick report (BAO_CAO_NGAY, four data elements) of a synthetic province of 1,000
communes over ``rows / 1,000`` days, so each row is one (unit, day) report: ``rows`` draft submissions and
``4 x rows`` data values. SQLite, a temporary file migrated with the product's migrations. Baseline:
``bench._common.raw_sqlite_insert_rate`` (plain ``sqlite3`` ``executemany`` into a samples-shaped table,
same pragmas) measured in the same run on the same number of values. The figure is the ratio of values
written per second by the import to raw rows inserted per second.

    python -m bench.indicators_import --rows 5000
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl

from bench._common import main, print_table, rate, raw_sqlite_insert_rate, sig
from toancanh.core import tables
from toancanh.core.auth.scope import Principal, ScopedGrant
from toancanh.core.db import Database
from toancanh.core.migrate import upgrade
from toancanh.core.units import Unit, add_unit
from toancanh.modules.indicators import catalogue, intake

NAME = "indicators_import"
ROWS = int(os.environ.get("TOANCANH_BENCH_IMPORT_ROWS", "100000"))
COMMUNES = 1000
ADMIN = Principal(user_id=0, username="bench", grants=(ScopedGrant("admin", "/", None),))


def make_xlsx(rows: int, communes: int) -> bytes:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Số liệu")
    ws.append(["unit_code", "period", "DOC_INCOMING", "DOC_OUTGOING", "DOC_SIGNED", "DOC_OVERDUE"])
    start = date(2026, 1, 1)
    for i in range(rows):
        day = start + timedelta(days=i // communes)
        ws.append([f"9{i % communes:04d}", day.isoformat(), 5 + i % 7, 3 + i % 5, 3 + i % 5, i % 2])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def run(rows: int = ROWS) -> dict[str, Any]:
    communes = min(COMMUNES, rows)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        db = Database(url)
        with db.session() as s:
            catalogue.load_catalogue(s)
            prov = add_unit(s, code="99", name="Tỉnh thử nghiệm", kind="tỉnh")
            s.add_all(
                Unit(
                    code=f"9{i:04d}",
                    name=f"Xã {i}",
                    kind="xã",
                    level=2,
                    parent_id=prov.id,
                    path=f"/99/9{i:04d}/",
                )
                for i in range(communes)
            )
        data = make_xlsx(rows, communes)
        limits = tables.Limits(max_bytes=200 * 1024 * 1024, max_rows=rows + 10)
        started = time.perf_counter()
        with db.session() as s:
            ds = catalogue.dataset_by_code(s, "BAO_CAO_NGAY")
            result = intake.import_file(s, ADMIN, ds, "bench.xlsx", data, limits)
        elapsed = time.perf_counter() - started
        db.dispose()
        values = result.values
        baseline = raw_sqlite_insert_rate(Path(tmp) / "raw.db", values)
    import_rate = rate(values, elapsed)
    ratio = import_rate / baseline
    print_table(
        f"Indicator import, {rows:,} rows (.xlsx {len(data) / 1e6:.1f} MB)",
        [
            ("rows imported", f"{result.rows:,}"),
            ("values written", f"{values:,}"),
            ("import seconds", f"{elapsed:.2f}"),
            ("import rows/s", f"{rate(rows, elapsed):,.0f}"),
            ("import values/s", f"{import_rate:,.0f}"),
            ("raw sqlite3 insert rows/s (baseline)", f"{baseline:,.0f}"),
            ("ratio values/s to raw rows/s", f"{ratio:.3f}"),
        ],
    )
    return {
        "rows": rows,
        "values": values,
        "file_mb": sig(len(data) / 1e6, 3),
        "seconds": sig(elapsed, 4),
        "rows_per_s": sig(rate(rows, elapsed)),
        "values_per_s": sig(import_rate),
        "raw_insert_per_s": sig(baseline),
        "ratio": sig(ratio, 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    args = parser.parse_args()
    main(NAME, lambda: run(args.rows))

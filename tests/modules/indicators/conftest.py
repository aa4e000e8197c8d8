"""The shared world (province 01, communes A and B, hamlets H1 and H2 of A) with the default catalogue and
a small dataset of its own; helpers that build .xlsx and .csv files in memory."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest

from toancanh.modules.indicators import catalogue


@pytest.fixture
def iworld(world: Any, db: Any) -> Any:
    with db.session() as s:
        catalogue.load_catalogue(s)
        catalogue.upsert_dataset(
            s,
            {
                "code": "TEST_THANG",
                "name": "Biểu mẫu kiểm thử",
                "domain": "administration",
                "period_type": "month",
                "deadline_days": 5,
                "elements": ["DOSSIER_FINISHED_ONTIME", "DOSSIER_FINISHED_LATE", "DOSSIER_RECEIVED"],
            },
        )
    return world


HEADER = ["unit_code", "period", "DOSSIER_FINISHED_ONTIME", "DOSSIER_FINISHED_LATE", "DOSSIER_RECEIVED"]


def xlsx(rows: list[list[Any]], header: list[str] | None = None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header or HEADER)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list[Any]], header: list[str] | None = None) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(header or HEADER)
    for r in rows:
        w.writerow(r)
    return out.getvalue().encode("utf-8")


def upload(
    client: Any,
    who_headers: dict[str, str],
    data: bytes,
    name: str = "data.xlsx",
    ds: str = "TEST_THANG",
    **params: Any,
) -> Any:
    return client.post(
        f"/api/v1/indicators/datasets/{ds}/import",
        files={"file": (name, data, "application/octet-stream")},
        headers=who_headers,
        params=params,
    )

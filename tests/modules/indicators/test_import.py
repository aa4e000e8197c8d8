"""Imports with bad files: clear row-level errors (vi/en), and nothing written."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from tests.modules.indicators.conftest import HEADER, csv_bytes, upload, xlsx
from toancanh.modules.indicators.models import DataValue, Submission

GOOD = ["0066401", "2026-10", 90, 10, 120]


def counts(db: Any) -> tuple[int, int]:
    with db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(DataValue)) or 0,
            s.scalar(select(func.count()).select_from(Submission)) or 0,
        )


def errors_of(r: Any) -> list[dict[str, Any]]:
    assert r.status_code == 422, r.text
    body = r.json()["error"]
    assert body["code"] == "import_errors" and body["message"] and body["message_en"]
    return body["details"]["errors"]  # type: ignore[no-any-return]


def test_a_clean_file_imports_xlsx_and_csv(client: Any, iworld: Any, db: Any) -> None:
    r = upload(client, iworld.auth("op_a"), xlsx([GOOD, ["0066402", "2026-10", "45", "5,0", 60]]))
    assert r.status_code == 201, r.text
    assert r.json()["values"] == 6 and r.json()["created"] == 6
    r = upload(client, iworld.auth("op_a"), csv_bytes([["0066401", "2026-10", 91, 9, 120]]), name="d.csv")
    assert r.status_code == 201 and r.json()["updated"] == 3
    assert counts(db) == (6, 2)


def test_wrong_and_missing_columns(client: Any, iworld: Any, db: Any) -> None:
    header = ["unit_code", "period", "DOSSIER_FINISHED_ONTIME", "SOMETHING_ELSE"]
    errs = errors_of(upload(client, iworld.auth("op_a"), xlsx([["0066401", "2026-10", 1, 2]], header=header)))
    cols = {(e["row"], e["column"]) for e in errs}
    assert (
        (1, "SOMETHING_ELSE") in cols
        and (1, "DOSSIER_FINISHED_LATE") in cols
        and (1, "DOSSIER_RECEIVED") in cols
    )
    assert counts(db) == (0, 0)


def test_row_errors_are_all_reported_and_nothing_is_written(client: Any, iworld: Any, db: Any) -> None:
    rows = [
        GOOD,
        ["0066402", "2026-10", "chín mươi", 1, 2],  # text in a number
        ["0066401", "2026-10", 1, 1, 1],  # duplicate of row 2
        ["99999", "2026-10", 1, 1, 1],  # unknown unit
        ["00070", "2026-10", 1, 1, 1],  # outside op_a's scope
        ["0066402", "2026-13", 1, 1, 1],  # bad period
        ["0066402", "2026-10-01", 1, 1, 1],  # a day in a monthly dataset
        ["0066402", "2026-09", 1.5, 1, 1],  # not a whole number
    ]
    errs = errors_of(upload(client, iworld.auth("op_a"), xlsx(rows)))
    by_row = {e["row"]: e for e in errs}
    assert by_row[3]["column"] == "DOSSIER_FINISHED_ONTIME" and "không phải là số" in by_row[3]["message"]
    assert "Duplicate of row 2" in by_row[4]["message_en"]
    assert "Unknown unit" in by_row[5]["message_en"]
    assert "may not submit" in by_row[6]["message_en"]
    assert by_row[7]["column"] == "period" and by_row[8]["column"] == "period"
    assert "whole number" in by_row[9]["message_en"]
    assert 2 not in by_row
    assert counts(db) == (0, 0)
    report = upload(client, iworld.auth("op_a"), xlsx(rows), errors="xlsx")
    assert report.status_code == 422
    sheet = openpyxl.load_workbook(io.BytesIO(report.content)).active
    assert sheet.max_row == len(errs) + 1


def test_file_over_the_size_limit(client: Any, iworld: Any, db: Any, app: Any) -> None:
    app.state.settings.table_max_upload_bytes = 50_000
    big = csv_bytes([["0066401", "2026-10", 1, 1, 1]] * 5000, header=HEADER)
    assert len(big) > 50_000
    r = upload(client, iworld.auth("op_a"), big, name="big.csv")
    assert r.status_code == 413 and "File too large" in r.json()["error"]["message_en"]
    assert counts(db) == (0, 0)


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr(
            "xl/worksheets/sheet1.xml", b"\0" * (300 * 1024 * 1024)
        )  # 300 MB of zeros, ~300 KB packed
    return out.getvalue()


def test_zip_bomb_disguised_as_xlsx_is_refused_before_opening(client: Any, iworld: Any, db: Any) -> None:
    bomb = _zip_bomb()
    assert len(bomb) < 2_000_000
    r = upload(client, iworld.auth("op_a"), bomb, name="bao_cao.xlsx")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_file"
    assert "unzipped" in r.json()["error"]["message_en"]
    assert counts(db) == (0, 0)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("bao_cao.xlsx", b"unit_code,period\n0066401,2026-10\n"),
        ("x.xlsx", b"PK\x03\x04garbage"),
        ("x.pdf", b"%PDF-1.4"),
    ],
)
def test_files_that_are_not_what_they_claim(
    client: Any, iworld: Any, db: Any, name: str, data: bytes
) -> None:
    r = upload(client, iworld.auth("op_a"), data, name=name)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "bad_file" and r.json()["error"]["message"]
    assert counts(db) == (0, 0)


def test_push_api_uses_the_same_checks(client: Any, iworld: Any, db: Any) -> None:
    body = {
        "dataset": "TEST_THANG",
        "values": [
            {"unit": "0066401", "period": "2026-10", "element": "DOSSIER_FINISHED_ONTIME", "value": 9},
            {"unit": "0066401", "period": "2026-10", "element": "DOSSIER_FINISHED_LATE", "value": "abc"},
        ],
    }
    r = client.post("/api/v1/indicators/values", json=body, headers=iworld.auth("op_a"))
    assert errors_of(r)[0]["column"] == "DOSSIER_FINISHED_LATE"
    assert counts(db) == (0, 0)
    body["values"][1]["value"] = 1
    body["values"].append(
        {"unit": "0066401", "period": "2026-10", "element": "DOSSIER_RECEIVED", "value": 12}
    )
    body["submit"] = True
    r = client.post("/api/v1/indicators/values", json=body, headers=iworld.auth("op_a"))
    assert r.status_code == 201, r.text
    sub = client.get(
        f"/api/v1/indicators/datasets/submissions/{r.json()['submissions'][0]}", headers=iworld.auth("op_a")
    )
    assert sub.json()["state"] == "submitted" and sub.json()["values"]["DOSSIER_RECEIVED"] == 12
    assert (
        client.post(
            "/api/v1/indicators/values",
            json={"dataset": "NOPE", "values": body["values"]},
            headers=iworld.auth("op_a"),
        ).status_code
        == 404
    )
    assert (
        client.post("/api/v1/indicators/values", json=body, headers=iworld.auth("viewer_a")).status_code
        == 403
    )

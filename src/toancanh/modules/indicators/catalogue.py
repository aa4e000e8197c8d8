"""The catalogue: data elements, indicators and datasets; checks, and the default catalogue (YAML)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.errors import BadRequest, NotFound
from toancanh.modules.indicators import formula
from toancanh.modules.indicators.models import (
    DIRECTIONS,
    ELEMENT_TIME_AGGREGATIONS,
    TIME_AGGREGATIONS,
    UNIT_AGGREGATIONS,
    VALUE_TYPES,
    DataElement,
    Dataset,
    Indicator,
)
from toancanh.modules.indicators.periods import PERIOD_TYPES

DEFAULT_CATALOGUE = Path(__file__).parent / "catalogue.yaml"
CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
DEFAULT_BANDS: list[dict[str, Any]] = [
    {"min": 100, "code": "achieved", "label_vi": "Đạt", "label_en": "Achieved", "color": "#35d07f"},
    {"min": 80, "code": "near", "label_vi": "Gần đạt", "label_en": "Nearly achieved", "color": "#ffd166"},
    {"min": None, "code": "missed", "label_vi": "Chưa đạt", "label_en": "Not achieved", "color": "#ff5d5d"},
]


def _one_of(what: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise BadRequest(
            f"{what} không hợp lệ: {value!r} (một trong {', '.join(allowed)})",
            f"Invalid {what}: {value!r} (one of {', '.join(allowed)})",
        )


def check_code(code: str) -> str:
    if not isinstance(code, str) or not CODE.match(code):
        raise BadRequest(
            f"Mã không hợp lệ: {str(code)[:70]!r} (chữ hoa, số, gạch dưới)",
            f"Invalid code: {str(code)[:70]!r} (capitals, digits, underscores)",
        )
    return code


def elements_by_code(db: Session, codes: set[str] | None = None) -> dict[str, DataElement]:
    stmt = select(DataElement)
    if codes is not None:
        stmt = stmt.where(DataElement.code.in_(sorted(codes)))
    return {e.code: e for e in db.scalars(stmt)}


def check_formula(db: Session, numerator: str, denominator: str | None) -> set[str]:
    """Parse both parts and check that every code names a data element; returns the codes."""
    used = formula.codes(formula.parse(numerator))
    if denominator:
        used |= formula.codes(formula.parse(denominator))
    known = elements_by_code(db, used)
    unknown = sorted(used - set(known))
    if unknown:
        raise BadRequest(
            f"Công thức dùng phần tử dữ liệu chưa có: {', '.join(unknown)}",
            f"The formula uses unknown data elements: {', '.join(unknown)}",
            details={"unknown": unknown},
            code="bad_formula",
        )
    return used


def check_bands(bands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bands ordered from the highest threshold down; the last may have no threshold (everything else)."""
    out = []
    for b in bands:
        if not isinstance(b, dict) or not b.get("code"):
            raise BadRequest("Ngưỡng đánh giá không hợp lệ", "Invalid achievement band")
        low = b.get("min")
        if low is not None and not isinstance(low, int | float):
            raise BadRequest("Ngưỡng đánh giá phải là số", "A band threshold must be a number")
        out.append(
            {
                "min": low,
                "code": str(b["code"])[:20],
                "label_vi": str(b.get("label_vi", b["code"]))[:60],
                "label_en": str(b.get("label_en", b.get("label_vi", b["code"])))[:60],
                "color": str(b.get("color", "#9bb"))[:20],
            }
        )
    return sorted(out, key=lambda b: -1e300 if b["min"] is None else -b["min"])


def upsert_element(db: Session, data: dict[str, Any]) -> DataElement:
    code = check_code(data["code"])
    _one_of("kiểu giá trị / value type", data.get("value_type", "number"), VALUE_TYPES)
    _one_of("tổng hợp theo đơn vị / unit aggregation", data.get("aggregation", "sum"), UNIT_AGGREGATIONS)
    if data.get("time_aggregation") is not None:
        _one_of(
            "tổng hợp theo thời gian / time aggregation", data["time_aggregation"], ELEMENT_TIME_AGGREGATIONS
        )
    row = db.scalar(select(DataElement).where(DataElement.code == code)) or DataElement(code=code)
    for key in ("name", "name_en", "value_type", "unit_of_measure", "domain", "aggregation", "description"):
        if key in data:
            setattr(row, key, data[key])
    row.time_aggregation = data.get("time_aggregation", row.time_aggregation)
    db.add(row)
    db.flush()
    return row


def upsert_indicator(db: Session, data: dict[str, Any]) -> Indicator:
    code = check_code(data["code"])
    check_formula(db, data["numerator"], data.get("denominator"))
    _one_of(
        "tổng hợp theo thời gian / time aggregation", data.get("time_aggregation", "sum"), TIME_AGGREGATIONS
    )
    if data.get("unit_aggregation") is not None:
        _one_of("tổng hợp theo đơn vị / unit aggregation", data["unit_aggregation"], UNIT_AGGREGATIONS)
    _one_of("loại kỳ / period type", data.get("period_type", "month"), PERIOD_TYPES)
    _one_of("chiều đánh giá / direction", data.get("direction", "higher_better"), DIRECTIONS)
    row = db.scalar(select(Indicator).where(Indicator.code == code)) or Indicator(code=code)
    fields = (
        "name", "name_en", "domain", "group", "unit_of_measure", "numerator", "denominator",
        "time_aggregation", "unit_aggregation", "period_type", "direction", "decimals", "description",
        "active", "sort",
    )  # fmt: skip
    for key in fields:
        if key in data:
            setattr(row, key, data[key])
    row.bands = check_bands(data["bands"]) if data.get("bands") is not None else (row.bands or DEFAULT_BANDS)
    db.add(row)
    db.flush()
    return row


def upsert_dataset(db: Session, data: dict[str, Any]) -> Dataset:
    code = check_code(data["code"])
    _one_of("loại kỳ / period type", data["period_type"], PERIOD_TYPES)
    wanted = [check_code(c) for c in data["elements"]]
    known = elements_by_code(db, set(wanted))
    unknown = sorted(set(wanted) - set(known))
    if unknown or not wanted or len(set(wanted)) != len(wanted):
        raise BadRequest(
            f"Danh sách phần tử dữ liệu không hợp lệ: {', '.join(unknown) or 'trống hoặc trùng'}",
            f"Invalid data elements: {', '.join(unknown) or 'empty or repeated'}",
        )
    if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", data.get("deadline_time", "17:00")):
        raise BadRequest("Giờ hạn nộp không hợp lệ (HH:MM)", "Invalid deadline time (HH:MM)")
    row = db.scalar(select(Dataset).where(Dataset.code == code)) or Dataset(code=code)
    for key in ("name", "name_en", "domain", "period_type", "deadline_days", "deadline_time", "unit_levels"):
        if key in data:
            setattr(row, key, data[key])
    row.element_codes = wanted
    db.add(row)
    db.flush()
    return row


def load_catalogue(db: Session, path: Path = DEFAULT_CATALOGUE) -> dict[str, int]:
    """Load a catalogue file (idempotent: codes are updated in place). Returns how many of each."""
    with path.open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    if not isinstance(doc, dict):
        raise BadRequest("Tệp danh mục không hợp lệ", "Invalid catalogue file")
    for code, name, name_en, uom, domain, agg, time_agg, vtype in doc.get("data_elements", []):
        upsert_element(
            db,
            {
                "code": code,
                "name": name,
                "name_en": name_en,
                "unit_of_measure": str(uom),
                "domain": domain,
                "aggregation": agg,
                "time_aggregation": time_agg,
                "value_type": vtype,
            },
        )
    for i, ind in enumerate(doc.get("indicators", [])):
        data = {k: v for k, v in ind.items() if k != "uom"}
        data.update(unit_of_measure=str(ind.get("uom", "")), sort=i * 10)
        data.setdefault("bands", None)
        upsert_indicator(db, data)
    for ds in doc.get("datasets", []):
        upsert_dataset(db, ds)
    return {
        "data_elements": len(doc.get("data_elements", [])),
        "indicators": len(doc.get("indicators", [])),
        "datasets": len(doc.get("datasets", [])),
    }


def indicator_by_code(db: Session, code: str) -> Indicator:
    row = db.scalar(select(Indicator).where(Indicator.code == code))
    if row is None:
        raise NotFound(f"Không có chỉ số mã {code[:64]}", f"No indicator with code {code[:64]}")
    return row


def dataset_by_code(db: Session, code: str) -> Dataset:
    row = db.scalar(select(Dataset).where(Dataset.code == code))
    if row is None:
        raise NotFound(f"Không có biểu mẫu mã {code[:64]}", f"No dataset with code {code[:64]}")
    return row

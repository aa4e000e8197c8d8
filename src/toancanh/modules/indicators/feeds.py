"""Values another module computes from its own register (số liệu tự động): the direction module's tasks and
e-documents, for example. Nobody reports them, so they skip the submission workflow: they are written as
counted ("approved") values with source "system", outside any submission, and replace the previous value of
the same element, unit and period each time the module recomputes them.

Other modules reach this through `service.record_system_values`, never through the models.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from toancanh.core.db import utcnow
from toancanh.modules.indicators.catalogue import elements_by_code
from toancanh.modules.indicators.models import DataValue
from toancanh.modules.indicators.periods import parse_period

SYSTEM_SOURCE = "system"
SYSTEM_STATUS = "approved"

SystemValue = tuple[int, str, Mapping[str, float]]
"""(unit id, period code, {data element code: value})."""


def record_system_values(
    db: Session, rows: Iterable[SystemValue], *, actor: str = "system", now: datetime | None = None
) -> int:
    """Upsert computed values (one read of what exists, one bulk insert, one bulk update).

    Element codes the catalogue lacks are skipped (a locality that has not loaded the catalogue yet), so a
    module may feed values whether or not the indicators are set up. Returns how many values were written.
    """
    latest: dict[tuple[int, str, str], float] = {}  # the same key twice in one call: the last one wins
    for unit_id, code, values in rows:
        for element_code, value in values.items():
            latest[(int(unit_id), str(code), element_code)] = float(value)
    if not latest:
        return 0
    elements = elements_by_code(db, {c for _, _, c in latest})
    if not elements:
        return 0
    periods = {p: parse_period(p) for p in {p for _, p, _ in latest}}
    existing: dict[tuple[int, int, str], int] = {
        (eid, uid, per): vid
        for vid, eid, uid, per in db.execute(
            select(DataValue.id, DataValue.data_element_id, DataValue.unit_id, DataValue.period).where(
                DataValue.data_element_id.in_(sorted(e.id for e in elements.values())),
                DataValue.unit_id.in_(sorted({u for u, _, _ in latest})),
                DataValue.period.in_(sorted(periods)),
            )
        )
    }
    now = now or utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for (unit_id, code, element_code), value in latest.items():
        e = elements.get(element_code)
        if e is None:
            continue
        common = {
            "value": value,
            "source": SYSTEM_SOURCE,
            "status": SYSTEM_STATUS,
            "submission_id": None,
            "updated_by": actor[:80],
            "updated_at": now,
        }
        vid = existing.get((e.id, unit_id, code))
        if vid is not None:
            updates.append({"id": vid, **common})
            continue
        p = periods[code]
        inserts.append(
            {
                "data_element_id": e.id,
                "unit_id": unit_id,
                "domain": e.domain,
                "period": code,
                "period_type": p.type,
                "period_start": p.start,
                "period_end": p.end,
                **common,
            }
        )
    if inserts:
        db.execute(insert(DataValue), inserts)
    if updates:
        db.execute(update(DataValue), updates)
    return len(inserts) + len(updates)

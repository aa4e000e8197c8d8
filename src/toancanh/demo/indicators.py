"""Demo indicators of Xã Đại Thanh: the default catalogue, 2026 targets, twelve months of reports from
its hamlets (a few lagging behind), today's daily quick reports (some missing) and two reports awaiting
approval."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from toancanh.core.auth.scope import Principal, ScopedGrant
from toancanh.core.db import utcnow
from toancanh.core.units import Unit
from toancanh.core.workflow import WorkflowEngine
from toancanh.modules.indicators import catalogue, intake, submissions
from toancanh.modules.indicators.models import DataValue, Submission, Target
from toancanh.modules.indicators.periods import last_n, period_of

SYSTEM = Principal(user_id=0, username="demo", grants=(ScopedGrant("admin", "/", None),))
# indicator: (target for 2026, monthly target for sums or None)
TARGETS: dict[str, float] = {
    "DVC_ONTIME_RATE": 95,
    "DVC_ONLINE_RATE": 80,
    "DVC_DIGITIZATION_RATE": 70,
    "DVC_SATISFACTION": 90,
    "DOSSIER_LATE_RATE": 5,
    "DOC_SIGNED_RATE": 95,
    "DOC_OVERDUE_COUNT": 0,
    "EDU_ATTENDANCE_RATE": 97,
    "HEALTH_INSURANCE_RATE": 93,
    "HEALTH_VACCINATION_RATE": 95,
    "LAND_CERT_RATE": 85,
    "GRDP_GROWTH_RATE": 8,
    "ISO_POVERTY": 1.5,
}
MONTHLY_SUM_TARGETS = {
    "BUDGET_REVENUE_TOTAL": 0.9,
    "TOURIST_ARRIVALS_COUNT": 0.05,
    "NEW_ENTERPRISES_COUNT": 0.0004,
}


def _month_values(rnd: random.Random, pop: int, quality: float) -> dict[str, dict[str, float]]:
    """One hamlet's month, by dataset; `quality` < 1 for a lagging hamlet."""
    received = max(5, int(pop / 90 * rnd.uniform(0.8, 1.2)))
    finished = int(received * rnd.uniform(0.85, 1.0))
    ontime = int(finished * min(1.0, rnd.uniform(0.93, 1.0) * quality))
    online = int(received * min(1.0, rnd.uniform(0.72, 0.92) * quality))
    responses = max(3, int(finished * 0.4))
    expected_att = pop // 8 * 22
    return {
        "DVC_THANG": {
            "DOSSIER_RECEIVED": received,
            "DOSSIER_CARRIED": rnd.randint(2, 12),
            "DOSSIER_ONLINE": online,
            "DOSSIER_DIGITIZED": int(received * min(1.0, rnd.uniform(0.6, 0.85) * quality)),
            "DOSSIER_FINISHED_ONTIME": ontime,
            "DOSSIER_FINISHED_LATE": finished - ontime,
            "DOSSIER_PENDING_NOTDUE": rnd.randint(3, 15),
            "DOSSIER_PENDING_NEARDUE": rnd.randint(0, 4),
            "DOSSIER_PENDING_LATE": rnd.randint(0, 3 if quality < 1 else 1),
            "SATISFACTION_RESPONSES": responses,
            "SATISFACTION_SATISFIED": int(responses * min(1.0, rnd.uniform(0.86, 0.98) * quality)),
        },
        "KTXH_THANG": {
            "BUDGET_REVENUE": round(pop * rnd.uniform(0.7, 1.1), 0),
            "INVESTMENT_CAPITAL": round(pop * rnd.uniform(1.5, 3.0), 0),
            "NEW_ENTERPRISES": rnd.randint(0, 4),
            "TOURIST_ARRIVALS": int(pop * rnd.uniform(0.02, 0.08)),
            "TOURISM_REVENUE": round(pop * rnd.uniform(0.05, 0.2), 0),
            "LAND_CERT_APPLIED": rnd.randint(8, 25),
            "LAND_CERT_ISSUED": 0,
            "LAND_VIOLATIONS": rnd.randint(0, 3),
            "LAND_DISPUTES": rnd.randint(0, 2),
        },
        "YTE_GIAODUC_THANG": {
            "ATTENDANCE_EXPECTED": expected_att,
            "ATTENDANCE_PRESENT": int(expected_att * rnd.uniform(0.94, 0.995)),
            "INSURED": int(pop * rnd.uniform(0.88, 0.96) * (quality if quality < 1 else 1)),
            "CHILDREN_UNDER1": max(10, pop // 70),
            "VACCINATED_UNDER1": int(max(10, pop // 70) * rnd.uniform(0.9, 1.0)),
            "LIVE_BIRTHS": max(1, pop // 900),
            "UNDER5_DEATHS": 1 if rnd.random() < 0.03 else 0,
        },
    }


def _year_values(rnd: random.Random, pop: int) -> dict[str, float]:
    households = pop // 4
    labour = int(pop * 0.58)
    return {
        "GRDP_GROWTH": round(rnd.uniform(6.5, 9.5), 1),
        "AVG_INCOME": round(rnd.uniform(62, 85), 1),
        "POPULATION": pop,
        "HOUSEHOLDS": households,
        "POOR_HOUSEHOLDS": int(households * rnd.uniform(0.008, 0.025)),
        "LABOUR_FORCE": labour,
        "UNEMPLOYED": int(labour * rnd.uniform(0.015, 0.03)),
        "PRIMARY_STUDENTS": pop // 12,
        "PRIMARY_TEACHERS": max(4, pop // 12 // 24),
        "CHILDREN_6_14": pop // 9,
        "ENROLLED_6_14": int(pop // 9 * rnd.uniform(0.97, 0.995)),
        "DOCTORS": max(1, pop // 1500),
        "HOSPITAL_BEDS": max(2, pop // 400),
        "CRIMES": rnd.randint(0, 6),
        "ROAD_DEATHS": rnd.randint(0, 1),
        "HOUSEHOLDS_WASTE_SERVICE": int(households * rnd.uniform(0.9, 1.0)),
        "HOUSEHOLDS_CLEAN_WATER": int(households * rnd.uniform(0.85, 0.99)),
        "GREEN_AREA_HA": round(pop / 10000 * rnd.uniform(1.5, 4), 2),
        "PM25_AVG": round(rnd.uniform(32, 48), 1),
    }


def _write(s: Session, code: str, rows: list[tuple[Unit, str, dict[str, float]]]) -> None:
    ds = catalogue.dataset_by_code(s, code)
    clean = [intake.Clean(u, p, v) for u, p, v in rows]
    intake.write(s, SYSTEM, ds, clean, "import")


def seed_indicators(s: Session, commune: Unit, hamlets: dict[str, Unit], seed: int = 664) -> None:
    rnd = random.Random(seed)
    now = utcnow()
    catalogue.load_catalogue(s)
    today = submissions.today_local(now)
    months = last_n(period_of(today, "month").previous(), 12)  # the last twelve complete months
    lagging = set(sorted(hamlets)[2:4])  # two hamlets lag behind on public services
    by_ds: dict[str, list[tuple[Unit, str, dict[str, float]]]] = {}
    for code, unit in hamlets.items():
        pop = unit.population or 5000
        quality = 0.88 if code in lagging else 1.0
        for m in months:
            for ds, values in _month_values(rnd, pop, quality).items():
                if ds == "KTXH_THANG":
                    values["LAND_CERT_ISSUED"] = int(values["LAND_CERT_APPLIED"] * rnd.uniform(0.75, 0.98))
                by_ds.setdefault(ds, []).append((unit, m.code, values))
        for year in (today.year - 1, today.year):
            by_ds.setdefault("KTXH_NAM", []).append((unit, str(year), _year_values(rnd, pop)))
        for day in range(1, 15):  # the daily quick report of the last two weeks
            d = today - timedelta(days=day)
            outgoing = rnd.randint(2, 9)
            by_ds.setdefault("BAO_CAO_NGAY", []).append(
                (
                    unit,
                    d.isoformat(),
                    {
                        "DOC_INCOMING": rnd.randint(3, 14),
                        "DOC_OUTGOING": outgoing,
                        "DOC_SIGNED": outgoing - (1 if rnd.random() < 0.1 else 0),
                        "DOC_OVERDUE": rnd.randint(0, 2) if code in lagging else 0,
                    },
                )
            )
    for code, rows in by_ds.items():
        _write(s, code, rows)
    # Everything before last month is approved (history, set directly: no events for the past).
    pending_units = {hamlets[c].id for c in sorted(hamlets)[-2:]}
    last = months[-1].code
    s.flush()
    for sub in s.query(Submission):
        awaiting = sub.period == last and sub.unit_id in pending_units and sub.domain == "administration"
        if awaiting:
            continue
        submitted_at = min(sub.deadline_at - timedelta(hours=rnd.uniform(1, 60)), now)
        if sub.unit_id in {hamlets[c].id for c in lagging} and rnd.random() < 0.4:
            submitted_at = sub.deadline_at + timedelta(hours=rnd.uniform(2, 40))  # late
        sub.state, sub.submitted_at, sub.submitted_by = "approved", submitted_at, "demo"
        sub.approved_at, sub.approved_by, sub.state_since = submitted_at + timedelta(hours=4), "lanhdao", now
        sub.closed_at = sub.approved_at
    s.flush()
    s.execute(update(DataValue).values(status="approved"))
    engine = WorkflowEngine()
    for sub in s.query(Submission).filter(Submission.state == "draft"):
        submissions.act(s, engine, sub, "submit", SYSTEM, now=now)  # two reports await the leader
    # targets: 2026 for the commune and each hamlet
    for code, value in TARGETS.items():
        ind = catalogue.indicator_by_code(s, code)
        for unit in [commune, *hamlets.values()]:
            s.add(Target(indicator_id=ind.id, unit_id=unit.id, period=str(today.year), value=value))
    for code, per_person in MONTHLY_SUM_TARGETS.items():
        ind = catalogue.indicator_by_code(s, code)
        for unit in [commune, *hamlets.values()]:
            pop = unit.population or sum(h.population or 0 for h in hamlets.values())
            for m in months:
                if m.start.year == today.year:
                    s.add(
                        Target(
                            indicator_id=ind.id, unit_id=unit.id, period=m.code, value=round(pop * per_person)
                        )
                    )
    s.flush()

"""The demo's facilities and epidemic monitoring (synthetic, for the demo only).

Facilities: the demo's schools get their registry figures (teachers, kitchens and gates with the cameras that
watch them), and the commune gets a health station, a regional clinic and three tourist sites with six months
of visitors; all of it flows into the indicators. Epidemic: eight weeks of a COVID-19 wave (and this week so
far) that peaks three weeks ago in two hamlets (Thôn Tả Thanh Oai and Thôn Hữu Lê), vaccination figures per
hamlet (one lagging), treatment capacity that fell short for two weeks, contacts, tests and quarantines of the
last fortnight, two lockdown points and a quarantine zone; then the weekly levels under QĐ 4800/QĐ-BYT, week
by week.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.assets import Asset
from toancanh.core.auth.scope import Principal
from toancanh.core.db import utcnow
from toancanh.core.units import Unit
from toancanh.core.worktime import VN_TZ
from toancanh.modules.facilities import service as facilities
from toancanh.modules.facilities.schemas import FacilityIn
from toancanh.modules.health import service as health
from toancanh.modules.health.models import (
    HealthCapacity,
    HealthCase,
    HealthContact,
    HealthLockdown,
    HealthQuarantine,
    HealthTest,
    HealthVaccination,
    HealthZone,
)

SCHOOL_LEVEL = {
    "preschool": "mam_non",
    "primary": "tieu_hoc",
    "lower_secondary": "thcs",
    "upper_secondary": "thpt",
}
WAVE_HAMLETS = {"0066406": 1.0, "0066405": 0.7}  # Tả Thanh Oai, Hữu Lê
LAGGING_HAMLET = "0066405"  # Hữu Lê: adults' first doses below 70%
# cases a week in the first wave hamlet: 8 weeks ago .. last week, then this week so far
WAVE = (1, 3, 8, 16, 22, 14, 7, 3, 3)
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô")
GIVEN = (
    "Văn An",
    "Thị Bình",
    "Văn Cường",
    "Thị Dung",
    "Minh Đức",
    "Thu Hà",
    "Quang Huy",
    "Thị Lan",
    "Đức Minh",
    "Thị Ngọc",
    "Văn Phúc",
    "Thị Quyên",
    "Hữu Sơn",
    "Thanh Tâm",
    "Văn Thắng",
    "Thị Uyên",
)
HEALTH_SITES = (
    ("tyt-daithanh", "Trạm Y tế xã Đại Thanh", "tram_y_te", 10, 0, 14, 4, "0066404"),
    ("pk-khuvuc", "Phòng khám đa khoa khu vực Văn Điển", "phong_kham", 30, 4, 42, 12, "0066409"),
)
TOURIST_SITES = (
    ("dt-ta-thanh-oai", "Đình Tả Thanh Oai", "di_tich", 400, 1800, "0066406"),
    ("chua-huu-le", "Chùa Hữu Lê", "di_tich", 250, 950, "0066405"),
    ("lang-nghe-yen-nguu", "Làng nghề Yên Ngưu", "lang_nghe", 150, 600, "0066403"),
)


def _name(rnd: random.Random) -> str:
    return f"{rnd.choice(FAMILY)} {rnd.choice(GIVEN)}"


def _near(u: Unit, rnd: random.Random, d: float = 0.002) -> tuple[float, float]:
    assert u.lat is not None and u.lon is not None
    return round(u.lat + rnd.uniform(-d, d), 6), round(u.lon + rnd.uniform(-d, d), 6)


def _month(day: date, back: int) -> str:
    y, m = day.year, day.month - back
    while m <= 0:
        y, m = y - 1, m + 12
    return f"{y:04d}-{m:02d}"


def seed_facilities(s: Session, hamlets: dict[str, Unit], principal: Principal, rnd: random.Random) -> None:
    cams = list(s.scalars(select(Asset).where(Asset.type == "camera")))
    watching: dict[str, list[int]] = {}
    for c in cams:
        target = (c.attributes or {}).get("target_code")
        if target:
            watching.setdefault(target, []).append(c.id)
    kitchens = {
        k.attributes.get("school_code"): k for k in s.scalars(select(Asset).where(Asset.type == "kitchen"))
    }
    for sch in s.scalars(select(Asset).where(Asset.type == "school").order_by(Asset.code)):
        a = dict(sch.attributes or {})
        students = int(a.get("students", 0))
        kitchen = kitchens.get(sch.code)
        a["figures"] = {
            "level": SCHOOL_LEVEL.get(a.get("level", ""), "tieu_hoc"),
            "students": students,
            "teachers": max(2, round(students / (12 if a.get("level") == "preschool" else 20))),
            "classes": int(a.get("classes", 1)),
            "kitchens": [{"name": kitchen.name, "camera_ids": watching.get(kitchen.code, [])}]
            if kitchen
            else [],
            "gates": [{"name": "Cổng chính", "camera_ids": watching.get(sch.code, [])}],
        }
        sch.attributes = a
    s.flush()
    for code, name, level, beds, icu, staff, doctors, hcode in HEALTH_SITES:
        lat, lon = _near(hamlets[hcode], rnd)
        facilities.create(
            s,
            principal,
            FacilityIn(
                kind="health_facility",
                code=code,
                name=name,
                unit_id=hamlets[hcode].id,
                lat=lat,
                lon=lon,
                figures={"level": level, "beds": beds, "icu_beds": icu, "staff": staff, "doctors": doctors},
            ),
        )
    today = utcnow().astimezone(VN_TZ).date()
    months = [_month(today, back) for back in range(5, -1, -1)]
    for code, name, category, capacity, visitors, hcode in TOURIST_SITES:
        lat, lon = _near(hamlets[hcode], rnd)
        site = facilities.create(
            s,
            principal,
            FacilityIn(
                kind="tourism_site",
                code=code,
                name=name,
                unit_id=hamlets[hcode].id,
                lat=lat,
                lon=lon,
                figures={"category": category, "capacity": capacity},
            ),
        )
        a = dict(site.attributes)
        a["visitors"] = {m: int(visitors * rnd.uniform(0.7, 1.3)) for m in months}
        site.attributes = a
    s.flush()
    facilities.feed(s)


def seed_epidemic(s: Session, commune: Unit, hamlets: dict[str, Unit], rnd: random.Random) -> dict[str, Any]:
    today = utcnow().astimezone(VN_TZ).date()
    last_monday = health.week_start(health.last_full_week())
    weeks = [last_monday - timedelta(days=7 * k) for k in range(len(WAVE) - 2, -2, -1)]  # 8 full + this
    start = weeks[0] - timedelta(days=7)
    hs = sorted(hamlets.values(), key=lambda u: u.code)
    # vaccination as of before the wave: the commune and each hamlet
    for u in [commune, *hs]:
        pop = u.population or 0
        adults, elderly = int(pop * 0.72), int(pop * 0.24)
        lag = u.code == LAGGING_HAMLET
        s.add(
            HealthVaccination(
                unit_id=u.id,
                disease="covid19",
                as_of=start,
                counts={
                    "pop_18plus": adults,
                    "dose1_18plus": int(adults * (0.64 if lag else rnd.uniform(0.78, 0.93))),
                    "pop_50plus": elderly,
                    "full_50plus": int(elderly * (0.76 if lag else rnd.uniform(0.83, 0.95))),
                },
            )
        )
    # treatment capacity: met, then short during the peak (3 and 2 weeks ago), then met again
    for as_of, met, beds in ((start, True, 40), (weeks[3], False, 40), (weeks[5], True, 70)):
        s.add(
            HealthCapacity(
                unit_id=commune.id,
                disease="covid19",
                as_of=as_of,
                met=met,
                beds=beds,
                icu_beds=4,
                notes="" if met else "Số ca cần điều trị vượt số giường của trạm và phòng khám",
            )
        )
    n = 0
    cases: list[HealthCase] = []
    for w, monday in enumerate(weeks):
        for u in hs:
            share = WAVE_HAMLETS.get(u.code, 0.04)
            expected = WAVE[w] * share
            k = int(expected) + (1 if rnd.random() < expected - int(expected) else 0)
            for _ in range(k + (1 if rnd.random() < 0.3 * share else 0)):
                n += 1
                day = monday + timedelta(days=rnd.randrange(min(7, (today - monday).days + 1)))
                lat, lon = _near(u, rnd)
                recent = (today - day).days < 10
                c = HealthCase(
                    unit_id=u.id,
                    disease="covid19",
                    code=f"DT-{day:%y%m%d}-{n:03d}",
                    full_name=_name(rnd),
                    birth_year=rnd.randint(1940, 2015),
                    sex=rnd.choice(("male", "female")),
                    phone=f"09{rnd.randrange(10**8):08d}",
                    address=f"Số {rnd.randint(1, 120)}, {u.name}",
                    lat=lat,
                    lon=lon,
                    onset_on=day - timedelta(days=rnd.randint(0, 3)),
                    confirmed_on=day,
                    detected_in="community" if rnd.random() < 0.75 else "quarantine",
                    status=rnd.choice(("home_care", "treating")) if recent else "recovered",
                )
                s.add(c)
                cases.append(c)
    s.flush()
    fortnight = [c for c in cases if (today - c.confirmed_on).days <= 14]
    for c in fortnight:
        for _ in range(rnd.randint(1, 3)):
            contact = HealthContact(
                unit_id=c.unit_id,
                case_id=c.id,
                level="F1",
                full_name=_name(rnd),
                phone=f"09{rnd.randrange(10**8):08d}",
                address=c.address,
                last_contact_on=c.confirmed_on,
            )
            s.add(contact)
            s.flush()
            s.add(
                HealthTest(
                    unit_id=c.unit_id,
                    disease="covid19",
                    contact_id=contact.id,
                    full_name=contact.full_name,
                    method="rapid_antigen",
                    sampled_on=c.confirmed_on,
                    result="negative",
                    result_on=c.confirmed_on,
                )
            )
            s.add(
                HealthQuarantine(
                    unit_id=c.unit_id,
                    kind="home",
                    full_name=contact.full_name,
                    address=contact.address,
                    contact_id=contact.id,
                    reason="F1",
                    start_on=c.confirmed_on,
                    end_on=c.confirmed_on + timedelta(days=7),
                    released_on=None
                    if (today - c.confirmed_on).days < 7
                    else c.confirmed_on + timedelta(days=7),
                )
            )
    wave = hamlets["0066406"]
    for i, (hh, people) in enumerate(((6, 23), (4, 15))):
        lat, lon = _near(wave, rnd, 0.0015)
        s.add(
            HealthLockdown(
                unit_id=wave.id,
                address=f"Ngõ {3 + i * 4}, {wave.name}",
                households=hh,
                people=people,
                lat=lat,
                lon=lon,
                started_on=weeks[5],
            )
        )
    second = hamlets["0066405"]
    assert second.lat is not None and second.lon is not None
    la, lo, d = second.lat, second.lon, 0.0012
    ring = [[lo - d, la - d], [lo + d, la - d], [lo + d, la + d], [lo - d, la + d], [lo - d, la - d]]
    s.add(
        HealthZone(
            unit_id=second.id,
            name=f"Khu cách ly xóm Chùa, {second.name}",
            kind="quarantine",
            geometry={"type": "Polygon", "coordinates": [ring]},
            people=86,
            started_on=weeks[4],
        )
    )
    s.flush()
    full = weeks[:-1]  # the current week is computed once it is over (the worker's job)
    runs = [health.compute_week(s, "COVID19_QD4800", health.week_code(m)).as_dict() for m in full]
    return {"cases": n, "weeks": len(runs), "last": runs[-1]}

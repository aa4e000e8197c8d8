"""Seed the demo IOC of Xã Đại Thanh, Hà Nội: real codes, synthetic geography, one user per role."""

from __future__ import annotations

import hashlib
import math
import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core import outbox, timeseries
from toancanh.core.assets import Asset
from toancanh.core.auth.models import ApiKey, User
from toancanh.core.auth.service import API_KEY_PREFIX, create_user
from toancanh.core.db import Database, utcnow
from toancanh.core.units import LEVEL_SUBUNIT, Agency, Unit, add_unit, import_official_units, unit_by_code
from toancanh.demo.calendar import seed_calendar
from toancanh.demo.cameras import demo_media_dir, seed_cameras
from toancanh.demo.directions import seed_directions
from toancanh.demo.edocuments import seed_edocuments
from toancanh.demo.field_reports import demo_blobs, seed_reports
from toancanh.demo.geography import DemoGeography, build_demo
from toancanh.demo.indicators import seed_indicators

# username: (password, role). Printed by `toancanh demo`; these are demo credentials only.
DEMO_PASSWORDS: dict[str, tuple[str, str]] = {
    "admin": ("admin-daithanh", "admin"),
    "lanhdao": ("lanhdao-daithanh", "leader"),
    "trucban": ("trucban-daithanh", "operator"),
    "congan": ("congan-daithanh", "agency_staff"),
    "truonghoc": ("truonghoc-daithanh", "agency_staff"),
    "yte": ("yte-daithanh", "agency_staff"),
    "xem": ("xem-daithanh", "viewer"),
    "nguoidan": ("nguoidan-daithanh", "citizen"),
}
# The API key of the demo's Open311 app (user "open311"); like the passwords, for the demo only.
DEMO_OPEN311_KEY = f"{API_KEY_PREFIX}open311demo_daithanh-open311-demo"
_USERS: dict[str, dict[str, Any]] = {
    "admin": {"full_name": "Quản trị hệ thống", "unit": None},
    # Phone numbers and e-mails are placeholders: the demo's gateways write to files (var/notifications/).
    "lanhdao": {
        "full_name": "Nguyễn Văn Hùng (Chủ tịch UBND xã)",
        "unit": "00664",
        "phone": "0900000001",
        "email": "lanhdao@daithanh.example",
    },
    "trucban": {
        "full_name": "Trần Thị Mai (Cán bộ trực IOC)",
        "unit": "00664",
        "phone": "0900000002",
        "email": "trucban@daithanh.example",
    },
    "congan": {
        "full_name": "Lê Minh Tuấn (Công an xã)",
        "unit": "00664",
        "domains": ["security", "traffic"],
        "agency": "cong-an",
    },
    "truonghoc": {
        "full_name": "Phạm Thu Hà (Phòng Văn hóa - Xã hội)",
        "unit": "00664",
        "domains": ["education"],
        "agency": "phong-vhxh",
    },
    "yte": {
        "full_name": "Đỗ Thị Lan (Trạm Y tế xã)",
        "unit": "00664",
        "domains": ["health"],  # a health-sector grant: sees case data unanonymized
        "agency": "tram-y-te",
    },
    "xem": {"full_name": "Khách tham quan", "unit": "00664"},
    "nguoidan": {"full_name": "Người dân", "unit": "00664"},
}


def is_seeded(db: Session) -> bool:
    return db.scalar(select(User.id).where(User.username == "trucban")) is not None


def seed_demo(db: Database, seed: int = 664) -> bool:
    """Load the demo into an upgraded, empty database. Returns False when it is already there."""
    geo = build_demo(seed)
    with db.session() as s:
        if is_seeded(s):
            _open311_client(s)  # a demo seeded before Open311 existed gets its client too
            return False
        import_official_units(s, [geo.commune.province_code])
        commune = _commune(s, geo)
        hamlets = _hamlets(s, geo, commune)
        agencies = _agencies(s, geo, commune, hamlets)
        assets = _assets(s, geo, hamlets)
        seed_cameras(s, assets, demo_media_dir(db))
        _users(s, agencies)
        _open311_client(s)
        _series(s, assets, random.Random(seed))
        _first_events(s, geo, commune)
        seed_reports(s, demo_blobs(db), seed)
        seed_directions(s, demo_blobs(db))
        seed_edocuments(s)
        seed_calendar(s, demo_blobs(db))
        _notification_routes(s)
        seed_indicators(s, commune, hamlets, seed)
        _media(s, commune)
        _health(s, commune, hamlets, seed)
    from toancanh.demo.alert_scenarios import seed_alerts

    seed_alerts(db)
    return True


def _media(s: Session, commune: Unit) -> None:
    from toancanh.core.auth.service import principal_for
    from toancanh.demo.media import seed_media

    admin = s.scalar(select(User).where(User.username == "admin"))
    assert admin is not None
    seed_media(s, commune, principal_for(s, admin))


def _health(s: Session, commune: Unit, hamlets: dict[str, Unit], seed: int) -> None:
    from toancanh.core.auth.service import principal_for
    from toancanh.demo.health import seed_epidemic, seed_facilities

    admin = s.scalar(select(User).where(User.username == "admin"))
    assert admin is not None
    rnd = random.Random(seed + 10)
    seed_facilities(s, hamlets, principal_for(s, admin), rnd)
    seed_epidemic(s, commune, hamlets, rnd)


def _commune(s: Session, geo: DemoGeography) -> Unit:
    c = geo.commune
    unit = unit_by_code(s, c.code)
    unit.boundary = c.boundary
    unit.lat, unit.lon = c.center_lat, c.center_lon
    unit.population, unit.area_km2, unit.synthetic = c.population, c.area_km2, True
    s.flush()
    return unit


def _hamlets(s: Session, geo: DemoGeography, commune: Unit) -> dict[str, Unit]:
    out = {}
    for h in geo.hamlets:
        out[h.code] = add_unit(
            s,
            code=h.code,
            name=h.name,
            kind=h.kind,
            parent=commune,
            boundary=h.boundary,
            lat=h.center_lat,
            lon=h.center_lon,
            population=h.population,
            area_km2=h.area_km2,
            synthetic=True,
        )
        assert out[h.code].level == LEVEL_SUBUNIT
    return out


def _agencies(s: Session, geo: DemoGeography, commune: Unit, hamlets: dict[str, Unit]) -> dict[str, Agency]:
    out = {}
    for a in geo.agencies:
        unit = hamlets.get(a.unit_code) or commune
        row = Agency(
            unit_id=unit.id,
            code=a.code,
            name=a.name,
            name_en=a.name_en,
            kind=a.kind,
            domains=list(a.domains),
            lat=a.lat,
            lon=a.lon,
            phone="024 3861 " + str(1000 + len(out)),
        )
        s.add(row)
        out[a.code] = row
    s.flush()
    return out


def _assets(s: Session, geo: DemoGeography, hamlets: dict[str, Unit]) -> list[Asset]:
    rnd = random.Random(geo.seed)
    now = utcnow()
    rows = []
    for a in geo.assets:
        status = "active"
        if a.type in ("camera", "sensor"):
            status = "offline" if rnd.random() < 0.08 else "online"
        rows.append(
            Asset(
                unit_id=hamlets[a.hamlet_code].id,
                code=a.code,
                type=a.type,
                domain=a.domain,
                name=a.name,
                lat=a.lat,
                lon=a.lon,
                attributes=dict(a.attributes),
                status=status,
                last_seen_at=now if status != "offline" else now - timedelta(hours=2),
            )
        )
    s.add_all(rows)
    s.flush()
    return rows


def _users(s: Session, agencies: dict[str, Agency]) -> None:
    for username, (password, role) in DEMO_PASSWORDS.items():
        spec = _USERS[username]
        agency = agencies.get(spec.get("agency", ""))
        create_user(
            s,
            username,
            password,
            role=role,
            unit_code=spec["unit"],
            domains=spec.get("domains"),
            full_name=spec["full_name"],
            agency_id=agency.id if agency else None,
            phone=spec.get("phone", ""),
            email=spec.get("email", ""),
        )


def _notification_routes(s: Session) -> None:
    """Who hears about the demo's alerts outside the console: the leader by SMS and Zalo of a fire or a
    flood, the duty officer by e-mail of anything extreme."""
    from toancanh.modules.notifications import service as notifications
    from toancanh.modules.notifications.schemas import RouteIn

    raised = "toancanh.alerts.alert.raised"  # alerts only: an incident's own events would say it twice
    for body in (
        RouteIn(
            name="Cháy, ngập lụt: báo lãnh đạo qua SMS và Zalo",
            pattern=raised,
            unit_code="00664",
            categories=["fire", "flood"],
            min_severity="severe",
            channels=["sms", "zalo"],
            roles=["leader"],
        ),
        RouteIn(
            name="Cảnh báo cực kỳ nghiêm trọng: e-mail cán bộ trực",
            pattern=raised,
            unit_code="00664",
            min_severity="extreme",
            channels=["email"],
            roles=["operator"],
        ),
    ):
        notifications.create_route(s, body)


def _open311_client(s: Session) -> None:
    """A service user for Open311 apps (a citizen grant: it may only send reports) with the demo key."""
    if s.scalar(select(User.id).where(User.username == "open311")) is not None:
        return
    user = create_user(
        s, "open311", None, role="citizen", unit_code="00664", full_name="Ứng dụng Open311", is_service=True
    )
    prefix, secret = DEMO_OPEN311_KEY.removeprefix(API_KEY_PREFIX).split("_", 1)
    # The key is fixed so that `toancanh demo` can print it every time; stored as a hash, as any key.
    key_hash = hashlib.sha256(secret.encode()).hexdigest()
    s.add(ApiKey(user_id=user.id, name="Open311 (demo)", prefix=prefix, key_hash=key_hash))
    s.flush()


BASELINES = {"pm25": 45.0, "pm10": 70.0, "water_level_cm": 180.0, "noise_dba": 62.0, "flood_depth_cm": 0.0}


def diurnal(measure: str, hour: float, rnd: random.Random) -> float:
    """A plausible value: traffic peaks at 7-8 h and 17-18 h, noise by day, water slowly varying."""
    base = BASELINES.get(measure, 10.0)
    peak = math.exp(-((hour - 7.5) ** 2) / 2) + math.exp(-((hour - 17.5) ** 2) / 2)
    if measure in ("pm25", "pm10"):
        return max(5.0, base * (0.7 + 0.6 * peak) + rnd.gauss(0, base * 0.08))
    if measure == "noise_dba":
        return base + (8 if 6 <= hour <= 22 else -10) + 6 * peak + rnd.gauss(0, 2)
    if measure == "water_level_cm":
        return base + 15 * math.sin(hour / 24 * 2 * math.pi) + rnd.gauss(0, 2)
    return max(0.0, rnd.gauss(0, 0.5))


def _series(s: Session, assets: list[Asset], rnd: random.Random) -> None:
    now_ms = timeseries.to_ms(utcnow())
    step = 5 * 60_000
    for a in assets:
        if a.type != "sensor":
            continue
        uom = a.attributes.get("unit_of_measure", "")
        for measure in a.attributes.get("measures", []):
            series = timeseries.Series(
                key=f"{a.code}.{measure}",
                name=f"{a.name} — {measure}",
                unit_id=a.unit_id,
                asset_id=a.id,
                domain=a.domain,
                unit_of_measure=uom,
            )
            s.add(series)
            s.flush()
            rows = []
            for i in range(288):
                ts = now_ms - (288 - i) * step
                hour = ((ts / 3_600_000) + 7) % 24
                rows.append((series.id, ts, round(diurnal(measure, hour, rnd), 2)))
            timeseries.write_samples(s, rows)


def _first_events(s: Session, geo: DemoGeography, commune: Unit) -> None:
    outbox.emit(
        s,
        "toancanh.core.demo.started",
        {
            "title_vi": f"Khởi động Trung tâm Điều hành thông minh {geo.commune.name}",
            "title_en": f"{geo.commune.name} IOC started",
            "severity": "low",
        },
        unit_id=commune.id,
        domain="administration",
    )

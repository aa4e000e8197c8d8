"""The warning center of the demo: its rules, SOPs, smoke detectors, and five scenarios played through the
real path (readings and events in, rules, alerts, incidents, SOPs):

1. a smoke/fire alarm in a school kitchen (extreme; the fire SOP starts, the duty officer acknowledges it and
   ticks the first steps),
2. rising water at a river gauge (the flood SOP),
3. fine dust (PM2.5) over the harmful level at an air station,
4. a camera going offline,
5. a CAP weather warning (a storm bulletin of the national hydro-meteorological service, synthetic).
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from toancanh.core.assets import Asset
from toancanh.core.auth.models import User
from toancanh.core.auth.service import principal_for
from toancanh.core.db import Database, utcnow
from toancanh.core.units import Unit
from toancanh.core.workflow import WorkflowEngine
from toancanh.core.worktime import WorkCalendar
from toancanh.modules.alerts import incidents, service, sop
from toancanh.modules.alerts.events import EventIn
from toancanh.modules.alerts.models import AlertRule, Incident, SopRun, SopStep
from toancanh.modules.alerts.runtime import AlertsRuntime
from toancanh.modules.alerts.sop_seed import ensure_sop_templates
from toancanh.modules.alerts.workflow import INCIDENT

log = logging.getLogger("toancanh.demo")
COMMUNE = "00664"

# (domain, definition); every rule is scoped to the demo commune
RULES: list[tuple[str, dict[str, Any]]] = [
    (
        "security",
        {
            "code": "bao-chay-bep-truong",
            "name": "Báo khói, báo cháy tại bếp ăn trường học",
            "name_en": "Smoke or fire alarm in a school kitchen",
            "when": {"type": "event", "match": {"category": "fire.*", "min_severity": "severe"}},
            "alert": {
                "category": "fire.kitchen",
                "severity": "extreme",
                "urgency": "immediate",
                "title_vi": "Báo cháy: {asset}",
                "title_en": "Fire alarm: {asset}",
                "cooldown_s": 600,
                "incident": {"type": "fire", "group_within_s": 3600, "group_radius_m": 300},
            },
        },
    ),
    (
        "utilities",
        {
            "code": "muc-nuoc-bao-dong-2",
            "name": "Mực nước vượt báo động 2 (250 cm) trong 2 phút",
            "name_en": "Water above alarm level 2 (250 cm) for 2 minutes",
            "when": {"type": "threshold", "measure": "water_level_cm", "op": ">", "value": 250, "for_s": 120},
            "alert": {
                "category": "flood.water_level",
                "severity": "severe",
                "urgency": "immediate",
                "title_vi": "Mực nước {value} cm tại {asset} vượt báo động 2",
                "title_en": "Water level {value} cm at {asset} above alarm level 2",
                "auto_clear": True,
                "incident": {"type": "flood", "group_within_s": 21600, "group_radius_m": 5000},
            },
        },
    ),
    (
        "utilities",
        {
            "code": "nuoc-len-nhanh",
            "name": "Nước lên nhanh (30 cm trong 30 phút)",
            "name_en": "Water rising fast (30 cm in 30 minutes)",
            "when": {
                "type": "rate_of_change",
                "measure": "water_level_cm",
                "delta": 30,
                "within_s": 1800,
                "direction": "up",
            },
            "alert": {
                "category": "flood.rise",
                "severity": "moderate",
                "title_vi": "Nước lên nhanh tại {asset}: {value} cm",
                "title_en": "Water rising fast at {asset}: {value} cm",
                "incident": {"type": "flood", "group_within_s": 21600, "group_radius_m": 5000},
            },
        },
    ),
    (
        "utilities",
        {
            "code": "ngap-nhieu-diem",
            "name": "Ngập sâu trên 20 cm ở 2 điểm trở lên trong 30 phút",
            "name_en": "Flooding deeper than 20 cm at 2 or more points within 30 minutes",
            "when": {
                "type": "k_of_n",
                "measure": "flood_depth_cm",
                "op": ">",
                "value": 20,
                "k": 2,
                "within_s": 1800,
            },
            "alert": {
                "category": "flood.street",
                "severity": "severe",
                "title_vi": "Ngập sâu tại {count} điểm",
                "title_en": "Deep flooding at {count} points",
                "incident": {"type": "flood", "group_within_s": 21600, "group_radius_m": 5000},
            },
        },
    ),
    (
        "environment",
        {
            "code": "bui-min-gio-hoc",
            "name": "PM2.5 trên 75 µg/m³ trong 15 phút vào giờ học",
            "name_en": "PM2.5 above 75 µg/m³ for 15 minutes during school hours",
            "when": {"type": "threshold", "measure": "pm25", "op": ">", "value": 75, "for_s": 900},
            "only_during": {"days": "school", "from": "06:30", "to": "17:30"},
            "alert": {
                "category": "air.pm25_school",
                "severity": "moderate",
                "title_vi": "Bụi mịn PM2.5 {value} µg/m³ tại {asset} trong giờ học",
                "title_en": "PM2.5 {value} µg/m³ at {asset} during school hours",
                "auto_clear": True,
                "incident": {"type": "air_quality", "group_within_s": 10800, "group_radius_m": 5000},
            },
        },
    ),
    (
        "environment",
        {
            "code": "bui-min-nguy-hai",
            "name": "PM2.5 ở mức nguy hại (trên 150 µg/m³)",
            "name_en": "PM2.5 at a hazardous level (above 150 µg/m³)",
            "when": {"type": "threshold", "measure": "pm25", "op": ">", "value": 150, "for_s": 300},
            "alert": {
                "category": "air.pm25",
                "severity": "severe",
                "title_vi": "Bụi mịn PM2.5 {value} µg/m³ tại {asset}: mức nguy hại",
                "title_en": "PM2.5 {value} µg/m³ at {asset}: hazardous",
                "auto_clear": True,
                "incident": {"type": "air_quality", "group_within_s": 10800, "group_radius_m": 5000},
            },
        },
    ),
    (
        "security",
        {
            "code": "thiet-bi-mat-ket-noi",
            "name": "Camera, cảm biến mất kết nối",
            "name_en": "Camera or sensor offline",
            "when": {"type": "event", "match": {"category": "device.offline"}},
            "alert": {
                "category": "device.offline",
                "severity": "moderate",
                "title_vi": "Mất kết nối: {asset}",
                "title_en": "Offline: {asset}",
                "cooldown_s": 3600,
                "incident": {"type": "device", "group_within_s": 1800, "group_radius_m": 20000},
            },
        },
    ),
    (
        "environment",
        {
            "code": "canh-bao-thoi-tiet",
            "name": "Cảnh báo thời tiết nguy hiểm (CAP)",
            "name_en": "Dangerous weather warning (CAP)",
            "when": {"type": "event", "match": {"category": "weather.*", "min_severity": "moderate"}},
            "alert": {
                "category": "weather.warning",
                "severity": "severe",
                "urgency": "expected",
                "certainty": "likely",
                "title_vi": "Bản tin cảnh báo thời tiết nguy hiểm (CAP) cho địa bàn",
                "title_en": "Dangerous weather bulletin (CAP) for the area",
                "cooldown_s": 21600,
                "incident": {"type": "weather", "group_within_s": 86400, "group_radius_m": 50000},
            },
        },
    ),
    (
        "environment",
        {
            "code": "cam-bien-im-lang",
            "name": "Cảm biến tiếng ồn không gửi số liệu 30 phút",
            "name_en": "Noise sensor silent for 30 minutes",
            "scope": {"asset_types": ["sensor"]},
            "when": {"type": "absence", "measure": "noise_dba", "after_s": 1800},
            "alert": {
                "category": "device.silent",
                "severity": "minor",
                "title_vi": "{asset} không gửi số liệu",
                "title_en": "{asset} sends no data",
                "auto_clear": True,
            },
        },
    ),
    (
        "environment",
        {
            "code": "do-rac-xac-nhan",
            "name": "Camera phát hiện đổ rác, người dân phản ánh cùng nơi trong 1 giờ",
            "name_en": "Camera saw dumping and a citizen reported it at the same place within an hour",
            "when": {
                "type": "pattern",
                "first": {"category": "vision.waste_dumping"},
                "then": {"category": "report.created"},
                "within_s": 3600,
                "same": "place",
                "distance_m": 300,
            },
            "alert": {
                "category": "environment.dumping_confirmed",
                "severity": "moderate",
                "title_vi": "Đổ rác trái phép được xác nhận hai nguồn",
                "title_en": "Illegal dumping confirmed by two sources",
            },
        },
    ),
]


def _headless_runtime(db: Database, engine: WorkflowEngine) -> AlertsRuntime:
    """The runtime without an app: sources commit, and `process()` is called by hand."""
    state = SimpleNamespace(db=db, workflow=engine, calendar=WorkCalendar.default(), bus=None)
    return AlertsRuntime(SimpleNamespace(state=state))


def seed_alerts(db: Database, engine: WorkflowEngine | None = None, *, now: datetime | None = None) -> None:
    """Rules, SOP templates, smoke detectors, then the five scenarios; idempotent (rules by code)."""
    from toancanh.core.auth import permissions
    from toancanh.modules.alerts import module

    permissions.register(module.permissions)  # seeding may run before any app is built
    engine = engine or WorkflowEngine()
    engine.register(INCIDENT)
    now = now or utcnow()
    with db.session() as s:
        ensure_sop_templates(s)
        if s.scalar(select(AlertRule.id).limit(1)) is not None:
            return
        commune = s.scalar(select(Unit).where(Unit.code == COMMUNE))
        if commune is None:
            return
        for domain, definition in RULES:
            service.save_rule(s, None, definition, unit_id=commune.id, domain=domain, comment="demo")
        _smoke_detectors(s)
    rt = _headless_runtime(db, engine)
    rt.load_rules()
    _play_all(db, rt, now)


def _smoke_detectors(s: Any) -> None:
    kitchens = s.scalars(select(Asset).where(Asset.type == "kitchen").order_by(Asset.id)).all()
    for k in kitchens:
        s.add(
            Asset(
                code=f"sd-{k.code}",
                type="sensor",
                domain="education",
                name=f"Đầu báo khói {k.name}",
                unit_id=k.unit_id,
                lat=k.lat + 0.00005,
                lon=k.lon + 0.00005,
                attributes={"group": "kitchen", "measures": ["smoke_obscuration"], "kitchen": k.code},
                status="online",
                last_seen_at=utcnow(),
            )
        )
    s.flush()


def _play_all(db: Database, rt: AlertsRuntime, now: datetime) -> None:
    rnd = random.Random(664)
    with db.session() as s:
        detector = s.scalar(select(Asset).where(Asset.code.like("sd-%")).order_by(Asset.id))
        gauge = s.scalar(select(Asset).where(Asset.code.like("wl-%")).order_by(Asset.id))
        air = s.scalar(select(Asset).where(Asset.code.like("aq-%")).order_by(Asset.id))
        camera = s.scalar(
            select(Asset).where(Asset.type == "camera", Asset.status != "offline").order_by(Asset.id.desc())
        )
        codes = [a.code if a else None for a in (detector, gauge, air, camera)]
    d_code, g_code, a_code, c_code = codes
    if d_code:
        rt.process(
            [("events", rt.record_events([smoke_alarm(d_code, now - timedelta(minutes=12))]).observed)]
        )
    if g_code:
        rt.process([("readings", rt.ingest_readings(rising_water(g_code, now, rnd)).readings)])
    if a_code:
        rt.process([("readings", rt.ingest_readings(dusty_air(a_code, now, rnd)).readings)])
    if c_code:
        rt.process([("events", rt.record_events([camera_offline(db, c_code, now)]).observed)])
    rt.process([("events", rt.record_events([storm_warning(now)]).observed)])
    _duty_officer_works_the_fire(db, rt.workflow, now)


def smoke_alarm(code: str, at: datetime) -> EventIn:
    return EventIn(
        source="sensor",
        category="fire.smoke",
        title="Đầu báo khói bếp ăn báo động",
        title_en="Kitchen smoke detector alarm",
        at=at,
        asset_code=code,
        severity="extreme",
        urgency="immediate",
        certainty="observed",
        source_ref=f"{code}:alarm-{int(at.timestamp())}",
        payload={"smoke_obscuration": 12.5, "zone": "bếp nấu"},
    )


def rising_water(code: str, now: datetime, rnd: random.Random) -> list[dict[str, Any]]:
    """Forty minutes of a river rising from 205 to 268 cm, one reading a minute."""
    start = now - timedelta(minutes=40)
    return [
        {
            "device": code,
            "ts": int((start + timedelta(minutes=i)).timestamp() * 1000),
            "values": {"water_level_cm": round(205 + 63 * (i / 40) ** 1.5 + rnd.uniform(-1, 1), 1)},
        }
        for i in range(41)
    ]


def dusty_air(code: str, now: datetime, rnd: random.Random) -> list[dict[str, Any]]:
    """Twenty minutes of PM2.5 over the hazardous level (a straw fire upwind)."""
    start = now - timedelta(minutes=20)
    return [
        {
            "device": code,
            "ts": int((start + timedelta(minutes=i)).timestamp() * 1000),
            "values": {
                "pm25": round(165 + rnd.uniform(-8, 12), 1),
                "pm10": round(240 + rnd.uniform(-10, 10), 1),
            },
        }
        for i in range(21)
    ]


def camera_offline(db: Database, code: str, now: datetime) -> EventIn:
    with db.session() as s:
        cam = s.scalar(select(Asset).where(Asset.code == code))
        assert cam is not None
        cam.status = "offline"
        cam.last_seen_at = now - timedelta(minutes=7)
        name = cam.name
    return EventIn(
        source="system",
        category="device.offline",
        title=f"Mất kết nối: {name}",
        title_en=f"Offline: {name}",
        at=now - timedelta(minutes=2),
        asset_code=code,
        severity="moderate",
        certainty="observed",
        source_ref=f"{code}:offline-{int(now.timestamp())}",
    )


def storm_warning(now: datetime) -> EventIn:
    """A CAP 1.2 storm warning as the CAP connector records it (synthetic bulletin)."""
    return EventIn(
        source="cap",
        category="weather.bao_so_3",
        title="Tin bão số 3: gió mạnh cấp 8, giật cấp 10, mưa rất to ở Hà Nội",
        title_en="Storm No. 3: strong winds force 8 gusting 10, very heavy rain in Hanoi",
        description=(
            "Trung tâm Dự báo Khí tượng Thủy văn quốc gia (bản tin mô phỏng): "
            "từ đêm nay khu vực Hà Nội có mưa to "
            "đến rất to 100-200 mm, nguy cơ ngập úng vùng trũng. Đề nghị chủ động phương án phòng chống."
        ),
        at=now - timedelta(minutes=30),
        domain="environment",
        severity="severe",
        urgency="expected",
        certainty="likely",
        lat=20.9383,
        lon=105.8315,
        source_ref=f"demo.nchmf|VN-STORM-{now:%Y%m%d}|0",
        payload={"sender": "demo.nchmf.gov.vn", "event": "Bão số 3", "msgType": "Alert", "status": "Actual"},
    )


def _duty_officer_works_the_fire(db: Database, engine: WorkflowEngine, now: datetime) -> None:
    """The duty officer acknowledges the kitchen fire and ticks the first two SOP steps."""
    with db.session() as s:
        officer = s.scalar(select(User).where(User.username == "trucban"))
        fire = s.scalar(select(Incident).where(Incident.type == "fire").order_by(Incident.id))
        if officer is None or fire is None:
            return
        actor = principal_for(s, officer, via="session")
        incidents.act(s, engine, fire, "acknowledge", actor, {}, now=now + timedelta(seconds=40))
        steps = s.scalars(
            select(SopStep)
            .join(SopRun, SopRun.id == SopStep.run_id)
            .where(SopRun.incident_id == fire.id)
            .order_by(SopStep.position)
        ).all()
        notes = ["Camera bếp ăn xác nhận có khói", "Đã gọi 114, xe chữa cháy đang đến"]
        for step, note in zip(steps[:2], notes, strict=False):
            sop.complete_step(s, step, actor, note=note, now=now + timedelta(seconds=90))

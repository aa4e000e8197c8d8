"""The demo simulator: keeps the control room alive with plausible events through the real outbox.

Sensor readings go into core time series and the assets' last state; citizen reports go through the reports
service like a real submission; camera AI detections, traffic violations and device outages become domain
events. Everything passes through the outbox, so the ticker shows exactly what a real deployment would.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core import assets as asset_service
from toancanh.core import outbox, timeseries
from toancanh.core.assets import Asset
from toancanh.core.db import Database, utcnow
from toancanh.core.files import BlobStore
from toancanh.core.units import unit_index
from toancanh.core.workflow import WorkflowEngine
from toancanh.core.worktime import VN_TZ
from toancanh.demo.field_reports import demo_blobs
from toancanh.demo.seed import diurnal
from toancanh.modules.alerts import telemetry
from toancanh.modules.reports import service as report_service
from toancanh.modules.reports.workflow import FIELD_REPORT

log = logging.getLogger("toancanh.demo")

REPORT_TOPICS = [
    ("Rác thải tập kết sai quy định", "Garbage dumped in the wrong place", "rac-thai"),
    ("Đèn chiếu sáng công cộng bị hỏng", "Broken street light", "den-chieu-sang"),
    ("Ổ gà trên đường", "Pothole on the road", "duong-hu-hong"),
    ("Lấn chiếm vỉa hè", "Sidewalk encroachment", "lan-chiem"),
    ("Nước thải chảy tràn ra đường", "Sewage overflowing onto the road", "o-nhiem"),
    ("Tiếng ồn karaoke sau 22 giờ", "Karaoke noise after 22:00", "an-ninh"),
]
VIOLATIONS = [
    ("vượt đèn đỏ", "ran a red light"),
    ("đi ngược chiều", "drove the wrong way"),
    ("không đội mũ bảo hiểm", "no helmet"),
    ("dừng đỗ sai quy định", "illegal stopping"),
]


def _plate(rnd: random.Random) -> str:
    return f"29{rnd.choice('ABCDEFGHK')}-{rnd.randint(100, 999)}.{rnd.randint(10, 99)}"


class Simulator:
    def __init__(
        self,
        db: Database,
        seed: int | None = None,
        *,
        engine: WorkflowEngine | None = None,
        blobs: BlobStore | None = None,
        ingest: Callable[[list[dict[str, Any]]], Any] | None = None,
    ) -> None:
        self.db = db
        self.rnd = random.Random(seed)
        self.ticks = 0
        # The app's engine (with its escalation hooks) when run by the app; a bare one in tests.
        self.engine = engine or WorkflowEngine()
        self.engine.register(FIELD_REPORT)
        self.blobs = blobs or demo_blobs(db)
        # The warning center's ingestion path when the app runs one: readings then meet the alert rules.
        self.ingest = ingest
        self._directory = telemetry.Directory()

    def tick(self, now: datetime | None = None) -> str:
        """One step; returns the kind of thing that happened (for tests and logs)."""
        now = now or utcnow()
        items = self._reading_items(now)
        if self.ingest is not None:
            self.ingest(items)
        else:  # no app around it (tests): the same ingestion path, without the rules
            with self.db.session() as s:
                telemetry.ingest(s, self._directory, items)
        with self.db.session() as s:
            kind = self.rnd.choices(
                ["waste", "violation", "report", "school_gate", "outage", "threshold"], [3, 4, 3, 2, 1, 2]
            )[0]
            getattr(self, f"_{kind}")(s, now)
        self.ticks += 1
        return kind

    def _cams(self, s: Session, group: str) -> list[Asset]:
        cams = s.scalars(select(Asset).where(Asset.type == "camera")).all()
        return [c for c in cams if c.attributes.get("group") == group]

    def _emit(self, s: Session, subject: str, asset: Asset, data: dict[str, Any]) -> None:
        data = {"asset_id": asset.id, "asset_code": asset.code, "lat": asset.lat, "lon": asset.lon, **data}
        outbox.emit(s, subject, data, unit_id=asset.unit_id, domain=asset.domain)

    def _values(self, s: Session, now: datetime) -> dict[str, dict[str, float]]:
        hour = now.astimezone(VN_TZ).hour + now.astimezone(VN_TZ).minute / 60
        out: dict[str, dict[str, float]] = {}
        for series, asset in s.execute(
            select(timeseries.Series, Asset).join(Asset, Asset.id == timeseries.Series.asset_id)
        ).tuples():
            if asset.status != "offline":
                measure = series.key.rsplit(".", 1)[-1]
                out.setdefault(asset.code, {})[measure] = round(diurnal(measure, hour, self.rnd), 2)
        return out

    def _reading_items(self, now: datetime) -> list[dict[str, Any]]:
        with self.db.session() as s:
            values = self._values(s, now)
        ts = timeseries.to_ms(now)
        return [{"device": code, "ts": ts, "values": v} for code, v in values.items()]

    def _waste(self, s: Session, now: datetime) -> None:
        cam = self.rnd.choice(self._cams(s, "waste_point"))
        self._emit(
            s,
            "toancanh.vision.detection.waste_dumping",
            cam,
            {
                "title_vi": f"Phát hiện đổ rác trái phép — {cam.name}",
                "title_en": f"Illegal waste dumping detected — {cam.name}",
                "severity": "high",
                "confidence": round(self.rnd.uniform(0.72, 0.97), 2),
            },
        )

    def _violation(self, s: Session, now: datetime) -> None:
        cam = self.rnd.choice(self._cams(s, "intersection"))
        vi, en = self.rnd.choice(VIOLATIONS)
        plate = _plate(self.rnd)
        self._emit(
            s,
            "toancanh.traffic.violation.detected",
            cam,
            {
                "title_vi": f"Xe {plate} {vi} — {cam.name}",
                "title_en": f"Vehicle {plate} {en} — {cam.name}",
                "severity": "medium",
                "plate": plate,
            },
        )

    def _report(self, s: Session, now: datetime) -> None:
        """A citizen's report through the reports service (routed, with its case history and events)."""
        vi, en, category = self.rnd.choice(REPORT_TOPICS)
        places = s.scalars(select(Asset).where(Asset.type.in_(["waste_point", "school", "hydrant"]))).all()
        where = self.rnd.choice(places)
        locate = unit_index(s, self).locate
        lat = where.lat + self.rnd.uniform(-3e-4, 3e-4)
        lon = where.lon + self.rnd.uniform(-3e-4, 3e-4)
        if not locate(lat, lon):
            lat, lon = where.lat, where.lon
        report = report_service.submit(
            s,
            self.engine,
            self.blobs,
            locate,
            category_code=category,
            description=f"{vi} gần {where.name}, đề nghị cơ quan chức năng kiểm tra xử lý",
            lat=lat,
            lon=lon,
            address=f"Gần {where.name}",
            channel="web",
            now=now,
        )
        outbox.emit(  # the ticker's line; the case events themselves carry no title
            s,
            "toancanh.reports.report.created",
            {
                "id": report.id,
                "tracking_code": report.tracking_code,
                "title_vi": f"Phản ánh mới {report.tracking_code}: {vi} (gần {where.name})",
                "title_en": f"New field report {report.tracking_code}: {en} (near {where.name})",
                "severity": "low",
                "lat": report.lat,
                "lon": report.lon,
            },
            unit_id=report.unit_id,
            domain=report.domain,
        )

    def _school_gate(self, s: Session, now: datetime) -> None:
        cam = self.rnd.choice(self._cams(s, "school_gate"))
        n = self.rnd.randint(25, 80)
        self._emit(
            s,
            "toancanh.vision.detection.school_gate_crowd",
            cam,
            {
                "title_vi": f"Ùn tắc cổng trường giờ tan học: {n} người/phương tiện — {cam.name}",
                "title_en": f"School-gate congestion: {n} people/vehicles — {cam.name}",
                "severity": "medium",
                "count": n,
            },
        )

    def _outage(self, s: Session, now: datetime) -> None:
        devices = s.scalars(select(Asset).where(Asset.type.in_(["camera", "sensor"]))).all()
        dev = self.rnd.choice(devices)
        new = "online" if dev.status == "offline" else "offline"
        asset_service.update_asset(s, None, dev, status=new)
        word_vi, word_en = (
            ("hoạt động trở lại", "back online") if new == "online" else ("mất kết nối", "offline")
        )
        self._emit(
            s,
            f"toancanh.core.device.{new}",
            dev,
            {
                "title_vi": f"Thiết bị {word_vi}: {dev.name}",
                "title_en": f"Device {word_en}: {dev.name}",
                "severity": "low" if new == "online" else "medium",
            },
        )

    def _threshold(self, s: Session, now: datetime) -> None:
        sensors = [a for a in s.scalars(select(Asset).where(Asset.type == "sensor")) if a.last_state]
        if not sensors:
            return
        dev = self.rnd.choice(sensors)
        measure, value = next(iter((dev.last_state or {}).items()))
        self._emit(
            s,
            "toancanh.environment.reading.high",
            dev,
            {
                "title_vi": f"{dev.name}: {measure} = {value} vượt ngưỡng cảnh báo",
                "title_en": f"{dev.name}: {measure} = {value} above the warning level",
                "severity": "medium",
                "measure": measure,
                "value": value,
            },
        )


async def run(app: Any) -> None:
    """Tick forever at the configured interval (the demo's background task)."""
    runtime = getattr(app.state, "alerts", None)
    sim = Simulator(
        app.state.db,
        engine=app.state.workflow,
        blobs=app.state.blobs,
        ingest=runtime.ingest_readings if runtime is not None else None,
    )
    interval = app.state.settings.simulator_interval_s
    while True:
        try:
            await asyncio.to_thread(sim.tick)
        except Exception:
            log.exception("simulator tick failed")
        await asyncio.sleep(interval)

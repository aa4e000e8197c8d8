"""The demo's citizen field reports: routing rules and a fortnight of reports in every state.

Every report goes through the reports service with the time it would have happened at, in order, with the
deadline check run before each step, so the history, the deadlines, the escalations and the events are those
a real fortnight would have left. Times are counted back from now in WORKING hours, so whatever the day the
demo starts on, exactly one report is overdue (and one is close to it).
"""

from __future__ import annotations

import io
import random
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.assets import Asset
from toancanh.core.auth import permissions
from toancanh.core.auth.models import User
from toancanh.core.auth.scope import Principal, unit_path_of
from toancanh.core.auth.service import principal_for
from toancanh.core.db import Database, utcnow
from toancanh.core.files import BlobStore
from toancanh.core.units import Agency, Unit, unit_index
from toancanh.core.workflow import WorkflowEngine
from toancanh.core.worktime import WorkCalendar
from toancanh.demo.report_scripts import AGENCY_USERS, NAMES, PLACE, REPORTS, ROUTES, DemoReport
from toancanh.modules.reports import deadlines, service
from toancanh.modules.reports import module as reports_module
from toancanh.modules.reports.models import FieldReport, ReportCategory, ReportPhoto
from toancanh.modules.reports.workflow import FIELD_REPORT


def seed_reports(db: Session, blobs: BlobStore, seed: int = 664, now: datetime | None = None) -> int:
    """Routing rules for the commune and the demo's reports; returns how many reports were made."""
    now = now or utcnow()
    rnd = random.Random(seed)
    permissions.register(reports_module.permissions)  # seeding runs before (and without) the app
    service.ensure_categories(db)
    engine = WorkflowEngine()
    engine.register(FIELD_REPORT)
    deadlines.install(engine)
    desk = _Desk(db, engine, blobs, rnd, now)
    desk.routes()
    desk.plan()
    desk.run()
    engine.check_deadlines(db, FIELD_REPORT, FieldReport, now)
    return len(REPORTS)


def demo_blobs(db: Database) -> BlobStore:
    """Where the app will look for the demo's photos: next to the SQLite file (the default layout)."""
    from toancanh.settings import Settings

    settings = Settings()
    if settings.resolved_database_url == db.url:
        return BlobStore(settings.blob_dir)
    path = db.engine.url.database
    if db.engine.url.get_backend_name() == "sqlite" and path:
        return BlobStore(Path(path).parent / "blobs")
    return BlobStore(Path(tempfile.gettempdir()) / "toancanh-demo-blobs")


def photo(rnd: random.Random, color: tuple[int, int, int]) -> bytes:
    """A small synthetic photo (a street scene in blocks of colour): no real person or place in it."""
    img = Image.new("RGB", (320, 240), (150, 190, 220))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 150, 320, 240), fill=(90, 90, 95))
    for _ in range(4):
        x, w, h = rnd.randint(0, 280), rnd.randint(30, 70), rnd.randint(40, 110)
        draw.rectangle((x, 150 - h, x + w, 150), fill=(rnd.randint(150, 230),) * 3)
    x, y = rnd.randint(60, 240), rnd.randint(160, 200)
    draw.ellipse((x - 30, y - 12, x + 30, y + 12), fill=color)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70)
    return out.getvalue()


class _Desk:
    """Plans each report's steps back from now, then plays every step of every report in time order."""

    def __init__(
        self, db: Session, engine: WorkflowEngine, blobs: BlobStore, rnd: random.Random, now: datetime
    ) -> None:
        self.db, self.engine, self.blobs, self.rnd, self.now = db, engine, blobs, rnd, now
        self.cal: WorkCalendar = engine.calendar
        self.commune = db.scalar(select(Unit).where(Unit.code == "00664"))
        self.agencies = {a.code: a for a in db.scalars(select(Agency))}
        self.assets: dict[str, list[Asset]] = {}
        for a in db.scalars(select(Asset).order_by(Asset.id)):
            self.assets.setdefault(a.type, []).append(a)
        self.locate = unit_index(db, SimpleNamespace()).locate
        self.people = {
            u.username: principal_for(db, u)
            for u in db.scalars(select(User).where(User.username.in_(["trucban", *AGENCY_USERS.values()])))
        }
        self.steps: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self.reports: dict[int, FieldReport] = {}
        self.merge_into: dict[int, int] = {}

    def routes(self) -> None:
        cats = {c.code: c for c in self.db.scalars(select(ReportCategory))}
        for code, agency in ROUTES.items():
            if code in cats and agency in self.agencies and self.commune is not None:
                service.set_route(self.db, self.commune, cats[code], self.agencies[agency])

    # ------------------------------------------------------------------------------------------- planning

    def back(self, end: datetime, hours: float) -> datetime:
        """The moment `hours` of working time before `end` (bisection: the calendar counts forward)."""
        lo, hi = end - timedelta(days=90), end
        for _ in range(40):
            mid = lo + (hi - lo) / 2
            if self.cal.working_hours_between(mid, end) > hours:
                lo = mid
            else:
                hi = mid
        return hi

    def fwd(self, start: datetime, hours: float) -> datetime:
        return self.cal.add_working_hours(start, hours)

    def plan(self) -> None:
        in_progress: dict[str, int] = {}  # category -> the report a later duplicate is merged into
        for i, spec in enumerate(REPORTS):
            r = self.rnd
            if spec.script in ("closed", "late"):
                resolved = self.back(self.now, spec.ago)
                accepted = self.back(resolved, r.uniform(3, 12))
                late = spec.script == "late"  # acknowledged after the 8 working hours
                self.add(i, self.back(accepted, r.uniform(10.5, 12) if late else r.uniform(0.5, 3)), "open")
                self.add(i, accepted, "accept")
                self.add(i, resolved, "resolve")
                self.add(i, min(self.now, resolved + timedelta(hours=r.uniform(2, 30))), "rate_good")
            elif spec.script == "rejected":
                opened = self.back(self.now, spec.ago)
                self.add(i, opened, "open")
                self.add(i, self.fwd(opened, 1.5), "reject")
            elif spec.script in ("resolved", "reopened"):
                rated = self.back(self.now, r.uniform(1, 3))
                resolved = self.back(rated, r.uniform(2, 6))
                accepted = self.back(resolved, r.uniform(4, 10))
                self.add(i, self.back(accepted, r.uniform(0.5, 3)), "open")
                self.add(i, accepted, "accept")
                self.add(i, resolved, "resolve")
                if spec.script == "reopened":
                    self.add(i, rated, "rate_bad")
            elif spec.script == "in_progress":
                accepted = self.back(self.now, r.uniform(1, 12))  # categories allow 16 working hours or more
                self.add(i, self.back(accepted, r.uniform(0.5, 3)), "open")
                self.add(i, accepted, "accept")
                in_progress.setdefault(spec.category, i)
            elif spec.script == "merged":
                self.merge_into[i] = in_progress[spec.category]
                opened = self.back(self.now, 0.5)
                self.add(i, opened, "open")
                self.add(i, self.fwd(opened, 0.25), "merge")
            else:  # assigned, received: just arrived (the urgent ones have 4 hours); warning; overdue
                hours = {"warning": 3.5, "overdue": 14.0}.get(spec.script, r.uniform(0.2, 3))
                self.add(i, self.back(self.now, hours), "open")

    def add(self, i: int, at: datetime, step: str) -> None:
        self.steps.append((at, len(self.steps), lambda t: self.do(i, step, t)))

    # ------------------------------------------------------------------------------------------- playing

    def run(self) -> None:
        for at, _, step in sorted(self.steps, key=lambda s: (s[0], s[1])):
            self.engine.check_deadlines(self.db, FIELD_REPORT, FieldReport, at)
            step(at)
        self.db.flush()

    def do(self, i: int, step: str, at: datetime) -> None:
        spec = REPORTS[i]
        if step == "open":
            self.reports[i] = self.open(i, spec, at)
            return
        report = self.reports[i]
        operator = self.people["trucban"]
        staff = self.staff_of(report) or operator
        if step == "accept":
            service.act(self.db, self.engine, report, "accept", staff, {}, now=at)
        elif step == "resolve":
            evidence = service.store_photos(
                self.db, self.blobs, report, [photo(self.rnd, (60, 170, 80))], "evidence"
            )
            fields = {"answer": spec.answer, "evidence": [p.sha256 for p in evidence]}
            service.act(self.db, self.engine, report, "resolve", staff, fields, now=at)
        elif step in ("rate_good", "rate_bad"):
            good = step == "rate_good"
            rating = (3 if spec.script == "late" else self.rnd.choice((4, 5, 5))) if good else 2
            comment = "" if good else "Đèn sáng được một hôm lại tắt, đề nghị kiểm tra lại"
            service.rate(self.db, self.engine, report, rating=rating, satisfied=good, comment=comment, now=at)
            if good:
                self.publish(operator, report)
        elif step == "reject":
            fields = {"reason": "Không đủ thông tin để xác minh; đề nghị người dân cung cấp thêm"}
            service.act(self.db, self.engine, report, "reject", operator, fields, now=at)
        elif step == "merge":
            target = self.reports[self.merge_into[i]]
            service.act(self.db, self.engine, report, "merge", operator, {"target_id": target.id}, now=at)

    def staff_of(self, report: FieldReport) -> Principal | None:
        """The demo user of the assigned agency, when there is one who may handle this report."""
        agency = next((a for a in self.agencies.values() if a.id == report.assignee_agency_id), None)
        who = self.people.get(AGENCY_USERS.get(agency.code, "")) if agency else None
        path = unit_path_of(self.db, report.unit_id)
        return who if who is not None and who.can("reports.handle", path, report.domain) else None

    def open(self, i: int, spec: DemoReport, at: datetime) -> FieldReport:
        near = self.rnd.choice(self.assets.get(PLACE.get(spec.category, "hydrant")) or self.assets["hydrant"])
        lat, lon, address = near.lat, near.lon, f"Gần {near.name}"
        if i in self.merge_into:  # the same place as the report it duplicates
            original = self.reports[self.merge_into[i]]
            lat, lon, address = original.lat, original.lon, original.address
        jittered = (lat + self.rnd.uniform(-6e-4, 6e-4), lon + self.rnd.uniform(-6e-4, 6e-4))
        if self.locate(*jittered):
            lat, lon = jittered
        identified = i % 3 == 0
        report = service.submit(
            self.db,
            self.engine,
            self.blobs,
            self.locate,
            category_code=spec.category,
            description=spec.description,
            lat=lat,
            lon=lon,
            photos=[photo(self.rnd, (200, 80, 40))] if i % 2 == 0 else [],
            address=address,
            name=NAMES[i % len(NAMES)] if identified else "",
            phone=f"09{self.rnd.randint(10_000_000, 99_999_999)}" if identified else "",
            channel="hotline" if i % 7 == 3 else "web",
            now=at,
        )
        report.created_at = report.updated_at = at
        return report

    def publish(self, operator: Principal, report: FieldReport) -> None:
        """Closed reports go on the public map with their photos (synthetic, so nothing to hide)."""
        shas = list(self.db.scalars(select(ReportPhoto.sha256).where(ReportPhoto.report_id == report.id)))
        service.moderate(self.db, operator, report, approve=True, public_photos=shas)

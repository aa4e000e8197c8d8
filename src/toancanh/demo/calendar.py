"""The demo's work calendar (lịch công tác) of UBND xã Đại Thanh: this week's and next week's schedule of the
chairman and the two vice-chairmen (giao ban tuần, tiếp công dân, kiểm tra thực địa, họp ban chỉ đạo...), one
conflict (the chairman booked twice on Thursday morning), and two meetings: one finished, with its conclusions
already turned into tasks, and one upcoming with its agenda and documents. Times count from this week's
Monday, so whatever the day the demo starts on, the schedule is this week's."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.auth import permissions
from toancanh.core.auth.models import User
from toancanh.core.auth.service import create_user, principal_for
from toancanh.core.db import utcnow
from toancanh.core.files import BlobStore
from toancanh.core.units import Agency, Unit
from toancanh.core.workflow import WorkflowEngine
from toancanh.core.worktime import VN_TZ
from toancanh.demo.directions import DEMO_PDF
from toancanh.modules.direction import calendar, deadlines, meetings, meetings_floor, service
from toancanh.modules.direction import module as direction_module
from toancanh.modules.direction.calendar_schemas import EntryIn, MeetingIn, MinutesIn
from toancanh.modules.direction.workflow import DIRECTION_TASK

# the vice-chairmen (no password: they appear on the schedule, they do not sign in to the demo)
VICE_CHAIRMEN = {
    "phochutich.kt": "Trần Đức Minh (Phó Chủ tịch UBND xã, phụ trách kinh tế)",
    "phochutich.vx": "Đỗ Thị Lan (Phó Chủ tịch UBND xã, phụ trách văn hóa - xã hội)",
}
HALL, ROOM = "Hội trường UBND xã Đại Thanh", "Phòng họp tầng 2, UBND xã"
# (week 0/1, weekday 0..6, start, end, owner username, title, place, participant agencies, host)
SCHEDULE: tuple[tuple[int, int, str, str, str, str, str, tuple[str, ...], str], ...] = (
    (
        0,
        1,
        "08:00",
        "11:30",
        "lanhdao",
        "Tiếp công dân định kỳ",
        "Trụ sở Tiếp công dân xã",
        ("van-phong",),
        "Văn phòng HĐND và UBND xã",
    ),
    (
        0,
        1,
        "14:00",
        "16:30",
        "phochutich.kt",
        "Kiểm tra tiến độ nạo vét kênh tiêu thoát nước thôn Tả Thanh Oai",
        "Kênh tiêu thôn Tả Thanh Oai",
        ("phong-kinh-te", "htx-moi-truong"),
        "Phòng Kinh tế",
    ),
    (
        0,
        2,
        "08:00",
        "10:00",
        "phochutich.vx",
        "Làm việc với Trạm Y tế về tiêm chủng mở rộng",
        "Trạm Y tế xã Đại Thanh",
        ("tram-y-te", "phong-vhxh"),
        "Phòng Văn hóa - Xã hội",
    ),
    (
        0,
        2,
        "14:00",
        "17:00",
        "lanhdao",
        "Họp Ban Chỉ đạo chuyển đổi số xã",
        ROOM,
        ("ioc", "van-phong"),
        "Trung tâm IOC",
    ),
    (
        0,
        3,
        "08:00",
        "11:00",
        "lanhdao",
        "Tiếp công dân theo lịch của Chủ tịch UBND xã",
        "Trụ sở Tiếp công dân xã",
        ("van-phong",),
        "Văn phòng HĐND và UBND xã",
    ),
    (
        0,
        3,
        "10:00",
        "11:30",
        "lanhdao",
        "Kiểm tra thực địa điểm tập kết rác tự phát ngã ba Đại Thanh",
        "Ngã ba Đại Thanh",
        ("doi-qlttdt", "cong-an"),
        "Đội Quản lý trật tự đô thị",
    ),
    (
        0,
        3,
        "14:00",
        "16:00",
        "phochutich.kt",
        "Kiểm tra an toàn lưới điện mùa mưa bão",
        "Trạm biến áp Đại Thanh 3",
        ("dien-luc",),
        "Phòng Kinh tế",
    ),
    (
        0,
        4,
        "08:00",
        "10:00",
        "phochutich.vx",
        "Dự lễ phát động Tháng hành động vì trẻ em",
        "Trường Tiểu học Đại Thanh",
        ("phong-vhxh",),
        "Phòng Văn hóa - Xã hội",
    ),
    (
        0,
        4,
        "14:00",
        "16:00",
        "lanhdao",
        "Làm việc với Công an xã về an ninh trật tự cuối năm",
        "Công an xã Đại Thanh",
        ("cong-an", "ban-chqs"),
        "Công an xã",
    ),
    (
        1,
        0,
        "14:00",
        "16:00",
        "phochutich.kt",
        "Nghiệm thu công trình đường giao thông nông thôn thôn Nhị Châu",
        "Thôn Nhị Châu",
        ("phong-kinh-te",),
        "Phòng Kinh tế",
    ),
    (
        1,
        1,
        "08:00",
        "11:30",
        "lanhdao",
        "Tiếp công dân định kỳ",
        "Trụ sở Tiếp công dân xã",
        ("van-phong",),
        "Văn phòng HĐND và UBND xã",
    ),
    (
        1,
        2,
        "08:00",
        "11:00",
        "phochutich.vx",
        "Kiểm tra công tác phòng chống dịch sốt xuất huyết",
        "Các thôn",
        ("tram-y-te",),
        "Trạm Y tế xã",
    ),
    (
        1,
        3,
        "14:00",
        "16:30",
        "lanhdao",
        "Họp Ban Chỉ đạo phòng chống thiên tai và tìm kiếm cứu nạn",
        ROOM,
        ("ban-chqs", "cong-an", "pccc"),
        "Ban Chỉ huy Quân sự xã",
    ),
    (
        1,
        4,
        "08:00",
        "10:00",
        "phochutich.kt",
        "Làm việc với Trung tâm Phục vụ hành chính công về hồ sơ trễ hạn",
        "Trung tâm Phục vụ hành chính công xã",
        ("ttphvhcc",),
        "Văn phòng HĐND và UBND xã",
    ),
)


def _at(monday: datetime, week: int, day: int, hhmm: str) -> datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return monday + timedelta(days=7 * week + day, hours=h, minutes=m)


def seed_calendar(db: Session, blobs: BlobStore, now: datetime | None = None) -> int:
    """The demo's calendar and meetings; returns how many entries were made."""
    now = now or utcnow()
    permissions.register(direction_module.permissions)
    unit = db.scalar(select(Unit).where(Unit.code == "00664"))
    chairman = db.scalar(select(User).where(User.username == "lanhdao"))
    if unit is None or chairman is None:
        return 0
    users = {"lanhdao": chairman}
    for username, name in VICE_CHAIRMEN.items():
        users[username] = db.scalar(select(User).where(User.username == username)) or create_user(
            db, username, None, role="leader", unit_code="00664", full_name=name
        )
    agencies = {a.code: a.id for a in db.scalars(select(Agency).where(Agency.active))}
    leader = principal_for(db, chairman)
    today = now.astimezone(VN_TZ).date()
    monday = datetime.combine(today - timedelta(days=today.weekday()), time(0, 0), tzinfo=VN_TZ)
    made = 0
    for week, day, start, end, owner, title, place, parts, host in SCHEDULE:
        body = EntryIn(
            unit_id=unit.id,
            title=title,
            place=place,
            starts_at=_at(monday, week, day, start),
            ends_at=_at(monday, week, day, end),
            owner_user_id=users[owner].id,
            participant_agency_ids=[agencies[p] for p in parts if p in agencies],
            host=host,
            published=True,
        )
        calendar.create_entry(db, leader, body)
        made += 1
    pdf = blobs.put(db, DEMO_PDF, allowed=service.ATTACHMENT_TYPES).sha256
    _finished_meeting(db, leader, unit, users, agencies, monday, now, pdf)
    _upcoming_meeting(db, blobs, leader, unit, users, agencies, monday, pdf)
    return made + 2


def _finished_meeting(
    db: Session,
    leader: Any,
    unit: Unit,
    users: dict[str, User],
    agencies: dict[str, int],
    monday: datetime,
    now: datetime,
    pdf: str,
) -> None:
    """Monday's giao ban tuần (or last Friday's when the demo starts on a Monday morning), concluded."""
    start = monday + timedelta(hours=8)
    if start + timedelta(hours=2) > now:
        start -= timedelta(days=3)
    body = MeetingIn.model_validate(
        dict(
            unit_id=unit.id,
            title="Giao ban tuần UBND xã Đại Thanh",
            chair_id=users["lanhdao"].id,
            place=HALL,
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            host="Văn phòng HĐND và UBND xã",
            published=True,
            items=[
                {
                    "title": "Kết quả công tác tuần trước, nhiệm vụ tuần này",
                    "presenter": "Văn phòng HĐND và UBND xã",
                    "minutes": 30,
                },
                {
                    "title": "Tình hình an ninh trật tự, an toàn giao thông",
                    "presenter": "Công an xã",
                    "minutes": 20,
                },
                {
                    "title": "Tiến độ giải quyết hồ sơ thủ tục hành chính",
                    "presenter": "Trung tâm Phục vụ hành chính công",
                    "minutes": 20,
                },
            ],
            invitee_user_ids=[users["phochutich.kt"].id, users["phochutich.vx"].id],
            invitee_agency_ids=[
                agencies[c] for c in ("van-phong", "cong-an", "ttphvhcc", "phong-kinh-te") if c in agencies
            ],
            documents=[{"sha256": pdf, "title": "Báo cáo kết quả công tác tuần"}],
        )
    )
    m = meetings.create_meeting(db, None, leader, body)
    meetings.set_state(db, leader, m, "in_progress", None)
    vote = meetings_floor.open_vote(
        db, leader, m, "Thông qua kế hoạch ra quân tổng vệ sinh môi trường cuối tuần"
    )
    for who in ("lanhdao", "phochutich.kt", "phochutich.vx"):
        meetings_floor.cast(db, principal_for(db, users[who]), m, vote.id, "yes")
    meetings_floor.close_vote(db, leader, m, vote.id)
    meetings.set_state(db, leader, m, "finished", None)
    due = (start + timedelta(days=14)).date()
    conclusions = [
        {
            "text": "Ra quân tổng vệ sinh môi trường tại các thôn",
            "lead_agency_id": agencies["htx-moi-truong"],
            "deadline": due,
            "domain": "environment",
        },
        {
            "text": "Giải quyết dứt điểm hồ sơ thủ tục hành chính trễ hạn",
            "lead_agency_id": agencies["ttphvhcc"],
            "deadline": due,
        },
        {
            "text": "Tăng cường tuần tra ban đêm tại các tuyến đường liên thôn",
            "lead_agency_id": agencies["cong-an"],
            "deadline": due,
            "domain": "security",
        },
    ]
    minutes = (
        "Chủ tịch UBND xã chủ trì; các Phó Chủ tịch và trưởng các cơ quan dự. "
        "Thống nhất các nhiệm vụ trọng tâm tuần."
    )
    meetings.save_minutes(
        db, leader, m, MinutesIn.model_validate({"minutes": minutes, "conclusions": conclusions})
    )
    engine = WorkflowEngine()
    engine.register(DIRECTION_TASK)
    deadlines.install(engine)
    meetings.conclude(db, engine, leader, m, "58/TB-UBND", now=start + timedelta(hours=3))


def _upcoming_meeting(
    db: Session,
    blobs: BlobStore,
    leader: Any,
    unit: Unit,
    users: dict[str, User],
    agencies: dict[str, int],
    monday: datetime,
    pdf: str,
) -> None:
    start = monday + timedelta(days=7, hours=8)  # next Monday morning
    body = MeetingIn.model_validate(
        dict(
            unit_id=unit.id,
            title="Giao ban tuần và họp Ban Chỉ đạo xây dựng nông thôn mới",
            chair_id=users["lanhdao"].id,
            place=HALL,
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            host="Văn phòng HĐND và UBND xã",
            published=True,
            items=[
                {
                    "title": "Kết quả công tác tuần, nhiệm vụ tuần tới",
                    "presenter": "Văn phòng HĐND và UBND xã",
                    "minutes": 30,
                },
                {
                    "title": "Tiến độ các tiêu chí nông thôn mới nâng cao",
                    "presenter": "Phòng Kinh tế",
                    "minutes": 40,
                },
                {
                    "title": "Kế hoạch tổ chức Ngày hội Đại đoàn kết toàn dân tộc",
                    "presenter": "Phòng Văn hóa - Xã hội",
                    "minutes": 30,
                },
            ],
            invitee_user_ids=[users["phochutich.kt"].id, users["phochutich.vx"].id],
            invitee_agency_ids=[
                agencies[c] for c in ("van-phong", "phong-kinh-te", "phong-vhxh", "cong-an") if c in agencies
            ],
            documents=[
                {"sha256": pdf, "title": "Dự thảo báo cáo tiến độ nông thôn mới nâng cao"},
            ],
        )
    )
    meetings.create_meeting(db, blobs, leader, body)

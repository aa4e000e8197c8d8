"""The demo's directives (chỉ đạo điều hành): a dozen from the chairman of UBND xã Đại Thanh, with their tasks
in every state.

Each directive is issued some working days ago through the direction service, at that time, and each task's
steps are played at the times they would have happened, so the deadlines, the overdue flags, the escalations
and the history are those a real month would have left. Times count back from now in working days, so
whatever the day the demo starts on, the same tasks are overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.auth import permissions
from toancanh.core.auth.models import User
from toancanh.core.auth.scope import Principal
from toancanh.core.auth.service import principal_for
from toancanh.core.db import utcnow
from toancanh.core.files import BlobStore
from toancanh.core.units import Agency, Unit
from toancanh.core.workflow import WorkflowEngine
from toancanh.core.worktime import VN_TZ
from toancanh.modules.direction import deadlines, service
from toancanh.modules.direction import module as direction_module
from toancanh.modules.direction.models import DirectionTask
from toancanh.modules.direction.schemas import DirectiveIn
from toancanh.modules.direction.workflow import DIRECTION_TASK

# A minimal one-page PDF: the scanned minutes and result reports of the demo.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
# agency code -> the demo account that acts for it (others act as the system)
AGENCY_STAFF = {"cong-an": "congan", "phong-vhxh": "truonghoc"}


@dataclass(frozen=True)
class DemoTask:
    title: str
    lead: str
    coop: tuple[str, ...]
    domain: str
    priority: str
    days: int
    source: tuple[str, str]  # (kind, reference)
    script: (
        str  # assigned | progress | submitted | done | late | returned | overdue | ext_pending | ext_approved
    )
    output: str = ""


@dataclass(frozen=True)
class DemoDirective:
    number: str
    kind: str
    title: str
    summary: str
    days_ago: int  # working days
    tasks: tuple[DemoTask, ...]


D = DemoDirective
T = DemoTask
DIRECTIVES: tuple[DemoDirective, ...] = (
    D(
        "112/TB-UBND",
        "conclusion",
        "Kết luận giao ban tuần 44 của Chủ tịch UBND xã",
        "Kết luận tại cuộc giao ban ngày thứ Hai với các phòng, ban, đơn vị.",
        22,
        (
            T(
                "Rà soát, tổng hợp hộ nghèo, cận nghèo phát sinh năm 2026",
                "phong-vhxh",
                ("van-phong",),
                "education",
                "normal",
                8,
                ("meeting_conclusion", "Giao ban tuần 44"),
                "done",
                "Danh sách hộ nghèo, cận nghèo",
            ),
            T(
                "Báo cáo tiến độ giải ngân vốn đầu tư công",
                "phong-kinh-te",
                (),
                "economy",
                "high",
                5,
                ("meeting_conclusion", "Giao ban tuần 44"),
                "late",
                "Báo cáo giải ngân kèm biểu số liệu",
            ),
        ),
    ),
    D(
        "118/CĐ-UBND",
        "directive",
        "Chỉ đạo xử lý điểm tập kết rác tự phát tại ngã ba Đại Thanh",
        "Xử lý dứt điểm các điểm đổ rác trộm theo phản ánh của người dân.",
        15,
        (
            T(
                "Giải tỏa điểm tập kết rác tự phát, lắp biển cấm đổ rác",
                "htx-moi-truong",
                ("doi-qlttdt",),
                "environment",
                "urgent",
                3,
                ("field_report", "PA phản ánh rác thải"),
                "done",
                "Ảnh hiện trường trước và sau",
            ),
            T(
                "Tuần tra, xử phạt hành vi đổ rác không đúng nơi quy định",
                "cong-an",
                ("doi-qlttdt",),
                "security",
                "high",
                10,
                ("field_report", "PA phản ánh rác thải"),
                "overdue",
                "Biên bản xử lý vi phạm",
            ),
            T(
                "Tuyên truyền người dân phân loại rác tại nguồn",
                "phong-vhxh",
                (),
                "education",
                "normal",
                20,
                ("field_report", "PA phản ánh rác thải"),
                "progress",
            ),
        ),
    ),
    D(
        "121/KH-UBND",
        "directive",
        "Triển khai phòng, chống ngập úng mùa mưa bão",
        "Chủ động phương án tiêu thoát nước, bảo đảm an toàn cho người dân.",
        12,
        (
            T(
                "Nạo vét hệ thống cống, rãnh thoát nước các thôn",
                "phong-kinh-te",
                ("htx-moi-truong",),
                "urban",
                "urgent",
                7,
                ("incident", "Ngập úng đường liên thôn"),
                "overdue",
                "Khối lượng nạo vét",
            ),
            T(
                "Kiểm tra, vận hành thử các trạm bơm tiêu",
                "dien-luc",
                ("phong-kinh-te",),
                "utilities",
                "high",
                5,
                ("incident", "Ngập úng đường liên thôn"),
                "done",
            ),
            T(
                "Chuẩn bị lực lượng, phương tiện ứng cứu theo phương án 4 tại chỗ",
                "ban-chqs",
                ("cong-an", "tram-y-te"),
                "security",
                "high",
                15,
                ("meeting_conclusion", "Họp BCH phòng chống thiên tai"),
                "submitted",
            ),
        ),
    ),
    D(
        "125/TB-UBND",
        "conclusion",
        "Kết luận giao ban tuần 46",
        "Kết luận giao ban tuần, giao nhiệm vụ các đơn vị.",
        8,
        (
            T(
                "Hoàn thiện hồ sơ chuyển đổi số cấp xã",
                "van-phong",
                ("ttphvhcc",),
                "administration",
                "normal",
                10,
                ("meeting_conclusion", "Giao ban tuần 46"),
                "progress",
            ),
            T(
                "Nâng tỷ lệ hồ sơ thủ tục hành chính trực tuyến toàn trình",
                "ttphvhcc",
                (),
                "administration",
                "high",
                4,
                ("indicator", "Tỷ lệ hồ sơ trực tuyến dưới 80%"),
                "returned",
                "Báo cáo tỷ lệ hồ sơ",
            ),
        ),
    ),
    D(
        "127/CĐ-UBND",
        "directive",
        "Chỉ đạo bảo đảm an toàn giao thông khu vực cổng trường giờ tan học",
        "",
        6,
        (
            T(
                "Bố trí lực lượng phân luồng tại cổng các trường giờ tan học",
                "cong-an",
                ("phong-vhxh",),
                "traffic",
                "high",
                3,
                ("incident", "Ùn tắc cổng trường tiểu học"),
                "ext_pending",
            ),
            T(
                "Phối hợp nhà trường nhắc phụ huynh không dừng đỗ sai quy định",
                "phong-vhxh",
                ("cong-an",),
                "education",
                "normal",
                10,
                ("incident", "Ùn tắc cổng trường tiểu học"),
                "progress",
            ),
        ),
    ),
    D(
        "130/TB-UBND",
        "notice",
        "Thông báo kết luận kiểm tra an toàn thực phẩm bếp ăn trường học",
        "",
        10,
        (
            T(
                "Khắc phục tồn tại về vệ sinh bếp ăn tập thể các trường",
                "phong-vhxh",
                ("tram-y-te",),
                "education",
                "urgent",
                5,
                ("meeting_conclusion", "Đoàn kiểm tra liên ngành"),
                "done",
            ),
            T(
                "Lấy mẫu giám sát định kỳ thực phẩm tại bếp ăn",
                "tram-y-te",
                (),
                "health",
                "normal",
                15,
                ("meeting_conclusion", "Đoàn kiểm tra liên ngành"),
                "ext_approved",
            ),
        ),
    ),
    D(
        "133/CĐ-UBND",
        "directive",
        "Chỉ đạo xử lý lấn chiếm vỉa hè, lòng đường trục đường chính",
        "",
        9,
        (
            T(
                "Ra quân lập lại trật tự lòng đường, vỉa hè",
                "doi-qlttdt",
                ("cong-an",),
                "urban",
                "high",
                5,
                ("field_report", "PA lấn chiếm vỉa hè"),
                "overdue",
                "Biên bản, ảnh hiện trường",
            ),
        ),
    ),
    D(
        "136/KH-UBND",
        "directive",
        "Kế hoạch phòng cháy, chữa cháy mùa hanh khô",
        "",
        5,
        (
            T(
                "Kiểm tra an toàn PCCC tại các cơ sở kinh doanh",
                "pccc",
                ("cong-an",),
                "security",
                "high",
                10,
                ("other", "Kế hoạch PCCC"),
                "progress",
                "Danh sách cơ sở đã kiểm tra",
            ),
            T(
                "Rà soát, bổ sung trụ nước chữa cháy hư hỏng",
                "dien-luc",
                ("pccc",),
                "utilities",
                "normal",
                20,
                ("other", "Kế hoạch PCCC"),
                "assigned",
            ),
        ),
    ),
    D(
        "139/TB-UBND",
        "conclusion",
        "Kết luận giao ban tuần 47",
        "",
        3,
        (
            T(
                "Báo cáo tình hình thu ngân sách 10 tháng",
                "phong-kinh-te",
                (),
                "economy",
                "normal",
                5,
                ("indicator", "Thu ngân sách đạt 71% dự toán"),
                "progress",
            ),
            T(
                "Đôn đốc tiêm chủng mở rộng cho trẻ dưới 5 tuổi",
                "tram-y-te",
                ("phong-vhxh",),
                "health",
                "normal",
                8,
                ("indicator", "Tỷ lệ tiêm chủng dưới chỉ tiêu"),
                "assigned",
            ),
        ),
    ),
    D(
        "141/CĐ-UBND",
        "directive",
        "Chỉ đạo khắc phục sự cố mất điện chiếu sáng công cộng",
        "",
        4,
        (
            T(
                "Thay thế bóng đèn, tủ điện chiếu sáng hư hỏng",
                "dien-luc",
                (),
                "utilities",
                "high",
                2,
                ("field_report", "PA đèn chiếu sáng hỏng"),
                "overdue",
            ),
        ),
    ),
    D(
        "144/CĐ-UBND",
        "directive",
        "Chỉ đạo tăng cường bảo đảm an ninh trật tự dịp cuối năm",
        "",
        2,
        (
            T(
                "Tăng cường tuần tra đêm tại các điểm tụ tập thanh thiếu niên",
                "cong-an",
                ("ban-chqs",),
                "security",
                "high",
                10,
                ("field_report", "PA tụ tập gây mất trật tự"),
                "progress",
            ),
        ),
    ),
    D(
        "147/TB-UBND",
        "notice",
        "Thông báo ý kiến chỉ đạo về chuẩn bị Tết Nguyên đán",
        "",
        1,
        (
            T(
                "Xây dựng kế hoạch thăm, tặng quà gia đình chính sách",
                "phong-vhxh",
                ("van-phong",),
                "education",
                "normal",
                15,
                ("meeting_conclusion", "Giao ban tuần 47"),
                "assigned",
            ),
            T(
                "Kiểm tra an toàn thực phẩm dịp Tết",
                "tram-y-te",
                ("phong-kinh-te",),
                "health",
                "normal",
                20,
                ("meeting_conclusion", "Giao ban tuần 47"),
                "assigned",
            ),
        ),
    ),
)


def seed_directions(db: Session, blobs: BlobStore, now: datetime | None = None) -> int:
    """The demo's directives and tasks; returns how many tasks were made."""
    now = now or utcnow()
    permissions.register(direction_module.permissions)  # seeding runs before (and without) the app
    engine = WorkflowEngine()
    engine.register(DIRECTION_TASK)
    deadlines.install(engine)
    unit = db.scalar(select(Unit).where(Unit.code == "00664"))
    chairman = db.scalar(select(User).where(User.username == "lanhdao"))
    if unit is None or chairman is None:
        return 0
    desk = _Desk(db, engine, blobs, principal_for(db, chairman), now)
    made = sum(desk.issue(unit, d) for d in DIRECTIVES)
    engine.check_deadlines(db, DIRECTION_TASK, DirectionTask, now)
    return made


class _Desk:
    def __init__(
        self, db: Session, engine: WorkflowEngine, blobs: BlobStore, leader: Principal, now: datetime
    ) -> None:
        self.db, self.engine, self.leader, self.now = db, engine, leader, now
        self.agencies = {a.code: a for a in db.scalars(select(Agency))}
        users = db.scalars(select(User).where(User.username.in_(list(AGENCY_STAFF.values()))))
        self.staff = {u.username: principal_for(db, u) for u in users}
        self.pdf = blobs.put(db, DEMO_PDF, allowed=service.ATTACHMENT_TYPES).sha256

    def back(self, days: int) -> datetime:
        """A morning `days` working days before now (09:00)."""
        day, left = self.now.astimezone(VN_TZ).date(), days
        while left > 0:
            day -= timedelta(days=1)
            if self.engine.calendar.is_working_day(day):
                left -= 1
        return datetime.combine(day, datetime.min.time(), tzinfo=VN_TZ).replace(hour=9)

    def later(self, start: datetime, hours: float) -> datetime:
        return min(self.engine.calendar.add_working_hours(start, hours), self.now - timedelta(minutes=5))

    def issue(self, unit: Unit, d: DemoDirective) -> int:
        issued = self.back(d.days_ago)
        body = DirectiveIn.model_validate(
            {
                "unit_id": unit.id,
                "number": d.number,
                "kind": d.kind,
                "title": d.title,
                "summary": d.summary,
                "issued_on": issued.date(),
                "attachments": [self.pdf],
                "tasks": [
                    {
                        "title": t.title,
                        "lead_agency_id": self.agencies[t.lead].id,
                        "cooperating_agency_ids": [self.agencies[c].id for c in t.coop],
                        "domain": t.domain,
                        "priority": t.priority,
                        "expected_output": t.output,
                        "deadline_days": t.days,
                        "source": {"kind": t.source[0], "ref": t.source[1]},
                    }
                    for t in d.tasks
                ],
            }
        )
        directive = service.create_directive(self.db, self.engine, None, self.leader, body, now=issued)
        tasks = self.db.scalars(
            select(DirectionTask).where(DirectionTask.directive_id == directive.id).order_by(DirectionTask.id)
        ).all()
        for spec, task in zip(d.tasks, tasks, strict=True):
            self.play(task, spec, issued)
        return len(tasks)

    def play(self, task: DirectionTask, spec: DemoTask, issued: datetime) -> None:
        agency = self.staff.get(AGENCY_STAFF.get(spec.lead, ""))
        script = spec.script

        def step(name: str, at: datetime, who: Principal | None, **fields: object) -> None:
            self.engine.check_deadlines(self.db, DIRECTION_TASK, DirectionTask, at)
            service.act(self.db, self.engine, None, task, name, who, dict(fields), now=at)

        if script == "assigned":
            return
        t = self.later(issued, 3)
        step("acknowledge", t, agency)
        if script in ("ext_pending", "ext_approved"):
            new = task.deadline_at + timedelta(days=10)
            step(
                "request_extension",
                self.later(t, 2),
                agency,
                reason="Chờ bổ sung kinh phí, vật tư",
                new_deadline=new,
            )
            if script == "ext_approved":
                req = service.extension_requests(self.db, task.id)[-1]
                step("approve_extension", self.later(t, 6), self.leader, request_id=req.id)
            return
        percent = {"progress": 60, "overdue": 30}.get(script, 80)
        step(
            "report_progress", self.later(t, 6), agency, percent=percent, text="Đã triển khai, đang thực hiện"
        )
        if script in ("progress", "overdue"):
            return
        if script == "late":
            at = min(
                self.engine.calendar.add_working_hours(task.deadline_at, 8), self.now - timedelta(hours=1)
            )
        else:
            at = self.later(t, 8 * max(1, spec.days - 1))
        step(
            "submit",
            at,
            agency,
            text="Đã hoàn thành, gửi báo cáo kết quả kèm minh chứng",
            evidence=[self.pdf],
        )
        if script == "done" or script == "late":
            step("accept", self.later(at, 2), self.leader)
        elif script == "returned":
            step("return", self.later(at, 2), self.leader, reason="Báo cáo chưa có số liệu so sánh cùng kỳ")

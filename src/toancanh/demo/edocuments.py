"""The demo's e-documents register (sổ văn bản điện tử) of UBND xã Đại Thanh: about forty documents, incoming
from UBND thành phố Hà Nội and its departments, outgoing from the commune, in every state, a few overdue,
most digitally signed. Dates count back from now in working days, so the same ones are overdue whatever
the day the demo starts on; rows are inserted directly (one flush), as the document system would have."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.db import utcnow
from toancanh.core.units import Agency, Unit
from toancanh.core.worktime import VN_TZ, WorkCalendar
from toancanh.modules.direction.deadlines import end_of_day
from toancanh.modules.direction.models import EDocument

HN = "UBND thành phố Hà Nội"
ISSUERS = (
    HN,
    "Sở Nội vụ thành phố Hà Nội",
    "Sở Tài chính thành phố Hà Nội",
    "Sở Nông nghiệp và Môi trường thành phố Hà Nội",
    "Sở Xây dựng thành phố Hà Nội",
    "Sở Y tế thành phố Hà Nội",
    "Sở Giáo dục và Đào tạo thành phố Hà Nội",
    "Sở Khoa học và Công nghệ thành phố Hà Nội",
    "Công an thành phố Hà Nội",
)
SYMBOLS = (
    "UBND-KGVX",
    "SNV-CCVC",
    "STC-NS",
    "SNNMT-QLĐĐ",
    "SXD-QLXD",
    "SYT-NVY",
    "SGDĐT-GDPT",
    "SKHCN-CĐS",
    "CAHN-PV01",
)
# (issuer index, summary, domain, handler agency, state, working days ago, working days given, signed)
INCOMING = (
    (
        0,
        "V/v triển khai kế hoạch chuyển đổi số năm 2027",
        "administration",
        "van-phong",
        "in_process",
        6,
        10,
        True,
    ),
    (
        0,
        "V/v tăng cường công tác phòng cháy, chữa cháy mùa hanh khô",
        "security",
        "cong-an",
        "finished",
        20,
        5,
        True,
    ),
    (
        0,
        "V/v báo cáo kết quả giải quyết thủ tục hành chính quý IV",
        "administration",
        "ttphvhcc",
        "received",
        2,
        5,
        True,
    ),
    (
        0,
        "Thông báo kết luận của Chủ tịch UBND Thành phố tại buổi làm việc",
        "administration",
        "van-phong",
        "no_action",
        15,
        0,
        True,
    ),
    (
        1,
        "V/v rà soát, sắp xếp đội ngũ cán bộ, công chức cấp xã",
        "administration",
        "van-phong",
        "in_process",
        12,
        7,
        True,
    ),
    (
        1,
        "V/v đánh giá, xếp loại chất lượng cán bộ, công chức năm 2026",
        "administration",
        "van-phong",
        "finished",
        25,
        10,
        True,
    ),
    (2, "V/v lập dự toán ngân sách xã năm 2027", "administration", "phong-kinh-te", "finished", 30, 10, True),
    (
        2,
        "V/v quyết toán kinh phí xây dựng nông thôn mới",
        "administration",
        "phong-kinh-te",
        "in_process",
        14,
        8,
        True,
    ),
    (
        3,
        "V/v rà soát hiện trạng sử dụng đất công trên địa bàn",
        "environment",
        "phong-kinh-te",
        "in_process",
        11,
        5,
        True,
    ),
    (
        3,
        "V/v phòng chống dịch bệnh trên đàn gia súc, gia cầm",
        "environment",
        "phong-kinh-te",
        "finished",
        18,
        3,
        True,
    ),
    (
        3,
        "V/v thu gom, xử lý rác thải sinh hoạt nông thôn",
        "environment",
        "phong-kinh-te",
        "received",
        1,
        10,
        False,
    ),
    (
        4,
        "V/v kiểm tra trật tự xây dựng dọc tuyến đường trục xã",
        "urban",
        "phong-kinh-te",
        "in_process",
        9,
        5,
        True,
    ),
    (
        4,
        "V/v báo cáo hiện trạng cầu, cống trên địa bàn trước mùa mưa",
        "traffic",
        "phong-kinh-te",
        "finished",
        22,
        5,
        True,
    ),
    (5, "V/v triển khai tiêm chủng mở rộng đợt 4 năm 2026", "health", "phong-vhxh", "finished", 16, 5, True),
    (
        5,
        "V/v kiểm tra an toàn thực phẩm bếp ăn tập thể trường học",
        "health",
        "phong-vhxh",
        "in_process",
        4,
        5,
        True,
    ),
    (6, "V/v chuẩn bị cơ sở vật chất cho năm học mới", "education", "phong-vhxh", "finished", 35, 10, True),
    (6, "V/v thống kê trẻ em trong độ tuổi đến trường", "education", "phong-vhxh", "received", 3, 7, True),
    (
        7,
        "V/v triển khai nền tảng định danh điện tử VNeID",
        "administration",
        "ttphvhcc",
        "in_process",
        13,
        10,
        True,
    ),
    (
        7,
        "V/v báo cáo số liệu chuyển đổi số cấp xã tháng 10",
        "administration",
        "van-phong",
        "finished",
        21,
        3,
        True,
    ),
    (8, "V/v bảo đảm an ninh trật tự dịp cuối năm", "security", "cong-an", "in_process", 5, 10, True),
    (8, "V/v cao điểm tấn công, trấn áp tội phạm", "security", "cong-an", "finished", 28, 10, True),
    (8, "V/v tuyên truyền phòng chống lừa đảo qua mạng", "security", "cong-an", "no_action", 8, 0, False),
    (
        0,
        "V/v tổ chức các hoạt động chào mừng ngày Đại đoàn kết toàn dân tộc",
        "culture",
        "phong-vhxh",
        "finished",
        19,
        5,
        True,
    ),
    (
        1,
        "V/v cải cách hành chính và chỉ số hài lòng của người dân",
        "administration",
        "ttphvhcc",
        "received",
        0,
        10,
        True,
    ),
)
# (summary, recipient, domain, drafting agency, state, working days ago, signed, sent electronically)
OUTGOING = (
    (
        "Báo cáo kết quả thực hiện chuyển đổi số tháng 10",
        HN,
        "administration",
        "van-phong",
        "sent",
        18,
        True,
        True,
    ),
    (
        "Báo cáo công tác phòng cháy, chữa cháy",
        "Công an thành phố Hà Nội",
        "security",
        "cong-an",
        "sent",
        17,
        True,
        True,
    ),
    (
        "Kế hoạch tổng vệ sinh môi trường cuối năm",
        "Các thôn",
        "environment",
        "phong-kinh-te",
        "sent",
        12,
        True,
        True,
    ),
    (
        "Tờ trình dự toán ngân sách xã năm 2027",
        "Sở Tài chính thành phố Hà Nội",
        "administration",
        "phong-kinh-te",
        "sent",
        24,
        True,
        False,
    ),
    (
        "Báo cáo đánh giá cán bộ, công chức năm 2026",
        "Sở Nội vụ thành phố Hà Nội",
        "administration",
        "van-phong",
        "sent",
        15,
        True,
        True,
    ),
    (
        "Thông báo lịch tiếp công dân tháng 12",
        "Nhân dân trên địa bàn xã",
        "administration",
        "van-phong",
        "sent",
        6,
        True,
        True,
    ),
    (
        "Báo cáo kết quả tiêm chủng mở rộng",
        "Sở Y tế thành phố Hà Nội",
        "health",
        "phong-vhxh",
        "sent",
        10,
        True,
        True,
    ),
    (
        "Quyết định thành lập đoàn kiểm tra trật tự xây dựng",
        "Phòng Kinh tế",
        "urban",
        "phong-kinh-te",
        "sent",
        8,
        True,
        False,
    ),
    (
        "Báo cáo hiện trạng cầu, cống",
        "Sở Xây dựng thành phố Hà Nội",
        "traffic",
        "phong-kinh-te",
        "sent",
        19,
        False,
        False,
    ),
    (
        "Kế hoạch bảo đảm an ninh trật tự dịp Tết",
        "Công an xã, các thôn",
        "security",
        "cong-an",
        "signed",
        2,
        True,
        False,
    ),
    (
        "Báo cáo rà soát đất công",
        "Sở Nông nghiệp và Môi trường thành phố Hà Nội",
        "environment",
        "phong-kinh-te",
        "signed",
        1,
        True,
        False,
    ),
    (
        "Giấy mời họp giao ban tháng 12",
        "Các cơ quan, đơn vị",
        "administration",
        "van-phong",
        "drafted",
        0,
        False,
        False,
    ),
    (
        "Báo cáo kết quả giải quyết thủ tục hành chính quý IV",
        HN,
        "administration",
        "ttphvhcc",
        "drafted",
        1,
        False,
        False,
    ),
    (
        "Công văn đề nghị hỗ trợ kinh phí sửa chữa trường mầm non",
        "Sở Giáo dục và Đào tạo thành phố Hà Nội",
        "education",
        "phong-vhxh",
        "sent",
        26,
        True,
        True,
    ),
    (
        "Báo cáo tình hình dịch bệnh gia súc, gia cầm",
        "Sở Nông nghiệp và Môi trường thành phố Hà Nội",
        "environment",
        "phong-kinh-te",
        "sent",
        14,
        True,
        True,
    ),
    (
        "Kế hoạch tổ chức Ngày hội Đại đoàn kết",
        "Ban công tác Mặt trận các thôn",
        "culture",
        "phong-vhxh",
        "sent",
        21,
        True,
        True,
    ),
)


def _back(calendar: WorkCalendar, today: date, days: int) -> date:
    day, left = today, days
    while left > 0:
        day -= timedelta(days=1)
        if calendar.is_working_day(day):
            left -= 1
    return day


def _forward(calendar: WorkCalendar, day: date, days: int) -> date:
    while days > 0:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            days -= 1
    return day


def seed_edocuments(db: Session, now: datetime | None = None) -> int:
    """The commune's register; returns how many documents were made."""
    now = now or utcnow()
    unit = db.scalar(select(Unit).where(Unit.code == "00664"))
    if unit is None:
        return 0
    agencies = {a.code: a.id for a in db.scalars(select(Agency))}
    calendar = WorkCalendar()
    today = now.astimezone(VN_TZ).date()
    rows: list[EDocument] = []
    for n, (issuer, summary, domain, agency, state, ago, given, signed) in enumerate(INCOMING, start=1):
        dated = _back(calendar, today, ago)
        deadline = end_of_day(calendar, _forward(calendar, dated, given)) if given else None
        finished = None
        if state == "finished":  # two of them late
            late = n % 4 == 2
            done_day = _forward(calendar, dated, given + 2 if late else max(given - 1, 1))
            finished = min(end_of_day(calendar, done_day), now - timedelta(hours=1))
        rows.append(
            EDocument(
                unit_id=unit.id,
                direction="incoming",
                number=f"{100 + 7 * n}/{SYMBOLS[issuer]}",
                document_date=dated,
                issuer=ISSUERS[issuer],
                summary=summary,
                domain=domain,
                handler_agency_id=agencies.get(agency),
                deadline_at=deadline,
                state=state,
                finished_at=finished,
                digitally_signed=signed,
                sent_electronically=False,
                external_id=f"QLVB-DEN-2026-{n:04d}",
            )
        )
    for n, (summary, to, domain, agency, state, ago, signed, electronic) in enumerate(OUTGOING, start=1):
        dated = _back(calendar, today, ago)
        rows.append(
            EDocument(
                unit_id=unit.id,
                direction="outgoing",
                number=f"{200 + 3 * n}/UBND-VP",
                document_date=dated,
                issuer="UBND xã Đại Thanh",
                summary=f"{summary} (gửi {to})",
                domain=domain,
                handler_agency_id=agencies.get(agency),
                deadline_at=None,
                state=state,
                finished_at=min(end_of_day(calendar, dated), now - timedelta(hours=1))
                if state == "sent"
                else None,
                digitally_signed=signed and state != "drafted",
                sent_electronically=electronic and state == "sent",
                external_id=f"QLVB-DI-2026-{n:04d}",
            )
        )
    db.add_all(rows)
    db.flush()
    return len(rows)

# ruff: noqa: E501  (the stories are data: one sentence a line reads better than wrapped strings)
"""The demo's press and social-media monitoring: three watch topics of the commune and a dozen local stories
(written for the demo, about the demo's synthetic hamlets) read through the real pipeline, so that the items
get their places on the map, their topics and their sentiment."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy.orm import Session

from toancanh.core.auth.scope import Principal
from toancanh.core.db import utcnow
from toancanh.core.units import Unit
from toancanh.modules.media import pipeline, service
from toancanh.modules.media.feeds import Story
from toancanh.modules.media.schemas import TopicIn

TOPICS = (
    ("ngap-ung", "Ngập úng", '"ngập" OR "úng" OR "triều cường"'),
    ("rac-thai", "Rác thải, môi trường", '"rác" OR "ô nhiễm" OR "mùi hôi"'),
    ("an-ninh", "An ninh trật tự", '"trộm" OR "đánh nhau" OR "gây rối"'),
)
# (hours ago, title, text): each names a hamlet of the demo, so the gazetteer puts it on the map
STORIES = (
    (
        3,
        "Mưa lớn gây ngập sâu tại Thôn Tả Thanh Oai",
        "Sau trận mưa lớn chiều qua, nhiều tuyến đường ở Thôn Tả Thanh Oai ngập sâu, người dân bức xúc vì nước rút chậm.",
    ),
    (
        5,
        "Bãi rác tự phát gây ô nhiễm ở Thôn Hữu Lê",
        "Người dân phản ánh bãi rác tự phát cạnh kênh ở Thôn Hữu Lê bốc mùi hôi, ô nhiễm nghiêm trọng.",
    ),
    (
        8,
        "Thôn Yên Ngưu ra quân dọn vệ sinh môi trường",
        "Đoàn thanh niên Thôn Yên Ngưu ra quân thu gom rác, trồng cây xanh, được bà con hoan nghênh.",
    ),
    (
        12,
        "Công an xã bắt đối tượng trộm xe máy tại Tổ dân phố Kiến Hưng",
        "Công an xã Đại Thanh nhanh chóng bắt giữ đối tượng trộm xe máy tại Tổ dân phố Kiến Hưng, người dân an tâm.",
    ),
    (
        20,
        "Đường vào Thôn Huỳnh Cung xuống cấp, ngập úng khi mưa",
        "Tuyến đường vào Thôn Huỳnh Cung xuống cấp, nhiều ổ gà, mỗi khi mưa lại ngập úng, người dân đi lại khó khăn.",
    ),
    (
        26,
        "Thôn Vĩnh Ninh khánh thành nhà văn hóa mới",
        "Nhà văn hóa Thôn Vĩnh Ninh được khánh thành, là nơi sinh hoạt cộng đồng khang trang, người dân rất vui mừng.",
    ),
    (
        30,
        "Nhóm thanh niên gây rối trật tự đêm khuya ở Thôn Tự Khoát",
        "Người dân Thôn Tự Khoát phản ánh nhóm thanh niên tụ tập, gây rối trật tự đêm khuya.",
    ),
    (
        40,
        "Triều cường, nước kênh dâng cao ở Thôn Quỳnh Đô",
        "Nước kênh tiêu dâng cao, nguy cơ ngập các ruộng rau ở Thôn Quỳnh Đô, xã đã cho vận hành trạm bơm.",
    ),
    (
        52,
        "Tổ dân phố Văn Điển hoàn thành lắp camera an ninh",
        "Tổ dân phố Văn Điển hoàn thành lắp đặt camera an ninh tại các ngõ, góp phần giữ gìn an ninh trật tự.",
    ),
    (
        60,
        "Rác thải ùn ứ tại chợ Thôn Siêu Quần",
        "Rác thải tại chợ Thôn Siêu Quần ùn ứ nhiều ngày chưa được thu gom, gây mùi hôi khó chịu.",
    ),
)


def seed_media(s: Session, commune: Unit, principal: Principal) -> int:
    """Topics and stories of the demo commune; returns how many items were read."""
    for code, name, expression in TOPICS:
        service.create_topic(
            s, principal, TopicIn(code=code, name=name, expression=expression, unit_id=commune.id)
        )
    now = utcnow()
    stories = [
        Story(
            url=f"manual:demo-{i}",
            title=title,
            text=text,
            author="Cộng tác viên",
            published_at=now - timedelta(hours=h),
        )
        for i, (h, title, text) in enumerate(STORIES)
    ]
    out = pipeline.ingest(
        s,
        stories,
        unit_id=commune.id,
        domain=None,
        source_id=None,
        source_kind="manual",
        holder=SimpleNamespace(),
    )
    return len(out.new)

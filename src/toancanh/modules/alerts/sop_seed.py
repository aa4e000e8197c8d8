"""The built-in response procedures (quy trình ứng phó mẫu) a commune starts with; administrators adapt them.

Minutes count from the start of the run (when the incident opens). They follow the usual practice of
commune IOCs: verify within minutes, call the professional force (114 for fire and rescue) at once, report
to the commune chairman, then act on the ground under the "four on-the-spot" motto (bốn tại chỗ: command,
forces, means and logistics on the spot).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.modules.alerts import sop
from toancanh.modules.alerts.models import SopTemplate


def _step(key: str, vi: str, en: str, role: str, minutes: int, action: str) -> dict[str, Any]:
    return {"key": key, "title_vi": vi, "title_en": en, "role": role, "minutes": minutes, "action": action}


BUILT_IN: list[dict[str, Any]] = [
    {
        "code": "sop-fire",
        "name": "Ứng phó cháy",
        "name_en": "Fire response",
        "incident_type": "fire",
        "steps": [
            _step(
                "check_camera",
                "Kiểm tra camera gần nhất để xác minh đám cháy",
                "Check the nearest camera to confirm the fire",
                "operator",
                2,
                "check",
            ),
            _step(
                "call_114",
                "Gọi 114 báo Cảnh sát PCCC và CNCH",
                "Call 114 (fire and rescue police)",
                "operator",
                3,
                "call",
            ),
            _step(
                "evacuate_school_kitchen",
                "Nếu ở trường học: sơ tán bếp ăn, học sinh và báo Hiệu trưởng",
                "At a school: evacuate the kitchen and pupils, notify the principal",
                "operator",
                5,
                "notify",
            ),
            _step(
                "notify_chairman",
                "Chủ tịch UBND xã nắm tình hình và chỉ đạo",
                "The commune chairman is informed and takes command",
                "leader",
                10,
                "notify",
            ),
            _step(
                "dispatch_militia",
                "Điều động dân quân, tổ bảo vệ an ninh trật tự cơ sở tới hiện trường",
                "Dispatch the commune militia and security team",
                "operator",
                10,
                "dispatch",
            ),
            _step(
                "confirm_out",
                "Xác nhận đám cháy đã được dập tắt, báo cáo thiệt hại",
                "Confirm the fire is out and report the damage",
                "agency_staff",
                120,
                "check",
            ),
        ],
    },
    {
        "code": "sop-flood",
        "name": "Ứng phó ngập lụt, nước dâng",
        "name_en": "Flood and rising water response",
        "incident_type": "flood",
        "steps": [
            _step(
                "check_sensors",
                "Kiểm tra cảm biến mực nước và camera khu vực",
                "Check the water-level sensors and cameras of the area",
                "operator",
                5,
                "check",
            ),
            _step(
                "warn_residents",
                "Cảnh báo người dân qua hệ thống loa truyền thanh",
                "Warn residents over the public loudspeakers",
                "operator",
                15,
                "inform_public",
            ),
            _step(
                "notify_chairman",
                "Báo cáo Chủ tịch UBND xã, đề xuất phương án",
                "Report to the commune chairman with a proposed plan",
                "leader",
                15,
                "notify",
            ),
            _step(
                "dispatch_rescue",
                "Điều động lực lượng cứu hộ, cứu nạn và phương tiện",
                "Dispatch the rescue team and boats",
                "operator",
                30,
                "dispatch",
            ),
            _step(
                "open_evacuation_point",
                "Mở điểm sơ tán, bố trí nơi ở tạm, nước uống, lương thực",
                "Open the evacuation point with shelter, water and food",
                "leader",
                60,
                "other",
            ),
            _step(
                "damage_report",
                "Thống kê thiệt hại và báo cáo cấp trên",
                "Count the damage and report upwards",
                "operator",
                1440,
                "other",
            ),
        ],
    },
    {
        "code": "sop-air-quality",
        "name": "Ứng phó ô nhiễm không khí",
        "name_en": "Air pollution response",
        "incident_type": "air_quality",
        "steps": [
            _step(
                "check_readings",
                "Kiểm tra số liệu cảm biến và nguồn phát thải lân cận",
                "Check the sensor readings and nearby sources",
                "operator",
                15,
                "check",
            ),
            _step(
                "notify_schools",
                "Thông báo cho các trường học hạn chế hoạt động ngoài trời",
                "Tell the schools to limit outdoor activities",
                "operator",
                30,
                "notify",
            ),
            _step(
                "advise_public",
                "Khuyến cáo người dân, nhất là người già, trẻ em hạn chế ra ngoài, đeo khẩu trang",
                "Advise residents, above all the elderly and children, to stay in and wear masks",
                "operator",
                60,
                "inform_public",
            ),
            _step(
                "notify_leader",
                "Báo cáo lãnh đạo UBND xã",
                "Report to the commune leaders",
                "leader",
                120,
                "notify",
            ),
            _step(
                "inspect_source",
                "Cử cán bộ môi trường kiểm tra nguồn gây ô nhiễm (đốt rơm rạ, rác thải)",
                "Send environment staff to inspect the source (straw or waste burning)",
                "agency_staff",
                240,
                "dispatch",
            ),
        ],
    },
    {
        "code": "sop-device",
        "name": "Xử lý thiết bị mất kết nối",
        "name_en": "Offline camera or sensor",
        "incident_type": "device",
        "steps": [
            _step(
                "check_power_network",
                "Kiểm tra nguồn điện và đường truyền mạng của thiết bị",
                "Check the device's power and network link",
                "operator",
                30,
                "check",
            ),
            _step(
                "dispatch_technician",
                "Cử kỹ thuật viên đến kiểm tra, sửa chữa",
                "Send a technician to inspect and repair",
                "operator",
                240,
                "dispatch",
            ),
            _step(
                "confirm_online",
                "Xác nhận thiết bị đã hoạt động trở lại",
                "Confirm the device is back online",
                "operator",
                1440,
                "check",
            ),
        ],
    },
    {
        "code": "sop-weather",
        "name": "Ứng phó cảnh báo thời tiết nguy hiểm",
        "name_en": "Dangerous weather warning response",
        "incident_type": "weather",
        "steps": [
            _step(
                "review_warning",
                "Xem bản tin cảnh báo, xác định khu vực bị ảnh hưởng",
                "Read the warning and find the areas at risk",
                "operator",
                15,
                "check",
            ),
            _step(
                "notify_chairman",
                "Báo cáo Chủ tịch UBND xã, đề xuất phương án ứng phó",
                "Report to the commune chairman with a response plan",
                "leader",
                30,
                "notify",
            ),
            _step(
                "inform_public",
                "Thông báo cho người dân qua loa truyền thanh, tin nhắn, mạng xã hội",
                "Inform the public by loudspeaker, text message and social media",
                "operator",
                60,
                "inform_public",
            ),
            _step(
                "preposition_forces",
                "Bố trí sẵn lực lượng, phương tiện theo phương châm bốn tại chỗ",
                "Pre-position forces and equipment (four on-the-spot)",
                "operator",
                180,
                "dispatch",
            ),
            _step(
                "check_vulnerable",
                "Rà soát hộ dân vùng trũng, nhà yếu, tàu thuyền; sẵn sàng sơ tán",
                "Check low-lying households, weak houses and boats; be ready to evacuate",
                "agency_staff",
                360,
                "check",
            ),
            _step(
                "after_report",
                "Báo cáo tình hình khi thời tiết nguy hiểm đã qua",
                "Report once the dangerous weather has passed",
                "operator",
                2880,
                "other",
            ),
        ],
    },
]


def ensure_sop_templates(db: Session) -> int:
    """Create the built-in procedures that are missing; returns how many were created.

    A built-in procedure is skipped when its code exists (it may have been edited) or when another active
    procedure already covers its incident type (the administrators' own).
    """
    codes = set(db.scalars(select(SopTemplate.code)))
    types = set(db.scalars(select(SopTemplate.incident_type).where(SopTemplate.active.is_(True))))
    created = 0
    for spec in BUILT_IN:
        if spec["code"] in codes or spec["incident_type"] in types:
            continue
        sop.create_template(db, None, spec)
        created += 1
    return created

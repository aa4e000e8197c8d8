"""What the connector brings on first start: the information-security response procedure (*quy trình ứng
cứu sự cố an toàn thông tin*) and three default alert rules (as data, editable on the rules page).

Both are created once, when missing (by code; the procedure also when no active procedure covers the
incident type `infosec`), so administrators' edits are never overwritten.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.connectors.siem.const import EVENT_DOMAIN, INCIDENT_TYPE, SOURCE
from toancanh.connectors.siem.mapping import default_unit_id
from toancanh.modules.alerts import service, sop
from toancanh.modules.alerts.models import AlertRule, SopTemplate


def _step(key: str, vi: str, en: str, role: str, minutes: int, action: str) -> dict[str, Any]:
    return {"key": key, "title_vi": vi, "title_en": en, "role": role, "minutes": minutes, "action": action}


SOP: dict[str, Any] = {
    "code": "sop-infosec",
    "name": "Ứng cứu sự cố an toàn thông tin",
    "name_en": "Information security incident response",
    "incident_type": INCIDENT_TYPE,
    "steps": [
        _step(
            "xac_minh",
            "Xác minh cảnh báo: đối chiếu nhật ký gốc, loại trừ báo động giả",
            "Verify the alert against the raw logs; rule out a false positive",
            "operator",
            15,
            "check",
        ),
        _step(
            "danh_gia",
            "Đánh giá mức độ, phạm vi: máy, dịch vụ, tài khoản, dữ liệu bị ảnh hưởng",
            "Assess severity and scope: affected hosts, services, accounts and data",
            "operator",
            30,
            "check",
        ),
        _step(
            "co_lap",
            "Cô lập máy bị ảnh hưởng: ngắt mạng, chặn địa chỉ nguồn trên tường lửa, khóa tài khoản",
            "Isolate the host: disconnect it, block the source address at the firewall, lock accounts",
            "agency_staff",
            60,
            "dispatch",
        ),
        _step(
            "bao_lanh_dao",
            "Báo cáo lãnh đạo đơn vị và đội ứng cứu sự cố của tỉnh",
            "Inform the unit's leader and the provincial incident response team",
            "leader",
            60,
            "notify",
        ),
        _step(
            "thu_thap_chung_cu",
            "Thu thập, bảo toàn chứng cứ: nhật ký, ảnh bộ nhớ/ổ đĩa, mẫu mã độc (ghi mã băm SHA-256)",
            "Collect and preserve evidence: logs, memory and disk images, samples (record SHA-256 hashes)",
            "agency_staff",
            240,
            "check",
        ),
        _step(
            "khac_phuc",
            "Khắc phục: gỡ mã độc, vá lỗ hổng, đổi mật khẩu, khôi phục từ bản sao lưu sạch",
            "Remediate: remove malware, patch, reset passwords, restore from a clean backup",
            "agency_staff",
            1440,
            "other",
        ),
        _step(
            "bao_cao",
            "Báo cáo sự cố theo quy định tới cơ quan chuyên trách an toàn thông tin "
            "và cơ quan điều phối quốc gia",
            "Report the incident as the regulations require, "
            "to the provincial and national coordinating bodies",
            "leader",
            1440,
            "notify",
        ),
        _step(
            "rut_kinh_nghiem",
            "Theo dõi sau khắc phục, rút kinh nghiệm, cập nhật quy tắc cảnh báo",
            "Monitor after remediation, review lessons learnt, update the alert rules",
            "operator",
            4320,
            "other",
        ),
    ],
}

_INCIDENT = {"type": INCIDENT_TYPE, "group_within_s": 3600, "group_radius_m": 1000.0}

RULES: list[dict[str, Any]] = [
    {
        "code": "infosec-high",
        "name": "Cảnh báo an toàn thông tin mức cao trở lên",
        "name_en": "Information security alert, high or above",
        "description": "Mọi cảnh báo SIEM/tường lửa mức cao (severe) hoặc rất cao (extreme)",
        "when": {
            "type": "event",
            "match": {"category": "infosec.*", "source": SOURCE, "min_severity": "severe"},
        },
        "alert": {
            "category": "infosec.high",
            "severity": "severe",
            "urgency": "immediate",
            "certainty": "likely",
            "title_vi": "ATTT mức cao: {asset}",
            "title_en": "Infosec, high: {asset}",
            "cooldown_s": 600,
            "incident": _INCIDENT,
        },
    },
    {
        "code": "infosec-brute-force",
        "name": "Dò mật khẩu: nhiều lần đăng nhập thất bại từ một địa chỉ",
        "name_en": "Brute force: repeated failed logins from one address",
        "description": "5 lần đăng nhập thất bại từ cùng một địa chỉ nguồn (srcip) trong 5 phút, "
        "trong một đơn vị",
        "when": {
            "type": "event_count",
            "match": {"category": "infosec.auth_failure", "source": SOURCE},
            "k": 5,
            "within_s": 300,
            "per": "unit",
            "per_payload": "srcip",
        },
        "alert": {
            "category": "infosec.brute_force",
            "severity": "severe",
            "urgency": "immediate",
            "certainty": "likely",
            "title_vi": "Dò mật khẩu: {count} lần đăng nhập thất bại từ một địa chỉ",
            "title_en": "Brute force: {count} failed logins from one address",
            "cooldown_s": 900,
            "incident": _INCIDENT,
        },
    },
    {
        "code": "infosec-malware",
        "name": "Phát hiện mã độc",
        "name_en": "Malware detected",
        "when": {
            "type": "event",
            "match": {"category": "infosec.malware", "source": SOURCE, "min_severity": "moderate"},
        },
        "alert": {
            "category": "infosec.malware",
            "severity": "severe",
            "urgency": "immediate",
            "certainty": "likely",
            "title_vi": "Mã độc: {asset}",
            "title_en": "Malware: {asset}",
            "cooldown_s": 600,
            "incident": _INCIDENT,
        },
    },
]


def ensure_seed(db: Session) -> dict[str, int]:
    """Create the procedure and the default rules that are missing; how many of each were created."""
    created = {"sops": 0, "rules": 0}
    has_sop = db.scalar(select(SopTemplate.id).where(SopTemplate.code == SOP["code"])) is not None
    covered = (
        db.scalar(
            select(SopTemplate.id).where(
                SopTemplate.incident_type == INCIDENT_TYPE, SopTemplate.active.is_(True)
            )
        )
        is not None
    )
    if not has_sop and not covered:
        sop.create_template(db, None, SOP)
        created["sops"] = 1
    unit_id = default_unit_id(db, "")
    if unit_id is None:
        return created  # no units yet: the rules come on a later start
    codes = set(db.scalars(select(AlertRule.code).where(AlertRule.code.in_([r["code"] for r in RULES]))))
    for rule in RULES:
        if rule["code"] in codes:
            continue
        service.save_rule(
            db, None, rule, unit_id=unit_id, domain=EVENT_DOMAIN, comment="mặc định / default (siem)"
        )
        created["rules"] += 1
    return created

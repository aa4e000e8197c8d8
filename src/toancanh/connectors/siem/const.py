"""Constants of the SIEM connector: limits, the severity scales and how each maps to CAP, categories."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "siem"
LOGGER: Final = "toancanh.connectors.siem"
EVENT_DOMAIN: Final = "infosec"  # the IOC domain (lĩnh vực) of every event this connector records
SOURCE: Final = "siem"  # Event.source

MAX_LINE_BYTES: Final = 64 * 1024  # a syslog line, a CEF record or one Wazuh alert
MAX_RAW_KEPT: Final = 4000  # characters of the raw line kept in the event's payload (the evidence)
MAX_POST_BYTES: Final = 8 * 1024 * 1024
MAX_POST_ITEMS: Final = 5000
MAX_EXTENSION_KEYS: Final = 100
MAX_TCP_CLIENTS: Final = 256
TCP_IDLE_S: Final = 300.0

QUEUE_MAX: Final = 20_000  # parsed events waiting for the database; more are dropped (counted)
BATCH_MAX: Final = 1000
BATCH_WINDOW_S: Final = 0.05
LOG_EVERY_S: Final = 10.0
ASSET_REFRESH_S: Final = 60.0
TAIL_POLL_S: Final = 0.5

# Malformed input, by reason: (Vietnamese, English). Counted as `malformed:<reason>`.
REASONS: Final = {
    "too_long": ("Dòng quá dài", "Line too long"),
    "encoding": ("Không phải UTF-8", "Not UTF-8"),
    "empty": ("Dòng rỗng", "Empty line"),
    "pri": ("Thiếu hoặc sai <PRI> của syslog", "Missing or invalid syslog <PRI>"),
    "header": ("Phần đầu syslog không hợp lệ", "Invalid syslog header"),
    "timestamp": ("Thời gian không hợp lệ", "Invalid timestamp"),
    "structured_data": ("STRUCTURED-DATA không hợp lệ", "Invalid STRUCTURED-DATA"),
    "cef_header": ("Phần đầu CEF thiếu trường", "CEF header lacks fields"),
    "cef_version": ("Phiên bản CEF không hỗ trợ", "Unsupported CEF version"),
    "cef_severity": ("Mức độ CEF không hợp lệ", "Invalid CEF severity"),
    "cef_extension": ("Phần mở rộng CEF không hợp lệ", "Invalid CEF extension"),
    "json": ("JSON không hợp lệ", "Malformed JSON"),
    "wazuh": ("Thiếu hoặc sai trường của cảnh báo Wazuh", "Missing or invalid Wazuh alert fields"),
    "framing": ("Khung TCP (octet counting) không hợp lệ", "Invalid TCP octet-counting frame"),
}

# Severity scales -> CAP severity (lower case, as events store it).
# Wazuh rule.level 0-15: 0-4 low (system notices, successful logins), 5-9 user errors and first-seen
# events, 10-11 repeated errors (brute force) and integrity changes, 12-15 high-importance events and attacks.
WAZUH_LEVELS: Final = ((4, "minor"), (9, "moderate"), (11, "severe"), (15, "extreme"))
# CEF 0-10 as ArcSight groups it: 0-3 Low, 4-6 Medium, 7-8 High, 9-10 Very-High.
CEF_LEVELS: Final = ((3, "minor"), (6, "moderate"), (8, "severe"), (10, "extreme"))
CEF_WORDS: Final = {
    "low": "minor",
    "medium": "moderate",
    "high": "severe",
    "very-high": "extreme",
    "veryhigh": "extreme",
    "very high": "extreme",
    "unknown": "unknown",
}
# syslog severity 0-7 (emerg, alert, crit, err, warning, notice, info, debug)
SYSLOG_SEVERITY: Final = ("extreme", "extreme", "severe", "severe", "moderate", "minor", "minor", "minor")
URGENCY_BY_SEVERITY: Final = {
    "extreme": "immediate",
    "severe": "immediate",
    "moderate": "expected",
    "minor": "future",
    "unknown": "unknown",
}

# Event categories (infosec.<kind>) and their labels.
KINDS: Final = {
    "auth_failure": ("Đăng nhập thất bại", "Failed login"),
    "brute_force": ("Dò mật khẩu", "Brute force"),
    "malware": ("Mã độc", "Malware"),
    "intrusion": ("Xâm nhập", "Intrusion"),
    "web_attack": ("Tấn công web", "Web attack"),
    "dos": ("Từ chối dịch vụ", "Denial of service"),
    "recon": ("Dò quét", "Reconnaissance"),
    "integrity": ("Thay đổi tệp hệ thống", "File integrity"),
    "policy": ("Vi phạm chính sách", "Policy violation"),
    "firewall": ("Tường lửa chặn", "Firewall block"),
    "vulnerability": ("Lỗ hổng", "Vulnerability"),
    "alert": ("Cảnh báo khác", "Other alert"),
}
SEVERITY_LABELS: Final = {
    "extreme": ("Rất cao", "Very high"),
    "severe": ("Cao", "High"),
    "moderate": ("Trung bình", "Medium"),
    "minor": ("Thấp", "Low"),
    "unknown": ("Chưa rõ", "Unknown"),
}
INCIDENT_TYPE: Final = "infosec"

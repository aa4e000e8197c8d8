"""Constants of the MQTT connector: the topic convention, batching, limits and the reasons for rejecting."""

from __future__ import annotations

import re
from typing import Final

DOMAIN: Final = "mqtt"
LOGGER: Final = "toancanh.connectors.mqtt"

# <prefix>/<device code>/<kind>; the prefix is settings.mqtt_topic_prefix ("toancanh/v1")
KINDS: Final = ("readings", "heartbeat", "alarm", "status")
DEVICE_CODE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
HEARTBEAT_MEASURES: Final = ("battery", "rssi", "uptime_s")

MAX_PAYLOAD_BYTES: Final = 256 * 1024
MAX_READINGS_PER_MESSAGE: Final = 1000
MAX_ALARM_ID: Final = 100

# A batch closes 50 ms after its first message arrived, or at 5,000 messages; one database write per batch.
BATCH_WINDOW_S: Final = 0.05
BATCH_MAX: Final = 5000

# MQTT v5 session: kept by the broker for a week while we are away, with its queued QoS 1 messages.
SESSION_EXPIRY_S: Final = 7 * 86_400
# How many un-acknowledged messages the broker may have in flight to us (MQTT v5 Receive Maximum). Messages
# are acknowledged after their batch is committed, so this must hold a few batches: 4 x BATCH_MAX.
RECEIVE_MAXIMUM: Final = 20_000
KEEPALIVE_S: Final = 30
CONNECT_TIMEOUT_S: Final = 10.0
DRAIN_TIMEOUT_S: Final = 5.0  # at shutdown, time given to store and acknowledge what was received

ADMISSION_TTL_S: Final = 30.0  # how long a device's "may report" answer is cached
ADMISSION_CACHE_MAX: Final = 50_000
LOG_EVERY_S: Final = 10.0  # at most one log line per rejection reason in this time

# Counters (Coordinator.counters): received, batches, stored_readings, stored_events, duplicate_alarms,
# rejected:<reason> (messages; for "reading", values), failed_batches, connections
REASONS: Final = {
    "topic": ("Chủ đề không theo quy ước", "Topic outside the convention"),
    "too_large": ("Bản tin quá lớn", "Payload too large"),
    "malformed": ("JSON không hợp lệ", "Malformed JSON"),
    "invalid": ("Nội dung sai kiểu hoặc thiếu trường", "Wrong types or missing fields"),
    "unknown_device": ("Thiết bị không tồn tại", "Unknown device"),
    "disabled": ("Thông tin đăng nhập của thiết bị đã bị khóa", "The device's credentials are disabled"),
    "reading": ("Số liệu bị từ chối", "Reading rejected"),
    "alarm": ("Báo động bị từ chối", "Alarm rejected"),
}

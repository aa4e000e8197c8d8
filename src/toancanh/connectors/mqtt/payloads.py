"""Reading the topic and payload of one MQTT message (see docs/mqtt.md for the convention).

`parse()` turns a message into what the IOC stores: readings for the telemetry path, an event for an alarm,
or a presence (status, bare heartbeat). Whatever breaks the convention raises `Rejected` with a reason from
`const.REASONS`; such a message will never become valid, so the coordinator logs it, counts it and
acknowledges it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from toancanh.connectors.mqtt.const import (
    DEVICE_CODE,
    KINDS,
    MAX_ALARM_ID,
    MAX_PAYLOAD_BYTES,
    MAX_READINGS_PER_MESSAGE,
)
from toancanh.core.timeseries import from_ms
from toancanh.modules.alerts.devices import Presence
from toancanh.modules.alerts.events import EventIn
from toancanh.modules.alerts.telemetry import parse_ts

NUMBER = (int, float)


class Rejected(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Parsed:
    code: str
    kind: str
    readings: list[dict[str, Any]] | None = None
    alarm: EventIn | None = None
    presence: Presence | None = None


@functools.lru_cache(maxsize=65_536)  # devices x kinds repeat all day; a bad topic is not cached (it raises)
def split_topic(prefix: str, topic: bytes) -> tuple[str, str]:
    """(device code, kind) of `<prefix>/<code>/<kind>`."""
    try:
        text = topic.decode()
    except UnicodeDecodeError:
        raise Rejected("topic", "not UTF-8") from None
    start = prefix + "/"
    parts = text[len(start) :].split("/") if text.startswith(start) else []
    if len(parts) != 2 or parts[1] not in KINDS or not DEVICE_CODE.fullmatch(parts[0]):
        raise Rejected("topic", text[:200])
    return parts[0], parts[1]


def parse(prefix: str, topic: bytes, payload: bytes, now: datetime, now_ms: int) -> Parsed | None:
    """What one message says; None for an empty status (a retained status being cleared)."""
    code, kind = split_topic(prefix, topic)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Rejected("too_large", f"{len(payload)} bytes")
    if kind == "status":
        presence = _status(code, payload, now)
        return Parsed(code, kind, presence=presence) if presence else None
    data = _json(payload) if payload.strip() or kind != "heartbeat" else {}
    if kind == "readings":
        return Parsed(code, kind, readings=_readings(code, data))
    if kind == "heartbeat":
        return _heartbeat(code, data, now_ms)
    return Parsed(code, kind, alarm=_alarm(code, data, now_ms))


def _json(payload: bytes) -> Any:
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise Rejected("malformed", str(exc)[:120]) from None


def _readings(code: str, data: Any) -> list[dict[str, Any]]:
    objs = [data] if isinstance(data, dict) else data
    if not isinstance(objs, list) or not 0 < len(objs) <= MAX_READINGS_PER_MESSAGE:
        raise Rejected("invalid", f"readings: an object or an array of 1-{MAX_READINGS_PER_MESSAGE} objects")
    out = []
    for obj in objs:
        values = obj.get("values") if isinstance(obj, dict) else None
        if not isinstance(values, dict) or not values:
            raise Rejected("invalid", 'readings: each needs "values": {"<measure>": <number>}')
        out.append({"device": code, "ts": obj.get("ts"), "values": values})
    return out


def _heartbeat(code: str, data: Any, now_ms: int) -> Parsed:
    if not isinstance(data, dict):
        raise Rejected("invalid", "heartbeat: a JSON object")
    ts = parse_ts(data.get("ts"), now_ms)
    if ts is None:
        raise Rejected("invalid", "heartbeat: ts is epoch ms or ISO 8601 with a zone")
    values = {k: v for k, v in data.items() if k != "ts" and type(v) in NUMBER}
    if values:  # battery, rssi, uptime_s...: readings like any other, which also mark the device seen
        return Parsed(code, "heartbeat", readings=[{"device": code, "ts": data.get("ts"), "values": values}])
    return Parsed(code, "heartbeat", presence=Presence(code, True, from_ms(min(ts, now_ms))))


def _text(data: dict[str, Any], key: str, default: str = "", *, required: bool = False) -> str:
    value = data.get(key, None if required else default)
    if not isinstance(value, str):
        raise Rejected("invalid", f"alarm: {key} must be a string")
    return value


def _alarm(code: str, data: Any, now_ms: int) -> EventIn:
    if not isinstance(data, dict):
        raise Rejected("invalid", "alarm: a JSON object")
    ident = data.get("id")
    if isinstance(ident, bool) or not isinstance(ident, str | int) or not 0 < len(str(ident)) <= MAX_ALARM_ID:
        raise Rejected("invalid", f'alarm: "id" (the device\'s own alarm id, 1-{MAX_ALARM_ID} characters)')
    ts = parse_ts(data.get("ts"), now_ms)
    if ts is None:
        raise Rejected("invalid", "alarm: ts is epoch ms or ISO 8601 with a zone")
    payload = data.get("payload", {})
    if not isinstance(payload, dict):
        raise Rejected("invalid", "alarm: payload must be an object")
    return EventIn(
        source="sensor",
        category=_text(data, "category", required=True),
        title=_text(data, "title", required=True),
        title_en=_text(data, "title_en"),
        description=_text(data, "description"),
        at=from_ms(ts),
        asset_code=code,
        severity=_text(data, "severity", "unknown"),
        urgency=_text(data, "urgency", "unknown"),
        certainty=_text(data, "certainty", "observed"),
        source_ref=f"{code}:{ident}",  # a redelivered or re-sent alarm is recorded once
        payload=payload,
    )


def _status(code: str, payload: bytes, now: datetime) -> Presence | None:
    text = payload.strip().strip(b'"').lower()
    if not text:
        return None
    if text not in (b"online", b"offline"):
        raise Rejected("invalid", 'status: "online" or "offline"')
    return Presence(code, text == b"online", now)

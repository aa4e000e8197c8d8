"""Reading what security systems send (*đọc cảnh báo từ hệ thống an toàn thông tin*): syslog (RFC 5424 and
RFC 3164), ArcSight CEF (alone or inside syslog) and Wazuh JSON alerts.

Every reader takes one line (or one decoded JSON object) and returns a plain record, or raises `Malformed`
with a reason key from `const.REASONS` and a short detail. Nothing here touches the database or the clock
other than through the `now` it is given, so the readers are cheap to test and to benchmark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson

from toancanh.connectors.siem.const import (
    CEF_LEVELS,
    CEF_WORDS,
    MAX_EXTENSION_KEYS,
    MAX_LINE_BYTES,
    SYSLOG_SEVERITY,
    WAZUH_LEVELS,
)

VIETNAM_TZ = timezone(timedelta(hours=7))
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, start=1)}
_PRI = re.compile(r"<(\d{1,3})>")
_BSD_TS = re.compile(r"([A-Z][a-z]{2}) ([ 0-9][0-9]) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ")
_ISO_START = re.compile(r"\d{4}-\d{2}-\d{2}T")
_TAG = re.compile(r"([^\s:\[\]]{1,48})(?:\[([^\]\s]{1,32})\])?: ?")
_CEF_KEY = re.compile(r"(?:(?<=\s)|^)([A-Za-z0-9_.\[\]-]{1,63})=")
_SD_NAME = re.compile(r'[^\s="\]]{1,32}')
_ESCAPES = {"\\": "\\", "=": "=", "|": "|", "n": "\n", "r": "\r"}


class Malformed(Exception):
    """A line that cannot be read: `reason` is a key of `const.REASONS`, `detail` says where."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def decode(line: bytes) -> str:
    """A received line as text: at most MAX_LINE_BYTES, UTF-8, without its line ending."""
    if len(line) > MAX_LINE_BYTES:
        raise Malformed("too_long", f"{len(line)} bytes")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Malformed("encoding", f"byte {exc.start}") from None
    text = text.rstrip("\r\n\x00")
    if not text.strip():
        raise Malformed("empty")
    return text


# ---------------------------------------------------------------------------------------------- CEF


@dataclass(slots=True)
class Cef:
    version: int
    vendor: str
    product: str
    product_version: str
    signature_id: str
    name: str
    severity_raw: str
    severity: str  # CAP
    level: int | None  # 0-10 when numeric
    extension: dict[str, str] = field(default_factory=dict)


def cef_severity(raw: str) -> tuple[str, int | None]:
    """CEF severity (0-10, or Low/Medium/High/Very-High) as (CAP severity, number or None)."""
    text = raw.strip()
    if text.isdigit():
        n = int(text)
        for top, sev in CEF_LEVELS:
            if n <= top:
                return sev, n
        raise Malformed("cef_severity", f"{text} is not 0-10")
    word = CEF_WORDS.get(text.lower())
    if word is None:
        raise Malformed("cef_severity", text[:20])
    return word, None


def _split_header(text: str) -> tuple[list[str], str]:
    """The seven header fields after "CEF:" (unescaped) and the raw extension."""
    quick = text.split("|", 7)
    if len(quick) == 8 and not any("\\" in f for f in quick[:7]):
        return quick[:7], quick[7]  # no escapes in the header: the common case, at str.split speed
    fields: list[str] = []
    buf: list[str] = []
    i, n = 0, len(text)
    while i < n and len(fields) < 7:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "|\\":
            buf.append(text[i + 1])
            i += 2
            continue
        if c == "|":
            fields.append("".join(buf))
            buf = []
        else:
            buf.append(c)
        i += 1
    if len(fields) < 7:
        raise Malformed("cef_header", f"{len(fields)} of 7 fields")
    return fields, text[i:]


def _unescape_value(value: str) -> str:
    if "\\" not in value:
        return value
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c == "\\" and i + 1 < n:
            nxt = value[i + 1]
            rep = _ESCAPES.get(nxt)
            if rep is not None:
                out.append(rep)
                i += 2
                continue
        out.append(c)
        i += 1
    return "".join(out)


def cef_extension(text: str) -> dict[str, str]:
    """The key=value pairs of a CEF extension: values run to the next ` key=`, `\\=` is a literal '='."""
    text = text.strip()
    if not text:
        return {}
    keys = list(_CEF_KEY.finditer(text))
    if not keys or keys[0].start() != 0:
        raise Malformed("cef_extension", f"no key=value at {text[:30]!r}")
    if len(keys) > MAX_EXTENSION_KEYS:
        raise Malformed("cef_extension", f"more than {MAX_EXTENSION_KEYS} keys")
    out: dict[str, str] = {}
    for k, m in enumerate(keys):
        end = keys[k + 1].start() if k + 1 < len(keys) else len(text)
        out[m.group(1)] = _unescape_value(text[m.end() : end].rstrip(" "))
    return out


def parse_cef(text: str) -> Cef:
    """One CEF record ("CEF:0|vendor|product|version|signature|name|severity|extension")."""
    if not text.startswith("CEF:"):
        raise Malformed("cef_header", "does not start with CEF:")
    fields, ext = _split_header(text[4:])
    version_text = fields[0].strip()
    if version_text not in ("0", "1"):
        raise Malformed("cef_version", version_text[:10])
    if not fields[5].strip():
        raise Malformed("cef_header", "empty name")
    severity, level = cef_severity(fields[6])
    return Cef(
        version=int(version_text),
        vendor=fields[1],
        product=fields[2],
        product_version=fields[3],
        signature_id=fields[4],
        name=fields[5].strip(),
        severity_raw=fields[6].strip(),
        severity=severity,
        level=level,
        extension=cef_extension(ext),
    )


# ---------------------------------------------------------------------------------------------- syslog


@dataclass(slots=True)
class Syslog:
    rfc: str  # "5424" or "3164"
    facility: int
    level: int  # syslog severity 0-7
    at: datetime | None
    hostname: str
    app: str
    procid: str
    msgid: str
    structured: dict[str, dict[str, str]]
    message: str
    cef: Cef | None = None

    @property
    def severity(self) -> str:
        return SYSLOG_SEVERITY[self.level]


def _pri(text: str) -> tuple[int, int]:
    m = _PRI.match(text)
    if m is None:
        raise Malformed("pri", text[:10])
    pri = int(m.group(1))
    if pri > 191 or (len(m.group(1)) > 1 and m.group(1)[0] == "0"):
        raise Malformed("pri", m.group(0))
    return pri, m.end()


def _rfc3339(token: str) -> datetime:
    try:
        value = datetime.fromisoformat(token.replace("z", "Z"))
    except ValueError:
        raise Malformed("timestamp", token[:40]) from None
    if value.tzinfo is None:
        raise Malformed("timestamp", f"{token[:40]} has no time zone")
    return value


def _structured(text: str) -> tuple[dict[str, dict[str, str]], str]:
    """RFC 5424 STRUCTURED-DATA ("-" or [id name="value" ...]...) and what follows it."""
    if text.startswith("-"):
        return {}, text[1:]
    out: dict[str, dict[str, str]] = {}
    i, n = 0, len(text)
    if not text.startswith("["):
        raise Malformed("structured_data", text[:20])
    while i < n and text[i] == "[":
        m = _SD_NAME.match(text, i + 1)
        if m is None:
            raise Malformed("structured_data", "no SD-ID")
        params: dict[str, str] = {}
        i = m.end()
        while True:
            if i >= n:
                raise Malformed("structured_data", "unterminated element")
            if text[i] == "]":
                i += 1
                break
            if text[i] != " ":
                raise Malformed("structured_data", f"unexpected {text[i]!r}")
            p = _SD_NAME.match(text, i + 1)
            if p is None or text[p.end() : p.end() + 2] != '="':
                raise Malformed("structured_data", "bad parameter")
            j = p.end() + 2
            buf: list[str] = []
            while True:
                if j >= n:
                    raise Malformed("structured_data", "unterminated value")
                c = text[j]
                if c == "\\" and j + 1 < n and text[j + 1] in '"\\]':
                    buf.append(text[j + 1])
                    j += 2
                    continue
                if c == '"':
                    break
                buf.append(c)
                j += 1
            params[p.group(0)] = "".join(buf)
            i = j + 1
        out[m.group(0)] = params
    return out, text[i:]


def _nil(field_value: str) -> str:
    return "" if field_value == "-" else field_value


def _rfc5424(text: str, facility: int, level: int) -> Syslog:
    parts = text.split(" ", 5)
    if len(parts) < 6:
        raise Malformed("header", "RFC 5424 header is short")
    ts, host, app, procid, msgid, rest = parts
    at = None if ts == "-" else _rfc3339(ts)
    structured, rest = _structured(rest)
    if rest and not rest.startswith(" "):
        raise Malformed("structured_data", "no space before MSG")
    message = rest[1:].removeprefix("\ufeff")
    return Syslog(
        "5424", facility, level, at, _nil(host), _nil(app), _nil(procid), _nil(msgid), structured, message
    )


def _bsd_time(m: re.Match[str], now: datetime) -> datetime:
    """An RFC 3164 time ("Dec  4 21:00:00"): local time of the sender (Viet Nam), in the year that puts it
    closest to `now` (a December line read in January belongs to last year)."""
    month = _MONTHS.get(m.group(1))
    if month is None:
        raise Malformed("timestamp", m.group(0).strip())
    day, hh, mm, ss = int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5))
    local_now = now.astimezone(VIETNAM_TZ)
    try:
        at = datetime(local_now.year, month, day, hh, mm, ss, tzinfo=VIETNAM_TZ)
    except ValueError:
        raise Malformed("timestamp", m.group(0).strip()) from None
    if at - local_now > timedelta(days=31):
        at = at.replace(year=at.year - 1)
    elif local_now - at > timedelta(days=335):
        at = at.replace(year=at.year + 1)
    return at.astimezone(UTC)


def _rfc3164(text: str, facility: int, level: int, now: datetime) -> Syslog:
    at: datetime | None = None
    m = _BSD_TS.match(text)
    rest = text
    if m is not None:
        at = _bsd_time(m, now)
        rest = text[m.end() :]
    elif _ISO_START.match(text):
        token, _, rest = text.partition(" ")
        at = _rfc3339(token)
    hostname = ""
    if at is not None:  # a header: the host comes next, unless the sender left it out
        host, sep, after = rest.partition(" ")
        if host and not host.startswith("CEF:") and not host.endswith(":") and sep:
            hostname, rest = host, after
    app = procid = ""
    message = rest
    if not rest.startswith("CEF:"):
        t = _TAG.match(rest)
        if t is not None:
            app, procid = t.group(1), t.group(2) or ""
            message = rest[t.end() :]
    return Syslog("3164", facility, level, at, hostname, app, procid, "", {}, message)


def parse_syslog(text: str, now: datetime) -> Syslog:
    """One syslog message (RFC 5424, or RFC 3164 / BSD); CEF in its message is read too."""
    pri, end = _pri(text)
    facility, level = divmod(pri, 8)
    body = text[end:]
    if body[:1].isdigit() and body[1:2] == " ":
        if body[0] != "1":
            raise Malformed("header", f"syslog version {body[0]}")
        msg = _rfc5424(body[2:], facility, level)
    else:
        msg = _rfc3164(body, facility, level, now)
    at = msg.message.find("CEF:")
    if at == 0 or (0 < at <= 64 and msg.message[at - 1] == " "):
        msg.cef = parse_cef(msg.message[at:])
    return msg


# ---------------------------------------------------------------------------------------------- Wazuh


@dataclass(slots=True)
class Wazuh:
    id: str
    at: datetime | None
    level: int
    severity: str  # CAP
    rule_id: str
    description: str
    groups: list[str]
    agent_id: str
    agent_name: str
    agent_ip: str
    srcip: str
    dstip: str
    srcuser: str
    full_log: str
    location: str
    mitre: list[str]


def wazuh_severity(level: int) -> str:
    for top, sev in WAZUH_LEVELS:
        if level <= top:
            return sev
    raise Malformed("wazuh", f"rule.level {level} is not 0-15")


def _text(obj: Any, limit: int = 300) -> str:
    if isinstance(obj, str):
        return obj[:limit]
    if isinstance(obj, int | float) and not isinstance(obj, bool):
        return str(obj)
    return ""


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_wazuh(doc: Any) -> Wazuh:
    """One Wazuh alert (a line of alerts.json, decoded): rule.level, rule.description and the rest."""
    if not isinstance(doc, dict):
        raise Malformed("wazuh", "not a JSON object")
    rule = doc.get("rule")
    if not isinstance(rule, dict):
        raise Malformed("wazuh", "no rule object")
    level = rule.get("level")
    if isinstance(level, str) and level.isdigit():
        level = int(level)
    if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 15:
        raise Malformed("wazuh", f"rule.level {str(level)[:10]} is not 0-15")
    description = _text(rule.get("description"))
    if not description.strip():
        raise Malformed("wazuh", "no rule.description")
    groups = rule.get("groups") or []
    if not isinstance(groups, list):
        raise Malformed("wazuh", "rule.groups is not a list")
    ts = doc.get("timestamp")
    at = None
    if ts is not None:
        if not isinstance(ts, str):
            raise Malformed("timestamp", "timestamp is not a string")
        at = _rfc3339(ts)
    agent = _obj(doc.get("agent"))
    data = _obj(doc.get("data"))
    mitre = _obj(rule.get("mitre"))
    ids = mitre.get("id")
    techniques: list[Any] = ids if isinstance(ids, list) else []
    return Wazuh(
        id=_text(doc.get("id"), 100),
        at=at,
        level=level,
        severity=wazuh_severity(level),
        rule_id=_text(rule.get("id"), 20),
        description=description.strip(),
        groups=[g[:64] for g in groups if isinstance(g, str)][:30],
        agent_id=_text(agent.get("id"), 20),
        agent_name=_text(agent.get("name"), 200),
        agent_ip=_text(agent.get("ip"), 64),
        srcip=_text(data.get("srcip"), 64),
        dstip=_text(data.get("dstip"), 64),
        srcuser=_text(data.get("srcuser") or data.get("dstuser"), 100),
        full_log=_text(doc.get("full_log"), 4000),
        location=_text(doc.get("location"), 300),
        mitre=[t[:20] for t in techniques if isinstance(t, str)][:20],
    )


def wazuh_line(line: bytes) -> Wazuh:
    """One line of alerts.json."""
    text = decode(line)
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise Malformed("json", str(exc)[:80]) from None
    return parse_wazuh(doc)


def syslog_line(line: bytes, now: datetime) -> Syslog:
    """One line received on the syslog listener: syslog (with or without CEF), or a bare CEF record."""
    text = decode(line).lstrip("\ufeff")
    if text.startswith("CEF:"):  # a bare CEF record over TCP, as some collectors forward it
        cef = parse_cef(text)
        return Syslog("none", 1, 5, None, "", "", "", "", {}, text, cef)
    return parse_syslog(text, now)

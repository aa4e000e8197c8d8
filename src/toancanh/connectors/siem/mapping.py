"""From a parsed security alert to an event of the warning center (*sự kiện an toàn thông tin*).

Every event gets `source="siem"`, `domain="infosec"`, a category `infosec.<kind>` (a failed login, brute
force, malware, a web attack...), a CAP severity from the source's own scale, and the raw line in its payload
with its SHA-256 as evidence. The host, IP or Wazuh agent of the alert is matched to an asset (the
`ip`/`hostname` attributes of assets, or the asset code) and so to its unit; an alert of no known asset goes
to the connector's default unit.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from toancanh.connectors.siem.const import (
    EVENT_DOMAIN,
    KINDS,
    MAX_RAW_KEPT,
    SOURCE,
    URGENCY_BY_SEVERITY,
)
from toancanh.connectors.siem.parse import Cef, Syslog, Wazuh
from toancanh.core.assets import Asset
from toancanh.core.units import Unit
from toancanh.modules.alerts.events import EventIn
from toancanh.modules.alerts.models import SEVERITY_RANK

# ---------------------------------------------------------------------------------------------- kinds

_WAZUH_GROUPS: tuple[tuple[str, frozenset[str]], ...] = (
    ("brute_force", frozenset({"authentication_failures", "brute_force"})),
    ("auth_failure", frozenset({"authentication_failed", "invalid_login", "win_authentication_failed"})),
    ("malware", frozenset({"rootcheck", "virustotal", "malware", "yara", "clamd", "trojan"})),
    ("web_attack", frozenset({"attack", "sql_injection", "xss", "web_scan", "appsec"})),
    ("dos", frozenset({"dos", "ddos"})),
    ("recon", frozenset({"recon", "scan", "portscan"})),
    ("intrusion", frozenset({"ids", "suricata", "snort", "exploit_attempt", "intrusion_attempt"})),
    ("integrity", frozenset({"syscheck", "syscheck_file", "syscheck_entry_modified"})),
    ("vulnerability", frozenset({"vulnerability-detector", "vulnerability"})),
    ("firewall", frozenset({"firewall", "firewall_drop", "firewall_block"})),
    ("policy", frozenset({"policy_violation", "sca", "policy_monitoring"})),
)
_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("brute_force", r"brute|password (guess|spray)"),
        (
            "auth_failure",
            r"(fail\w*|invalid|bad)\W+(\w+\W+){0,3}(login|logon|password|auth\w*|user)"
            r"|(login|logon|auth\w*)\W+(fail\w*|refused|denied)",
        ),
        ("malware", r"malware|virus|trojan|ransom\w*|botnet|worm\b|backdoor|\bc2\b"),
        ("web_attack", r"sql.?injection|\bxss\b|cross.site|web attack|directory traversal|\bwaf\b"),
        ("dos", r"\bd?dos\b|syn.?flood|denial of service"),
        ("recon", r"\bscan\w*|reconn?aiss|\bprobe"),
        ("intrusion", r"intrusion|exploit|\bids\b|\bips\b|shellcode"),
        ("vulnerability", r"vulnerab|\bcve-\d"),
        ("firewall", r"\b(deny|denied|drop(ped)?|block(ed)?|reject(ed)?)\b"),
        ("policy", r"policy"),
    )
)
_IP = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_FROM_IP = re.compile(r"\b(?:from|rhost=|src=|client)\s*\[?((?:\d{1,3}\.){3}\d{1,3}|[0-9a-fA-F:]{3,39})\]?")
_USER = re.compile(r"\bfor (?:invalid user )?([^\s]{1,64}) from\b|\buser[= ]([^\s,;]{1,64})")
# CEF full key names (CEF 0 allows both) -> the short ones read here
_CEF_LONG = {
    "sourceAddress": "src",
    "destinationAddress": "dst",
    "deviceAddress": "dvc",
    "sourceHostName": "shost",
    "destinationHostName": "dhost",
    "deviceHostName": "dvchost",
    "sourceUserName": "suser",
    "destinationUserName": "duser",
    "deviceAction": "act",
    "deviceEventCategory": "cat",
    "message": "msg",
}


def kind_of_groups(groups: Iterable[str]) -> str | None:
    names = {g.lower() for g in groups}
    for kind, wanted in _WAZUH_GROUPS:
        if names & wanted:
            return kind
    return None


def kind_of_text(*texts: str) -> str:
    text = " ".join(t for t in texts if t)
    for kind, pattern in _WORDS:
        if pattern.search(text):
            return kind
    return "alert"


def _ip(value: str) -> str:
    """`value` when it is an IP address (normalized), else ""."""
    try:
        return str(ipaddress.ip_address(value.strip().strip("[]")))
    except ValueError:
        return ""


# ---------------------------------------------------------------------------------------------- assets


@dataclass(frozen=True, slots=True)
class AssetRef:
    code: str
    unit_id: int


def _values(attrs: dict[str, Any], *names: str) -> list[str]:
    out: list[str] = []
    for name in names:
        v = attrs.get(name)
        items = v if isinstance(v, list) else [v]
        out.extend(str(x).strip() for x in items if isinstance(x, str | int) and str(x).strip())
    return out


def asset_keys(code: str, attrs: dict[str, Any]) -> set[str]:
    """The lower-case names and addresses an asset answers to: its code, `ip`/`ips`, `hostname`/`hostnames`
    and `fqdn` attributes, and the short name of each fully qualified host name."""
    keys = {code.lower()}
    for ip in _values(attrs, "ip", "ips", "ip_address"):
        norm = _ip(ip)
        if norm:
            keys.add(norm)
    for host in _values(attrs, "hostname", "hostnames", "fqdn"):
        host = host.lower().rstrip(".")
        keys.add(host)
        keys.add(host.split(".", 1)[0])
    return keys


class AssetMatcher:
    """Host names and IP addresses -> assets, from the assets table, read again every `refresh_s` seconds.

    Only assets whose attributes name an ip or a hostname are read (plus any asset by its code, looked up
    one at a time and remembered), so a province with a hundred thousand sensors costs one small query.
    """

    def __init__(self, refresh_s: float = 60.0) -> None:
        self.refresh_s = refresh_s
        self._by_key: dict[str, AssetRef] = {}
        self._by_code: dict[str, AssetRef | None] = {}
        self._loaded_at = -1e18
        self._lock = threading.Lock()

    def load(self, db: Session) -> int:
        text = cast(Asset.attributes, String)
        rows = db.execute(
            select(Asset.code, Asset.unit_id, Asset.attributes).where(
                Asset.status != "retired",
                or_(text.like('%"ip%'), text.like('%"hostname%'), text.like('%"fqdn"%')),
            )
        )
        by_key: dict[str, AssetRef] = {}
        for code, unit_id, attrs in rows:
            ref = AssetRef(code, unit_id)
            for key in asset_keys(code, attrs if isinstance(attrs, dict) else {}):
                by_key.setdefault(key, ref)
        with self._lock:
            self._by_key = by_key
            self._by_code = {}
            self._loaded_at = time.monotonic()
        return len(by_key)

    def stale(self) -> bool:
        return time.monotonic() - self._loaded_at >= self.refresh_s

    def match(self, db: Session | None, candidates: Sequence[str]) -> AssetRef | None:
        """The first candidate (host name, IP, agent name) that names an asset."""
        by_key = self._by_key
        for raw in candidates:
            if not raw:
                continue
            ip = _ip(raw)
            if ip:
                ref = by_key.get(ip)
            else:
                key = raw.strip().lower().rstrip(".")
                ref = by_key.get(key) or by_key.get(key.split(".", 1)[0])
                if ref is None and db is not None and key:
                    ref = self._by_asset_code(db, raw.strip()[:64])
            if ref is not None:
                return ref
        return None

    def _by_asset_code(self, db: Session, code: str) -> AssetRef | None:
        if code in self._by_code:
            return self._by_code[code]
        row = db.execute(
            select(Asset.code, Asset.unit_id).where(func.lower(Asset.code) == code.lower()).limit(1)
        ).first()
        ref = AssetRef(row[0], row[1]) if row is not None else None
        with self._lock:
            if len(self._by_code) > 10_000:
                self._by_code = {}
            self._by_code[code] = ref
        return ref


def default_unit_id(db: Session, code: str) -> int | None:
    """The unit of alerts that match no asset: the unit with `code`, else the top-level unit."""
    if code:
        found = db.scalar(select(Unit.id).where(Unit.code == code))
        if found is not None:
            return found
    return db.scalar(
        select(Unit.id).where(Unit.parent_id.is_(None)).order_by(func.length(Unit.path), Unit.id).limit(1)
    )


# ---------------------------------------------------------------------------------------------- events


@dataclass(slots=True)
class Mapped:
    """An alert ready to become an event, before its asset is known."""

    kind: str
    severity: str
    at: datetime | None
    text: str
    candidates: list[str]
    payload: dict[str, Any]
    raw: str
    source_ref: str | None = None
    certainty: str = "likely"


def _cef_fields(cef: Cef) -> dict[str, str]:
    ext = {_CEF_LONG.get(k, k): v for k, v in cef.extension.items()}
    return ext


def from_cef(cef: Cef, raw: str, syslog: Syslog | None = None, peer: str = "") -> Mapped:
    ext = _cef_fields(cef)
    kind = kind_of_text(cef.name, ext.get("cat", ""), ext.get("act", ""), ext.get("msg", ""))
    host = ext.get("dhost") or ext.get("dst") or ext.get("dvchost") or ext.get("dvc") or ""
    target = host or (syslog.hostname if syslog else "")
    payload: dict[str, Any] = {
        "format": "cef",
        "kind": kind,
        "vendor": cef.vendor[:100],
        "product": cef.product[:100],
        "signature": cef.signature_id[:100],
        "level": cef.level,
        "cef_severity": cef.severity_raw[:20],
        "srcip": _ip(ext.get("src", "")),
        "dstip": _ip(ext.get("dst", "")),
        "srcuser": ext.get("suser", "")[:100],
        "dstuser": ext.get("duser", "")[:100],
        "host": target[:200],
        "action": ext.get("act", "")[:100],
        "extension": {k[:64]: v[:500] for k, v in list(ext.items())[:50]},
    }
    if syslog is not None:
        payload["syslog_host"] = syslog.hostname[:200]
    ref_id = ext.get("externalId") or ext.get("eventId")
    source_ref = f"cef:{cef.vendor}:{cef.product}:{ref_id}"[:200] if ref_id else None
    when = _cef_time(ext) or (syslog.at if syslog else None)
    candidates = [
        ext.get("dhost", ""),
        ext.get("dst", ""),
        ext.get("dvchost", ""),
        ext.get("dvc", ""),
        syslog.hostname if syslog else "",
        peer,
        ext.get("shost", ""),
        ext.get("src", ""),
    ]
    text = f"{cef.name} ({target})" if target else cef.name
    certainty = "observed" if kind == "firewall" else "likely"
    return Mapped(kind, cef.severity, when, text, candidates, payload, raw, source_ref, certainty)


def _cef_time(ext: dict[str, str]) -> datetime | None:
    """`rt` (receipt time) as epoch milliseconds, when a device sends it so."""
    rt = ext.get("rt", "")
    if rt.isdigit() and 12 <= len(rt) <= 14:
        from datetime import UTC

        return datetime.fromtimestamp(int(rt) / 1000, UTC)
    return None


def from_syslog(msg: Syslog, raw: str, peer: str = "") -> Mapped:
    if msg.cef is not None:
        return from_cef(msg.cef, raw, msg if msg.rfc != "none" else None, peer)
    kind = kind_of_text(msg.message)
    src = _FROM_IP.search(msg.message)
    user = _USER.search(msg.message)
    payload: dict[str, Any] = {
        "format": "syslog",
        "rfc": msg.rfc,
        "kind": kind,
        "facility": msg.facility,
        "level": msg.level,
        "app": msg.app[:100],
        "host": msg.hostname[:200],
        "srcip": _ip(src.group(1)) if src else "",
        "srcuser": (user.group(1) or user.group(2))[:100] if user else "",
    }
    if msg.msgid:
        payload["msgid"] = msg.msgid[:32]
    if msg.structured:
        payload["structured"] = {k: dict(list(v.items())[:20]) for k, v in list(msg.structured.items())[:10]}
    text = f"{msg.app}: {msg.message}" if msg.app else msg.message
    return Mapped(kind, msg.severity, msg.at, text.strip(), [msg.hostname, peer], payload, raw)


def from_wazuh(alert: Wazuh, raw: str) -> Mapped:
    kind = kind_of_groups(alert.groups) or kind_of_text(alert.description)
    payload: dict[str, Any] = {
        "format": "wazuh",
        "kind": kind,
        "rule_id": alert.rule_id,
        "level": alert.level,
        "groups": alert.groups,
        "mitre": alert.mitre,
        "agent": alert.agent_name,
        "agent_id": alert.agent_id,
        "host": alert.agent_name,
        "host_ip": _ip(alert.agent_ip),
        "srcip": _ip(alert.srcip),
        "dstip": _ip(alert.dstip),
        "srcuser": alert.srcuser,
        "location": alert.location,
    }
    text = f"{alert.description} ({alert.agent_name})" if alert.agent_name else alert.description
    return Mapped(
        kind,
        alert.severity,
        alert.at,
        text,
        [alert.agent_name, alert.agent_ip, alert.dstip],
        payload,
        raw or alert.full_log,
        f"wazuh:{alert.id}" if alert.id else None,
    )


def below(severity: str, minimum: str) -> bool:
    return SEVERITY_RANK.get(severity, 0) < SEVERITY_RANK.get(minimum, 0)


def to_event(m: Mapped, asset: AssetRef | None, fallback_unit_id: int | None) -> EventIn:
    """The event of a mapped alert: at its asset (and so its unit), or in the fallback unit."""
    vi, en = KINDS.get(m.kind, KINDS["alert"])
    text = " ".join(m.text.split())[:260] or en
    raw = m.raw[:MAX_RAW_KEPT]
    digest = hashlib.sha256(m.raw.encode("utf-8", "replace")).hexdigest()
    payload = {**m.payload, "asset": asset.code if asset else "", "raw": raw, "raw_sha256": digest}
    return EventIn(
        source=SOURCE,
        category=f"infosec.{m.kind}",
        title=f"{vi}: {text}"[:300],
        title_en=f"{en}: {text}"[:300],
        at=m.at,
        domain=EVENT_DOMAIN,
        unit_id=None if asset else fallback_unit_id,
        asset_code=asset.code if asset else None,
        severity=m.severity,
        urgency=URGENCY_BY_SEVERITY.get(m.severity, "unknown"),
        certainty=m.certainty,
        source_ref=m.source_ref,
        payload=payload,
        evidence=[{"kind": "document", "ref": f"sha256:{digest}", "label": "Bản ghi gốc / raw log line"}],
    )

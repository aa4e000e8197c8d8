"""The pipeline every line goes through, whichever way it came (UDP, TCP, the tailed file, an HTTP POST):
read it, drop what is malformed or below the configured severity, match its asset, record the rest as events.

Malformed lines are counted by reason (`malformed:<reason>`) and logged (one line per reason per 10 s with
a count and the sender); they never become events and never stop the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from toancanh.connectors.siem import mapping, parse
from toancanh.connectors.siem.const import LOG_EVERY_S, LOGGER, REASONS
from toancanh.connectors.siem.listeners import BROKEN, TOO_LONG
from toancanh.core.auth.scope import Principal
from toancanh.core.db import Database, utcnow
from toancanh.core.logs import Throttled
from toancanh.modules.alerts.events import EventIn, Recorded

log = logging.getLogger(LOGGER)
Record = Callable[[list[EventIn], Principal | None], Recorded]
Line = tuple[str, bytes, str]  # (kind "syslog" | "wazuh", the line, the sender)


@dataclass(frozen=True)
class SiemConfig:
    syslog_host: str = "127.0.0.1"
    syslog_udp_port: int = 0  # 0: no UDP listener
    syslog_tcp_port: int = 0  # 0: no TCP listener
    wazuh_alerts_file: str = ""
    wazuh_from_start: bool = False
    default_unit: str = ""
    min_severity: str = "minor"
    syslog_max_level: int = 4  # plain syslog (not CEF) at warning or worse, or security-relevant by its text
    rate_per_s: float = 1000.0
    rate_burst: int = 5000

    @classmethod
    def from_settings(cls, s: Any) -> SiemConfig:
        return cls(
            syslog_host=s.siem_syslog_host,
            syslog_udp_port=s.siem_syslog_udp_port,
            syslog_tcp_port=s.siem_syslog_tcp_port,
            wazuh_alerts_file=s.siem_wazuh_alerts_file,
            wazuh_from_start=s.siem_wazuh_from_start,
            default_unit=s.siem_default_unit,
            min_severity=s.siem_min_severity,
            syslog_max_level=s.siem_syslog_max_level,
            rate_per_s=s.siem_rate_per_s,
            rate_burst=s.siem_rate_burst,
        )


@dataclass
class Outcome:
    received: int = 0
    recorded: int = 0
    duplicates: int = 0
    ignored: int = 0
    malformed: dict[str, int] = field(default_factory=dict)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "recorded": self.recorded,
            "duplicates": self.duplicates,
            "ignored": self.ignored,
            "malformed": dict(self.malformed),
            "rejected": self.rejected[:50],
        }


class Pipeline:
    """Lines in, events recorded (blocking: call from a worker thread)."""

    def __init__(
        self,
        db: Database,
        record: Record,
        config: SiemConfig,
        *,
        count: Callable[[str, int], None] | None = None,
    ) -> None:
        self.db = db
        self.record = record
        self.config = config
        self.matcher = mapping.AssetMatcher()
        self._count = count
        self._log = Throttled(log, LOG_EVERY_S)
        self._fallback: int | None = None

    def count(self, what: str, n: int = 1) -> None:
        if self._count is not None and n:
            self._count(what, n)

    def read(self, kind: str, line: bytes, peer: str) -> mapping.Mapped:
        """One line as a mapped alert; raises `parse.Malformed`."""
        if line is TOO_LONG or line == TOO_LONG:
            raise parse.Malformed("too_long")
        if line is BROKEN or line == BROKEN:
            raise parse.Malformed("framing")
        if kind == "wazuh":
            return mapping.from_wazuh(parse.wazuh_line(line), line.decode("utf-8", "replace"))
        msg = parse.syslog_line(line, utcnow())
        return mapping.from_syslog(msg, line.decode("utf-8", "replace"), peer)

    def wanted(self, m: mapping.Mapped) -> str | None:
        """Why a well-formed alert is not recorded (below the minimum severity, routine syslog), or None."""
        if mapping.below(m.severity, self.config.min_severity):
            return "below_min_severity"
        plain = m.payload.get("format") == "syslog" and m.kind == "alert"
        if plain and int(m.payload.get("level", 7)) > self.config.syslog_max_level:
            return "routine_syslog"
        return None

    def malformed(self, reason: str, detail: str, peer: str, out: Outcome) -> None:
        out.malformed[reason] = out.malformed.get(reason, 0) + 1
        self.count(f"malformed:{reason}", 1)
        en = REASONS.get(reason, ("", reason))[1]
        self._log.warning(reason, "siem: malformed line from %s: %s (%s)", peer, en, detail[:120])

    def process(self, lines: Sequence[Line], actor: Principal | None = None) -> Outcome:
        out = Outcome(received=len(lines))
        self.count("received", len(lines))
        mapped: list[mapping.Mapped] = []
        for kind, line, peer in lines:
            try:
                m = self.read(kind, line, peer)
            except parse.Malformed as exc:
                self.malformed(exc.reason, exc.detail, peer, out)
                continue
            why = self.wanted(m)
            if why is not None:
                out.ignored += 1
                self.count(f"ignored:{why}")
                continue
            mapped.append(m)
        if mapped:
            self._record(mapped, actor, out)
        return out

    def process_wazuh_docs(self, docs: Sequence[Any], actor: Principal | None = None) -> Outcome:
        """Already decoded Wazuh alerts (an HTTP POST of a JSON array)."""
        out = Outcome(received=len(docs))
        self.count("received", len(docs))
        mapped: list[mapping.Mapped] = []
        for doc in docs:
            try:
                alert = parse.parse_wazuh(doc)
            except parse.Malformed as exc:
                self.malformed(exc.reason, exc.detail, "http", out)
                continue
            m = mapping.from_wazuh(alert, orjson.dumps(doc).decode())
            if self.wanted(m) is not None:
                out.ignored += 1
                self.count("ignored:below_min_severity")
                continue
            mapped.append(m)
        if mapped:
            self._record(mapped, actor, out)
        return out

    def _record(self, mapped: list[mapping.Mapped], actor: Principal | None, out: Outcome) -> None:
        with self.db.session() as s:
            if self.matcher.stale():
                self.matcher.load(s)
            if self._fallback is None:
                self._fallback = mapping.default_unit_id(s, self.config.default_unit)
            items = [mapping.to_event(m, self.matcher.match(s, m.candidates), self._fallback) for m in mapped]
        rec = self.record(items, actor)
        out.recorded += len(rec.ids)
        out.ids.extend(rec.ids)
        out.duplicates += rec.duplicates
        out.rejected.extend(rec.rejected)
        self.count("recorded", len(rec.ids))
        self.count("duplicates", rec.duplicates)
        self.count("rejected", len(rec.rejected))
        for bad in rec.rejected[:3]:
            self._log.warning("rejected", "siem: event refused: %s", bad.get("reason_en", ""))

    def refresh_assets(self) -> None:
        with self.db.session() as s:
            self.matcher.load(s)
        self._fallback = None

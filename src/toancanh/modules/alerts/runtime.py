"""The live path of the warning center: readings and events in, rules evaluated, alerts and incidents out.

`AlertsRuntime` (one per process, `app.state.alerts`) owns the device directory and the rule engine. Sources
(the HTTP batch API, the MQTT and CAP connectors, other modules' domain events) call `ingest_readings()` /
`record_events()`, which commit the data first and then hand it to the evaluator. The evaluator is one task
that drains everything queued (up to a batch), evaluates it on a worker thread and writes the resulting
alerts in one transaction, so its cost per item falls as the load rises while a lone event still goes through
at once. Rule state lives in memory; data is never lost with it, because readings and events are committed
before they are evaluated (a crash loses at most the in-progress windows of stateful rules).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from toancanh.core.assets import Asset
from toancanh.core.auth.scope import Principal
from toancanh.core.bus import Event as BusEvent
from toancanh.core.bus import Subscription
from toancanh.core.db import Database, utcnow
from toancanh.core.tasks import spawn, spawn_leased
from toancanh.core.timeseries import Series
from toancanh.core.units import Unit, unit_index
from toancanh.modules.alerts import alerting, events, telemetry
from toancanh.modules.alerts.models import AlertRule
from toancanh.modules.alerts.rules import LoadedRule, RuleEngine, parse_rule
from toancanh.modules.alerts.rules.types import AssetInfo, Firing, Observed, Row

log = logging.getLogger("toancanh.alerts")

MAX_BATCH = 2000
TICK_S = 1.0
HEARTBEAT_CHECK_S = 30.0
RULES_CHANGED = "toancanh.alerts.rule.>"
ASSETS_CHANGED = "toancanh.core.asset.>"
# Other modules' domain events that become events here (and so can raise alerts): subject -> (source,
# category)
INTAKE = (
    "toancanh.vision.>",
    "toancanh.traffic.>",
    "toancanh.core.device.>",
    "toancanh.reports.report.created",
    "toancanh.media.spike.>",
)
SEVERITY_WORDS = {"low": "minor", "medium": "moderate", "high": "severe", "critical": "extreme"}


@dataclass
class RuntimeStats:
    readings: int = 0
    events: int = 0
    firings: int = 0
    alerts: int = 0
    rounds: int = 0
    errors: int = 0
    last_round_ms: float = 0.0
    intake: dict[str, int] = field(default_factory=dict)


class AlertsRuntime:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.db: Database = app.state.db
        self.workflow = app.state.workflow
        self.directory = telemetry.Directory()
        self.engine = RuleEngine(app.state.calendar)
        self.stats = RuntimeStats()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[str, Any]] | None = None
        self._subs: list[Subscription] = []

    # ------------------------------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        await asyncio.to_thread(self.load_rules)
        spawn(self.app, self._run(), "alerts-evaluator")
        spawn(self.app, self._every(TICK_S, lambda: ("tick", None)), "alerts-tick")
        spawn_leased(self.app, self._heartbeats, "alerts-heartbeats")
        bus = self.app.state.bus
        self._subs.append(await bus.subscribe(RULES_CHANGED, self._rules_changed))
        self._subs.append(await bus.subscribe(ASSETS_CHANGED, self._assets_changed))
        durable = f"{self.app.state.settings.notifications_durable}-alerts-intake"
        for pattern in INTAKE:
            name = f"{durable}-{pattern.split('.')[1]}-{len(pattern)}"
            self._subs.append(await bus.subscribe(pattern, self._intake, durable=name))

    async def stop(self) -> None:
        for sub in self._subs:
            try:
                await sub.unsubscribe()
            except Exception:
                log.exception("unsubscribing %s", sub.pattern)
        self._subs.clear()

    # ------------------------------------------------------------------------------------------ sources

    def ingest_readings(
        self, items: Sequence[Any], *, principal: Principal | None = None, source: str = "http"
    ) -> telemetry.IngestResult:
        """Store a batch of readings (blocking; call from a worker thread), then queue them for the rules."""
        may_write = None
        if principal is not None:

            def may_write(info: AssetInfo) -> bool:
                return principal.can("telemetry.write", info.unit_path, info.domain)

        with self.db.session() as s:
            result = telemetry.ingest(s, self.directory, items, may_write=may_write)
        self.stats.readings += result.accepted
        if result.readings:
            self._hand(("readings", result.readings))
        return result

    def record_events(
        self, items: Sequence[events.EventIn], actor: Principal | None = None
    ) -> events.Recorded:
        """Record a batch of events (blocking), then queue them for the rules."""
        directory = self.directory
        with self.db.session() as s:
            index = unit_index(s, self)

            def place_of(code: str) -> AssetInfo | None:
                dev = directory.device(s, code)
                return dev.info if dev is not None else None

            rec = events.record(s, items, actor=actor, locate=index.locate_one, place_of=place_of)
        self.stats.events += len(rec.ids)
        if rec.observed:
            self._hand(("events", rec.observed))
        return rec

    def reload_rules(self) -> None:
        self._hand(("reload", None))

    def _hand(self, item: tuple[str, Any]) -> None:
        loop, queue = self._loop, self._queue
        if loop is None or queue is None or loop.is_closed():
            return  # not started (a CLI command): the data is stored, there is nobody to evaluate it
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            queue.put_nowait(item)
        else:
            loop.call_soon_threadsafe(queue.put_nowait, item)

    # ------------------------------------------------------------------------------------------ evaluation

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            batch = [await queue.get()]
            while len(batch) < MAX_BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                await asyncio.to_thread(self.process, batch)
            except Exception:
                self.stats.errors += 1
                log.exception("alert evaluation round failed (%d items)", len(batch))

    def process(self, batch: Sequence[tuple[str, Any]]) -> list[Firing]:
        """Evaluate one round of queued items and write what fired (runs on one thread at a time)."""
        started = time.perf_counter()
        firings: list[Firing] = []
        reload = False
        asset = self._asset_lookup()
        for kind, data in batch:
            if kind == "readings":
                readings: list[Row] = data
                firings.extend(self.engine.feed_rows(readings, asset))
            elif kind == "events":
                observed: list[Observed] = data
                for ev in observed:
                    firings.extend(self.engine.feed_event(ev, asset))
            elif kind == "tick":
                firings.extend(self.engine.tick(int(time.time() * 1000)))
            elif kind == "reload":
                reload = True
        if firings:
            with self.db.session() as s:
                raised = alerting.apply(s, self.workflow, firings, utcnow())
            self.stats.firings += len(firings)
            self.stats.alerts += len(raised)
        if reload:
            self.load_rules()
        self.stats.rounds += 1
        self.stats.last_round_ms = (time.perf_counter() - started) * 1000
        return firings

    def _asset_lookup(self) -> Any:
        directory, db = self.directory, self.db

        def lookup(asset_id: int) -> AssetInfo | None:
            info = directory.info(asset_id)
            if info is None:
                with db.read_session() as s:
                    info = directory.info_loading(s, asset_id)
            return info

        return lookup

    def load_rules(self) -> None:
        """(Re)load the enabled rules and the assets that absence rules watch."""
        loaded: list[LoadedRule] = []
        with self.db.read_session() as s:
            for rule, path in s.execute(
                select(AlertRule, Unit.path)
                .join(Unit, Unit.id == AlertRule.unit_id)
                .where(AlertRule.enabled.is_(True))
                .order_by(AlertRule.id)
            ):
                try:
                    spec = parse_rule(rule.definition)
                    loaded.append(LoadedRule(rule.id, rule.version, path, spec, unit_id=rule.unit_id))
                except Exception:
                    log.exception("rule %s (%s) no longer validates; skipped", rule.id, rule.code)
            reports: dict[int, set[str]] = {}
            series = select(Series.asset_id, Series.key).where(Series.asset_id.is_not(None))
            for asset_id, key in s.execute(series):
                reports.setdefault(asset_id, set()).add(key.rsplit(".", 1)[-1])
            infos = [
                dataclasses.replace(telemetry.asset_info(a, path), measures=frozenset(reports.get(a.id, ())))
                for a, path in s.execute(select(Asset, Unit.path).join(Unit, Unit.id == Asset.unit_id))
                if a.status not in telemetry.INACTIVE
            ]
        self.engine.load(loaded)
        self.engine.watch_assets(infos)
        log.info("alert rules loaded: %d", len(loaded))

    async def _every(self, interval: float, item: Any) -> None:
        while True:
            await asyncio.sleep(interval)
            self._hand(item())

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_CHECK_S)
            try:
                await asyncio.to_thread(self.check_heartbeats)
            except Exception:
                log.exception("heartbeat check failed")

    def check_heartbeats(self) -> int:
        """Mark silent devices offline; their `toancanh.core.device.offline` events come back through
        intake."""
        from toancanh.modules.alerts import devices

        with self.db.session() as s:
            lost = devices.check_heartbeats(s, utcnow(), directory=self.directory)
        for item in lost:
            log.info("device %s went silent: offline", item.asset_code)
        return len(lost)

    # ------------------------------------------------------------------------------------------ bus

    async def _rules_changed(self, event: BusEvent) -> None:
        self.reload_rules()

    async def _assets_changed(self, event: BusEvent) -> None:
        self.directory.invalidate()  # a device moved, was retired or renamed: read it again
        self.reload_rules()  # and the assets that absence rules watch

    async def _intake(self, event: BusEvent) -> None:
        item = intake_event(event)
        if item is None:
            return
        self.stats.intake[item.category] = self.stats.intake.get(item.category, 0) + 1
        rec = await asyncio.to_thread(self.record_events, [item])
        for r in rec.rejected:
            log.warning("intake of %s (%s) rejected: %s", event.id, event.subject, r["reason_en"])


def intake_event(event: BusEvent) -> events.EventIn | None:
    """Another module's domain event as an event here, or None when it is not one that rules care about."""
    tokens = event.subject.split(".")[1:]
    if tokens[:1] == ["core"]:
        tokens = tokens[1:]
    if tokens[:2] == ["vision", "detection"] and len(tokens) >= 3:
        source, category = "camera", f"vision.{tokens[2]}"
    elif tokens[:2] == ["traffic", "violation"]:
        source, category = "camera", "traffic.violation"
    elif tokens[:1] == ["device"] and len(tokens) >= 2:
        source, category = "system", f"device.{tokens[1]}"
    elif tokens[:3] == ["reports", "report", "created"]:
        source, category = "report", "report.created"
    elif tokens[:2] == ["media", "spike"] and len(tokens) >= 3:
        source, category = "system", f"media.spike.{tokens[2]}"
    else:
        return None
    data = event.data
    title = str(data.get("title_vi") or data.get("title") or category)[:300]
    severity = str(data.get("severity", "unknown"))
    severity = SEVERITY_WORDS.get(severity, severity)
    if severity not in ("extreme", "severe", "moderate", "minor", "unknown"):
        severity = "unknown"
    lat, lon = data.get("lat"), data.get("lon")
    located = isinstance(lat, int | float) and isinstance(lon, int | float)
    payload = {k: v for k, v in data.items() if k not in ("title_vi", "title_en", "lat", "lon")}
    return events.EventIn(
        source=source,
        category=category,
        title=title,
        title_en=str(data.get("title_en", ""))[:300],
        at=event.at,
        domain=event.domain,
        unit_id=event.unit_id,
        asset_code=data.get("asset_code") if isinstance(data.get("asset_code"), str) else None,
        severity=severity,
        certainty="likely" if source == "report" or category.startswith("media.") else "observed",
        lat=float(lat) if located else None,
        lon=float(lon) if located else None,
        source_ref=f"bus:{event.id}",
        payload=payload,
        evidence=list(data.get("evidence", [])) if isinstance(data.get("evidence"), list) else [],
    )

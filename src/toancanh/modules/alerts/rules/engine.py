"""The rule engine (bộ máy quy tắc): evaluates loaded rules on a stream of readings and events.

Time is the data's time: a reading's or an event's ``ts`` drives durations, windows and cooldowns, and
``tick(now_ms)`` moves the clock for rules that fire on silence (absence) or on windows that empty. So a
dry run over stored history behaves as the live stream did.

The live path is hot (hundreds of thousands of readings per second), so rules are compiled into small
evaluator objects with ``__slots__`` and plain-dict state, indexed by measure (readings) and by the first
segment of the event category (events): a reading of a measure no rule reads costs one dict lookup, and
scope checks are cached per (rule, asset).
"""

from __future__ import annotations

import operator
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from fnmatch import translate
from typing import Any

import shapely

from toancanh.core.geo import haversine_m, shape_from_geojson
from toancanh.core.worktime import WorkCalendar
from toancanh.modules.alerts.models import SEVERITY_RANK
from toancanh.modules.alerts.rules.spec import (
    AbsenceWhen,
    EventCountWhen,
    EventMatch,
    EventWhen,
    GeofenceWhen,
    KOfNWhen,
    OnlyDuring,
    PatternWhen,
    RateOfChangeWhen,
    RuleSpec,
    ThresholdWhen,
    template_fields,
)
from toancanh.modules.alerts.rules.types import AssetInfo, Firing, IncidentSpec, Observed, Reading, Row

__all__ = ["AssetLookup", "LoadedRule", "Row", "RuleEngine"]

AssetLookup = Callable[[int], AssetInfo | None]
"""A reading as a plain tuple: (asset_id, measure, ts, value)."""

_MISSING: Any = object()
_VN_OFFSET_MS = 7 * 3_600_000  # Asia/Ho_Chi_Minh is UTC+7 all year (no daylight saving time)
_DAY_MS = 86_400_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
_MAX_PENDING_FIRSTS = 10_000
_MAX_COUNTED_GROUPS = 50_000


def _ts(f: Firing) -> int:
    return f.ts


@dataclass(frozen=True, slots=True)
class LoadedRule:
    """A rule as the engine runs it: its id and version, the unit it belongs to, and its definition.

    ``unit_path`` limits the rule to that unit's subtree. ``unit_id`` (optional) is the unit named on firings
    that belong to no single asset (k_of_n over assets of several units).
    """

    rule_id: int
    version: int
    unit_path: str
    spec: RuleSpec
    unit_id: int | None = None


# ---------------------------------------------------------------------------------------------- helpers


class _Window:
    """`only_during` compiled to integer arithmetic on epoch milliseconds (Vietnam local time)."""

    __slots__ = ("_days", "_start", "_end", "_overnight", "_calendar", "_day_ok")

    def __init__(self, spec: OnlyDuring, calendar: WorkCalendar) -> None:
        self._days = spec.days
        self._start = spec.from_minute * 60_000
        self._end = spec.to_minute * 60_000
        self._overnight = self._start > self._end
        self._calendar = calendar
        self._day_ok: dict[int, bool] = {}

    def allows(self, ts: int) -> bool:
        day, tod = divmod(ts + _VN_OFFSET_MS, _DAY_MS)
        if self._overnight:
            if tod < self._end:
                day -= 1  # after midnight: part of the window that opened the day before
            elif tod < self._start:
                return False
        elif not self._start <= tod < self._end:
            return False
        if self._days == "all":
            return True
        ok = self._day_ok.get(day)
        if ok is None:
            ok = self._day_ok[day] = self._check_day(date.fromordinal(day + _EPOCH_ORDINAL))
        return ok

    def _check_day(self, d: date) -> bool:
        working = self._calendar.is_working_day(d)
        if self._days == "working":
            return working
        if self._days == "weekend":
            return not working
        return working and not 6 <= d.month <= 8  # school: summer break 1 June - 31 August


def _plain(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.6g}" if abs(v) < 1e6 else f"{v:.0f}"
    return str(v)


class _Title:
    """A title template, parsed once. Rendering never fails: a value that does not fit its format is plain."""

    __slots__ = ("_parts",)

    def __init__(self, template: str) -> None:
        self._parts = template_fields(template)

    def render(self, values: dict[str, Any]) -> str:
        out = []
        for literal, name, spec in self._parts:
            out.append(literal)
            if name is None:
                continue
            v = values.get(name)
            if spec and v is not None:
                try:
                    out.append(format(v, spec))
                    continue
                except (ValueError, TypeError):
                    pass
            out.append(_plain(v))
        return "".join(out)[:300]


class _Matcher:
    """An `EventMatch` compiled: exact or glob category, source, minimum severity, payload equality."""

    __slots__ = ("category", "_exact", "_regex", "_source", "_min_rank", "_payload", "top")

    def __init__(self, m: EventMatch) -> None:
        self.category = m.category
        globbed = any(c in m.category for c in "*?[")
        self._exact = None if globbed else m.category
        self._regex = re.compile(translate(m.category)).match if globbed else None
        self._source = m.source
        self._min_rank = SEVERITY_RANK[m.min_severity] if m.min_severity else -1
        self._payload = tuple((m.payload or {}).items())
        top = m.category.split(".", 1)[0]
        self.top = None if any(c in top for c in "*?[") else top  # None: any category may match

    def matches(self, ev: Observed) -> bool:
        if self._exact is not None:
            if ev.category != self._exact:
                return False
        elif self._regex is not None and self._regex(ev.category) is None:
            return False
        if self._source is not None and ev.source != self._source:
            return False
        if self._min_rank > 0 and SEVERITY_RANK.get(ev.severity, 0) < self._min_rank:
            return False
        payload = ev.payload
        return all(payload.get(k, _MISSING) == v for k, v in self._payload)


# ---------------------------------------------------------------------------------------------- rules


class _Rule:
    """What every compiled rule shares: scope, window, cooldown and how a firing is made."""

    __slots__ = (
        "loaded",
        "code",
        "scope_cache",
        "_unit_path",
        "_scope_path",
        "_domain",
        "_types",
        "_groups",
        "_codes",
        "_window",
        "_cooldown_ms",
        "_last_fired",
        "_title",
        "_title_en",
        "_alert",
        "_incident",
        "auto_clear",
    )

    def __init__(self, loaded: LoadedRule, calendar: WorkCalendar) -> None:
        spec = loaded.spec
        scope = spec.scope
        self.loaded = loaded
        self.code = spec.code
        self.scope_cache: dict[int, AssetInfo | None] = {}  # asset id -> its info when in scope, else None
        self._unit_path = loaded.unit_path
        self._scope_path = scope.unit_path or ""
        self._domain = scope.domain
        self._types = frozenset(scope.asset_types) if scope.asset_types else None
        self._groups = frozenset(scope.asset_groups) if scope.asset_groups else None
        self._codes = frozenset(scope.assets) if scope.assets else None
        self._window = _Window(spec.only_during, calendar) if spec.only_during else None
        self._cooldown_ms = spec.alert.cooldown_s * 1000
        self._last_fired: dict[str, int] = {}
        self._title = _Title(spec.alert.title_vi)
        self._title_en = _Title(spec.alert.title_en) if spec.alert.title_en else self._title
        self._alert = spec.alert
        inc = spec.alert.incident
        self._incident = IncidentSpec(inc.type, inc.group_within_s, inc.group_radius_m) if inc else None
        self.auto_clear = spec.alert.auto_clear

    # scope

    def asset_in_scope(self, info: AssetInfo) -> bool:
        path = info.unit_path
        return (
            path.startswith(self._unit_path)
            and path.startswith(self._scope_path)
            and (self._domain is None or info.domain == self._domain)
            and (self._types is None or info.type in self._types)
            and (self._groups is None or info.group in self._groups)
            and (self._codes is None or info.code in self._codes)
        )

    def resolve(self, asset_id: int, lookup: AssetLookup) -> AssetInfo | None:
        """The asset's info if it is in scope (cached), else None; an unknown asset is looked up again."""
        info = lookup(asset_id)
        if info is None:
            return None
        ok = info if self.asset_in_scope(info) else None
        self.scope_cache[asset_id] = ok
        return ok

    def event_in_scope(self, ev: Observed, lookup: AssetLookup) -> tuple[bool, AssetInfo | None]:
        """Whether an event is in scope, and its asset's info (when it names a known asset)."""
        path = ev.unit_path
        if not (path.startswith(self._unit_path) and path.startswith(self._scope_path)):
            return False, None
        if self._domain is not None and ev.domain != self._domain:
            return False, None
        info = lookup(ev.asset_id) if ev.asset_id is not None else None
        narrowed = self._types is not None or self._groups is not None or self._codes is not None
        if narrowed and (info is None or not self.asset_in_scope(info)):
            return False, None
        return True, info

    # firing

    def take(self, key: str, ts: int) -> bool:
        """Whether a firing for `key` at `ts` may go out (in `only_during`, past the cooldown); notes it."""
        if self._window is not None and not self._window.allows(ts):
            return False
        last = self._last_fired.get(key)
        if last is not None and ts - last < self._cooldown_ms:
            return False
        self._last_fired[key] = ts
        return True

    def values(self, info: AssetInfo | None, **more: Any) -> dict[str, Any]:
        v: dict[str, Any] = {
            "asset": (info.name or info.code) if info else "",
            "asset_code": info.code if info else "",
            "category": self._alert.category,
        }
        v.update(more)
        return v

    def firing(
        self,
        key: str,
        ts: int,
        *,
        unit_id: int,
        unit_path: str,
        domain: str,
        values: dict[str, Any],
        details: dict[str, Any],
        asset_id: int | None = None,
        lat: float | None = None,
        lon: float | None = None,
        event_id: int | None = None,
        clear: bool = False,
    ) -> Firing:
        loaded = self.loaded
        alert = self._alert
        title = self._title.render(values)
        return Firing(
            rule_id=loaded.rule_id,
            rule_version=loaded.version,
            rule_code=self.code,
            key=key,
            ts=ts,
            unit_id=unit_id,
            unit_path=unit_path,
            domain=domain,
            category=alert.category,
            severity=alert.severity,
            urgency=alert.urgency,
            certainty=alert.certainty,
            title=title,
            title_en=title if self._title_en is self._title else self._title_en.render(values),
            asset_id=asset_id,
            lat=lat,
            lon=lon,
            event_id=event_id,
            details=details,
            incident=self._incident,
            clear=clear,
        )

    def asset_firing(
        self,
        info: AssetInfo,
        ts: int,
        values: dict[str, Any],
        details: dict[str, Any],
        *,
        clear: bool = False,
        lat: float | None = None,
        lon: float | None = None,
    ) -> Firing:
        return self.firing(
            f"{self.code}:asset:{info.id}",
            ts,
            unit_id=info.unit_id,
            unit_path=info.unit_path,
            domain=info.domain,
            values=values,
            details=details,
            asset_id=info.id,
            lat=info.lat if lat is None else lat,
            lon=info.lon if lon is None else lon,
            clear=clear,
        )

    # overridden by the rule types

    def on_rows(self, rows: Sequence[Row], lookup: AssetLookup, out: list[Firing]) -> None:
        """Evaluate readings in time order (rows of other measures are skipped); append firings to `out`."""
        return None

    def on_event(self, ev: Observed, lookup: AssetLookup, out: list[Firing]) -> None:
        return None

    def tick(self, now: int, out: list[Firing]) -> None:
        return None

    def watch(self, info: AssetInfo) -> None:
        return None


class _Threshold(_Rule):
    """A value beyond a threshold, held for `for_s` (by reading times); clears on a reading that fails it."""

    __slots__ = ("_op", "_op_name", "_threshold", "_for_ms", "_measure", "_since", "_active")

    def __init__(self, loaded: LoadedRule, calendar: WorkCalendar) -> None:
        super().__init__(loaded, calendar)
        w = loaded.spec.when
        assert isinstance(w, ThresholdWhen)
        self._op = _OPS[w.op]
        self._op_name = w.op
        self._threshold = w.value
        self._for_ms = w.for_s * 1000
        self._measure = w.measure
        self._since: dict[int, int] = {}  # asset id -> ts of the first reading of the current run meeting it
        self._active: set[int] = set()  # assets fired for and not cleared

    def on_rows(self, rows: Sequence[Row], lookup: AssetLookup, out: list[Firing]) -> None:
        cache = self.scope_cache
        since_of = self._since
        active = self._active
        op, threshold, for_ms, wanted = self._op, self._threshold, self._for_ms, self._measure
        for asset_id, measure, ts, value in rows:
            if measure != wanted:
                continue
            info = cache.get(asset_id, _MISSING)
            if info is _MISSING:
                info = self.resolve(asset_id, lookup)
            if info is None:
                continue
            if op(value, threshold):
                since = since_of.get(asset_id)
                if since is None:
                    since_of[asset_id] = since = ts
                if ts - since < for_ms or asset_id in active:
                    continue
                if self.take(f"{self.code}:asset:{asset_id}", ts):
                    active.add(asset_id)
                    out.append(self._make(info, ts, value, since, clear=False))
            elif since_of.pop(asset_id, None) is not None and asset_id in active:
                active.discard(asset_id)
                if self.auto_clear:
                    out.append(self._make(info, ts, value, None, clear=True))

    def _make(self, info: AssetInfo, ts: int, value: float, since: int | None, *, clear: bool) -> Firing:
        held_s = (ts - since) / 1000 if since is not None else None
        values = self.values(
            info,
            value=value,
            measure=self._measure,
            threshold=self._threshold,
            count=1,
            duration_min=round(held_s / 60, 1) if held_s is not None else None,
        )
        details = {
            "measure": self._measure,
            "value": value,
            "op": self._op_name,
            "threshold": self._threshold,
            "for_s": self._for_ms // 1000,
        }
        if since is not None:
            details["since_ts"] = since
            details["held_s"] = held_s
        return self.asset_firing(info, ts, values, details, clear=clear)


class _RateOfChange(_Rule):
    """A change of at least `delta` within `within_s`, against the window's minimum (up) or maximum (down).

    Monotonic deques keep the window's minimum and maximum in O(1) amortized time per reading.
    """

    __slots__ = ("_delta", "_within_ms", "_up", "_down", "_measure", "_direction", "_state")

    def __init__(self, loaded: LoadedRule, calendar: WorkCalendar) -> None:
        super().__init__(loaded, calendar)
        w = loaded.spec.when
        assert isinstance(w, RateOfChangeWhen)
        self._delta = w.delta
        self._within_ms = w.within_s * 1000
        self._up = w.direction in ("up", "any")
        self._down = w.direction in ("down", "any")
        self._measure = w.measure
        self._direction = w.direction
        self._state: dict[int, tuple[deque[tuple[int, float]], deque[tuple[int, float]]]] = {}

    def on_rows(self, rows: Sequence[Row], lookup: AssetLookup, out: list[Firing]) -> None:
        cache = self.scope_cache
        state_of = self._state
        within_ms, delta, up, down, wanted = self._within_ms, self._delta, self._up, self._down, self._measure
        for asset_id, measure, ts, value in rows:
            if measure != wanted:
                continue
            info = cache.get(asset_id, _MISSING)
            if info is _MISSING:
                info = self.resolve(asset_id, lookup)
            if info is None:
                continue
            state = state_of.get(asset_id)
            if state is None:
                state = state_of[asset_id] = (deque(), deque())
            lows, highs = state
            oldest = ts - within_ms
            while lows and lows[0][0] < oldest:
                lows.popleft()
            while highs and highs[0][0] < oldest:
                highs.popleft()
            base: tuple[int, float] | None = None
            if up and lows and value - lows[0][1] >= delta:
                base = lows[0]
            elif down and highs and highs[0][1] - value >= delta:
                base = highs[0]
            point = (ts, value)
            while lows and lows[-1][1] >= value:
                lows.pop()
            lows.append(point)
            while highs and highs[-1][1] <= value:
                highs.pop()
            highs.append(point)
            if base is not None and self.take(f"{self.code}:asset:{asset_id}", ts):
                out.append(self._make(info, ts, value, base))

    def _make(self, info: AssetInfo, ts: int, value: float, base: tuple[int, float]) -> Firing:
        change = value - base[1]
        values = self.values(
            info,
            value=value,
            measure=self._measure,
            threshold=self._delta,
            count=1,
            duration_min=round((ts - base[0]) / 60_000, 1),
        )
        details = {
            "measure": self._measure,
            "value": value,
            "from_value": base[1],
            "from_ts": base[0],
            "change": change,
            "delta": self._delta,
            "direction": "up" if change > 0 else "down",
            "within_s": self._within_ms // 1000,
        }
        return self.asset_firing(info, ts, values, details)


class _Absence(_Rule):
    """No reading (of one measure, or of any) from an asset for `after_s`; clears on its next reading.

    A silence is found by `tick`, or, when no tick came in time (a dry run between chunks), by the reading
    that ends it: the firing then carries the moment the silence reached `after_s`.
    """

    __slots__ = ("_after_ms", "_measure", "_last_seen", "_unseen", "_alerted")

    def __init__(self, loaded: LoadedRule, calendar: WorkCalendar) -> None:
        super().__init__(loaded, calendar)
        w = loaded.spec.when
        assert isinstance(w, AbsenceWhen)
        self._after_ms = w.after_s * 1000
        self._measure = w.measure
        self._last_seen: dict[int, int] = {}
        self._unseen: set[int] = set()  # watched, no reading yet: the next tick starts their clock
        self._alerted: set[int] = set()

    def watch(self, info: AssetInfo) -> None:
        reports = info.measures
        if reports is not None and (not reports if self._measure is None else self._measure not in reports):
            return  # it never sent what this rule waits for: its silence means nothing
        if self.asset_in_scope(info):
            self.scope_cache[info.id] = info
            if info.id not in self._last_seen:
                self._unseen.add(info.id)

    def on_rows(self, rows: Sequence[Row], lookup: AssetLookup, out: list[Firing]) -> None:
        cache = self.scope_cache
        last_seen = self._last_seen
        alerted = self._alerted
        after_ms, wanted = self._after_ms, self._measure
        for asset_id, measure, ts, _value in rows:
            if wanted is not None and measure != wanted:
                continue
            info = cache.get(asset_id, _MISSING)
            if info is _MISSING:
                info = self.resolve(asset_id, lookup)
            if info is None:
                continue
            last = last_seen.get(asset_id)
            if last is None:
                self._unseen.discard(asset_id)
                last_seen[asset_id] = ts
                continue
            if ts <= last:
                continue  # a late or repeated reading: the clock does not go back
            last_seen[asset_id] = ts
            if ts - last >= after_ms and asset_id not in alerted:
                self._fire(info, last, ts, out)  # a silence that no tick saw
            if asset_id in alerted:
                alerted.discard(asset_id)
                if self.auto_clear:
                    values = self.values(info, measure=wanted, count=1, duration_min=None)
                    details = {"measure": wanted, "last_seen_ts": last, "silent_s": (ts - last) / 1000}
                    out.append(self.asset_firing(info, ts, values, details, clear=True))

    def tick(self, now: int, out: list[Firing]) -> None:
        if self._unseen:
            for asset_id in self._unseen:
                self._last_seen[asset_id] = now
            self._unseen.clear()
        after = self._after_ms
        alerted = self._alerted
        for asset_id, last in self._last_seen.items():
            if now - last >= after and asset_id not in alerted:
                info = self.scope_cache.get(asset_id)
                if info is not None:
                    self._fire(info, last, now, out)

    def _fire(self, info: AssetInfo, last: int, now: int, out: list[Firing]) -> None:
        key = f"{self.code}:asset:{info.id}"
        due = last + self._after_ms
        ts = due if self.take(key, due) else (now if now != due and self.take(key, now) else None)
        if ts is None:
            return
        self._alerted.add(info.id)
        silent_s = (ts - last) / 1000
        values = self.values(info, measure=self._measure, count=1, duration_min=round(silent_s / 60, 1))
        details = {
            "measure": self._measure,
            "last_seen_ts": last,
            "after_s": self._after_ms // 1000,
            "silent_s": silent_s,
        }
        out.append(self.asset_firing(info, ts, values, details))


class _Geofence(_Rule):
    """A moving asset crossing a zone's boundary; lat and lon arrive as two readings with the same ts."""

    __slots__ = ("_zone", "_bbox", "_on", "_lat", "_lon", "_pending", "_inside", "_active")

    def __init__(self, loaded: LoadedRule, calendar: WorkCalendar) -> None:
        super().__init__(loaded, calendar)
        w = loaded.spec.when
        assert isinstance(w, GeofenceWhen)
        self._zone = shape_from_geojson(w.zone)
        shapely.prepare(self._zone)
        self._bbox = self._zone.bounds
        self._on = w.on
        self._lat = w.lat_measure
        self._lon = w.lon_measure
        self._pending: dict[int, list[Any]] = {}  # asset id -> [ts, lat, lon] until both halves are in
        self._inside: dict[int, bool] = {}
        self._active: set[int] = set()

    def on_rows(self, rows: Sequence[Row], lookup: AssetLookup, out: list[Firing]) -> None:
        cache = self.scope_cache
        pending = self._pending
        lat_m, lon_m = self._lat, self._lon
        for asset_id, measure, ts, value in rows:
            if measure != lat_m and measure != lon_m:
                continue
            info = cache.get(asset_id, _MISSING)
            if info is _MISSING:
                info = self.resolve(asset_id, lookup)
            if info is None:
                continue
            pos = pending.get(asset_id)
            if pos is None or pos[0] != ts:
                pos = pending[asset_id] = [ts, None, None]
            pos[1 if measure == lat_m else 2] = value
            if pos[1] is not None and pos[2] is not None:
                del pending[asset_id]
                self._moved(info, ts, pos[1], pos[2], out)

    def _moved(self, info: AssetInfo, ts: int, lat: float, lon: float, out: list[Firing]) -> None:
        asset_id = info.id
        x0, y0, x1, y1 = self._bbox
        inside = x0 <= lon <= x1 and y0 <= lat <= y1 and bool(shapely.intersects_xy(self._zone, lon, lat))
        before = self._inside.get(asset_id)
        self._inside[asset_id] = inside
        if before is None or before == inside:
            return  # the first position only sets the state
        crossing = "enter" if inside else "leave"
        values = self.values(info, measure=f"{self._lat}/{self._lon}", count=1)
        details = {"crossing": crossing, "lat": lat, "lon": lon}
        if self._on in (crossing, "both"):
            if self.take(f"{self.code}:asset:{asset_id}", ts):
                if self._on != "both":
                    self._active.add(asset_id)
                out.append(self.asset_firing(info, ts, values, details, lat=lat, lon=lon))
        elif asset_id in self._active:
            self._active.discard(asset_id)
            if self.auto_clear:
                out.append(self.asset_firing(info, ts, values, details, clear=True, lat=lat, lon=lon))


class _KOfN(_Rule):
    """At least k distinct in-scope assets met a condition within `within_s`; one key for the whole rule."""

    __slots__ = ("_op", "_op_name", "_threshold", "_k", "_within_ms", "_measure", "_recent", "_active")

    def __init__(self, loaded: LoadedRule, calendar: WorkCalendar) -> None:
        super().__init__(loaded, calendar)
        w = loaded.spec.when
        assert isinstance(w, KOfNWhen)
        self._op = _OPS[w.op]
        self._op_name = w.op
        self._threshold = w.value
        self._k = w.k
        self._within_ms = w.within_s * 1000
        self._measure = w.measure
        self._recent: dict[int, int] = {}  # asset id -> ts of its latest reading meeting it, oldest first
        self._active = False

    def watch(self, info: AssetInfo) -> None:
        self.scope_cache[info.id] = info if self.asset_in_scope(info) else None

    def on_rows(self, rows: Sequence[Row], lookup: AssetLookup, out: list[Firing]) -> None:
        cache = self.scope_cache
        recent = self._recent
        op, threshold, k, wanted = self._op, self._threshold, self._k, self._measure
        for asset_id, measure, ts, value in rows:
            if measure != wanted:
                continue
            info = cache.get(asset_id, _MISSING)
            if info is _MISSING:
                info = self.resolve(asset_id, lookup)
            if info is None:
                continue
            if not op(value, threshold):
                continue
            recent.pop(asset_id, None)
            recent[asset_id] = ts  # re-inserted: the dict stays in time order
            self._expire(ts)
            if len(recent) >= k and not self._active and self.take(f"{self.code}:group", ts):
                self._active = True
                out.append(self._make(info, ts, value))

    def tick(self, now: int, out: list[Firing]) -> None:
        self._expire(now)

    def _expire(self, now: int) -> None:
        recent = self._recent
        oldest = now - self._within_ms
        while recent:
            first = next(iter(recent))
            if recent[first] >= oldest:
                break
            del recent[first]
        if len(recent) < self._k:
            self._active = False

    def _make(self, trigger: AssetInfo, ts: int, value: float) -> Firing:
        infos = [i for i in (self.scope_cache.get(a) for a in self._recent) if i is not None]
        units = {i.unit_id for i in infos}
        if self.loaded.unit_id is not None and len(units) != 1:
            unit_id, unit_path = self.loaded.unit_id, self.loaded.unit_path
        else:
            unit_id, unit_path = trigger.unit_id, trigger.unit_path
        n = sum(1 for i in self.scope_cache.values() if i is not None)
        values = self.values(
            trigger, value=value, measure=self._measure, threshold=self._threshold, count=len(infos)
        )
        details = {
            "measure": self._measure,
            "op": self._op_name,
            "threshold": self._threshold,
            "k": self._k,
            "n": n,
            "count": len(infos),
            "within_s": self._within_ms // 1000,
            "assets": [i.code for i in infos],
            "asset_ids": [i.id for i in infos],
        }
        return self.firing(
            f"{self.code}:group",
            ts,
            unit_id=unit_id,
            unit_path=unit_path,
            domain=trigger.domain,
            values=values,
            details=details,
            lat=sum(i.lat for i in infos) / len(infos),
            lon=sum(i.lon for i in infos) / len(infos),
        )


def _event_key(code: str, ev: Observed) -> str:
    return f"{code}:asset:{ev.asset_id}" if ev.asset_id is not None else f"{code}:unit:{ev.unit_id}"


def _event_place(ev: Observed, info: AssetInfo | None) -> tuple[float | None, float | None]:
    if ev.lat is not None and ev.lon is not None:
        return ev.lat, ev.lon
    if info is not None:
        return info.lat, info.lon
    return None, None


class _EventRule(_Rule):
    """Every matching event fires (subject to the cooldown per asset, or per unit for events of no asset)."""

    __slots__ = ("matchers",)

    def __init__(self, loaded: LoadedRule, calendar: WorkCalendar) -> None:
        super().__init__(loaded, calendar)
        w = loaded.spec.when
        assert isinstance(w, EventWhen)
        self.matchers: tuple[_Matcher, ...] = (_Matcher(w.match),)

    def on_event(self, ev: Observed, lookup: AssetLookup, out: list[Firing]) -> None:
        if not self.matchers[0].matches(ev):
            return
        ok, info = self.event_in_scope(ev, lookup)
        if not ok:
            return
        key = _event_key(self.code, ev)
        if not self.take(key, ev.ts):
            return
        out.append(self._event_firing(key, ev, info, {"event_id": ev.id}, count=1))

    def _event_firing(
        self, key: str, ev: Observed, info: AssetInfo | None, details: dict[str, Any], count: int
    ) -> Firing:
        lat, lon = _event_place(ev, info)
        value = ev.payload.get("value")
        values = self.values(
            info,
            value=value if isinstance(value, int | float | str) else None,
            measure=ev.payload.get("measure"),
            count=count,
        )
        values["category"] = ev.category
        if info is None:
            values["asset"] = ev.title
        details = {
            **details,
            "category": ev.category,
            "source": ev.source,
            "severity": ev.severity,
            "title": ev.title,
        }
        return self.firing(
            key,
            ev.ts,
            unit_id=ev.unit_id,
            unit_path=ev.unit_path,
            domain=ev.domain,
            values=values,
            details=details,
            asset_id=ev.asset_id,
            lat=lat,
            lon=lon,
            event_id=ev.id,
        )


class _Pattern(_EventRule):
    """A `then` event after a `first` event within `within_s`, at the same asset, unit or place.

    Each `first` pairs once: the oldest matching pending `first` is used up by the firing.
    """

    __slots__ = ("_first", "_then", "_within_ms", "_same", "_distance_m", "_firsts")

    def __init__(self, loaded: LoadedRule, calendar: WorkCalendar) -> None:
        _Rule.__init__(self, loaded, calendar)
        w = loaded.spec.when
        assert isinstance(w, PatternWhen)
        self._first = _Matcher(w.first)
        self._then = _Matcher(w.then)
        self.matchers = (self._first, self._then)
        self._within_ms = w.within_s * 1000
        self._same = w.same
        self._distance_m = w.distance_m
        # (ts, event id, asset id, unit id, lat, lon) of `first` events still waiting for a `then`
        self._firsts: deque[tuple[int, int | None, int | None, int, float | None, float | None]] = deque(
            maxlen=_MAX_PENDING_FIRSTS
        )

    def on_event(self, ev: Observed, lookup: AssetLookup, out: list[Firing]) -> None:
        is_then = self._then.matches(ev)
        is_first = self._first.matches(ev)
        if not (is_then or is_first):
            return
        ok, info = self.event_in_scope(ev, lookup)
        if not ok:
            return
        lat, lon = _event_place(ev, info)
        firsts = self._firsts
        oldest = ev.ts - self._within_ms
        while firsts and firsts[0][0] < oldest:
            firsts.popleft()
        if is_then:
            for i, first in enumerate(firsts):
                if first[0] > ev.ts:
                    break
                distance = self._same_place(first, ev, lat, lon)
                if distance is None:
                    continue
                key = _event_key(self.code, ev)
                if self._same == "unit":
                    key = f"{self.code}:unit:{ev.unit_id}"
                if self.take(key, ev.ts):
                    del firsts[i]
                    details = {
                        "first_event_id": first[1],
                        "first_ts": first[0],
                        "then_event_id": ev.id,
                        "gap_s": (ev.ts - first[0]) / 1000,
                        "same": self._same,
                    }
                    if distance >= 0:
                        details["distance_m"] = round(distance, 1)
                    out.append(self._event_firing(key, ev, info, details, count=2))
                break
        if is_first:
            firsts.append((ev.ts, ev.id, ev.asset_id, ev.unit_id, lat, lon))

    def _same_place(
        self,
        first: tuple[int, int | None, int | None, int, float | None, float | None],
        ev: Observed,
        lat: float | None,
        lon: float | None,
    ) -> float | None:
        """-1.0 (or the distance for `place`) when the pair is at the same asset/unit/place, else None."""
        same = self._same
        if same == "any":
            return -1.0
        if same == "asset":
            return -1.0 if ev.asset_id is not None and first[2] == ev.asset_id else None
        if same == "unit":
            return -1.0 if first[3] == ev.unit_id else None
        if lat is None or lon is None or first[4] is None or first[5] is None:
            return None
        d = haversine_m(first[4], first[5], lat, lon)
        return d if d <= self._distance_m else None


class _EventCount(_EventRule):
    """`k` matching events within `within_s` in one group (asset, unit or all; and a payload value).

    Each group keeps the times of its last `k` events only; a firing empties the group, so the next one needs
    `k` new events (and the cooldown to have passed). At most 50,000 groups are followed: past that the
    longest-followed one is forgotten (a spray of spoofed addresses cannot grow memory without bound).
    """

    __slots__ = ("_k", "_within_ms", "_per", "_field", "_counted")

    def __init__(self, loaded: LoadedRule, calendar: WorkCalendar) -> None:
        _Rule.__init__(self, loaded, calendar)
        w = loaded.spec.when
        assert isinstance(w, EventCountWhen)
        self.matchers = (_Matcher(w.match),)
        self._k = w.k
        self._within_ms = w.within_s * 1000
        self._per = w.per
        self._field = w.per_payload
        self._counted: dict[str, deque[int]] = {}

    def _group(self, ev: Observed) -> str | None:
        if self._per == "asset" and ev.asset_id is not None:
            group = f"asset:{ev.asset_id}"
        elif self._per == "any":
            group = "any"
        else:
            group = f"unit:{ev.unit_id}"
        if self._field is not None:
            value = ev.payload.get(self._field)
            if value is None or value == "" or isinstance(value, dict | list):
                return None
            group = f"{group}|{self._field}={str(value)[:64]}"
        return group

    def on_event(self, ev: Observed, lookup: AssetLookup, out: list[Firing]) -> None:
        if not self.matchers[0].matches(ev):
            return
        ok, info = self.event_in_scope(ev, lookup)
        if not ok:
            return
        group = self._group(ev)
        if group is None:
            return
        counted = self._counted
        times = counted.get(group)
        if times is None:
            if len(counted) >= _MAX_COUNTED_GROUPS:
                del counted[next(iter(counted))]
            times = counted[group] = deque(maxlen=self._k)
        times.append(ev.ts)
        if len(times) < self._k or ev.ts - times[0] > self._within_ms:
            return
        key = f"{self.code}:{group}"
        if not self.take(key, ev.ts):
            return
        first = times[0]
        del counted[group]
        details: dict[str, Any] = {
            "event_id": ev.id,
            "count": self._k,
            "within_s": self._within_ms // 1000,
            "first_ts": first,
            "group": group,
        }
        if self._field is not None:
            details[self._field] = ev.payload.get(self._field)
        out.append(self._event_firing(key, ev, info, details, count=self._k))


_KINDS: dict[type[Any], type[_Rule]] = {
    ThresholdWhen: _Threshold,
    RateOfChangeWhen: _RateOfChange,
    AbsenceWhen: _Absence,
    GeofenceWhen: _Geofence,
    KOfNWhen: _KOfN,
    PatternWhen: _Pattern,
    EventWhen: _EventRule,
    EventCountWhen: _EventCount,
}


# ---------------------------------------------------------------------------------------------- engine


class RuleEngine:
    """Loaded rules, their state and their indexes. Not thread-safe: one engine per worker thread."""

    def __init__(self, calendar: WorkCalendar | None = None) -> None:
        self._calendar = calendar or WorkCalendar.default()
        self._loaded: list[LoadedRule] = []
        self._compiled: dict[tuple[int, int], _Rule] = {}
        self._by_measure: dict[str, tuple[_Rule, ...]] = {}
        self._any_measure: tuple[_Rule, ...] = ()
        self._by_category: dict[str, tuple[_Rule, ...]] = {}
        self._any_category: tuple[_Rule, ...] = ()
        self._tickers: tuple[_Rule, ...] = ()
        self._reading_rules: tuple[_Rule, ...] = ()
        self._watched: dict[int, AssetInfo] = {}

    @property
    def rules(self) -> list[LoadedRule]:
        return list(self._loaded)

    def load(self, rules: Iterable[LoadedRule]) -> None:
        """Replace the rule set. A rule loaded before with the same (id, version) keeps its state."""
        rules = list(rules)
        ids = [r.rule_id for r in rules]
        if len(set(ids)) != len(ids):
            raise ValueError("each rule id may be loaded once")
        compiled: dict[tuple[int, int], _Rule] = {}
        for lr in rules:
            key = (lr.rule_id, lr.version)
            rule = self._compiled.get(key)
            if rule is None or rule.loaded != lr:
                rule = _KINDS[type(lr.spec.when)](lr, self._calendar)
                for info in self._watched.values():
                    rule.watch(info)
            compiled[key] = rule
        self._loaded = rules
        self._compiled = compiled
        self._index()

    def _index(self) -> None:
        by_measure: dict[str, list[_Rule]] = {}
        any_measure: list[_Rule] = []
        by_category: dict[str, list[_Rule]] = {}
        any_category: list[_Rule] = []
        tickers: list[_Rule] = []
        for rule in self._compiled.values():
            spec = rule.loaded.spec
            if isinstance(rule, _Absence | _KOfN):
                tickers.append(rule)
            if isinstance(rule, _EventRule):
                tops = {m.top for m in rule.matchers}
                if None in tops:
                    any_category.append(rule)
                else:
                    for top in tops:
                        if top is not None:
                            by_category.setdefault(top, []).append(rule)
                continue
            measures = spec.measures()
            if measures is None:
                any_measure.append(rule)
            else:
                for m in measures:
                    by_measure.setdefault(m, []).append(rule)
        self._any_measure = tuple(any_measure)
        self._by_measure = {m: tuple(rs) + self._any_measure for m, rs in by_measure.items()}
        self._any_category = tuple(any_category)
        self._by_category = {c: tuple(rs) + self._any_category for c, rs in by_category.items()}
        self._tickers = tuple(tickers)
        self._reading_rules = tuple(r for r in self._compiled.values() if not isinstance(r, _EventRule))

    def watch_assets(self, assets: Iterable[AssetInfo]) -> None:
        """Make assets known before they send anything (absence rules count silence from the next tick)."""
        rules = list(self._compiled.values())
        for info in assets:
            self._watched[info.id] = info
            for rule in rules:
                rule.watch(info)

    def invalidate_assets(self, asset_ids: Iterable[int] | None = None) -> None:
        """Forget cached scope answers (all, or some assets'), e.g. after an asset moved to another unit."""
        ids = None if asset_ids is None else set(asset_ids)
        for rule in self._compiled.values():
            if ids is None:
                rule.scope_cache.clear()
            else:
                for i in ids:
                    rule.scope_cache.pop(i, None)
        if ids is None:
            self._watched.clear()
        else:
            for i in ids:
                self._watched.pop(i, None)

    def _lookup(self, asset: AssetLookup) -> AssetLookup:
        watched = self._watched
        if not watched:
            return asset

        def lookup(asset_id: int) -> AssetInfo | None:
            info = asset(asset_id)
            return info if info is not None else watched.get(asset_id)

        return lookup

    def feed_readings(self, readings: Sequence[Reading], asset: AssetLookup) -> list[Firing]:
        """Evaluate readings (in time order) against the rules; return what fired, in time order."""
        get = self._by_measure.get
        default = self._any_measure
        batches: dict[_Rule, list[Row]] = {}
        for r in readings:
            rules = get(r.measure, default)
            if rules:
                row = (r.asset_id, r.measure, r.ts, r.value)
                for rule in rules:
                    batch = batches.get(rule)
                    if batch is None:
                        batches[rule] = [row]
                    else:
                        batch.append(row)
        return self._evaluate(batches, asset)

    def feed_rows(self, rows: Sequence[Row], asset: AssetLookup) -> list[Firing]:
        """`feed_readings` for plain ``(asset_id, measure, ts, value)`` tuples, for bulk replays."""
        if len(self._reading_rules) == 1:
            return self._evaluate({self._reading_rules[0]: rows}, asset)  # it skips other measures itself
        get = self._by_measure.get
        default = self._any_measure
        batches: dict[_Rule, list[Row]] = {}
        for row in rows:
            for rule in get(row[1], default):
                batch = batches.get(rule)
                if batch is None:
                    batches[rule] = [row]
                else:
                    batch.append(row)
        return self._evaluate(batches, asset)

    def _evaluate(self, batches: Mapping[_Rule, Sequence[Row]], asset: AssetLookup) -> list[Firing]:
        # Rules share no state, so each runs over its own readings in one tight loop; a reading's place in
        # time is all that orders the firings.
        if not batches:
            return []
        out: list[Firing] = []
        lookup = self._lookup(asset)
        for rule, rows in batches.items():
            rule.on_rows(rows, lookup, out)
        if len(batches) > 1 and len(out) > 1:
            out.sort(key=_ts)
        return out

    def feed_event(self, ev: Observed, asset: AssetLookup) -> list[Firing]:
        """Evaluate one event against the event rules (event, pattern, event_count); return what fired."""
        rules = self._by_category.get(ev.category.split(".", 1)[0], self._any_category)
        if not rules:
            return []
        out: list[Firing] = []
        lookup = self._lookup(asset)
        for rule in rules:
            rule.on_event(ev, lookup, out)
        return out

    def tick(self, now_ms: int) -> list[Firing]:
        """Move the clock: silences reaching `after_s` fire (absence), expired windows empty (k_of_n)."""
        out: list[Firing] = []
        for rule in self._tickers:
            rule.tick(now_ms, out)
        return out

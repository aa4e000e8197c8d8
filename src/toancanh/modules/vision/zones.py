"""Zone logic on normalised image coordinates: enter and leave with inertia, loitering, line crossing.

- A track is in a zone when the bottom-centre of its box (where a person stands, where a wheel touches the
  road) lies inside the polygon.
- Inertia: `inertia` consecutive frames inside before an enter counts, as many outside before a leave
  counts; one frame of a jittery box at the border changes nothing. A track that ends inside leaves.
- Loitering: once per stay, when the track has been inside for `loiter_s` seconds of video time (from the
  first frame of the streak that made it enter).
- Lines: walking a line from its first point to its last, side A is on the left hand and side B on the right
  hand, as seen on the screen. A track whose bottom-centre moved from one side to the other across a segment
  between the previous frame and this one crossed `a_to_b` or `b_to_a`; a line with direction `a_to_b` or
  `b_to_a` counts only that way, `both` counts both.
- Only zones and lines whose schedule is active at the frame's time count (`zone_active` of the cameras
  module); while a zone is off, its state is forgotten, so the objects inside enter afresh when it turns on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import shapely
from shapely.geometry import Polygon

from toancanh.modules.vision.tracker import Point, Track

ScheduleCheck = Callable[[dict[str, Any], datetime], bool]


@dataclass(frozen=True)
class ZoneSpec:
    id: int
    name: str
    kind: str  # zone | line | mask
    points: tuple[tuple[float, float], ...]
    direction: str | None = None
    purposes: tuple[str, ...] = ()
    schedule: dict[str, Any] = field(default_factory=lambda: {"type": "always"})

    @classmethod
    def of(cls, zone: dict[str, Any]) -> ZoneSpec:
        """From a zone's summary (`CameraZone.summary()` of the cameras module)."""
        return cls(
            id=int(zone["id"]),
            name=str(zone["name"]),
            kind=str(zone["kind"]),
            points=tuple((float(x), float(y)) for x, y in zone["points"]),
            direction=zone.get("direction"),
            purposes=tuple(zone.get("purposes") or ()),
            schedule=dict(zone.get("schedule") or {"type": "always"}),
        )


@dataclass(frozen=True, slots=True)
class ZoneEvent:
    kind: str  # enter | leave | loitering | line_crossing
    zone: ZoneSpec
    track: Track
    t: float  # video time, seconds
    direction: str | None = None  # line_crossing: a_to_b | b_to_a
    seconds: float | None = None  # loitering: time in the zone so far


@dataclass
class _Presence:
    in_streak: int = 0
    out_streak: int = 0
    inside: bool = False
    since: float = 0.0  # video time of the first frame of the streak that entered
    streak_start: float = 0.0
    loitered: bool = False


_GONE = _Presence()


def side(a: Point, b: Point, p: Point) -> float:
    """< 0: on side A (left hand walking a -> b, y pointing down), > 0: side B, 0: on the line."""
    return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])


def crossing(a: Point, b: Point, p: Point, q: Point) -> str | None:
    """The direction in which the move p -> q crosses the segment a -> b, or None."""
    sp, sq = side(a, b, p), side(a, b, q)
    if sp == 0 or sq == 0 or (sp < 0) == (sq < 0):
        return None  # same side (or on the line: it crosses when it leaves it on the other side)
    sa, sb = side(p, q, a), side(p, q, b)
    if sa != 0 and sb != 0 and (sa < 0) == (sb < 0):
        return None  # the move passes beside the segment
    return "a_to_b" if sp < 0 else "b_to_a"


class ZoneLogic:
    def __init__(
        self,
        zones: Sequence[ZoneSpec],
        *,
        inertia: int = 3,
        loiter_s: float = 30.0,
        min_hits: int = 2,
        schedule_active: ScheduleCheck | None = None,
    ) -> None:
        self.zones = [z for z in zones if z.kind in ("zone", "line")]
        self.inertia, self.loiter_s, self.min_hits = inertia, loiter_s, min_hits
        self.schedule_active = schedule_active
        self._polys = {z.id: Polygon(z.points) for z in self.zones if z.kind == "zone"}
        for p in self._polys.values():
            shapely.prepare(p)
        self._presence: dict[tuple[int, int], _Presence] = {}
        self._active: dict[int, tuple[str, bool]] = {}  # zone id -> (minute, active)

    def active(self, zone: ZoneSpec, at: datetime) -> bool:
        if self.schedule_active is None or zone.schedule.get("type", "always") == "always":
            return True
        minute = at.strftime("%Y%m%d%H%M%z")  # schedules are in whole minutes: ask once a minute
        cached = self._active.get(zone.id)
        if cached is None or cached[0] != minute:
            cached = (minute, self.schedule_active(zone.schedule, at))
            self._active[zone.id] = cached
        return cached[1]

    def update(
        self, tracks: Sequence[Track], ended: Sequence[Track], t: float, at: datetime
    ) -> list[ZoneEvent]:
        events: list[ZoneEvent] = []
        for zone in self.zones:
            if not self.active(zone, at):
                for key in [k for k in self._presence if k[0] == zone.id]:
                    del self._presence[key]
                continue
            if zone.kind == "line":
                events.extend(self._lines(zone, tracks, t))
            else:
                events.extend(self._zone(zone, tracks, ended, t))
        return events

    def _zone(
        self, zone: ZoneSpec, tracks: Sequence[Track], ended: Sequence[Track], t: float
    ) -> list[ZoneEvent]:
        poly = self._polys[zone.id]
        out: list[ZoneEvent] = []
        for tr in tracks:
            if tr.lost:
                continue  # unseen this frame: no evidence either way
            key = (zone.id, tr.id)
            st = self._presence.setdefault(key, _Presence())
            x, y = tr.point
            if bool(shapely.intersects_xy(poly, x, y)):
                if st.in_streak == 0:
                    st.streak_start = t
                st.in_streak += 1
                st.out_streak = 0
                if not st.inside and st.in_streak >= self.inertia:
                    st.inside, st.since, st.loitered = True, st.streak_start, False
                    out.append(ZoneEvent("enter", zone, tr, t))
            else:
                st.out_streak += 1
                st.in_streak = 0
                if st.inside and st.out_streak >= self.inertia:
                    st.inside = False
                    out.append(ZoneEvent("leave", zone, tr, t))
            if st.inside and not st.loitered and t - st.since >= self.loiter_s:
                st.loitered = True
                out.append(ZoneEvent("loitering", zone, tr, t, seconds=t - st.since))
        for tr in ended:
            st = self._presence.pop((zone.id, tr.id), _GONE)
            if st.inside:
                out.append(ZoneEvent("leave", zone, tr, t))
        return out

    def _lines(self, zone: ZoneSpec, tracks: Sequence[Track], t: float) -> list[ZoneEvent]:
        out: list[ZoneEvent] = []
        pts = zone.points
        for tr in tracks:
            if tr.lost or tr.hits < self.min_hits or tr.prev_point is None:
                continue
            p, q = tr.prev_point, tr.point
            if p == q:
                continue
            for a, b in zip(pts, pts[1:], strict=False):
                way = crossing(a, b, p, q)
                if way is None:
                    continue
                if zone.direction in (None, "both", way):
                    out.append(ZoneEvent("line_crossing", zone, tr, t, direction=way))
                break
        return out

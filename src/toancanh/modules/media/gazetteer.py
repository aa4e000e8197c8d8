"""The locality's names (danh bạ địa danh): communes, hamlets, streets, agencies and assets found in text.

Built from the units table (each name with and without its kind: "xã Đại Thanh", "Đại Thanh"; "UBND xã Đại
Thanh"), the agencies and the assets (schools, markets, roads... by name). Matching runs on folded syllables,
so "ubnd xa dai thanh" finds the commune; the longest name wins at each position. A bare one-syllable name
("Một") is too common to stand alone: such units are found only with their kind ("thôn Một").

An item is put on the map at the most specific place it names: an asset's point, else the unit's own point
or the centre of its boundary.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.assets import Asset
from toancanh.core.units import Agency, Unit
from toancanh.modules.media.text import fold, syllables

KIND_WORDS = {
    "xã": ["xa"],
    "phường": ["phuong"],
    "thị trấn": ["thi tran"],
    "đặc khu": ["dac khu"],
    "thôn": ["thon"],
    "tổ dân phố": ["to dan pho", "tdp"],
    "ấp": ["ap"],
    "bản": ["ban"],
    "khu phố": ["khu pho"],
    "tổ": ["to"],
    "khu": ["khu"],
    "tỉnh": ["tinh"],
    "thành phố": ["thanh pho", "tp"],
    "thành phố trung ương": ["thanh pho", "tp"],
}
PREFIXES_BY_LEVEL = {1: ("ubnd", "uy ban nhan dan"), 2: ("ubnd", "uy ban nhan dan", "cong an")}
TTL_S = 300.0


@dataclass(frozen=True)
class Place:
    kind: str  # unit | agency | asset
    id: int
    name: str
    unit_id: int
    level: int  # unit level (assets and agencies: their unit's level + 1, more specific)
    lat: float | None
    lon: float | None

    def summary(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "name": self.name, "unit_id": self.unit_id}


def _centre(unit: Unit) -> tuple[float | None, float | None]:
    if unit.lat is not None and unit.lon is not None:
        return unit.lat, unit.lon
    if unit.boundary:
        try:
            from toancanh.core.geo import shape_from_geojson

            c = shape_from_geojson(unit.boundary).representative_point()
            return float(c.y), float(c.x)
        except Exception:  # a bad boundary only costs the point on the map
            return None, None
    return None, None


def _bare_name(unit: Unit) -> str:
    name = unit.name.strip()
    low = name.lower()
    for kind in sorted(KIND_WORDS, key=len, reverse=True):
        if low.startswith(kind + " "):
            return name[len(kind) + 1 :].strip()
    return name


class Gazetteer:
    def __init__(self, places: Iterable[tuple[Place, list[str]]]) -> None:
        self._by_first: dict[str, list[tuple[tuple[str, ...], Place]]] = {}
        self.size = 0
        for place, aliases in places:
            for alias in aliases:
                key = tuple(fold(w) for w in syllables(alias))
                if not key:
                    continue
                self._by_first.setdefault(key[0], []).append((key, place))
                self.size += 1
        for entries in self._by_first.values():
            entries.sort(key=lambda e: (-len(e[0]), e[1].kind == "unit"))  # a tie: the agency or asset

    def find(self, text: str) -> list[Place]:
        """Every place named in `text`, in order of first mention, each once."""
        words = syllables(text, folded=True)
        seen: dict[tuple[str, int], Place] = {}
        i = 0
        while i < len(words):
            step = 1
            for key, place in self._by_first.get(words[i], ()):
                n = len(key)
                if tuple(words[i : i + n]) == key:
                    seen.setdefault((place.kind, place.id), place)
                    step = n
                    break
            i += step
        return list(seen.values())


def build(db: Session) -> Gazetteer:
    units = db.scalars(select(Unit)).all()
    by_id = {u.id: u for u in units}
    out: list[tuple[Place, list[str]]] = []
    for u in units:
        lat, lon = _centre(u)
        place = Place("unit", u.id, u.name, u.id, u.level, lat, lon)
        bare = _bare_name(u)
        kind = u.kind.lower()
        aliases = {u.name}
        kinds = [kind, *KIND_WORDS.get(kind, [])] if kind else []
        for k in kinds:
            aliases.add(f"{k} {bare}")
        if len(syllables(bare)) >= 2:
            aliases.add(bare)
        for prefix in PREFIXES_BY_LEVEL.get(u.level, ()):
            for k in kinds:
                aliases.add(f"{prefix} {k} {bare}")
        out.append((place, sorted(aliases)))
    for ag in db.scalars(select(Agency)).all():
        unit = by_id.get(ag.unit_id)
        if unit is None:
            continue
        lat, lon = _centre(unit)
        aliases = [ag.name] + ([ag.code] if len(ag.code) >= 4 and "-" not in ag.code else [])
        out.append((Place("agency", ag.id, ag.name, ag.unit_id, unit.level + 1, lat, lon), aliases))
    for a in db.scalars(select(Asset).where(Asset.status != "retired")).all():
        if len(syllables(a.name)) < 2:
            continue
        unit = by_id.get(a.unit_id)
        level = (unit.level if unit else 2) + 1
        out.append((Place("asset", a.id, a.name, a.unit_id, level, a.lat, a.lon), [a.name]))
    return Gazetteer(out)


def cached(db: Session, holder: Any) -> Gazetteer:
    """The gazetteer kept on `holder` (the app's state), rebuilt every few minutes (units and assets change
    rarely; `invalidate()` forces it)."""
    hit = getattr(holder, "media_gazetteer", None) if holder is not None else None
    if hit is not None and time.monotonic() - hit[0] < TTL_S:
        return hit[1]  # type: ignore[no-any-return]
    g = build(db)
    if holder is not None:
        holder.media_gazetteer = (time.monotonic(), g)
    return g


def invalidate(holder: Any) -> None:
    if holder is not None and getattr(holder, "media_gazetteer", None) is not None:
        holder.media_gazetteer = None


def best_place(places: list[Place]) -> Place | None:
    """The most specific place named: an asset or agency over a hamlet over a commune over a province."""
    located = [p for p in places if p.lat is not None]
    pool = located or places
    if not pool:
        return None
    return max(pool, key=lambda p: (p.level, p.kind == "asset"))

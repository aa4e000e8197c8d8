"""Point-to-unit lookups: which of 3,321 communes holds a point (``core.geo.UnitIndex``).

3,321 is the number of communes and wards in Viet Nam after 1 July 2025; ``synthetic_units`` tiles the
mainland bounding box with that many Voronoi communes of 20 to 60 vertices each.

Measured, in lookups per second:

- ``single``: ``UnitIndex.locate_one(lat, lon)`` called once per point from Python, the per-request path
  (a field report arrives, which commune is it in?).
- ``batch``: ``UnitIndex.locate_many`` on 100,000 points at once, the import and backfill path.

Each rate is the best of 5 interleaved rounds (``_common.best_rates``). Baselines, measured in the same run:

- ``pip`` (the headline baseline): the raw rate of shapely's vectorised point-in-polygon test,
  ``shapely.intersects_xy`` on prepared polygons, each point drawn inside the bounding box of one random
  commune so every test is a real one, not an envelope rejection (points grouped by commune, as
  ``locate_many`` groups its own tests). It is the cheapest thing a lookup could
  possibly cost: one test against the right polygon, with no search. ``ratio_*_to_pip`` is therefore the
  fraction of that ideal the index reaches; 0.08 means a lookup among 3,321 communes costs as much as
  about twelve bare point-in-polygon tests. It is the same GEOS primitive the index uses, so the ratio
  tracks our own overhead (tree search, candidate tests, Python) more than the machine.
- ``bruteforce``: what a lookup costs without an index, testing the point against all 3,321 prepared
  polygons in one vectorised call (measured on a small sample). ``ratio_*_to_bruteforce`` is the speed-up
  the index buys.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import shapely

from bench._common import best_rates, main, print_table, sig
from toancanh.core.geo import VIETNAM_BBOX, UnitIndex, random_points_in, synthetic_units

NAME = "geo_lookup"
UNITS = 3321
BATCH = 100_000
SINGLE_SAMPLE = 10_000
BRUTE_SAMPLE = 200
ROUNDS = 5
SECONDS_PER_ROUND = 0.25


def run() -> dict[str, Any]:
    units = synthetic_units(UNITS, VIETNAM_BBOX, seed=0)
    start = time.perf_counter()
    index = UnitIndex(units)
    build_s = time.perf_counter() - start

    geoms = np.array([shapely.geometry.shape(g) for _, g, _ in units], dtype=object)
    shapely.prepare(geoms)
    ids = np.array([unit_id for unit_id, _, _ in units])
    vertices = float(np.mean(shapely.get_num_coordinates(geoms) - 1))

    batch = random_points_in(VIETNAM_BBOX, BATCH, seed=1)
    single = random_points_in(VIETNAM_BBOX, SINGLE_SAMPLE, seed=2).tolist()
    brute = random_points_in(VIETNAM_BBOX, BRUTE_SAMPLE, seed=3).tolist()
    _check(index, geoms, ids, brute)

    def lookup_single() -> int:
        for lat, lon in single:
            index.locate_one(lat, lon)
        return len(single)

    def lookup_batch() -> int:
        index.locate_many(batch)
        return BATCH

    def lookup_brute() -> int:
        for lat, lon in brute:
            np.flatnonzero(shapely.intersects_xy(geoms, lon, lat))[:1]
        return len(brute)

    # Baseline points: each paired with one random commune and drawn inside that commune's envelope.
    rng = np.random.default_rng(4)
    # Grouped by commune, as locate_many groups its tests: random order is cache-bound and twice as noisy.
    which = geoms[np.sort(rng.integers(0, UNITS, BATCH))]
    bounds = shapely.bounds(which)
    pip_x = bounds[:, 0] + rng.random(BATCH) * (bounds[:, 2] - bounds[:, 0])
    pip_y = bounds[:, 1] + rng.random(BATCH) * (bounds[:, 3] - bounds[:, 1])

    def pip_tests() -> int:
        shapely.intersects_xy(which, pip_x, pip_y)
        return BATCH

    rates = best_rates(
        {"single": lookup_single, "batch": lookup_batch, "brute": lookup_brute, "pip": pip_tests},
        rounds=ROUNDS,
        seconds_per_round=SECONDS_PER_ROUND,
    )
    single_rate, batch_rate, brute_rate, pip_rate = (rates[k] for k in ("single", "batch", "brute", "pip"))

    figures = {
        "units": UNITS,
        "mean_vertices": sig(vertices, 3),
        "lookups_per_s_single": sig(single_rate),
        "lookups_per_s_batch": sig(batch_rate),
        "baseline_pip_tests_per_s": sig(pip_rate),
        "baseline_bruteforce_lookups_per_s": sig(brute_rate),
        "ratio_single_to_pip": sig(single_rate / pip_rate),
        "ratio_batch_to_pip": sig(batch_rate / pip_rate),
        "ratio_single_to_bruteforce": sig(single_rate / brute_rate),
        "ratio_batch_to_bruteforce": sig(batch_rate / brute_rate),
    }
    print_table(
        f"geo_lookup: point → commune, {UNITS:,} communes",
        [
            ("index build (s)", f"{build_s:.2f}"),
            ("single lookups/s (locate_one)", f"{single_rate:,.0f}"),
            (f"batch lookups/s (locate_many, {BATCH:,})", f"{batch_rate:,.0f}"),
            ("baseline: point-in-polygon tests/s", f"{pip_rate:,.0f}"),
            ("baseline: brute-force lookups/s", f"{brute_rate:,.0f}"),
            ("single ÷ point-in-polygon", f"{single_rate / pip_rate:.4f}"),
            ("batch ÷ point-in-polygon", f"{batch_rate / pip_rate:.4f}"),
            ("single ÷ brute force", f"{single_rate / brute_rate:.1f}×"),
            ("batch ÷ brute force", f"{batch_rate / brute_rate:.1f}×"),
        ],
    )
    return figures


def _check(index: UnitIndex, geoms: Any, ids: Any, points: list[list[float]]) -> None:
    """Fail loudly if the index disagrees with brute force: a fast wrong answer is not a figure."""
    many = index.locate_many(points)
    for (lat, lon), got in zip(points, many, strict=True):
        expected = set(ids[shapely.intersects_xy(geoms, lon, lat)].tolist())
        if got not in expected or index.locate_one(lat, lon) != got:
            raise RuntimeError(f"lookup of ({lat}, {lon}) gave {got}, brute force says {sorted(expected)}")


if __name__ == "__main__":
    main(NAME, run)

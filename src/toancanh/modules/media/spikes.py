"""Spikes (đột biến): a topic suddenly talked about much more, or much more negatively, in one commune.

For every (topic, commune) a new item touches, the items of the last `WINDOW` are compared with the
`BASELINE_WINDOWS` windows before it:

- volume: count >= the topic's `spike_min_count` and count > mean + 3 standard deviations (at least 1);
- negative share: count >= `spike_min_count`, negative share >= 60 % and >= the baseline share + 25 points.

A spike is raised once per topic, commune, kind and clock hour (`media_spikes`, unique), and written to the
outbox as `toancanh.media.spike.<kind>` in the same transaction as the items; the alerts module turns it
into an event (category `media.spike.volume` / `media.spike.negative`) that its rules can raise alerts on.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core import outbox
from toancanh.modules.media.models import MediaItem, MediaItemTopic, MediaSpike

if TYPE_CHECKING:
    from toancanh.modules.media.pipeline import Context

WINDOW = timedelta(hours=1)
BASELINE_WINDOWS = 24
NEGATIVE_SHARE = 0.6
NEGATIVE_MARGIN = 0.25
SUBJECT = "toancanh.media.spike"
DEFAULT_DOMAIN = "administration"


def commune_of(ctx: Context, unit_id: int) -> int:
    info = ctx.units.get(unit_id)
    while info is not None and info.level > 2 and info.parent_id is not None:
        info = ctx.units.get(info.parent_id)
    return info.id if info is not None else unit_id


def _bucket(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


def check(db: Session, ctx: Context, items: Sequence[MediaItem], now: datetime) -> list[dict[str, Any]]:
    topics = {t.id: t for t, _, _ in ctx.topics}
    touched: set[tuple[int, int]] = set()
    for item in items:
        tids = db.scalars(select(MediaItemTopic.topic_id).where(MediaItemTopic.item_id == item.id)).all()
        for tid in tids:
            touched.add((tid, commune_of(ctx, item.unit_id)))
    raised = []
    for tid, commune in sorted(touched):
        topic = topics.get(tid)
        if topic is not None:
            raised.extend(_check_one(db, ctx, topic, commune, now))
    return raised


def _check_one(db: Session, ctx: Context, topic: Any, commune: int, now: datetime) -> list[dict[str, Any]]:
    cpath = ctx.units[commune].path if commune in ctx.units else "/"
    unit_ids = [u.id for u in ctx.units.values() if u.path.startswith(cpath)]
    start = now - WINDOW * (BASELINE_WINDOWS + 1)
    rows = db.execute(
        select(MediaItem.id, MediaItem.ingested_at, MediaItem.sentiment, MediaItem.lat, MediaItem.lon)
        .join(MediaItemTopic, MediaItemTopic.item_id == MediaItem.id)
        .where(
            MediaItemTopic.topic_id == topic.id,
            MediaItemTopic.ingested_at > start,
            MediaItemTopic.ingested_at <= now,
            MediaItem.unit_id.in_(unit_ids),
        )
    ).all()
    counts: dict[int, int] = defaultdict(int)
    negatives: dict[int, int] = defaultdict(int)
    current = []
    for rid, at, sent, lat, lon in rows:
        k = int((now - at) / WINDOW)  # 0: the current window
        k = min(k, BASELINE_WINDOWS)
        counts[k] += 1
        negatives[k] += sent == "negative"
        if k == 0:
            current.append((rid, lat, lon))
    n = counts[0]
    if n < topic.spike_min_count:
        return []
    history = [counts[k] for k in range(1, BASELINE_WINDOWS + 1)]
    mean = sum(history) / len(history)
    std = math.sqrt(sum((c - mean) ** 2 for c in history) / len(history))
    base_total = sum(history)
    base_share = sum(negatives[k] for k in range(1, BASELINE_WINDOWS + 1)) / base_total if base_total else 0.0
    share = negatives[0] / n
    found = []
    if n > mean + 3 * max(std, 1.0):
        found.append(("volume", mean))
    if share >= NEGATIVE_SHARE and share >= base_share + NEGATIVE_MARGIN:
        found.append(("negative", base_share))
    out = []
    bucket = _bucket(now)
    for kind, baseline in found:
        exists = db.scalar(
            select(MediaSpike.id).where(
                MediaSpike.topic_id == topic.id,
                MediaSpike.unit_id == commune,
                MediaSpike.kind == kind,
                MediaSpike.window_start == bucket,
            )
        )
        if exists is not None:
            continue
        spike = _raise(db, topic, commune, kind, bucket, n, baseline, share, current, now)
        out.append(spike)
    return out


def _raise(
    db: Session,
    topic: Any,
    commune: int,
    kind: str,
    bucket: datetime,
    n: int,
    baseline: float,
    share: float,
    current: list[tuple[int, float | None, float | None]],
    now: datetime,
) -> dict[str, Any]:
    if kind == "volume":
        vi = f"Tin về '{topic.name}' tăng đột biến: {n} tin trong 1 giờ (bình thường {baseline:.1f})"
        en = f"Spike in '{topic.name}' coverage: {n} items in 1 hour (usually {baseline:.1f})"
    else:
        vi = f"Tin tiêu cực về '{topic.name}' tăng: {share:.0%} trong {n} tin 1 giờ qua"
        en = f"Negative coverage of '{topic.name}' rose: {share:.0%} of {n} items in the last hour"
    spike = MediaSpike(
        topic_id=topic.id,
        unit_id=commune,
        kind=kind,
        window_start=bucket,
        count=n,
        baseline=round(baseline, 3),
        negative_share=round(share, 3),
        detected_at=now,
        domain=topic.domain,
        text=vi,
    )
    db.add(spike)
    db.flush()
    located = [(lat, lon) for _, lat, lon in current if lat is not None and lon is not None]
    data: dict[str, Any] = {
        "spike_id": spike.id,
        "kind": kind,
        "topic_id": topic.id,
        "topic_code": topic.code,
        "count": n,
        "baseline": round(baseline, 3),
        "negative_share": round(share, 3),
        "window_start": bucket.isoformat(),
        "item_ids": [rid for rid, _, _ in current][-20:],
        "severity": "high" if kind == "negative" or n > 3 * max(baseline, 1) else "medium",
        "title_vi": vi,
        "title_en": en,
    }
    if located:
        data["lat"] = sum(p[0] for p in located) / len(located)
        data["lon"] = sum(p[1] for p in located) / len(located)
    # every event of the warning center has a domain: a topic without one is the administration's
    outbox.emit(db, f"{SUBJECT}.{kind}", data, unit_id=commune, domain=topic.domain or DEFAULT_DOMAIN)
    return {"id": spike.id, "kind": kind, "topic": topic.code, "unit_id": commune, "count": n}

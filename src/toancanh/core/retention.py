"""Data retention (thời hạn lưu trữ): how long each kind of data is kept, and the scheduled purge.

Four kinds, each with its own period in days (0 keeps forever), from the settings:
- ``readings``: sensor and counter samples (core time series);
- ``events``: recorded events and published outbox rows;
- ``footage``: video clips in the blob store (evidence of open cases is held, see `RetentionHold`);
- ``personal``: citizens' personal data in closed cases (Nghị định 13/2023/NĐ-CP: kept no longer than needed),
  which is erased in place (the case and its figures stay).

Core brings the rules for what it owns (samples, outbox rows, video blobs); a module adds its own through
`Module(retention=[...])`. A purge runs in batches, one transaction each, so it never holds the database
for long and a crash loses at most one batch of work; every purge that removed something is audited.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from toancanh.core import audit
from toancanh.core.db import Database, utcnow

log = logging.getLogger("toancanh.retention")

KINDS = ("readings", "events", "footage", "personal")
BATCH = 5000


@dataclass(frozen=True)
class RetentionRule:
    """One purge: `purge(db, cutoff, limit)` removes (or erases) at most `limit` items older than `cutoff`
    and returns how many it did; it is called again until it returns less than `limit`."""

    kind: str
    name: str
    purge: Callable[[Session, datetime, int], int]


@dataclass(frozen=True)
class RetentionHold:
    """Blobs that must outlive their period (evidence of an open case): `held(db)` returns their sha256s."""

    name: str
    held: Callable[[Session], set[str]]


@dataclass
class PurgeResult:
    kind: str
    name: str
    cutoff: datetime
    removed: int = 0
    dry_run: bool = False
    files: list[str] = field(default_factory=list)  # blob files to delete after the commit

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "cutoff": self.cutoff.isoformat(),
            "removed": self.removed,
            "dry_run": self.dry_run,
        }


def periods(settings: Any) -> dict[str, int]:
    """Days kept per kind, from the settings (0: forever)."""
    return {kind: int(getattr(settings, f"retention_{kind}_days")) for kind in KINDS}


# ---------------------------------------------------------------------------------------------- core's rules


def _purge_samples(db: Session, cutoff: datetime, limit: int) -> int:
    from toancanh.core.timeseries import Sample, to_ms

    # (series_id, ts) is the key: pick a batch of keys, then delete exactly those.
    keys = db.execute(select(Sample.series_id, Sample.ts).where(Sample.ts < to_ms(cutoff)).limit(limit)).all()
    by_series: dict[int, list[int]] = {}
    for sid, ts in keys:
        by_series.setdefault(sid, []).append(ts)
    for sid, stamps in by_series.items():
        db.execute(delete(Sample).where(Sample.series_id == sid, Sample.ts.in_(stamps)))
    return len(keys)


def _purge_outbox(db: Session, cutoff: datetime, limit: int) -> int:
    from toancanh.core.outbox import OutboxEvent

    ids = db.scalars(
        select(OutboxEvent.id)
        .where(OutboxEvent.published_at.is_not(None), OutboxEvent.published_at < cutoff)
        .limit(limit)
    ).all()
    if ids:
        db.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(ids)))
    return len(ids)  # rows not yet published are never purged: nothing acknowledged is lost


CORE_RULES: tuple[RetentionRule, ...] = (
    RetentionRule("readings", "samples", _purge_samples),
    RetentionRule("events", "outbox", _purge_outbox),
)


# ---------------------------------------------------------------------------------------------- the purge


def _footage(
    db: Session, cutoff: datetime, holds: Sequence[RetentionHold], limit: int, skip: set[str]
) -> list[str]:
    from toancanh.core.files import Blob

    held: set[str] = set()
    for h in holds:
        held |= h.held(db)
    rows = db.scalars(
        select(Blob.sha256)
        .where(Blob.content_type.startswith("video/"), Blob.created_at < cutoff)
        .order_by(Blob.sha256)
    )
    out: list[str] = []
    for sha in rows:
        if sha in held or sha in skip:
            continue
        out.append(sha)
        if len(out) >= limit:
            break
    return out


def purge(
    database: Database,
    settings: Any,
    rules: Iterable[RetentionRule] = (),
    holds: Sequence[RetentionHold] = (),
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    batch: int = BATCH,
    kinds: Iterable[str] | None = None,
) -> list[PurgeResult]:
    """Purge every kind past its period; returns what each rule removed (or would remove, with `dry_run`)."""
    now = now or utcnow()
    days = periods(settings)
    wanted = set(kinds) if kinds is not None else set(KINDS)
    results: list[PurgeResult] = []
    for rule in [*CORE_RULES, *rules]:
        if rule.kind not in wanted or days.get(rule.kind, 0) <= 0:
            continue
        res = PurgeResult(rule.kind, rule.name, now - timedelta(days=days[rule.kind]), dry_run=dry_run)
        results.append(res)
        if dry_run:  # every batch in one transaction, rolled back: the count is exact, nothing changes
            with database.sessionmaker() as s:
                try:
                    while (n := rule.purge(s, res.cutoff, batch)) > 0:
                        res.removed += n
                        if n < batch:
                            break
                finally:
                    s.rollback()
            continue
        while True:
            with database.session() as s:
                n = rule.purge(s, res.cutoff, batch)
                if n:
                    _audit(s, res, n)
            res.removed += n
            if n < batch:
                break
    if "footage" in wanted and days["footage"] > 0:
        results.append(_purge_footage(database, settings, holds, now, days["footage"], dry_run, batch))
    for r in results:
        if r.removed:
            verb = "would go" if dry_run else "removed"
            log.info("retention %s/%s: %d %s before %s", r.kind, r.name, r.removed, verb, r.cutoff.date())
    return results


def _purge_footage(
    database: Database,
    settings: Any,
    holds: Sequence[RetentionHold],
    now: datetime,
    days: int,
    dry_run: bool,
    batch: int,
) -> PurgeResult:
    from toancanh.core.backup import blob_path
    from toancanh.core.files import Blob

    res = PurgeResult("footage", "video blobs", now - timedelta(days=days), dry_run=dry_run)
    seen: set[str] = set()
    while True:
        with database.session() as s:
            shas = _footage(s, res.cutoff, holds, batch, seen)
            seen.update(shas)
            if not dry_run and shas:
                s.execute(delete(Blob).where(Blob.sha256.in_(shas)))
                _audit(s, res, len(shas))
        res.removed += len(shas)
        if not dry_run:
            # Only after the commit: a rolled-back purge must not have lost the files.
            for sha in shas:
                blob_path(settings.blob_dir, sha).unlink(missing_ok=True)
        if len(shas) < batch:
            return res


def _audit(s: Session, res: PurgeResult, n: int) -> None:
    audit.record(
        s,
        "retention.purge",
        entity_type=res.kind,
        entity_id=res.name,
        changes={"removed": n, "cutoff": res.cutoff.isoformat()},
    )


def module_rules(modules: Iterable[Any]) -> tuple[list[RetentionRule], list[RetentionHold]]:
    """The retention rules and holds the enabled modules bring."""
    rules: list[RetentionRule] = []
    holds: list[RetentionHold] = []
    for m in modules:
        for item in getattr(m, "retention", ()):
            (holds if isinstance(item, RetentionHold) else rules).append(item)
    return rules, holds

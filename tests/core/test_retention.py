"""Data retention: each kind is purged past its period, in batches, audited, and nothing else goes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.conftest import build_world
from toancanh.cli import app as cli
from toancanh.core import timeseries
from toancanh.core.audit import AuditEntry
from toancanh.core.db import Database, utcnow
from toancanh.core.files import Blob, BlobStore
from toancanh.core.outbox import OutboxEvent, emit
from toancanh.core.retention import RetentionHold, purge
from toancanh.settings import Settings

DAY_MS = 86_400_000


def mp4(tag: bytes) -> bytes:
    return b"\x00\x00\x00\x18ftypmp42" + tag * 20


def _samples(db: Database, unit_id: int) -> tuple[int, int]:
    """30 samples 800 days old and 20 from yesterday, in one series."""
    now_ms = timeseries.to_ms(utcnow())
    with db.session() as s:
        series = timeseries.Series(key="aq.pm25", name="PM2.5", unit_id=unit_id)
        s.add(series)
        s.flush()
        old = [(series.id, now_ms - 800 * DAY_MS + i, 1.0) for i in range(30)]
        new = [(series.id, now_ms - DAY_MS + i, 2.0) for i in range(20)]
        timeseries.write_samples(s, old + new)
        return series.id, now_ms


def _count(db: Database, stmt: Any) -> int:
    with db.session() as s:
        return int(s.scalar(stmt) or 0)


def test_readings_past_the_period_go_in_batches_and_the_rest_stay(settings: Settings, db: Database) -> None:
    w = build_world(db)
    sid, _ = _samples(db, w.units["A"].id)
    results = purge(db, settings, batch=7, kinds=["readings"])
    assert [(r.kind, r.removed) for r in results] == [("readings", 30)]
    with db.session() as s:
        left = s.scalars(select(timeseries.Sample.value).where(timeseries.Sample.series_id == sid)).all()
        audits = s.scalars(select(AuditEntry).where(AuditEntry.action == "retention.purge")).all()
    assert left == [2.0] * 20
    # 30 rows in batches of 7: five audited batches (7+7+7+7+2), each with its count
    assert [a.changes["removed"] for a in audits if a.changes] == [7, 7, 7, 7, 2]
    assert purge(db, settings, batch=7, kinds=["readings"])[0].removed == 0  # idempotent


def test_dry_run_counts_exactly_and_changes_nothing(settings: Settings, db: Database) -> None:
    w = build_world(db)
    _samples(db, w.units["A"].id)
    before = _count(db, select(func.count()).select_from(timeseries.Sample))
    [res] = purge(db, settings, batch=7, kinds=["readings"], dry_run=True)
    assert res.removed == 30 and res.dry_run
    assert _count(db, select(func.count()).select_from(timeseries.Sample)) == before == 50
    assert _count(db, select(func.count()).where(AuditEntry.action == "retention.purge")) == 0


def test_a_zero_period_keeps_forever(settings: Settings, db: Database) -> None:
    w = build_world(db)
    _samples(db, w.units["A"].id)
    forever = settings.model_copy(update={"retention_readings_days": 0})
    assert purge(db, forever, kinds=["readings"]) == []
    assert _count(db, select(func.count()).select_from(timeseries.Sample)) == 50


def test_only_published_outbox_rows_are_purged(settings: Settings, db: Database) -> None:
    old = utcnow() - timedelta(days=400)
    with db.session() as s:
        for i in range(3):
            emit(s, "toancanh.test.thing", {"i": i})
    with db.session() as s:
        rows = s.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
        rows[0].published_at = old  # published long ago: goes
        rows[1].published_at = utcnow()  # published today: stays
        rows[2].created_at = old  # never published, however old: stays (nothing acknowledged is lost)
    purge(db, settings, kinds=["events"])
    with db.session() as s:
        left = s.scalars(select(OutboxEvent.id).order_by(OutboxEvent.id)).all()
    assert left == [rows[1].id, rows[2].id]


def test_footage_goes_with_its_files_unless_held_and_photos_stay(settings: Settings, db: Database) -> None:
    store = BlobStore(settings.blob_dir)
    with db.session() as s:
        old_clip = store.put(s, mp4(b"old")).sha256
        held_clip = store.put(s, mp4(b"held")).sha256
        new_clip = store.put(s, mp4(b"new")).sha256
        old_photo = store.put(s, b"\xff\xd8\xff\xe0" + b"x" * 100).sha256
    with db.session() as s:
        for sha in (old_clip, held_clip, old_photo):
            blob = s.get(Blob, sha)
            assert blob is not None
            blob.created_at = utcnow() - timedelta(days=200)
    hold = RetentionHold("test evidence", lambda _s: {held_clip})
    [res] = purge(db, settings, holds=[hold], kinds=["footage"], batch=1)
    assert res.removed == 1
    with db.session() as s:
        left = set(s.scalars(select(Blob.sha256)))
    assert left == {held_clip, new_clip, old_photo}
    assert not store.exists(old_clip)
    assert all(store.exists(sha) for sha in left)


def test_cli_show_and_run(
    settings: Settings, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mp = monkeypatch
    w = build_world(db)
    _samples(db, w.units["A"].id)
    mp.setenv("TOANCANH_DATA_DIR", str(settings.data_dir))
    mp.setenv("TOANCANH_DATABASE_URL", settings.resolved_database_url)
    mp.setenv("TOANCANH_RETENTION_READINGS_DAYS", "100")
    runner = CliRunner()
    r = runner.invoke(cli, ["retention", "show"])
    assert r.exit_code == 0 and "readings" in r.output and "100" in r.output
    r = runner.invoke(cli, ["retention", "run", "--kind", "nonsense"])
    assert r.exit_code == 2 and "unknown kind" in r.output
    r = runner.invoke(cli, ["retention", "run", "--kind", "readings", "--dry-run"])
    assert r.exit_code == 0 and "30" in r.output and "would go" in r.output
    assert _count(db, select(func.count()).select_from(timeseries.Sample)) == 50
    r = runner.invoke(cli, ["retention", "run"])
    assert r.exit_code == 0 and "removed" in r.output, r.output
    assert _count(db, select(func.count()).select_from(timeseries.Sample)) == 20

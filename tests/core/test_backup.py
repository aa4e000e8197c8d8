"""Backup and restore: a consistent archive of the database and the blob store, restored into an empty
database and compared table by table, on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import tarfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.conftest import PG_URL, build_world
from toancanh.cli import app as cli
from toancanh.core import timeseries
from toancanh.core.backup import BackupError, blob_path, read_manifest, restore, verify_database
from toancanh.core.backup import backup as make_backup
from toancanh.core.db import Database
from toancanh.core.files import BlobStore
from toancanh.core.units import add_unit
from toancanh.settings import Settings

CAMERA_KEY = "q2ZbdB1n1Qx7tqK0mJ0Z1sYd9vXo3o8c3yq2Yl6x0mE="
JPEG = b"\xff\xd8\xff\xe0" + b"anh hien truong " * 50
PNG = b"\x89PNG\r\n\x1a\n" + b"ban do " * 40


@pytest.fixture
def empty_url(tmp_path: Path, database_url: str) -> Iterator[str]:
    """An empty database of the same engine as the test database."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'restored' / 'toancanh.db'}"
        return
    name = f"tc_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        PG_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield database_url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _series(s: Session, unit_id: int, key: str) -> int:
    series = timeseries.Series(key=key, name=key, unit_id=unit_id)
    s.add(series)
    s.flush()
    return series.id


@pytest.fixture
def filled(settings: Settings, db: Database) -> Settings:
    settings.__dict__["admin_token"] = _fill(settings, db)
    return settings


def _fill(settings: Settings, db: Database) -> str:
    """The test database with a world, two stored files, readings and a camera key in the data dir."""
    world = build_world(db)
    store = BlobStore(settings.blob_dir)
    with db.session() as s:
        store.put(s, JPEG)
        store.put(s, PNG)
        sid = _series(s, world.units["A"].id, "pm25")
        timeseries.write_samples(s, [(sid, 1_700_000_000_000 + i * 1000, float(i)) for i in range(500)])
    (settings.data_dir / "camera_secret_key").write_text(CAMERA_KEY)
    return world.tokens["admin"]


def test_restore_reproduces_every_table_every_file_and_the_keys(
    filled: Settings, tmp_path: Path, empty_url: str
) -> None:
    archive = tmp_path / "backups" / "b.tar"
    made = make_backup(filled.resolved_database_url, filled.data_dir, archive)
    assert made.blobs == 2 and made.tables["samples"]["rows"] == 500
    assert made.tables["users"]["rows"] == 9
    assert archive.stat().st_mode & 0o077 == 0  # it holds the keys: owner only

    new_dir = tmp_path / "restored-data"
    restore(archive, empty_url, new_dir)

    assert verify_database(empty_url) == verify_database(filled.resolved_database_url)
    for data in (JPEG, PNG):
        import hashlib

        sha = hashlib.sha256(data).hexdigest()
        assert blob_path(new_dir / "blobs", sha).read_bytes() == data
    assert (new_dir / "camera_secret_key").read_text() == CAMERA_KEY

    # The restored IOC works: a session token issued before the backup still signs in, the file is served.
    from toancanh.app import create_app

    restored = Settings(
        data_dir=new_dir,
        database_url=empty_url,
        secret_key="test-secret",
        camera_monitor=False,
        log_json=False,
    )
    rdb = Database(empty_url)
    try:
        world = filled.__dict__["admin_token"]  # issued before the backup: the restored session signs in
        with TestClient(create_app(restored, database=rdb)) as c:
            me = c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {world}"})
            assert me.status_code == 200 and me.json()["username"] == "admin"
            sha = hashlib.sha256(JPEG).hexdigest()
            got = c.get(f"/api/v1/files/{sha}", headers={"Authorization": f"Bearer {world}"})
            assert got.status_code == 200 and got.content == JPEG
    finally:
        rdb.dispose()


def test_a_backup_taken_while_writes_go_on_holds_whole_transactions_only(
    settings: Settings, db: Database, tmp_path: Path, empty_url: str
) -> None:
    with db.session() as s:
        sid = _series(s, add_unit(s, code="01", name="Thành phố Hà Nội", kind="thành phố").id, "level")
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        while not stop.is_set():
            base = written[0] * 100
            with db.session() as s:
                timeseries.write_samples(s, [(sid, 1_700_000_000_000 + base + i, 1.0) for i in range(100)])
            written[0] += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        while written[0] < 5:
            threading.Event().wait(0.01)
        archive = tmp_path / "live.tar"
        made = make_backup(settings.resolved_database_url, settings.data_dir, archive)
    finally:
        stop.set()
        t.join()
    rows = made.tables["samples"]["rows"]
    assert rows % 100 == 0 and 500 <= rows <= written[0] * 100
    restore(archive, empty_url, tmp_path / "r")
    rdb = Database(empty_url)
    try:
        with rdb.session() as s:
            n = s.scalar(select(func.count()).select_from(timeseries.Sample))
            last = s.scalar(select(func.max(timeseries.Sample.ts)))
        assert n == rows and last == 1_700_000_000_000 + rows - 1  # a prefix of the writes, nothing torn
    finally:
        rdb.dispose()


def _rewrite(archive: Path, target: Path, change: dict[str, bytes | None]) -> None:
    """A copy of an archive with members replaced (bytes) or dropped (None)."""
    with tarfile.open(archive) as src, tarfile.open(target, "w") as dst:
        for info in src:
            if info.name in change:
                data = change[info.name]
                if data is None:
                    continue
                info.size = len(data)
                dst.addfile(info, io.BytesIO(data))
            else:
                dst.addfile(info, src.extractfile(info))


def test_a_damaged_or_incomplete_archive_is_refused_and_changes_nothing(
    filled: Settings, tmp_path: Path, empty_url: str
) -> None:
    archive = tmp_path / "b.tar"
    made = make_backup(filled.resolved_database_url, filled.data_dir, archive)
    dump = next(m for m in made.members if m.startswith("database."))
    with tarfile.open(archive) as tar:
        member = tar.extractfile(dump)
        assert member is not None
        original = member.read()
    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 0xFF
    with tarfile.open(archive) as tar:
        blob = next(n for n in tar.getnames() if n.startswith("blobs/"))
    cases = {
        "flipped": {dump: bytes(flipped)},
        "blob dropped": {blob: None},
        "manifest dropped": {"manifest.json": None},
        "blob altered": {blob: b"\xff\xd8\xff altered"},
    }
    new_dir = tmp_path / "r"
    for name, change in cases.items():
        bad = tmp_path / f"{name}.tar"
        _rewrite(archive, bad, change)
        with pytest.raises(BackupError):
            restore(bad, empty_url, new_dir)
        assert not verify_database_tables(empty_url), name
        assert not list((new_dir / "blobs").rglob("*")) if (new_dir / "blobs").exists() else True
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all")
    with pytest.raises(BackupError):
        read_manifest(tmp_path / "junk.tar")


def verify_database_tables(url: str) -> list[str]:
    from toancanh.core.backup import _target_is_empty

    return [] if _target_is_empty(url) else ["tables"]


def test_restore_refuses_a_database_that_holds_data(filled: Settings, tmp_path: Path) -> None:
    archive = tmp_path / "b.tar"
    make_backup(filled.resolved_database_url, filled.data_dir, archive)
    before = verify_database(filled.resolved_database_url)
    with pytest.raises(BackupError, match="không trống|not empty|đã có dữ liệu"):
        restore(archive, filled.resolved_database_url, filled.data_dir)
    assert verify_database(filled.resolved_database_url) == before


def test_a_missing_stored_file_fails_the_backup_and_leaves_no_archive(
    filled: Settings, tmp_path: Path
) -> None:
    import hashlib

    blob_path(filled.blob_dir, hashlib.sha256(PNG).hexdigest()).unlink()
    archive = tmp_path / "b.tar"
    with pytest.raises(BackupError, match="Thiếu hoặc hỏng"):
        make_backup(filled.resolved_database_url, filled.data_dir, archive)
    assert not archive.exists() and not list(tmp_path.glob(".backup-*"))


def test_cli_backup_then_check_then_restore(
    filled: Settings, tmp_path: Path, empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    monkeypatch.setenv("TOANCANH_DATA_DIR", str(filled.data_dir))
    monkeypatch.setenv("TOANCANH_DATABASE_URL", filled.resolved_database_url)
    archive = tmp_path / "cli.tar"
    r = runner.invoke(cli, ["backup", "--out", str(archive)])
    assert r.exit_code == 0, r.output
    assert "500" not in r.output or "OK" in r.output
    r = runner.invoke(cli, ["restore", str(archive), "--check"])
    assert r.exit_code == 0 and "checked" in r.output, r.output
    # Into the same, non-empty database: refused with a clear message, exit code 2.
    r = runner.invoke(cli, ["restore", str(archive)])
    assert r.exit_code == 2 and "not empty" in r.output
    monkeypatch.setenv("TOANCANH_DATA_DIR", str(tmp_path / "fresh"))
    monkeypatch.setenv("TOANCANH_DATABASE_URL", empty_url)
    r = runner.invoke(cli, ["restore", str(archive)])
    assert r.exit_code == 0 and "restored and verified" in r.output, r.output

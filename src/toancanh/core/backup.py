"""Backup and restore (sao lưu, phục hồi): the database and the blob store in one consistent archive.

An archive is a tar file:
- ``database.sqlite`` (an online copy through SQLite's backup API) or ``database.pgdump`` (``pg_dump
  --format=custom`` taken inside an exported snapshot);
- ``blobs/<sha256>`` for every blob the database knows at that snapshot (each checked against its hash
  while it is copied);
- ``secrets/<name>`` for the data directory's generated keys (without the camera key, restored camera
  passwords could not be decrypted);
- ``manifest.json``: format, engine, schema revision, and per table the row count and an order-independent
  digest of its rows, computed in the same snapshot as the dump.

Consistency: blobs are written (fsync, rename) before the row that names them commits, so every blob in
the snapshot is on disk when it is copied; blobs added later are simply not in the archive. A restore goes
only into an empty database, checks every member's hash first, and recomputes the table digests
afterwards: a restore that does not reproduce the snapshot exactly is reported, not silently accepted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

FORMAT = 1
SECRET_FILES = ("secret_key", "camera_secret_key")
SKIP_TABLES = frozenset({"spatial_ref_sys"})  # PostGIS's own, recreated with the extension
_DIGEST_MOD = 1 << 128


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why (vi) and `message_en` in English."""

    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(message)
        self.message_en = message_en


@dataclass
class Manifest:
    engine: str  # "sqlite" | "postgresql"
    revision: str | None
    created_at: str
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {"rows": n, "digest": hex}
    blobs: int = 0
    blob_bytes: int = 0
    members: dict[str, str] = field(default_factory=dict)  # archive member -> sha256 (blobs are their name)
    format: int = FORMAT

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "engine": self.engine,
            "revision": self.revision,
            "created_at": self.created_at,
            "tables": self.tables,
            "blobs": self.blobs,
            "blob_bytes": self.blob_bytes,
            "members": self.members,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Manifest:
        return cls(
            engine=doc["engine"],
            revision=doc.get("revision"),
            created_at=doc["created_at"],
            tables=doc.get("tables", {}),
            blobs=int(doc.get("blobs", 0)),
            blob_bytes=int(doc.get("blob_bytes", 0)),
            members=doc.get("members", {}),
            format=int(doc.get("format", 0)),
        )

    @property
    def rows(self) -> int:
        return sum(int(t["rows"]) for t in self.tables.values())


# ---------------------------------------------------------------------------------------------- connections


def _engine_of(url: str) -> str:
    if url.startswith("sqlite"):
        return "sqlite"
    if url.startswith("postgresql"):
        return "postgresql"
    raise BackupError(f"Không hỗ trợ cơ sở dữ liệu: {url.split(':')[0]}", f"Unsupported database: {url}")


def sqlite_path(url: str) -> Path:
    """The file of a `sqlite:///path` URL."""
    path = url.split("///", 1)[1] if "///" in url else ""
    if not path or path == ":memory:":
        raise BackupError("Cần một tệp SQLite", "A SQLite file database is needed")
    return Path(path)


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq (psql, pg_dump) understands it."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgresql") else url


def _tables(cur: Any, engine: str) -> list[str]:
    if engine == "sqlite":
        cur.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    else:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return sorted(r[0] for r in cur.fetchall() if r[0] not in SKIP_TABLES)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def digests(cur: Any, engine: str) -> dict[str, dict[str, Any]]:
    """Per table: the row count and an order-independent digest of every row (a sum of row hashes), read
    with the caller's cursor so that it sees the caller's snapshot. Streams: memory does not grow with
    rows."""
    out: dict[str, dict[str, Any]] = {}
    for table in _tables(cur, engine):
        acc = n = 0
        cur.execute(f"SELECT * FROM {_quote(table)}")
        while rows := cur.fetchmany(5000):
            for row in rows:
                h = hashlib.blake2b(repr(tuple(row)).encode(), digest_size=16).digest()
                acc = (acc + int.from_bytes(h, "big")) % _DIGEST_MOD
            n += len(rows)
        out[table] = {"rows": n, "digest": f"{acc:032x}"}
    return out


def _revision(cur: Any, tables: dict[str, Any]) -> str | None:
    if "alembic_version" not in tables:
        return None
    cur.execute("SELECT version_num FROM alembic_version")
    row = cur.fetchone()
    return str(row[0]) if row else None


def _blob_list(cur: Any, tables: dict[str, Any]) -> list[tuple[str, int]]:
    if "blobs" not in tables:
        return []
    cur.execute("SELECT sha256, size FROM blobs ORDER BY sha256")
    return [(str(r[0]), int(r[1])) for r in cur.fetchall()]


@contextlib.contextmanager
def _snapshot(url: str, work: Path) -> Iterator[tuple[Any, Path]]:
    """A cursor on one consistent snapshot of the database, and the dump of that same snapshot."""
    engine = _engine_of(url)
    if engine == "sqlite":
        src = sqlite3.connect(sqlite_path(url))
        dump = work / "database.sqlite"
        dst = sqlite3.connect(dump)
        try:
            src.backup(dst)  # an online, page-consistent copy; writers may go on meanwhile
        finally:
            src.close()
        try:
            yield dst.cursor(), dump
        finally:
            dst.close()
        return
    conn = psycopg.connect(libpq_url(url))
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        cur = conn.cursor()
        cur.execute("SELECT pg_export_snapshot()")
        row = cur.fetchone()
        assert row is not None
        dump = work / "database.pgdump"
        proc = subprocess.run(  # noqa: S603 (fixed arguments, the URL is the operator's own setting)
            [  # noqa: S607 (the PostgreSQL client tools on PATH, as psql)
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={row[0]}",
                f"--file={dump}",
                f"--dbname={libpq_url(url)}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise BackupError(
                "pg_dump thất bại: " + proc.stderr[-500:], "pg_dump failed: " + proc.stderr[-500:]
            )
        yield cur, dump
    finally:
        conn.rollback()
        conn.close()


# ---------------------------------------------------------------------------------------------- backup


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def blob_path(blob_dir: Path, sha256: str) -> Path:
    return blob_dir / sha256[:2] / sha256[2:4] / sha256


def backup(url: str, data_dir: Path, out: Path) -> Manifest:
    """Write a consistent archive of the database at `url` and the blob store under `data_dir` to `out`.

    The archive is written under a temporary name and renamed when complete (mode 0600: it holds the keys)."""
    engine = _engine_of(url)
    out.parent.mkdir(parents=True, exist_ok=True)
    blob_dir = data_dir / "blobs"
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".backup-") as tmp:
        work = Path(tmp)
        partial = work / "archive.tar"
        with _snapshot(url, work) as (cur, dump):
            tables = digests(cur, engine)
            manifest = Manifest(
                engine=engine, revision=_revision(cur, tables), created_at=datetime.now(UTC).isoformat()
            )
            manifest.tables = tables
            blobs = _blob_list(cur, tables)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
            manifest.members[dump.name] = _sha256_file(dump)
            tar.add(dump, arcname=dump.name)
            missing = _add_blobs(tar, blob_dir, blobs, manifest)
            if missing:
                raise BackupError(
                    f"Thiếu hoặc hỏng {len(missing)} tệp trong kho (ví dụ {missing[0][:12]}…); chưa sao lưu",
                    f"{len(missing)} stored files are missing or damaged (e.g. {missing[0][:12]}…); "
                    "no backup made",
                )
            for name in SECRET_FILES:
                path = data_dir / name
                if path.is_file():
                    manifest.members[f"secrets/{name}"] = _sha256_file(path)
                    tar.add(path, arcname=f"secrets/{name}")
            _add_bytes(tar, "manifest.json", json.dumps(manifest.as_dict(), indent=1).encode())
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, out)
    return manifest


def _add_blobs(
    tar: tarfile.TarFile, blob_dir: Path, blobs: list[tuple[str, int]], manifest: Manifest
) -> list[str]:
    missing: list[str] = []
    for sha, _size in blobs:
        path = blob_path(blob_dir, sha)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            missing.append(sha)
            continue
        if hashlib.sha256(data).hexdigest() != sha:
            missing.append(sha)
            continue
        _add_bytes(tar, f"blobs/{sha}", data)
        manifest.blobs += 1
        manifest.blob_bytes += len(data)
    return missing


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


# ---------------------------------------------------------------------------------------------- restore


def read_manifest(archive: Path) -> Manifest:
    """The archive's manifest after checking that every member is present and matches its hash."""
    try:
        tar = tarfile.open(archive, mode="r")  # noqa: SIM115 (closed by the `with` below)
    except (OSError, tarfile.TarError):
        raise BackupError("Không đọc được tệp sao lưu", "The backup file cannot be read") from None
    with tar:
        try:
            member = tar.extractfile("manifest.json")
            doc = json.loads(member.read()) if member else None
        except (KeyError, ValueError):
            doc = None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise BackupError(
                "Tệp sao lưu không hợp lệ (thiếu manifest)", "Not a Toàn Cảnh backup (no manifest)"
            )
        manifest = Manifest.from_dict(doc)
        seen_blobs = 0
        for info in tar:
            if info.name == "manifest.json":
                continue
            if not info.isfile() or info.name.startswith("/") or ".." in info.name.split("/"):
                raise BackupError(
                    f"Thành phần lạ trong tệp sao lưu: {info.name}", f"Unexpected member: {info.name}"
                )
            expected = manifest.members.get(info.name)
            if info.name.startswith("blobs/"):
                expected = info.name.removeprefix("blobs/")
                seen_blobs += 1
            fh = tar.extractfile(info)
            h = hashlib.sha256()
            while fh is not None and (chunk := fh.read(1 << 20)):
                h.update(chunk)
            if expected is None or h.hexdigest() != expected:
                raise BackupError(
                    f"Tệp sao lưu bị hỏng hoặc bị sửa: {info.name}",
                    f"The backup is damaged or altered: {info.name}",
                )
        names = set(tar.getnames())
        absent = [m for m in manifest.members if m not in names]
        if absent or seen_blobs != manifest.blobs:
            raise BackupError("Tệp sao lưu không đầy đủ", "The backup is incomplete")
    return manifest


def _target_is_empty(url: str) -> bool:
    if _engine_of(url) == "sqlite":
        path = sqlite_path(url)
        if not path.exists() or path.stat().st_size == 0:
            return True
        conn = sqlite3.connect(path)
        try:
            return not _tables(conn.cursor(), "sqlite")
        finally:
            conn.close()
    with psycopg.connect(libpq_url(url)) as pg_conn:
        return not _tables(pg_conn.cursor(), "postgresql")


def restore(archive: Path, url: str, data_dir: Path) -> Manifest:
    """Restore an archive into the empty database at `url` and the data directory; returns its manifest.

    Refuses (changing nothing) a damaged archive, another engine's archive, or a database that holds
    tables."""
    manifest = read_manifest(archive)
    engine = _engine_of(url)
    if manifest.engine != engine:
        raise BackupError(
            f"Bản sao lưu của {manifest.engine}, không phục hồi vào {engine} được",
            f"The backup is of {manifest.engine}; it cannot be restored into {engine}",
        )
    if not _target_is_empty(url):
        raise BackupError(
            "Cơ sở dữ liệu đích đã có dữ liệu; chỉ phục hồi vào cơ sở dữ liệu trống",
            "The target database is not empty; restore only into an empty database",
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    with (
        tarfile.open(archive, mode="r") as tar,
        tempfile.TemporaryDirectory(dir=data_dir, prefix=".restore-") as tmp,
    ):
        work = Path(tmp)
        dump_name = "database.sqlite" if engine == "sqlite" else "database.pgdump"
        dump = work / dump_name
        _extract(tar, dump_name, dump)
        if engine == "sqlite":
            target = sqlite_path(url)
            target.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            os.replace(dump, target)
        else:
            proc = subprocess.run(  # noqa: S603 (fixed arguments, the URL is the operator's own setting)
                [  # noqa: S607 (the PostgreSQL client tools on PATH, as psql)
                    "pg_restore",
                    "--no-owner",
                    "--no-privileges",
                    "--no-comments",
                    "--exit-on-error",
                    "--single-transaction",
                    f"--dbname={libpq_url(url)}",
                    str(dump),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                raise BackupError(
                    "pg_restore thất bại: " + proc.stderr[-500:], "pg_restore failed: " + proc.stderr[-500:]
                )
        _restore_files(tar, data_dir, work)
    check = verify_database(url)
    wrong = sorted(t for t, d in manifest.tables.items() if check.get(t) != d)
    if wrong:
        raise BackupError(
            f"Dữ liệu phục hồi không khớp bản sao lưu ở bảng: {', '.join(wrong[:5])}",
            f"The restored data differs from the backup in: {', '.join(wrong[:5])}",
        )
    return manifest


def _extract(tar: tarfile.TarFile, name: str, target: Path) -> None:
    src = tar.extractfile(name)
    assert src is not None
    with src, target.open("wb") as fh:
        shutil.copyfileobj(src, fh, 1 << 20)
        fh.flush()
        os.fsync(fh.fileno())


def _restore_files(tar: tarfile.TarFile, data_dir: Path, work: Path) -> None:
    blob_dir = data_dir / "blobs"
    for info in tar:
        if info.name.startswith("blobs/"):
            sha = info.name.removeprefix("blobs/")
            target = blob_path(blob_dir, sha)
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.parent / f".tmp-{sha}"
            _extract(tar, info.name, tmp)
            os.replace(tmp, target)
        elif info.name.startswith("secrets/"):
            name = info.name.removeprefix("secrets/")
            if name not in SECRET_FILES:
                continue
            target = data_dir / name
            if target.exists():  # a fresh install's own key: keep it beside, the archive's key wins
                os.replace(target, data_dir / f"{name}.before-restore")
            tmp = work / name
            _extract(tar, info.name, tmp)
            os.chmod(tmp, 0o600)
            shutil.move(tmp, target)


def verify_database(url: str) -> dict[str, dict[str, Any]]:
    """The table digests of a database as it is now (the check a restore runs)."""
    engine = _engine_of(url)
    if engine == "sqlite":
        conn = sqlite3.connect(sqlite_path(url))
        try:
            return digests(conn.cursor(), engine)
        finally:
            conn.close()
    with psycopg.connect(libpq_url(url)) as pg_conn:
        return digests(pg_conn.cursor(), engine)

"""Behaviour of core.files: the content-addressed blob store, type sniffing, and /api/v1/files over HTTP.

The test files are real, tiny ones built here (a PNG with zlib and struct, a JFIF header, a RIFF/WEBP, an
ISO-BMFF ``ftyp`` box, a PDF), never fetched.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import BUS_URL, World, build_world
from toancanh.core import files
from toancanh.core.db import Database
from toancanh.core.errors import BadRequest, NotFound, PayloadTooLarge
from toancanh.core.files import Blob, BlobStore, sniff
from toancanh.settings import Settings

FILES = "/api/v1/files"

# ----------------------------------------------------------------------------------------------------------
# Tiny real files


def png(width: int = 2, height: int = 2, seed: int = 0) -> bytes:
    """A valid RGB PNG: signature, IHDR, one zlib-compressed IDAT, IEND, with real CRCs."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes((seed + x + y) % 256 for x in range(width * 3)) for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg(padding: int = 0) -> bytes:
    """A JPEG/JFIF header (SOI, APP0), an optional comment segment to set the size, and EOI."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    comments = b""
    while padding > 0:
        n = min(padding, 65_000)
        comments += b"\xff\xfe" + struct.pack(">H", n + 2) + b"x" * n
        padding -= n
    return b"\xff\xd8" + app0 + comments + b"\xff\xd9"


def webp() -> bytes:
    body = b"WEBP" + b"VP8L" + struct.pack("<I", 5) + b"\x2f\x00\x00\x00\x00" + b"\x00"
    return b"RIFF" + struct.pack("<I", len(body)) + body


def mp4() -> bytes:
    ftyp = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 0x200) + b"isomiso2"
    return ftyp + struct.pack(">I", 8) + b"mdat"


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"


ACCEPTED = {
    "image/jpeg": jpeg(),
    "image/png": png(),
    "image/webp": webp(),
    "application/pdf": pdf(),
    "video/mp4": mp4(),
}

# Content that must never be taken for a photo, whatever its name says.
DISGUISED = {
    "text": b"Bai rac tu phat o cong truong, de nghi xu ly.\n",
    "html": b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>",
    "svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "svg-bare": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    "exe": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00",
    "elf": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56,
    "jpeg-after-space": b" " + jpeg(),
    "truncated-jpeg-magic": b"\xff\xd8",
    "riff-not-webp": b"RIFF" + struct.pack("<I", 4) + b"WAVE",
}


def test_the_built_files_are_what_they_claim() -> None:
    # The PNG decodes: its IDAT inflates to height rows of (filter byte + width * 3 bytes).
    data = png(3, 2)
    idat_len = struct.unpack(">I", data[33:37])[0]
    assert data[37:41] == b"IDAT"
    assert len(zlib.decompress(data[41 : 41 + idat_len])) == 2 * (1 + 3 * 3)
    assert jpeg().endswith(b"\xff\xd9") and len(jpeg(100_000)) > 100_000


# ----------------------------------------------------------------------------------------------------------
# sniff


@pytest.mark.parametrize("mime", sorted(ACCEPTED))
def test_sniff_reads_the_type_from_the_content(mime: str) -> None:
    assert sniff(ACCEPTED[mime]) == mime


@pytest.mark.parametrize("name", sorted(DISGUISED))
def test_sniff_does_not_recognise_disguised_content(name: str) -> None:
    assert sniff(DISGUISED[name]) is None


def test_sniff_of_nothing_is_nothing() -> None:
    assert sniff(b"") is None
    assert sniff(b"\xff") is None


# ----------------------------------------------------------------------------------------------------------
# BlobStore


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def blob_rows(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Blob)) or 0)


def test_same_bytes_give_the_same_hash_and_are_stored_once(store: BlobStore, db: Database) -> None:
    data = png(seed=1)
    digest = hashlib.sha256(data).hexdigest()
    with db.session() as s:
        first = store.put(s, data)
    with db.session() as s:
        again = store.put(s, data)
    assert first == again == files.BlobRef(digest, len(data), "image/png")
    assert stored_files(store.root) == [store.root / digest[:2] / digest[2:4] / digest]
    assert store.read(digest) == data and store.exists(digest)
    assert blob_rows(db) == 1
    with db.session() as s:
        assert s.get(Blob, digest).summary() == {
            "sha256": digest,
            "size": len(data),
            "content_type": "image/png",
        }

    with db.session() as s:
        other = store.put(s, png(seed=2))
    assert other.sha256 != digest
    assert len(stored_files(store.root)) == 2 and blob_rows(db) == 2


def test_writes_leave_no_temporary_files(store: BlobStore, db: Database) -> None:
    with db.session() as s:
        for data in [*ACCEPTED.values(), *ACCEPTED.values()]:
            store.put(s, data)
    names = [p.name for p in stored_files(store.root)]
    assert len(names) == len(ACCEPTED)
    assert not [n for n in names if n.startswith(".tmp") or len(n) != 64]


def test_a_failed_write_leaves_neither_a_temporary_file_nor_a_blob(
    store: BlobStore, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", broken_replace)
    data = jpeg()
    with pytest.raises(OSError, match="disk full"), db.session() as s:
        store.put(s, data)
    assert stored_files(store.root) == []
    assert not store.exists(hashlib.sha256(data).hexdigest())
    assert blob_rows(db) == 0

    monkeypatch.undo()
    with db.session() as s:
        store.put(s, data)
    assert [p.name for p in stored_files(store.root)] == [hashlib.sha256(data).hexdigest()]


def test_store_refuses_empty_oversized_and_unknown_content(store: BlobStore, db: Database) -> None:
    with db.session() as s:
        with pytest.raises(BadRequest):
            store.put(s, b"")
        with pytest.raises(PayloadTooLarge):
            store.put(s, jpeg(2000), max_bytes=1000)
        for data in DISGUISED.values():
            with pytest.raises(BadRequest):
                store.put(s, data)
        with pytest.raises(BadRequest):
            store.put(s, b"GIF89a" + b"\x00" * 20, allowed=frozenset({"image/png"}))
        assert (
            store.put(s, b"GIF89a" + b"\x00" * 20).content_type == "image/gif"
        )  # no allow-list: any known type
        assert store.put(s, jpeg(500), max_bytes=1000).content_type == "image/jpeg"
    assert len(stored_files(store.root)) == 2


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "..", "", "A" * 64, "a" * 63, "a" * 65, "g" * 64, "a" * 63 + "/", "a" * 64 + "\x00"],
)
def test_store_paths_are_only_lowercase_sha256(store: BlobStore, name: str) -> None:
    with pytest.raises(NotFound):
        store.path(name)
    with pytest.raises(NotFound):
        store.read(name)
    assert store.exists(name) is False


def test_reading_an_unknown_hash_is_not_found(store: BlobStore) -> None:
    with pytest.raises(NotFound):
        store.read("0" * 64)


# ----------------------------------------------------------------------------------------------------------
# Over HTTP


def upload(
    client: TestClient, data: bytes, headers: dict[str, str], name: str = "anh.jpg", ctype: str = "image/jpeg"
) -> Any:
    return client.post(FILES, files={"file": (name, data, ctype)}, headers=headers)


def assert_error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert {"code", "message", "message_en"} <= set(body["error"])
    assert all(
        isinstance(body["error"][k], str) and body["error"][k] for k in ("code", "message", "message_en")
    )
    return body["error"]


@pytest.mark.parametrize("mime", sorted(ACCEPTED))
def test_upload_then_download_by_hash(client: TestClient, world: World, mime: str) -> None:
    data = ACCEPTED[mime]
    # The name and the claimed type are ignored: the content decides.
    r = upload(client, data, world.auth("op_a"), name="report.bin", ctype="application/octet-stream")
    assert r.status_code == 201, r.text
    digest = hashlib.sha256(data).hexdigest()
    assert r.json() == {"sha256": digest, "size": len(data), "content_type": mime}

    got = client.get(f"{FILES}/{digest}", headers=world.auth("viewer_a"))
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"].split(";")[0] == mime


def test_the_same_upload_twice_is_stored_once(
    client: TestClient, world: World, settings: Settings, db: Database
) -> None:
    data = png(seed=7)
    first = upload(client, data, world.auth("op_a"), name="a.png")
    second = upload(client, data, world.auth("police_a"), name="b.png")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert [p.name for p in stored_files(settings.blob_dir)] == [first.json()["sha256"]]
    assert blob_rows(db) == 1


@pytest.mark.parametrize("name", sorted(DISGUISED))
def test_a_jpg_that_is_not_a_photo_is_refused(
    client: TestClient, world: World, settings: Settings, db: Database, name: str
) -> None:
    error = assert_error(upload(client, DISGUISED[name], world.auth("op_a"), name="anh-hien-truong.jpg"), 400)
    assert error["code"] == "bad_request"
    assert stored_files(settings.blob_dir) == [] and blob_rows(db) == 0


def test_known_but_unaccepted_types_are_refused(client: TestClient, world: World, settings: Settings) -> None:
    for data in (b"GIF89a" + b"\x00" * 20, b"\x1a\x45\xdf\xa3" + b"\x00" * 20):  # GIF, WebM
        assert_error(upload(client, data, world.auth("op_a"), name="x.jpg"), 400)
    assert stored_files(settings.blob_dir) == []


def test_an_empty_file_is_refused(client: TestClient, world: World, settings: Settings, db: Database) -> None:
    assert_error(upload(client, b"", world.auth("op_a")), 400)
    assert stored_files(settings.blob_dir) == [] and blob_rows(db) == 0


def test_upload_without_auth_is_unauthorised(client: TestClient, world: World, settings: Settings) -> None:
    assert_error(upload(client, jpeg(), {}), 401)
    assert_error(upload(client, jpeg(), {"Authorization": "Bearer not-a-token"}), 401)
    assert stored_files(settings.blob_dir) == []


@pytest.mark.parametrize("who", ["citizen", "viewer_a", "leader_a"])
def test_upload_without_files_write_is_forbidden(
    client: TestClient, world: World, settings: Settings, who: str
) -> None:
    assert_error(upload(client, jpeg(), world.auth(who)), 403)
    assert stored_files(settings.blob_dir) == []


@pytest.mark.parametrize(
    "path",
    [
        "..%2F..%2Fetc%2Fpasswd",
        "..%5C..%5Cetc%5Cpasswd",
        "%2e%2e",
        "etc%2Fpasswd",
        "A" * 64,  # uppercase hex of a hash that is not stored
        "a" * 63,
        "a" * 65,
        "g" * 64,
        "a" * 64 + "%00",
        "0" * 64,  # well-formed, not stored
    ],
)
def test_download_of_anything_but_a_stored_hash_is_not_found(
    client: TestClient, world: World, settings: Settings, path: str
) -> None:
    secret = settings.data_dir / "secret.txt"
    secret.write_text("not for download")
    r = client.get(f"{FILES}/{path}", headers=world.auth("op_a"))
    assert_error(r, 404)
    assert b"not for download" not in r.content


def test_download_needs_a_caller(client: TestClient, world: World) -> None:
    data = jpeg()
    digest = upload(client, data, world.auth("op_a")).json()["sha256"]
    assert_error(client.get(f"{FILES}/{digest}"), 401)


# ----------------------------------------------------------------------------------------------------------
# The body size limit, with an app built for it

SMALL_LIMIT = 50_000


@pytest.fixture
def small_app(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, World, Settings]]:
    from toancanh.app import create_app

    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        bus_url=BUS_URL,
        secret_key="test-secret",
        relay_interval_s=0.05,
        log_json=False,
        log_level="WARNING",
        max_body_bytes=SMALL_LIMIT,
    )
    database = Database(settings.resolved_database_url)
    try:
        with TestClient(create_app(settings, database=database)) as c:
            yield c, build_world(database), settings
    finally:
        database.dispose()


def test_upload_over_the_size_limit_is_refused_with_413(
    small_app: tuple[TestClient, World, Settings],
) -> None:
    client, world, settings = small_app
    error = assert_error(upload(client, jpeg(SMALL_LIMIT + 10_000), world.auth("op_a")), 413)
    assert error["code"] == "payload_too_large"
    assert stored_files(settings.blob_dir) == []

    r = upload(client, jpeg(SMALL_LIMIT - 10_000), world.auth("op_a"))
    assert r.status_code == 201, r.text
    assert len(stored_files(settings.blob_dir)) == 1


def test_streamed_upload_over_the_size_limit_is_refused_with_413(
    small_app: tuple[TestClient, World, Settings],
) -> None:
    """Without a Content-Length the limit is counted as the body arrives."""
    client, world, settings = small_app
    boundary = "tcboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    payload = jpeg(SMALL_LIMIT + 10_000)

    def body() -> Iterator[bytes]:
        yield head
        for i in range(0, len(payload), 8192):
            yield payload[i : i + 8192]
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {**world.auth("op_a"), "Content-Type": f"multipart/form-data; boundary={boundary}"}
    r = client.post(FILES, content=body(), headers=headers)
    assert stored_files(settings.blob_dir) == []  # refused either way; the status is the bug
    assert_error(r, 413)

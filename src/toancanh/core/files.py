"""The blob store: content-addressed files (sha256) in the data directory.

Photos, evidence clips and documents are stored once by content; a record refers to a blob by its hash.
Writes are atomic (temporary file, fsync, rename), so a crash never leaves a half-written blob under a hash.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from toancanh.core.db import Base, utcnow
from toancanh.core.errors import BadRequest, NotFound, PayloadTooLarge

_HEX64 = re.compile(r"^[0-9a-f]{64}$")

# Magic numbers of the types the IOC accepts; a file's claimed type is never trusted.
_SIGNATURES: list[tuple[bytes, int, str]] = [
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
    (b"ftyp", 4, "video/mp4"),
    (b"\x1a\x45\xdf\xa3", 0, "video/webm"),
]


def sniff(data: bytes) -> str | None:
    """The MIME type read from the content's signature, or None when it is not a known type."""
    for magic, offset, mime in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


class Blob(Base):
    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def summary(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size, "content_type": self.content_type}


@dataclass(frozen=True)
class BlobRef:
    sha256: str
    size: int
    content_type: str


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not _HEX64.match(sha256):
            raise NotFound("Không tìm thấy tệp", "File not found")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(
        self,
        db: Session,
        data: bytes,
        *,
        allowed: frozenset[str] | None = None,
        max_bytes: int | None = None,
    ) -> BlobRef:
        """Store bytes after checking their real type and size; returns the reference (idempotent)."""
        if not data:
            raise BadRequest("Tệp rỗng", "Empty file")
        if max_bytes is not None and len(data) > max_bytes:
            raise PayloadTooLarge(
                f"Tệp quá lớn (tối đa {max_bytes // 1024} KB)", f"File too large (max {max_bytes // 1024} KB)"
            )
        mime = sniff(data)
        if mime is None or (allowed is not None and mime not in allowed):
            raise BadRequest("Định dạng tệp không được chấp nhận", "File type not accepted")
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        if db.get(Blob, digest) is None:
            db.add(Blob(sha256=digest, size=len(data), content_type=mime))
            db.flush()
        return BlobRef(digest, len(data), mime)

    def read(self, sha256: str) -> bytes:
        p = self.path(sha256)
        if not p.exists():
            raise NotFound("Không tìm thấy tệp", "File not found")
        return p.read_bytes()

    def exists(self, sha256: str) -> bool:
        try:
            return self.path(sha256).exists()
        except NotFound:
            return False

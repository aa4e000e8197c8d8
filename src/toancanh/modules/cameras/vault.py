"""Camera credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) with a key from the settings.

The key is `camera_secret_key`, or, when that is empty, a key generated once into `data_dir/camera_secret_key`
(mode 0600). A lost key makes the stored passwords unreadable; they are entered again, nothing else is lost.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from toancanh.settings import Settings

KEY_FILE = "camera_secret_key"


def key_of(settings: Settings) -> bytes:
    if settings.camera_secret_key:
        return settings.camera_secret_key.encode()
    return _key_file(settings.data_dir.resolve())


@lru_cache(maxsize=8)
def _key_file(data_dir: Path) -> bytes:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return path.read_bytes().strip()
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
    return path.read_bytes().strip()


class Vault:
    """Encrypts and decrypts camera user names and passwords."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        return cls(key_of(settings))

    def seal(self, value: str | None) -> str | None:
        if not value:
            return None
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, token: str | None) -> str:
        """The clear text, or "" when there is none or the key changed (the camera then fails to log in)."""
        if not token:
            return ""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            return ""

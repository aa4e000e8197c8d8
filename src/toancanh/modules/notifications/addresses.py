"""Addresses of the message channels, checked and written one way: e-mail, Vietnamese mobile numbers, Zalo.

A Vietnamese mobile number (số di động) is written in many ways (0912 345 678, +84 912 345 678,
84912345678); every gateway gets it in the international form without the plus, ``84912345678``.
SMS text loses its diacritics (dấu): a message with Vietnamese diacritics is sent as UCS-2 (70 characters a
part, several times the price), and many brandname routes refuse it.
"""

from __future__ import annotations

import re
import unicodedata

CHANNELS = ("email", "sms", "zalo")

# Mobile numbers: 0 (or 84) then one of the mobile prefixes 3, 5, 7, 8, 9 and eight more digits.
_MOBILE = re.compile(r"(?:\+?84|0)([35789]\d{8})", re.ASCII)
_PHONE_NOISE = re.compile(r"[\s.\-()]")
_ZALO_ID = re.compile(r"\d{12,20}", re.ASCII)
_EMAIL = re.compile(r"[a-z0-9.!#$%&*+/=?^_`{|}~-]+@[a-z0-9-]+(\.[a-z0-9-]+)+")
# What diacritics removal leaves that a GSM 7-bit SMS still cannot carry.
_TYPOGRAPHY = str.maketrans(
    {"đ": "d", "Đ": "D", "–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "°": " do "}
)


class AddressError(ValueError):
    """An address that its channel cannot use; the message says why in Vietnamese and English."""

    def __init__(self, message_vi: str, message_en: str) -> None:
        super().__init__(f"{message_vi} / {message_en}")
        self.message_vi = message_vi
        self.message_en = message_en


def vn_phone(value: str) -> str:
    """A Vietnamese mobile number as ``84xxxxxxxxx``; raises AddressError for anything else."""
    raw = value if isinstance(value, str) else ""
    digits = _PHONE_NOISE.sub("", raw)
    found = _MOBILE.fullmatch(digits)
    if found is None:
        shown = raw.strip()[:40]
        raise AddressError(
            f"Số điện thoại di động Việt Nam không hợp lệ: {shown!r} (ví dụ 0912345678 hoặc +84912345678)",
            f"Not a Vietnamese mobile number: {shown!r} (e.g. 0912345678 or +84912345678)",
        )
    return "84" + found.group(1)


def email(value: str) -> str:
    """An e-mail address in lower case; raises AddressError for anything that is not one address."""
    addr = (value if isinstance(value, str) else "").strip().lower()
    if len(addr) > 200 or not _EMAIL.fullmatch(addr) or ".." in addr:
        shown = addr[:60]
        raise AddressError(f"Địa chỉ e-mail không hợp lệ: {shown!r}", f"Not an e-mail address: {shown!r}")
    return addr


def zalo(value: str) -> str:
    """A Zalo recipient: a Vietnamese mobile number (ZNS sends by phone) or a numeric Zalo user id."""
    raw = (value if isinstance(value, str) else "").strip()
    try:
        return vn_phone(raw)
    except AddressError:
        if _ZALO_ID.fullmatch(raw):
            return raw
    raise AddressError(
        f"Người nhận Zalo không hợp lệ: {raw[:40]!r} (số điện thoại di động hoặc Zalo ID dạng số)",
        f"Not a Zalo recipient: {raw[:40]!r} (a mobile number or a numeric Zalo user id)",
    )


def normalize(channel: str, value: str) -> str:
    """The address as `channel` sends to it; raises AddressError (also for an unknown channel)."""
    if channel == "email":
        return email(value)
    if channel == "sms":
        return vn_phone(value)
    if channel == "zalo":
        return zalo(value)
    raise AddressError(f"Kênh không hợp lệ: {channel[:20]!r}", f"Unknown channel: {channel[:20]!r}")


def is_phone(value: str) -> bool:
    return bool(_MOBILE.fullmatch(value))


def without_diacritics(text: str) -> str:
    """Vietnamese text without diacritics, in plain ASCII: "Cháy ở Đại Thanh" -> "Chay o Dai Thanh"."""
    folded = unicodedata.normalize("NFD", text.translate(_TYPOGRAPHY))
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    plain = unicodedata.normalize("NFC", plain).translate(_TYPOGRAPHY)
    return plain.encode("ascii", "ignore").decode()

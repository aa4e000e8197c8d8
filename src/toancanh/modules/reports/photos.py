"""Photos from citizens: checked by content, size and pixel count, GPS read, EXIF stripped, re-encoded."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from toancanh.core.errors import BadRequest, PayloadTooLarge
from toancanh.core.files import sniff

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a decompression bomb announces more pixels than any phone camera takes
MAX_SIDE = 2560  # stored photos are scaled down to this
MAX_PHOTOS = 5
MAX_BLUR_BOXES = 20
BLUR_CELLS = 6  # a blurred region keeps at most this many cells across: a face or a plate is gone
ACCEPTED = {"image/jpeg", "image/png", "image/webp"}
_GPS_IFD = 0x8825


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes  # JPEG without any metadata
    width: int
    height: int
    gps: tuple[float, float] | None  # (lat, lon) read from EXIF before stripping


def _dms(value: object, ref: object) -> float | None:
    try:
        d, m, s = (float(x) for x in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    deg = d + m / 60 + s / 3600
    return -deg if str(ref).upper() in ("S", "W") else deg


def read_gps(img: Image.Image) -> tuple[float, float] | None:
    """(lat, lon) from the EXIF GPS block, or None when absent or nonsensical."""
    try:
        gps = img.getexif().get_ifd(_GPS_IFD)
    except Exception:
        return None
    if not gps or 2 not in gps or 4 not in gps:
        return None
    lat, lon = _dms(gps.get(2), gps.get(1, "N")), _dms(gps.get(4), gps.get(3, "E"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return round(lat, 7), round(lon, 7)


def clean_photo(data: bytes) -> CleanPhoto:
    """Validate one uploaded photo and return it re-encoded without metadata (EXIF, GPS, comments)."""
    if not data:
        raise BadRequest("Ảnh rỗng", "Empty photo")
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(
            f"Ảnh quá lớn (tối đa {MAX_BYTES // 1024 // 1024} MB)",
            f"Photo too large (max {MAX_BYTES >> 20} MB)",
        )
    if sniff(data) not in ACCEPTED:
        raise BadRequest("Chỉ nhận ảnh JPEG, PNG hoặc WebP", "Only JPEG, PNG or WebP photos are accepted")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > MAX_PIXELS or width <= 0 or height <= 0:
                raise BadRequest("Ảnh có kích thước điểm ảnh quá lớn", "Photo has too many pixels")
            gps = read_gps(probe)
            probe.load()
            img = ImageOps.exif_transpose(probe)  # keep the orientation the phone meant, then drop EXIF
            img = img.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise BadRequest("Không đọc được ảnh", "Unreadable photo") from exc
    img.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85, optimize=True)  # no exif= argument: nothing of the original survives
    return CleanPhoto(out.getvalue(), img.width, img.height, gps)


Box = tuple[float, float, float, float]
"""(x, y, width, height) as fractions (0-1) of the photo's width and height, from its top-left corner."""


def blur_regions(data: bytes, boxes: list[Box]) -> bytes:
    """The photo with each box made unrecognisable (faces, number plates), re-encoded as a new JPEG.

    Each region is pixelated to at most BLUR_CELLS cells across, then Gaussian-blurred over a cell's width:
    pixelation alone leaves edges a viewer's eye (or a model) can still read, a light blur alone leaves a
    face recognisable.
    """
    with Image.open(io.BytesIO(data)) as src:
        img = src.convert("RGB")
    width, height = img.size
    for x, y, w, h in boxes:
        left, top = int(x * width), int(y * height)
        right, bottom = min(width, round((x + w) * width)), min(height, round((y + h) * height))
        if right - left < 1 or bottom - top < 1:
            continue
        region = img.crop((left, top, right, bottom))
        cell = max(4, -(-max(region.width, region.height) // BLUR_CELLS))
        small = region.resize(
            (max(1, region.width // cell), max(1, region.height // cell)), Image.Resampling.BOX
        )
        region = small.resize(region.size, Image.Resampling.NEAREST)
        region = region.filter(ImageFilter.GaussianBlur(radius=cell))
        img.paste(region, (left, top))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()

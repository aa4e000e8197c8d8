"""Photos made in the test (no files, no network) and a world with report routing."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from toancanh.modules.reports import service
from toancanh.modules.reports.models import ReportCategory


def jpeg(
    width: int = 64, height: int = 48, gps: tuple[float, float] | None = None, color: str = "red"
) -> bytes:
    """A real JPEG, optionally with an EXIF GPS block and a camera model (to prove EXIF is stripped)."""
    img = Image.new("RGB", (width, height), color)
    exif = Image.Exif()
    exif[0x0110] = "Test Camera X1"  # Model
    if gps:
        lat, lon = gps

        def dms(v: float) -> tuple[IFDRational, IFDRational, IFDRational]:
            v = abs(v)
            d = int(v)
            m = int((v - d) * 60)
            s = round(((v - d) * 60 - m) * 60 * 1000)
            return (IFDRational(d, 1), IFDRational(m, 1), IFDRational(s, 1000))

        exif.get_ifd(0x8825).update(
            {1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W", 4: dms(lon)}
        )
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def rworld(world: Any, db: Any) -> Any:
    """The shared world plus routing: security reports in commune A go to commune A's police."""
    with db.session() as s:
        cat = s.query(ReportCategory).filter_by(code="an-ninh").one()
        unit = s.merge(world.units["A"])
        agency = s.merge(world.agencies["ca-a"])
        service.set_route(s, unit, cat, agency)
    return world


def submit(client: Any, **fields: Any) -> Any:
    photos = fields.pop("photos", [])
    data = {"category": "an-ninh", "description": "Nhóm thanh niên tụ tập gây mất trật tự về đêm", **fields}
    files = [("photos", (f"p{i}.jpg", p, "image/jpeg")) for i, p in enumerate(photos)]
    return client.post("/api/v1/reports", data=data, files=files or None)

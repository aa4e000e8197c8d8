"""A synthetic commune with many sensors and a gateway API key, for load benches and crash tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from toancanh.core.assets import Asset
from toancanh.core.auth.service import create_api_key, create_user
from toancanh.core.db import Database
from toancanh.core.units import add_unit

LON, LAT, SIZE = 105.80, 20.90, 0.04


@dataclass
class LoadWorld:
    api_key: str
    unit_id: int
    unit_path: str
    codes: list[str]
    asset_ids: list[int]


def build_load_world(db: Database, devices: int = 1000, *, prefix: str = "dev") -> LoadWorld:
    """Province 01, commune 00664 with a square boundary, `devices` sensors, and an operator's API key."""
    boundary: dict[str, Any] = {
        "type": "Polygon",
        "coordinates": [
            [[LON, LAT], [LON + SIZE, LAT], [LON + SIZE, LAT + SIZE], [LON, LAT + SIZE], [LON, LAT]]
        ],
    }
    with db.session() as s:
        prov = add_unit(s, code="01", name="Thành phố Hà Nội", kind="thành phố trung ương")
        unit = add_unit(s, code="00664", name="Xã Đại Thanh", kind="xã", parent=prov, boundary=boundary)
        side = max(1, int(devices**0.5))
        assets = []
        for i in range(devices):
            lat = LAT + SIZE * ((i // side) + 0.5) / (side + 1)
            lon = LON + SIZE * ((i % side) + 0.5) / (side + 1)
            assets.append(
                Asset(
                    code=f"{prefix}-{i:05d}",
                    type="sensor",
                    domain="environment",
                    name=f"Cảm biến {i}",
                    unit_id=unit.id,
                    lat=lat,
                    lon=lon,
                    attributes={"group": "river" if i % 10 == 0 else "air"},
                )
            )
        s.add_all(assets)
        user = create_user(s, "gateway", "gateway-password-1", role="operator", unit_code="00664")
        key, _ = create_api_key(s, user, "load gateway")
        s.flush()
        return LoadWorld(key, unit.id, unit.path, [a.code for a in assets], [a.id for a in assets])

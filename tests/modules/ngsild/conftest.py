"""Helpers for the NGSI-LD tests: the world of tests/conftest.py and small entity builders."""

from __future__ import annotations

from typing import Any

CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
BASE = "/ngsi-ld/v1"
ERR = "https://uri.etsi.org/ngsi-ld/errors/"


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}


def prop(value: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value, **extra}


def waste(n: int, lon: float = 105.81, lat: float = 20.91, fill: float = 0.5, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:WasteContainer:w{n}",
        "type": "WasteContainer",
        "fillingLevel": prop(fill, unitCode="P1", observedAt="2026-12-01T10:00:00Z"),
        "location": point(lon, lat),
        **extra,
    }


def problem(resp: Any, kind: str, status: int) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["type"] == ERR + kind, body
    assert body["title"] and "detail" in body

"""The temporal API: sensor readings from core time series, and the history of stored entities."""

from __future__ import annotations

from typing import Any

from tests.modules.ngsild.conftest import BASE, problem, prop, waste

T0 = 1_764_547_200_000  # 2025-12-01T00:00:00Z


def _readings(db: Any, world: Any) -> str:
    from toancanh.core import timeseries

    aq = world.assets["aq-a2"]
    with db.session() as s:
        series = timeseries.Series(
            key="aq-a2.pm25",
            name="PM2.5",
            asset_id=aq.id,
            unit_id=aq.unit_id,
            domain="environment",
            unit_of_measure="GQ",
        )
        s.add(series)
        s.flush()
        timeseries.write_samples(s, [(series.id, T0 + i * 60_000, float(10 + i)) for i in range(10)])
    return f"urn:ngsi-ld:Device:{aq.id}"


def test_sensor_readings_over_time(client: Any, world: Any, db: Any) -> None:
    eid = _readings(db, world)
    h = world.auth("op_a")
    url = f"{BASE}/temporal/entities/{eid}"
    every = client.get(url, headers=h).json()
    assert every["id"] == eid and every["type"] == "Device"
    assert [i["value"] for i in every["pm25"]] == [float(10 + i) for i in range(10)]
    assert every["pm25"][0] == {
        "type": "Property",
        "value": 10.0,
        "observedAt": "2025-12-01T00:00:00.000Z",
        "unitCode": "GQ",
    }
    between = client.get(
        url,
        params={"timerel": "between", "timeAt": "2025-12-01T00:02:00Z", "endTimeAt": "2025-12-01T00:05:00Z"},
        headers=h,
    ).json()
    assert [i["value"] for i in between["pm25"]] == [12.0, 13.0, 14.0]
    before = client.get(url, params={"timerel": "before", "timeAt": "2025-12-01T00:02:00Z"}, headers=h).json()
    assert [i["value"] for i in before["pm25"]] == [10.0, 11.0]
    after = client.get(url, params={"timerel": "after", "timeAt": "2025-12-01T00:07:00Z"}, headers=h).json()
    assert [i["value"] for i in after["pm25"]] == [18.0, 19.0]
    last = client.get(
        url, params={"timerel": "after", "timeAt": "2025-12-01T00:00:00Z", "lastN": 3}, headers=h
    ).json()
    assert [i["value"] for i in last["pm25"]] == [17.0, 18.0, 19.0]
    simple = client.get(url, params={"lastN": 2, "options": "temporalValues"}, headers=h).json()
    assert simple["pm25"] == {
        "type": "Property",
        "values": [[18.0, "2025-12-01T00:08:00.000Z"], [19.0, "2025-12-01T00:09:00.000Z"]],
    }
    # outside the caller's scope the entity does not exist
    problem(client.get(url, headers=world.auth("op_b")), "ResourceNotFound", 404)


def test_history_of_stored_entities(client: Any, world: Any) -> None:
    h = world.auth("op_a")
    eid = "urn:ngsi-ld:WasteContainer:w1"
    client.post(BASE + "/entities", json=waste(1, fill=0.1), headers=h)
    for n, fill in enumerate((0.4, 0.7, 0.95)):
        body = {"fillingLevel": prop(fill, observedAt=f"2026-12-01T1{n + 1}:00:00Z")}
        assert client.patch(f"{BASE}/entities/{eid}/attrs", json=body, headers=h).status_code == 204
    url = f"{BASE}/temporal/entities/{eid}"
    got = client.get(url, params={"attrs": "fillingLevel"}, headers=h).json()
    assert [i["value"] for i in got["fillingLevel"]] == [0.1, 0.4, 0.7, 0.95]
    assert set(got) == {"id", "type", "fillingLevel"}
    got = client.get(url, params={"timerel": "after", "timeAt": "2026-12-01T11:30:00Z"}, headers=h).json()
    assert [i["value"] for i in got["fillingLevel"]] == [0.7, 0.95]
    r = client.get(
        f"{BASE}/temporal/entities",
        params={
            "type": "WasteContainer",
            "timerel": "before",
            "timeAt": "2026-12-01T11:30:00Z",
            "attrs": "fillingLevel",
        },
        headers=h,
    )
    assert [[i["value"] for i in e["fillingLevel"]] for e in r.json()] == [[0.1, 0.4]]


def test_temporal_errors(client: Any, world: Any) -> None:
    h = world.auth("op_a")
    url = f"{BASE}/temporal/entities/urn:x:1"
    problem(client.get(url, headers=h), "ResourceNotFound", 404)
    problem(
        client.get(url, params={"timerel": "between", "timeAt": "2026-01-01T00:00:00Z"}, headers=h),
        "BadRequestData",
        400,
    )
    problem(
        client.get(url, params={"timerel": "around", "timeAt": "2026-01-01T00:00:00Z"}, headers=h),
        "BadRequestData",
        400,
    )
    problem(client.get(url, params={"timerel": "before"}, headers=h), "BadRequestData", 400)
    problem(client.get(url, params={"lastN": "0"}, headers=h), "BadRequestData", 400)
    problem(client.get(f"{BASE}/temporal/entities", params={"type": "T"}, headers=h), "BadRequestData", 400)

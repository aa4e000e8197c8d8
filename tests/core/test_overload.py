"""Load shedding: 503 past the in-flight limit and 429 past a client's rate, with Retry-After, then recovery."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from fastapi.testclient import TestClient

from toancanh.core.overload import LoadShedder, TokenBuckets, client_key


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    now = [0.0]
    b = TokenBuckets(rate=2.0, burst=3, clock=lambda: now[0])
    assert [b.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = b.take("a")
    assert 0.49 < wait <= 0.5  # one token comes back every half second
    assert b.take("b") == 0.0  # another client has its own bucket
    now[0] += 0.5
    assert b.take("a") == 0.0
    assert b.take("a") > 0


def test_client_key_prefers_the_credential_and_hides_it() -> None:
    scope = {"headers": [(b"x-api-key", b"secret-key-123")], "client": ("10.0.0.1", 5000)}
    key = client_key(scope)
    assert key.startswith("k:") and "secret" not in key
    assert client_key({"headers": [], "client": ("10.0.0.1", 5000)}) == "ip:10.0.0.1"


async def _slow_app(scope: Any, receive: Any, send: Any) -> None:
    await asyncio.sleep(0.3)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_past_the_inflight_limit_requests_get_503_with_retry_after_and_it_recovers() -> None:
    shedder = LoadShedder(_slow_app, max_inflight=2)

    async def run() -> tuple[list[httpx.Response], httpx.Response]:
        transport = httpx.ASGITransport(app=shedder)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            burst = await asyncio.gather(*(c.get("/api/v1/x") for _ in range(6)))
            after = await c.get("/api/v1/x")
            return list(burst), after

    burst, after = asyncio.run(run())
    codes = sorted(r.status_code for r in burst)
    assert codes == [200, 200, 503, 503, 503, 503]
    refused = next(r for r in burst if r.status_code == 503)
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "overloaded"
    assert after.status_code == 200 and shedder.inflight == 0


def test_health_and_live_streams_are_never_shed() -> None:
    shedder = LoadShedder(_slow_app, max_inflight=1)

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=shedder)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            paths = ["/api/v1/x", "/healthz", "/readyz", "/api/v1/events/stream", "/api/v1/cameras/3/mjpeg"]
            rs = await asyncio.gather(*(c.get(p) for p in paths))
            return [r.status_code for r in rs]

    assert asyncio.run(run()) == [200, 200, 200, 200, 200]


def _settings_with(settings: Any, **kw: Any) -> Any:
    return settings.model_copy(update=kw)


def test_the_app_rate_limits_a_client_with_429_and_other_clients_still_pass(settings: Any, db: Any) -> None:
    from toancanh.app import create_app

    app = create_app(_settings_with(settings, rate_limit_per_s=1.0, rate_limit_burst=3), database=db)
    with TestClient(app) as c:
        codes = [c.get("/api/v1/units", headers={"x-api-key": "client-a"}).status_code for _ in range(5)]
        assert codes[3:] == [429, 429] and 429 not in codes[:3]
        r = c.get("/api/v1/units", headers={"x-api-key": "client-a"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        body = json.loads(r.content)
        assert body["error"]["code"] == "rate_limited" and body["error"]["message"]
        # another client is not punished for client-a, and health stays up
        assert c.get("/api/v1/units", headers={"x-api-key": "client-b"}).status_code != 429
        assert c.get("/healthz").status_code == 200
        metrics = c.get("/metrics").text
        assert 'toancanh_http_shed_total{status="429"}' in metrics


def test_the_app_sheds_load_by_default_only_past_256_in_flight(client: Any) -> None:
    assert client.app.state.settings.max_inflight_requests == 256
    assert all(client.get("/healthz").status_code == 200 for _ in range(20))
    assert client.get("/api/v1/units").status_code in (200, 401)

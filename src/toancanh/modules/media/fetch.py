"""Polite fetching (thu thập lịch sự): robots.txt honoured, one request per host at a time and at most one
every `min_interval_s` (or the site's Crawl-delay, whichever is longer), conditional requests with the
ETag / Last-Modified the site sent last time, a size cap and a timeout.

One `PoliteFetcher` per process serves every media connector, so two connectors polling one site still
wait for each other. robots.txt is read once an hour per host; a missing one (404) allows everything, an
unreachable one (5xx, timeout) refuses for now, as the robots exclusion standard (RFC 9309) asks.
"""

from __future__ import annotations

import asyncio
import time
import urllib.robotparser
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import httpx

USER_AGENT = "ToanCanh-Media/1.0 (+https://github.com/toancanh; IOC press monitoring)"
ROBOTS_AGENT = "ToanCanh-Media"
ROBOTS_TTL_S = 3600.0
MAX_BYTES = 5 * 1024 * 1024
TIMEOUT_S = 15.0
MAX_CRAWL_DELAY_S = 60.0


class FetchError(Exception):
    """The document could not be fetched (HTTP error, too large, unreachable)."""


@dataclass
class Fetched:
    status: Literal["ok", "not_modified", "disallowed"]
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = ""
    url: str = ""


@dataclass
class _Robots:
    parser: urllib.robotparser.RobotFileParser | None  # None: everything allowed
    refuse_all: bool
    fetched_at: float


class PoliteFetcher:
    def __init__(
        self,
        *,
        min_interval_s: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_bytes: int = MAX_BYTES,
        clock: type[time.struct_time] | None = None,
    ) -> None:
        self.min_interval_s = min_interval_s
        self.transport = transport
        self.max_bytes = max_bytes
        self._robots: dict[str, _Robots] = {}
        self._host_locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}
        self.requests = 0

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=self.transport,
            timeout=TIMEOUT_S,
            follow_redirects=True,
            max_redirects=5,
            headers={"User-Agent": USER_AGENT},
        )

    @staticmethod
    def _host(url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"not an http(s) URL: {url[:100]!r}")
        return f"{parts.scheme}://{parts.netloc}"

    async def _wait_turn(self, host: str, delay: float) -> None:
        last = self._last.get(host)
        if last is not None:
            wait = last + delay - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        self._last[host] = time.monotonic()

    async def _robots_for(self, client: httpx.AsyncClient, host: str) -> _Robots:
        found = self._robots.get(host)
        if found is not None and time.monotonic() - found.fetched_at < ROBOTS_TTL_S:
            return found
        await self._wait_turn(host, self.min_interval_s)
        self.requests += 1
        try:
            resp = await client.get(f"{host}/robots.txt")
        except httpx.HTTPError:
            found = _Robots(None, True, time.monotonic())
        else:
            if resp.status_code >= 500:
                found = _Robots(None, True, time.monotonic())
            elif resp.status_code >= 400:
                found = _Robots(None, False, time.monotonic())
            else:
                parser = urllib.robotparser.RobotFileParser()
                parser.parse(resp.text[:500_000].splitlines())
                found = _Robots(parser, False, time.monotonic())
        self._robots[host] = found
        return found

    def _delay(self, robots: _Robots) -> float:
        crawl = None
        if robots.parser is not None:
            crawl = robots.parser.crawl_delay(ROBOTS_AGENT)
        return max(self.min_interval_s, min(float(crawl or 0), MAX_CRAWL_DELAY_S))

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Fetched:
        host = self._host(url)
        lock = self._host_locks.setdefault(host, asyncio.Lock())
        async with lock, self._client() as client:
            robots = await self._robots_for(client, host)
            if robots.refuse_all or (
                robots.parser is not None and not robots.parser.can_fetch(ROBOTS_AGENT, url)
            ):
                return Fetched("disallowed", url=url)
            await self._wait_turn(host, self._delay(robots))
            headers = {}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            self.requests += 1
            try:
                async with asyncio.timeout(TIMEOUT_S), client.stream("GET", url, headers=headers) as resp:
                    if resp.status_code == 304:
                        return Fetched("not_modified", etag=etag, last_modified=last_modified, url=url)
                    if resp.status_code != 200:
                        raise FetchError(f"HTTP {resp.status_code}")
                    declared = resp.headers.get("content-length", "")
                    if declared.isdecimal() and int(declared) > self.max_bytes:
                        raise FetchError(f"larger than {self.max_bytes // 1048576} MB")
                    body = bytearray()
                    async for chunk in resp.aiter_bytes():
                        body += chunk
                        if len(body) > self.max_bytes:
                            raise FetchError(f"larger than {self.max_bytes // 1048576} MB")
                    return Fetched(
                        "ok",
                        bytes(body),
                        etag=resp.headers.get("etag"),
                        last_modified=resp.headers.get("last-modified"),
                        content_type=resp.headers.get("content-type", ""),
                        url=str(resp.url),
                    )
            except TimeoutError as exc:
                raise FetchError(f"no answer within {TIMEOUT_S:g} s") from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"{type(exc).__name__}: {exc}") from exc

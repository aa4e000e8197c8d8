"""Media test helpers: a local HTTP server (RSS, Atom, HTML pages, robots.txt, ETag/304) on 127.0.0.1, and
watch rules and sources in the test world."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Site:
    """What the local server serves: path -> (content type, body); robots.txt; a log of requests."""

    pages: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    robots: str | None = "User-agent: *\nDisallow: /private/\n"
    log: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # (method, path, headers)
    base: str = ""

    def hits(self, path: str) -> list[dict[str, str]]:
        return [h for _, p, h in self.log if p == path]


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            site.log.append(("GET", self.path, {k.lower(): v for k, v in self.headers.items()}))
            if self.path == "/robots.txt":
                if site.robots is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = site.robots.encode()
                ctype = "text/plain"
            elif self.path in site.pages:
                ctype, body = site.pages[self.path]
            else:
                self.send_response(404)
                self.end_headers()
                return
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", "Fri, 04 Dec 2026 08:00:00 GMT")
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(s))
    s.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield s
    server.shutdown()
    server.server_close()


def rss(items: list[tuple[str, str, str]], title: str = "Báo Thử") -> bytes:
    """An RSS 2.0 feed of (link, title, description)."""
    entries = "".join(
        f"<item><title>{t}</title><link>{link}</link><description><![CDATA[<p>{d}</p>]]></description>"
        "<pubDate>Fri, 04 Dec 2026 07:30:00 +0700</pubDate></item>"
        for link, t, d in items
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{title}</title>{entries}</channel></rss>'.encode()


def atom(items: list[tuple[str, str, str]]) -> bytes:
    entries = "".join(
        f'<entry><title>{t}</title><link rel="alternate" href="{link}"/><id>{link}</id>'
        f"<updated>2026-12-04T08:00:00+07:00</updated><summary>{d}</summary><author><name>PV</name></author></entry>"
        for link, t, d in items
    )
    return f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Tin</title>{entries}</feed>'.encode()


def add_source(client: Any, w: Any, who: str = "admin", unit: str = "A", **body: Any) -> dict[str, Any]:
    r = client.post(
        "/api/v1/media/sources",
        json={"name": "Nguồn", "unit_id": w.units[unit].id, **body},
        headers=w.auth(who),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def add_topic(
    client: Any, w: Any, code: str, expression: str, unit: str = "A", who: str = "admin", **extra: Any
) -> dict[str, Any]:
    r = client.post(
        "/api/v1/media/topics",
        json={
            "code": code,
            "name": code.title(),
            "expression": expression,
            "unit_id": w.units[unit].id,
            **extra,
        },
        headers=w.auth(who),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def add_item(
    client: Any, w: Any, title: str, text: str = "", unit: str = "A", who: str = "admin", **extra: Any
) -> Any:
    return client.post(
        "/api/v1/media/items",
        json={"title": title, "text": text, "unit_id": w.units[unit].id, **extra},
        headers=w.auth(who),
    )


@pytest.fixture
def settings(settings: Any) -> Any:
    """No wait between two requests to the local test server (the rate limit has its own test)."""
    settings.media_host_interval_s = 0.0
    return settings

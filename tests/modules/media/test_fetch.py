"""Fetching from a local HTTP server: RSS and Atom feeds, pages by extraction rules, robots.txt, ETag / 304,
the per-host rate limit, the connectors under their lease, and documents that cannot be read."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.modules.media.conftest import Site, add_source, atom, rss
from toancanh.modules.media.fetch import PoliteFetcher

NEWS = [
    (
        "/tin/1",
        "Ngập sâu tại xã Đại Thanh sau mưa lớn",
        "Nhiều tuyến đường ở thôn Một ngập sâu, người dân bức xúc.",
    ),
    ("/tin/2", "Khánh thành trường học mới", "Ngôi trường khang trang, phụ huynh rất hài lòng."),
]
PAGE = """<html><head><title>Báo Thử</title></head><body>
<div class="list">
  <article class="news"><h2><a href="/bai/a">Cháy nhà xưởng ở phường Hoàn Kiếm</a></h2>
    <p class="sapo">Đám cháy lớn gây thiệt hại nặng.</p><time datetime="2026-12-04T08:00:00+07:00">8:00</time></article>
  <article class="news"><h2><a href="/bai/b">UBND xã Đại Thanh tiếp dân</a></h2>
    <p class="sapo">Buổi tiếp dân diễn ra thuận lợi.</p><time datetime="2026-12-04T09:00:00+07:00">9:00</time></article>
  <article class="news"><p>no title here</p></article>
</div></body></html>"""
RULES = {
    "item": "css:article.news",
    "title": "css:h2 a",
    "link": "css:h2 a@href",
    "text": "css:p.sapo",
    "date": "xpath:.//time/@datetime",
}


def _fetch(client: Any, w: Any, sid: int, who: str = "admin") -> dict[str, Any]:
    r = client.post(f"/api/v1/media/sources/{sid}/fetch", headers=w.auth(who))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_rss_feed_then_304(client: Any, world: Any, site: Site) -> None:
    site.pages["/rss.xml"] = ("application/rss+xml", rss([(site.base + p, t, d) for p, t, d in NEWS]))
    src = add_source(client, world, kind="rss", url=site.base + "/rss.xml")
    out = _fetch(client, world, src["id"])
    assert out["status"] == "ok" and out["new"] == 2
    items = client.get("/api/v1/media/items", headers=world.auth("admin")).json()["items"]
    by_title = {i["title"]: i for i in items}
    flood = by_title["Ngập sâu tại xã Đại Thanh sau mưa lớn"]
    assert flood["sentiment"]["label"] == "negative" and flood["published_at"].startswith("2026-12-04T00:30")
    assert flood["unit_id"] == world.units["H1"].id  # "thôn Một" inside commune A
    assert flood["lat"] is not None
    # the second poll is a conditional request: 304, nothing read again
    out = _fetch(client, world, src["id"])
    assert out["status"] == "not_modified"
    assert site.hits("/rss.xml")[-1]["if-none-match"].startswith('"')
    assert "if-modified-since" in site.hits("/rss.xml")[-1]
    assert len(site.hits("/robots.txt")) == 1  # robots.txt read once and remembered
    assert all(h["user-agent"].startswith("ToanCanh-Media") for _, _, h in site.log)
    # a changed feed is read again; known URLs are not stored twice
    site.pages["/rss.xml"] = (
        "application/rss+xml",
        rss(
            [(site.base + p, t, d) for p, t, d in NEWS]
            + [(site.base + "/tin/3", "Sạt lở bờ sông", "Sạt lở nguy hiểm.")]
        ),
    )
    out = _fetch(client, world, src["id"])
    assert out["new"] == 1 and out["known"] == 2
    s = client.get(f"/api/v1/media/sources/{src['id']}", headers=world.auth("admin")).json()
    assert s["items_total"] == 3 and s["last_status"] == "ok"


def test_atom_feed(client: Any, world: Any, site: Site) -> None:
    site.pages["/atom"] = ("application/atom+xml", atom([(site.base + p, t, d) for p, t, d in NEWS]))
    src = add_source(client, world, kind="rss", url=site.base + "/atom")
    assert _fetch(client, world, src["id"])["new"] == 2
    items = client.get("/api/v1/media/items", headers=world.auth("admin")).json()["items"]
    assert {i["author"] for i in items} == {"PV"}


def test_page_by_extraction_rules(client: Any, world: Any, site: Site) -> None:
    site.pages["/trang"] = ("text/html; charset=utf-8", PAGE.encode())
    src = add_source(client, world, kind="page", url=site.base + "/trang", unit="01", rules=RULES)
    out = _fetch(client, world, src["id"])
    assert out["new"] == 2 and out["skipped"] == 1
    items = client.get("/api/v1/media/items", headers=world.auth("admin")).json()["items"]
    by_url = {i["url"]: i for i in items}
    fire = by_url[site.base + "/bai/a"]
    assert fire["unit_id"] == world.units["B"].id  # a province source: the commune the story names
    assert fire["published_at"].startswith("2026-12-04T01:00")
    assert by_url[site.base + "/bai/b"]["unit_id"] == world.units["A"].id  # "UBND xã Đại Thanh"


def test_extraction_rules_by_regex_and_preview(client: Any, world: Any) -> None:
    rules = {"item": "css:article.news", "title": "re:<a[^>]*>(.*?)</a>", "link": "css:a@href"}
    r = client.post(
        "/api/v1/media/extract/test",
        json={"html": PAGE, "url": "http://bao.test/", "rules": rules},
        headers=world.auth("op_a"),
    )
    assert r.status_code == 200, r.text
    stories = r.json()["stories"]
    assert [s["url"] for s in stories] == ["http://bao.test/bai/a", "http://bao.test/bai/b"]
    assert stories[0]["title"] == "Cháy nhà xưởng ở phường Hoàn Kiếm"


BAD_RULES = [
    ({"title": "css:h2 a[", "item": "css:article"}, "Rule 'title' is invalid"),
    ({"title": "xpath://*[", "item": "css:article"}, "Rule 'title' is invalid"),
    ({"title": "re:(unclosed"}, "Rule 'title' is invalid"),
    ({"title": "h2"}, "must start with css:, xpath: or re:"),
    ({"text": "css:p"}, "'title' rule is required"),
    ({"title": "css:h1", "colour": "css:b"}, "Unknown rule fields: colour"),
    ({"title": 5}, "must be a non-empty string"),
    ([1, 2], "must be an object"),
]


def test_bad_extraction_rules_are_refused(client: Any, world: Any, site: Site) -> None:
    for rules, message in BAD_RULES:
        r = client.post(
            "/api/v1/media/sources",
            json={
                "name": "x",
                "kind": "page",
                "url": site.base + "/p",
                "unit_id": world.units["A"].id,
                "rules": rules,
            },
            headers=world.auth("admin"),
        )
        assert r.status_code in (400, 422), (rules, r.text)
        if r.status_code == 400:
            assert message in r.json()["error"]["message_en"], rules
    r = client.post(
        "/api/v1/media/extract/test",
        json={"html": "<p>x</p>", "rules": {"title": "css:[["}},
        headers=world.auth("op_a"),
    )
    assert r.status_code == 400 and "Rule 'title' is invalid" in r.json()["error"]["message_en"]
    assert client.get("/api/v1/media/sources", headers=world.auth("admin")).json() == []


def test_robots_txt_is_honoured(client: Any, world: Any, site: Site) -> None:
    site.pages["/private/rss"] = ("application/rss+xml", rss([(site.base + "/tin/9", "Tin riêng", "x")]))
    src = add_source(client, world, kind="rss", url=site.base + "/private/rss")
    assert _fetch(client, world, src["id"])["status"] == "disallowed"
    assert site.hits("/private/rss") == []
    assert client.get("/api/v1/media/items", headers=world.auth("admin")).json()["total"] == 0


def test_unreachable_robots_refuses_missing_robots_allows(site: Site) -> None:
    site.robots = None  # 404: everything allowed
    site.pages["/a"] = ("text/plain", b"hello")
    f = PoliteFetcher(min_interval_s=0)
    got = asyncio.run(f.fetch(site.base + "/a"))
    assert got.status == "ok" and got.body == b"hello"
    dead = PoliteFetcher(min_interval_s=0)
    assert asyncio.run(dead.fetch("http://127.0.0.1:9/a")).status == "disallowed"


def test_per_host_rate_limit_and_crawl_delay(site: Site) -> None:
    site.pages["/a"] = ("text/plain", b"a")
    site.pages["/b"] = ("text/plain", b"b")
    site.robots = "User-agent: *\nCrawl-delay: 1\n"
    f = PoliteFetcher(min_interval_s=0.1)

    async def run() -> list[float]:
        start = time.monotonic()
        await asyncio.gather(f.fetch(site.base + "/a"), f.fetch(site.base + "/b"), f.fetch(site.base + "/a"))
        return [time.monotonic() - start]

    (elapsed,) = asyncio.run(run())
    assert elapsed >= 2.9  # robots, then three documents 1 s apart (the Crawl-delay beats 0.1 s)
    assert len(site.log) == 4


def test_malformed_oversized_and_wrong_documents_change_nothing(client: Any, world: Any, site: Site) -> None:
    site.pages["/bad.xml"] = ("application/rss+xml", b"<rss><channel><item><title>x</title>")
    site.pages["/html"] = ("text/html", b"<html><body>not a feed</body></html>")
    site.pages["/dtd"] = (
        "application/xml",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "x">]><rss>&e;</rss>',
    )
    site.pages["/big"] = ("application/rss+xml", b"<rss>" + b" " * (5 * 1024 * 1024 + 10) + b"</rss>")
    expected = {
        "/bad.xml": "Not well-formed XML",
        "/html": "Not an RSS or Atom feed",
        "/dtd": "forbidden",
        "/big": "larger than 5 MB",
        "/missing": "HTTP 404",
    }
    for path, message in expected.items():
        src = add_source(client, world, kind="rss", url=site.base + path, name=path)
        out = _fetch(client, world, src["id"])
        assert out["status"] == "error" and message in out["error"], (path, out)
        s = client.get(f"/api/v1/media/sources/{src['id']}", headers=world.auth("admin")).json()
        assert s["last_status"] == "error" and message in s["last_error"] and s["items_total"] == 0
    assert client.get("/api/v1/media/items", headers=world.auth("admin")).json()["total"] == 0


def test_rss_connector_polls_due_sources_under_its_lease(settings: Any, db: Any, site: Site) -> None:
    from fastapi.testclient import TestClient

    from tests.conftest import build_world
    from toancanh.app import create_app

    settings.connectors = ["rss"]
    settings.media_poll_s = 0.2
    app = create_app(settings, database=db)
    site.pages["/rss.xml"] = ("application/rss+xml", rss([(site.base + p, t, d) for p, t, d in NEWS]))
    with TestClient(app) as client:
        w = build_world(db)
        add_source(client, w, kind="rss", url=site.base + "/rss.xml")
        deadline = time.monotonic() + 10
        while client.get("/api/v1/media/items", headers=w.auth("admin")).json()["total"] < 2:
            assert time.monotonic() < deadline, "the connector did not poll"
            time.sleep(0.1)
        assert "connector:rss" in client.get("/readyz").json()["leases"]["held"]
        status = app.state.connectors["rss"].status()
        assert status["available"] and status["counters"]["new"] == 2

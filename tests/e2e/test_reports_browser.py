"""A field report end to end in Chromium: a citizen sends it from a phone, the police answer it with a
result photo, an operator publishes it, the citizen rates it and it shows on the public map.

The demo of Đại Thanh is served by uvicorn as in test_browser.py (without the simulator); the test makes
sure that security reports in the commune go to the commune police (the demo user `congan`). Screenshots go to
a temporary folder (printed with `-s`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import seeded_demo_settings, serving
from tests.e2e.test_browser import Page
from tests.modules.reports.conftest import jpeg
from toancanh.core.db import Database
from toancanh.core.units import Agency, unit_by_code
from toancanh.modules.reports import service
from toancanh.modules.reports.categories import DEFAULT_CATEGORIES

pytestmark = pytest.mark.browser

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
WALL = {"viewport": {"width": 1920, "height": 1080}}
HERE = {"latitude": 20.936242, "longitude": 105.820757, "accuracy": 12}  # Thôn Vĩnh Ninh, Xã Đại Thanh
REPORTER_PHONE, REPORTER_NAME = "0987654321", "Đỗ Thị Lan"
ANSWER = "Công an xã đã đến hiện trường lúc 21 giờ, giải tán nhóm thanh niên và nhắc nhở các hộ kinh doanh."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo IOC on a free port, with security reports of the commune routed to its police."""
    from toancanh.app import create_app

    settings = seeded_demo_settings(tmp_path_factory.mktemp("e2e-reports-data"), simulator=False)
    with serving(create_app(settings), "e2e-reports") as url:
        db = Database(settings.resolved_database_url)
        with db.session() as s:  # the categories exist once the app has started
            police = s.scalar(select(Agency).where(Agency.code == "cong-an"))
            service.set_route(s, unit_by_code(s, "00664"), service.category_by_code(s, "an-ninh"), police)
        db.dispose()
        yield url


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("e2e-reports-screenshots")
    print(f"\nscreenshots: {path}")
    return path


@pytest.fixture
def make_page(browser: Any, server: str) -> Iterator[Any]:
    pages: list[Page] = []

    def make(**context_args: Any) -> Page:
        pages.append(Page(browser, server, **context_args))
        return pages[-1]

    yield make
    for p in pages:
        p.close()


def no_overflow(p: Page, width: int) -> None:
    scroll = p.page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= width + 1, f"page is {scroll}px wide on a {width}px screen"


def wait_for_area(p: Page) -> None:
    p.page.wait_for_function("() => Number(document.getElementById('pick-map').dataset.boundaries || 0) > 1")


def send_report(p: Page) -> str:
    """Press send; past the duplicates panel should an older report of the demo lie close by."""
    p.page.click("#submit-btn")
    p.page.wait_for_selector("#done:not([hidden]), #dupes:not([hidden])")
    if p.page.locator("#done").is_hidden():
        p.page.click("#submit-anyway")
        p.page.wait_for_selector("#done:not([hidden])")
    return p.page.locator("#done-code").inner_text().strip()


def fill_report(p: Page, photo: Path | None, description: str) -> None:
    p.page.click("label.cat:has(input[value='an-ninh'])")
    if photo is not None:
        p.page.set_input_files("#photo-camera", str(photo))
        p.page.wait_for_selector("#thumbs li img")
    p.page.click("#gps-btn")
    p.page.wait_for_function("() => document.getElementById('lat').value !== ''")
    p.page.fill("#description", description)


def test_citizen_report_answered_rated_and_published(make_page: Any, shots: Path, tmp_path: Path) -> None:
    photo = tmp_path / "hien-truong.jpg"
    photo.write_bytes(jpeg(2400, 1800, color="orange"))  # larger than 1920 px: downscaled in the browser
    evidence = tmp_path / "ket-qua.jpg"
    evidence.write_bytes(jpeg(800, 600, color="green"))

    # 1. a citizen sends a report from a phone (GPS granted), installable page with its service worker
    citizen = make_page(**PHONE, geolocation=HERE, permissions=["geolocation"])
    citizen.goto("/phan-anh")
    assert citizen.page.get_attribute("html", "lang") == "vi"
    # the service worker keeps the shell: offline, the page and the commune's outline still come up
    citizen.page.wait_for_function(
        "() => navigator.serviceWorker && navigator.serviceWorker.controller !== null"
    )
    citizen.context.set_offline(True)
    citizen.page.reload()
    wait_for_area(citizen)
    assert citizen.page.locator("label.cat").count() == len(DEFAULT_CATEGORIES)
    citizen.context.set_offline(False)
    citizen.page.reload()
    wait_for_area(citizen)
    fill_report(citizen, photo, "Nhóm thanh niên tụ tập, nẹt pô gây mất trật tự sau 22 giờ hằng đêm.")
    status = citizen.page.locator("#loc-status")
    assert "Vị trí từ GPS" in status.inner_text() and "Thôn Vĩnh Ninh" in status.inner_text()
    citizen.page.fill("input[name=name]", REPORTER_NAME)
    citizen.page.fill("input[name=phone]", REPORTER_PHONE)
    no_overflow(citizen, 390)
    citizen.page.screenshot(path=str(shots / "citizen-form-phone.png"), full_page=True)
    code = send_report(citizen)
    assert re.fullmatch(r"PA[A-Z2-9]{8}", code), code
    assert citizen.page.get_attribute("#done-link", "href") == f"/phan-anh/tra-cuu/{code}"
    citizen.page.screenshot(path=str(shots / "citizen-sent-phone.png"))
    cdp = citizen.context.new_cdp_session(citizen.page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"].endswith("/phan-anh/manifest.webmanifest") and manifest["errors"] == [], manifest
    installable = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert [e for e in installable if e["errorId"] != "in-incognito"] == [], (
        installable
    )  # contexts are private

    # the same problem again from the same place: the page offers to follow the first report instead
    citizen.page.click("#again")
    fill_report(citizen, None, "Lại có nhóm thanh niên tụ tập gây ồn ào ở đầu thôn.")
    citizen.page.click("#submit-btn")
    citizen.page.wait_for_selector("#dupes:not([hidden])")
    assert "Đã có người phản ánh vấn đề này gần đây" in citizen.page.locator("#dupes h2").inner_text()
    public_id = str(citizen.page.request.get(f"{citizen.base}/api/v1/reports/track/{code}").json()["id"])
    listed = citizen.page.locator("#dupe-list").inner_text()
    assert (
        f"#{public_id}" in listed and code not in listed
    )  # the private tracking code is never shown to others
    citizen.page.locator("#dupes").scroll_into_view_if_needed()
    citizen.page.wait_for_timeout(600)  # the smooth scroll to the panel
    citizen.page.screenshot(path=str(shots / "citizen-duplicate-phone.png"))
    citizen.page.click(f"#dupe-list .follow-btn[data-id='{public_id}']")
    citizen.page.wait_for_selector("#follow-done:not([hidden])")
    assert f"#{public_id}" in citizen.page.locator("#follow-done").inner_text()
    assert citizen.errors == [], "\n".join(citizen.errors)

    # 2. the commune police find it in their queue, accept it and answer with a result photo
    police = make_page(**WALL)
    police.login("congan")
    police.goto("/reports/queue")
    police.page.wait_for_function(
        "() => Number(document.getElementById('queue-map').dataset.points || 0) >= 1"
    )
    police.page.screenshot(path=str(shots / "queue-1920.png"))
    with police.page.expect_navigation():
        police.page.click(f"a.rq-code:text('{code}')")
    assert "#" not in police.page.url and re.search(r"/reports/\d+$", police.page.url)
    report_url = police.page.url.removeprefix(police.base)
    assert REPORTER_PHONE not in police.page.content()  # agencies do not see who reported
    assert police.page.get_attribute(".rd-photo.kind-report img", "data-width") == "1920"
    with police.page.expect_navigation():
        police.page.click("#act-accept button[type=submit]")
    assert police.page.locator("#rd-state").inner_text() == "Đang xử lý"
    police.page.screenshot(path=str(shots / "detail-agency-accepted-1920.png"), full_page=True)
    police.page.set_input_files("#evidence-files", str(evidence))
    police.page.fill("#act-resolve textarea[name=answer]", ANSWER)
    with police.page.expect_navigation():
        police.page.click("#act-resolve button[type=submit]")
    assert police.page.locator("#rd-state").inner_text() == "Đã có kết quả"
    assert police.page.locator(".rd-photo.kind-evidence").count() == 1
    police.page.screenshot(path=str(shots / "detail-agency-1920.png"), full_page=True)
    assert police.errors == [], "\n".join(police.errors)

    # 3. the duty operator sees the reporter (audited) and publishes the report with its photos
    operator = make_page(**WALL)
    operator.login("trucban")
    operator.goto(report_url)
    assert REPORTER_PHONE in operator.page.locator("#rd-reporter").inner_text()
    operator.page.screenshot(path=str(shots / "detail-operator-1920.png"), full_page=True)
    for box in operator.page.locator("#moderation input[name=public_photos]").all():
        box.check()
    with operator.page.expect_navigation():
        operator.page.click("#mod-approve")
    assert "Công khai" in operator.page.locator(".rd-badges").inner_text()
    assert operator.errors == [], "\n".join(operator.errors)

    # 4. the citizen reads the answer and rates it: satisfied closes the report
    citizen.goto(f"/phan-anh/tra-cuu/{code}")
    assert ANSWER in citizen.page.locator("#answer-text").inner_text()
    citizen.page.wait_for_function(
        "() => [...document.querySelectorAll('img.evidence')].every(i => i.complete && i.naturalWidth > 0)"
    )
    citizen.page.screenshot(path=str(shots / "track-resolved-phone.png"), full_page=True)
    citizen.page.click("label[for=star5]")
    citizen.page.click("label.choice:has(input[value=true])")
    citizen.page.fill("#rate-form textarea[name=comment]", "Cảm ơn công an xã đã xử lý nhanh.")
    with citizen.page.expect_navigation():
        citizen.page.click("#rate-btn")
    assert citizen.page.locator("#state-label").inner_text() == "Hoàn thành"
    assert citizen.page.locator("#rated .stars-shown .on").count() == 5
    no_overflow(citizen, 390)
    citizen.page.screenshot(path=str(shots / "track-closed-phone.png"), full_page=True)

    # 5. the public map and list show it without the reporter
    citizen.goto("/phan-anh/cong-khai")
    citizen.page.wait_for_function(
        "() => Number(document.getElementById('pub-map').dataset.points || 0) >= 1"
    )
    text = citizen.page.content()
    assert f"#{public_id}" in text and code not in text and ANSWER in text
    assert REPORTER_PHONE not in text and REPORTER_NAME not in text
    no_overflow(citizen, 390)
    citizen.page.screenshot(path=str(shots / "public-phone.png"), full_page=True)
    assert citizen.errors == [], "\n".join(citizen.errors)
    wall = make_page(**WALL)
    wall.goto("/phan-anh/cong-khai")
    wall.page.wait_for_function("() => Number(document.getElementById('pub-map').dataset.points || 0) >= 1")
    wall.page.screenshot(path=str(shots / "public-1920.png"))
    assert wall.errors == [], "\n".join(wall.errors)


def test_operator_assigns_then_rejects_on_a_phone(make_page: Any, shots: Path) -> None:
    p = make_page(**PHONE)
    sent = p.context.request.post(
        p.base + "/api/v1/reports",
        multipart={
            "category": "khac",  # no routing rule: it waits in the operators' triage queue
            "description": "Có người treo băng rôn quảng cáo trái phép trên cột điện đầu ngõ.",
            "lat": str(HERE["latitude"] + 0.003),
            "lon": str(HERE["longitude"]),
        },
    )
    assert sent.status == 201, sent.text()
    code = sent.json()["tracking_code"]
    p.login("trucban")
    p.goto("/reports/queue?state=received")
    p.page.wait_for_function("() => Number(document.getElementById('queue-map').dataset.points || 0) >= 1")
    no_overflow(p, 390)
    p.page.screenshot(path=str(shots / "queue-phone.png"), full_page=True)
    with p.page.expect_navigation():
        p.page.click(f"a.rq-code:text('{code}')")
    group = p.page.locator("#act-assign optgroup").first
    assert group.get_attribute("label") == "Đúng lĩnh vực"  # agencies of the report's field come first
    p.page.select_option("#act-assign select[name=agency_id]", label="Phòng Kinh tế")
    with p.page.expect_navigation():
        p.page.click("#act-assign button[type=submit]")
    assert p.page.locator("#rd-state").inner_text() == "Đã chuyển cơ quan xử lý"
    assert p.page.locator("#rd-agency").inner_text() == "Phòng Kinh tế"
    p.page.click("details:has(#act-reject) > summary")
    p.page.select_option("#act-reject select[name=reason_code]", label="Không thuộc thẩm quyền giải quyết")
    p.page.fill("#act-reject textarea[name=reason_detail]", "Đề nghị liên hệ Điện lực.")
    with p.page.expect_navigation():
        p.page.click("#act-reject button[type=submit]")
    assert p.page.locator("#rd-state").inner_text() == "Không xử lý"
    no_overflow(p, 390)
    p.page.screenshot(path=str(shots / "detail-rejected-phone.png"), full_page=True)
    assert p.errors == [], "\n".join(p.errors)
    p.goto(f"/phan-anh/tra-cuu/{code}")
    assert (
        "Không thuộc thẩm quyền giải quyết: Đề nghị liên hệ Điện lực."
        in p.page.locator(".cz-alert").inner_text()
    )


def test_operator_blurs_a_photo_and_rejects_in_bulk(make_page: Any, shots: Path) -> None:
    p = make_page(**WALL)
    ids = []
    for i in range(2):
        sent = p.context.request.post(
            p.base + "/api/v1/reports",
            multipart={
                "category": "khac",
                "description": f"Biển quảng cáo che khuất tầm nhìn ở ngã ba, lần {i + 1}.",
                "lat": str(HERE["latitude"] + 0.002),
                "lon": str(HERE["longitude"]),
                "photos": {"name": "p.jpg", "mimeType": "image/jpeg", "buffer": jpeg(320, 240, color="blue")},
            },
        )
        assert sent.status == 201, sent.text()
        ids.append(sent.json()["id"])
    p.login("trucban")
    # drag a box over the first photo in the moderation panel, then save the blurred copy
    p.goto(f"/reports/{ids[0]}")
    stage = p.page.locator(".rd-blur-stage").first
    stage.scroll_into_view_if_needed()
    box = stage.bounding_box()
    assert box is not None
    p.page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.2)
    p.page.mouse.down()
    p.page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.7, steps=5)
    p.page.mouse.up()
    assert p.page.locator(".rd-blur-count").first.inner_text() == "1"
    with p.page.expect_navigation():
        p.page.click(".rd-blur-save")
    assert p.page.locator(".rd-photo figcaption a").first.inner_text() == "Bản làm mờ công khai"
    # tick both in the queue and reject them in one go
    p.goto("/reports/queue?state=received")
    for rid in ids:
        p.page.check(f"input.rq-pick[value='{rid}']")
    assert p.page.locator("#bulk-count").inner_text() == "2"
    p.page.select_option("#bulk-action", "reject")
    p.page.screenshot(path=str(shots / "queue-bulk-1920.png"))
    with p.page.expect_navigation():
        p.page.click("#bulk-apply")
    for rid in ids:
        state = p.context.request.get(f"{p.base}/api/v1/reports/{rid}").json()["state"]
        assert state == "rejected"
    assert p.errors == [], "\n".join(p.errors)

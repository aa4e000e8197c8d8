"""Open311 GeoReport v2 (and FixMyStreet's servicerequestupdates): conformance of every resource in XML and
JSON, every refusal in the specification's error form, privacy of what is read, status and SLA mapping."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.modules.reports.conftest import jpeg, submit
from toancanh.core.auth.models import ApiKey, User
from toancanh.core.auth.service import create_api_key, create_user, resolve_api_key
from toancanh.core.db import utcnow
from toancanh.core.units import Unit
from toancanh.core.workflow import CaseHistory
from toancanh.core.worktime import VN_TZ
from toancanh.modules.reports import views
from toancanh.modules.reports.models import FieldReport, ReportCategory, ReportPhoto

BASE = "/open311/v2"
PRIVATE = {
    "api_key": "",
    "service_code": "an-ninh",
    "lat": "20.9051234",
    "long": "105.8054321",
    "description": "Nhóm thanh niên tụ tập gây mất trật tự về đêm",
    "first_name": "Văn Bình",
    "last_name": "Trần",
    "phone": "0912345678",
    "email": "binh@example.vn",
    "device_id": "android-42",
    "account_id": "acct-7",
    "address_string": "Số 12 ngõ 3, thôn Một",
}
SECRETS = ("Trần", "Văn Bình", "0912345678", "binh@example.vn", "android-42", "acct-7", "Số 12 ngõ 3")
SECRETS += ("20.9051234", "105.8054321")
REQUEST_FIELDS = [
    *("service_request_id", "status", "status_notes", "service_name", "service_code", "description"),
    *("agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime"),
    *("address", "address_id", "zipcode", "lat", "long", "media_url"),
]
UPDATE_FIELDS = ["update_id", "service_request_id", "status", "updated_datetime", "description", "media_url"]
ATTRIBUTES = [
    {
        "code": "so-nguoi",
        "datatype": "singlevaluelist",
        "required": True,
        "order": 2,
        "description": "Có bao nhiêu người?",
        "description_en": "How many people?",
        "values": [
            {"key": "1-5", "name": "Dưới 5 người", "name_en": "Up to 5"},
            {"key": "6+", "name": "Từ 6"},
        ],
    },
    {"code": "tuoi", "datatype": "number", "order": 3, "description": "Độ tuổi ước đoán"},
    {
        "code": "phuong-tien",
        "datatype": "multivaluelist",
        "order": 4,
        "description": "Phương tiện",
        "values": [{"key": "xe-may", "name": "Xe máy"}, {"key": "o-to", "name": "Ô tô"}],
    },
    {"code": "luu-y", "variable": False, "order": 1, "description": "Không ghi thông tin cá nhân"},
    {"code": "bad code!", "datatype": "string"},  # malformed: left out of the definition
    {"code": "no-values", "datatype": "singlevaluelist"},  # a list without values: left out
]


# ------------------------------------------------------------------------------------------- helpers


def new_key(db: Any, username: str = "open311") -> str:
    with db.session() as s:
        user = create_user(s, username, None, role="citizen", unit_code="00664", is_service=True)
        raw, _ = create_api_key(s, user, f"{username} app")
    return raw


@pytest.fixture
def key(rworld: Any, db: Any) -> str:
    return new_key(db)


@pytest.fixture
def with_attributes(rworld: Any, db: Any) -> None:
    with db.session() as s:
        s.scalar(select(ReportCategory).where(ReportCategory.code == "an-ninh")).attributes = ATTRIBUTES


def post(client: Any, key: str, fmt: str = "json", headers: Any = None, **fields: Any) -> Any:
    data = {**PRIVATE, "api_key": key, **fields}
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(f"{BASE}/requests.{fmt}", data=data, headers=headers)


def as_json(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    return r.json()


def as_xml(r: Any, status: int = 200) -> ET.Element:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "text/xml; charset=utf-8"
    assert r.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(r.content)


def children(element: ET.Element) -> list[str]:
    return [c.tag for c in element]


def error_of(r: Any, status: int, fmt: str = "json") -> list[str]:
    """The descriptions of an Open311 error answer, after checking its form."""
    if fmt == "xml":
        root = as_xml(r, status)
        assert root.tag == "errors" and root and all(children(e) == ["code", "description"] for e in root)
        assert all(e.findtext("code") == str(status) for e in root)
        return [e.findtext("description") or "" for e in root]
    body = as_json(r, status)
    assert isinstance(body, list) and body and all(set(e) == {"code", "description"} for e in body)
    assert all(e["code"] == status for e in body)
    return [e["description"] for e in body]


def report_of(db: Any, ref: str) -> FieldReport:
    """By Open311 service_request_id (the public number) or by a tracking code."""
    with db.session() as s:
        if ref.isdigit():
            return s.get(FieldReport, int(ref))
        return s.scalar(select(FieldReport).where(FieldReport.tracking_code == ref))


def count(db: Any) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(FieldReport)) or 0


def approve(client: Any, world: Any, db: Any, code: str, public_photos: list[str] | None = None) -> None:
    rid = report_of(db, code).id
    r = client.post(
        f"/api/v1/reports/{rid}/moderation",
        json={"approve": True, "public_photos": public_photos or []},
        headers=world.auth("op_a"),
    )
    assert r.status_code == 200, r.text


def get_one(client: Any, code: str, **headers: str) -> dict[str, Any]:
    body = as_json(client.get(f"{BASE}/requests/{code}.json", headers=headers))
    assert len(body) == 1
    return body[0]  # type: ignore[no-any-return]


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


# ------------------------------------------------------------------------------------------- discovery, services


def test_discovery_in_both_formats(client: Any, rworld: Any) -> None:
    body = as_json(client.get(f"{BASE}/discovery.json"))
    assert list(body) == ["changeset", "contact", "key_service", "endpoints"]
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2" and endpoint["type"] == "production"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    when(body["changeset"])  # W3C, sortable
    root = as_xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery" and children(root) == ["changeset", "contact", "key_service", "endpoints"]
    (ep,) = root.find("endpoints") or []
    assert ep.tag == "endpoint"
    assert children(ep) == ["specification", "url", "changeset", "type", "formats"]
    assert [f.text for f in ep.find("formats") or []] == ["text/xml", "application/json"]
    assert [f.tag for f in ep.find("formats") or []] == ["format", "format"]


def test_services_list_in_both_formats(client: Any, rworld: Any, db: Any, with_attributes: None) -> None:
    with db.session() as s:
        s.scalar(select(ReportCategory).where(ReportCategory.code == "khac")).active = False
        active = s.scalar(select(func.count()).where(ReportCategory.active.is_(True)))
    services = as_json(client.get(f"{BASE}/services.json"))
    assert len(services) == active and "khac" not in {x["service_code"] for x in services}
    keys = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
    assert all(list(x) == keys and x["type"] == "realtime" for x in services)
    by_code = {x["service_code"]: x for x in services}
    assert by_code["an-ninh"]["metadata"] is True and by_code["rac-thai"]["metadata"] is False
    assert by_code["rac-thai"]["service_name"] == "Rác thải, vệ sinh môi trường"
    assert by_code["rac-thai"]["group"] == "Môi trường" and "rác" in by_code["rac-thai"]["keywords"]
    english = as_json(client.get(f"{BASE}/services.json", headers={"Accept-Language": "en-US,en;q=0.8"}))
    assert {x["service_code"]: x["service_name"] for x in english}["rac-thai"] == "Garbage and sanitation"
    root = as_xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services" and {c.tag for c in root} == {"service"} and len(root) == active
    assert all(children(x) == keys for x in root)
    xml_by_code = {x.findtext("service_code"): x for x in root}
    assert xml_by_code["an-ninh"].findtext("metadata") == "true"
    assert xml_by_code["rac-thai"].findtext("metadata") == "false"
    # the same data in both formats
    assert [x.findtext("service_name") for x in root] == [x["service_name"] for x in services]


def test_service_definition_in_both_formats(client: Any, with_attributes: None) -> None:
    body = as_json(client.get(f"{BASE}/services/an-ninh.json"))
    assert list(body) == ["service_code", "attributes"] and body["service_code"] == "an-ninh"
    attrs = body["attributes"]
    assert [a["code"] for a in attrs] == [
        "luu-y",
        "so-nguoi",
        "tuoi",
        "phuong-tien",
    ]  # by order; bad ones out
    keys = ["variable", "code", "datatype", "required", "datatype_description", "order", "description"]
    assert all(list(a)[: len(keys)] == keys for a in attrs)
    info, people, age, vehicles = attrs
    assert info["variable"] is False and info["datatype"] == "string" and "values" not in info
    assert people == {
        "variable": True,
        "code": "so-nguoi",
        "datatype": "singlevaluelist",
        "required": True,
        "datatype_description": None,
        "order": 2,
        "description": "Có bao nhiêu người?",
        "values": [{"key": "1-5", "name": "Dưới 5 người"}, {"key": "6+", "name": "Từ 6"}],
    }
    assert age["required"] is False and vehicles["datatype"] == "multivaluelist"
    english = as_json(client.get(f"{BASE}/services/an-ninh.json", headers={"Accept-Language": "en"}))
    assert english["attributes"][1]["description"] == "How many people?"
    assert english["attributes"][1]["values"][0]["name"] == "Up to 5"
    root = as_xml(client.get(f"{BASE}/services/an-ninh.xml"))
    assert root.tag == "service_definition" and children(root) == ["service_code", "attributes"]
    xml_attrs = root.find("attributes")
    assert xml_attrs is not None and {a.tag for a in xml_attrs} == {"attribute"}
    first = xml_attrs[1]
    assert children(first) == [*keys, "values"]
    assert first.findtext("required") == "true" and first.findtext("order") == "2"
    values = first.find("values")
    assert values is not None and [children(v) for v in values] == [["key", "name"], ["key", "name"]]
    assert [v.findtext("key") for v in values] == ["1-5", "6+"]
    # no attributes at all: an empty list
    assert as_json(client.get(f"{BASE}/services/rac-thai.json"))["attributes"] == []
    for fmt in ("json", "xml"):
        assert "khong-co" in error_of(client.get(f"{BASE}/services/khong-co.{fmt}"), 404, fmt)[0]


def test_unknown_format_is_404(client: Any, key: str) -> None:
    for r in (
        client.get(f"{BASE}/services.html"),
        client.get(f"{BASE}/discovery.yaml"),
        client.get(f"{BASE}/requests.csv"),
        post(client, key, fmt="txt"),
    ):
        error_of(r, 404, "xml")


# ------------------------------------------------------------------------------------------- POST requests


def test_post_request_creates_a_routed_report(client: Any, rworld: Any, db: Any, key: str) -> None:
    r = post(client, key, media_url="https://example.org/a.jpg", **{"attribute[fixmystreet_id]": "99"})
    (answer,) = as_json(r)
    assert list(answer) == ["service_request_id", "service_notice", "account_id"]
    assert answer["account_id"] == "acct-7" and "ngày làm việc" in answer["service_notice"]
    report = report_of(db, answer["service_request_id"])
    assert report.channel == "open311" and report.state == "assigned"  # routed to commune A's police
    assert report.assignee_agency_id == rworld.agencies["ca-a"].id
    assert report.reporter_name == "Trần Văn Bình"  # family name first
    assert (report.reporter_phone, report.reporter_email, report.device_id) == (
        "0912345678",
        "binh@example.vn",
        "android-42",
    )
    assert report.address == "Số 12 ngõ 3, thôn Một" and not report.anonymous
    assert report.attributes == {
        "_open311": {"media_url": ["https://example.org/a.jpg"], "account_id": "acct-7"}
    }
    with db.session() as s:
        opened = s.scalar(
            select(CaseHistory).where(CaseHistory.case_id == report.id, CaseHistory.transition == "open")
        )
        assert opened.actor == "open311"
    # XML answer; the key may come in the X-API-Key header; optional empty fields count as absent
    root = as_xml(
        post(client, "", fmt="xml", headers={"X-API-Key": key}, account_id="", email="", address_id="")
    )
    assert root.tag == "service_requests" and children(root) == ["request"]
    assert children(root[0]) == ["service_request_id", "service_notice", "account_id"]
    assert root[0].findtext("account_id") == ""  # an empty element, as in the specification's example
    assert report_of(db, root[0].findtext("service_request_id") or "").channel == "open311"
    # the key in the query string is accepted too
    r = client.post(f"{BASE}/requests.json?api_key={key}", data={**PRIVATE, "api_key": ""})
    assert r.status_code == 200, r.text


def test_post_request_with_attributes(client: Any, db: Any, key: str, with_attributes: None) -> None:
    fields = {
        "attribute[so-nguoi]": "6+",
        "attribute[tuoi]": "17",
        "attribute[phuong-tien][]": ["xe-may", "o-to", "xe-may"],
        "attribute[luu-y]": "ignored: not variable",
        "attribute[unknown]": "ignored",
    }
    (answer,) = as_json(post(client, key, **fields))
    report = report_of(db, answer["service_request_id"])
    assert {k: v for k, v in report.attributes.items() if not k.startswith("_")} == {
        "so-nguoi": "6+",
        "tuoi": 17,
        "phuong-tien": ["xe-may", "o-to"],
    }


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_refusals_change_nothing(client: Any, rworld: Any, db: Any, key: str, fmt: str) -> None:
    with db.session() as s:
        s.scalar(select(ReportCategory).where(ReportCategory.code == "an-ninh")).attributes = ATTRIBUTES
        revoked = create_api_key(s, s.scalar(select(User).where(User.username == "open311")), "old")
        revoked[1].revoked = True
    ok = {"attribute[so-nguoi]": "1-5"}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"api_key": None}, 403, "api_key"),
        ({"api_key": "tck_nope_nope"}, 403, "api_key"),
        ({"api_key": revoked[0]}, 403, "api_key"),
        ({"service_code": None}, 400, "service_code"),
        ({"service_code": "khong-co"}, 404, "khong-co"),
        ({"lat": None, "long": None, "address_string": None}, 400, "lat"),
        ({"lat": None, "long": None}, 400, "address_string"),  # an address alone cannot be placed
        ({"lat": None, "long": None, "address_string": None, "address_id": "A-17"}, 400, "address_id"),
        ({"long": None}, 400, "lat"),
        ({"lat": "abc"}, 400, "lat"),
        ({"lat": "95"}, 400, "oordinates"),
        ({"lat": "nan"}, 400, "oordinates"),
        ({"lat": "10.0", "long": "106.0"}, 400, "outside"),
        ({"description": "ngắn"}, 400, "description"),
        ({"description": None}, 400, "description"),
        ({"attribute[so-nguoi]": None}, 400, "attribute[so-nguoi]"),
        ({"attribute[so-nguoi]": "100"}, 400, "attribute[so-nguoi]"),
        ({"attribute[so-nguoi]": ["1-5", "6+"]}, 400, "attribute[so-nguoi]"),
        ({"attribute[tuoi]": "mười bảy"}, 400, "attribute[tuoi]"),
        ({"attribute[phuong-tien][]": ["xe-may", "tau-bay"]}, 400, "attribute[phuong-tien]"),
        ({"media_url": "ftp://example.org/a.jpg"}, 400, "media_url"),
        ({"media_url": "http://[::1/a.jpg"}, 400, "media_url"),
        ({"phone": "<script>"}, 400, "phone"),
        ({"email": "not an email"}, 400, "email"),
    ]
    before = count(db)
    for fields, status, mention in cases:
        r = post(client, key, fmt=fmt, headers={"Accept-Language": "en"}, **{**ok, **fields})
        descriptions = error_of(r, status, fmt)
        assert any(mention in d for d in descriptions), (fields, descriptions)
    # several problems are reported together
    r = post(client, key, fmt=fmt, **{"attribute[so-nguoi]": None, "attribute[tuoi]": "x", "phone": "?"})
    assert len(error_of(r, 400, fmt)) == 3
    assert count(db) == before
    assert post(client, key, fmt=fmt, **ok).status_code == 200


def test_post_form_must_be_readable(client: Any, key: str) -> None:
    r = client.post(
        f"{BASE}/requests.json",
        data={"api_key": key},
        files=[("media", ("a.jpg", jpeg(), "image/jpeg"))],
    )
    error_of(r, 400)


# ------------------------------------------------------------------------------------------- GET requests


def test_get_requests_fields_and_privacy(client: Any, rworld: Any, db: Any, key: str) -> None:
    (answer,) = as_json(post(client, key))
    code = answer["service_request_id"]
    pending = get_one(client, code)
    assert list(pending) == REQUEST_FIELDS
    assert pending["description"] is None  # not moderated yet
    assert pending["status"] == "open" and pending["service_code"] == "an-ninh"
    assert pending["agency_responsible"] == "Công an Xã Đại Thanh"
    assert (pending["lat"], pending["long"]) == (20.905, 105.805)  # rounded as on the public map
    assert (
        pending["address"] == "Thôn Một, Xã Đại Thanh, Thành phố Hà Nội"
        and pending["address_id"] == "0066401"
    )
    assert pending["media_url"] is None and pending["zipcode"] is None
    # a web report with a photo; moderation makes its text and chosen photo public
    web_code = str(submit(client, photos=[jpeg()], lat="20.905", lon="105.805").json()["id"])
    with db.session() as s:
        sha = s.scalar(select(ReportPhoto.sha256))
    approve(client, rworld, db, code)
    approve(client, rworld, db, web_code, [sha])
    listed = as_json(client.get(f"{BASE}/requests.json"))
    assert [x["service_request_id"] for x in listed] == [web_code, code]  # newest first
    mine = next(x for x in listed if x["service_request_id"] == code)
    assert mine["description"] == PRIVATE["description"]
    with db.session() as s:
        public = views.public_view(s, report_of(db, code))
    assert (mine["lat"], mine["long"]) == (public["lat"], public["lon"])
    photo_url = listed[0]["media_url"]
    assert photo_url == f"http://testserver/reports/photo/{sha}"
    assert client.get(photo_url).status_code == 200
    text = json.dumps(listed, ensure_ascii=False) + client.get(f"{BASE}/requests.xml").text
    text += client.get(f"{BASE}/servicerequestupdates.json").text
    text += json.dumps(get_one(client, code), ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in text, secret
    root = as_xml(client.get(f"{BASE}/requests.xml"))
    assert root.tag == "service_requests" and {c.tag for c in root} == {"request"}
    assert all(children(x) == REQUEST_FIELDS for x in root)
    assert [x.findtext("service_request_id") for x in root] == [web_code, code]
    assert root[1].findtext("description") == PRIVATE["description"] and root[1].findtext("lat") == "20.905"
    assert root[1].findtext("zipcode") == ""


def test_one_request_by_id_in_both_formats(client: Any, key: str) -> None:
    (answer,) = as_json(post(client, key))
    code = answer["service_request_id"]
    assert get_one(client, code.lower())["service_request_id"] == code
    root = as_xml(client.get(f"{BASE}/requests/{code}.xml"))
    assert (
        root.tag == "service_requests" and len(root) == 1 and root[0].findtext("service_request_id") == code
    )
    for fmt in ("json", "xml"):
        error_of(client.get(f"{BASE}/requests/PAXXXXXXXX.{fmt}"), 404, fmt)


def test_expected_datetime_is_the_sla_deadline(client: Any, rworld: Any, db: Any, key: str) -> None:
    (answer,) = as_json(post(client, key))
    code = answer["service_request_id"]
    report = report_of(db, code)
    got = get_one(client, code)
    assert report.due_at is not None and when(got["expected_datetime"]) == report.due_at.replace(
        microsecond=0
    )
    assert got["expected_datetime"].endswith("+07:00")
    assert when(got["requested_datetime"]) == report.created_at.replace(microsecond=0)
    r = client.post(f"/api/v1/reports/{report.id}/actions/accept", json={}, headers=rworld.auth("police_a"))
    assert r.status_code == 200
    report = report_of(db, code)
    got = get_one(client, code)
    assert report.due_at is not None and when(got["expected_datetime"]) == report.due_at.replace(
        microsecond=0
    )
    assert got["status_notes"] == "Đang xử lý"


def _resolve(client: Any, world: Any, rid: int, answer: str) -> None:
    police = world.auth("police_a")
    ev = client.post(
        f"/api/v1/reports/{rid}/evidence",
        files=[("photos", ("kq.jpg", jpeg(color="green"), "image/jpeg"))],
        headers=police,
    )
    sha = ev.json()[0]["sha256"]
    r = client.post(
        f"/api/v1/reports/{rid}/actions/resolve", json={"answer": answer, "evidence": [sha]}, headers=police
    )
    assert r.status_code == 200, r.text


ANSWER = "Công an xã đã đến hiện trường, giải tán nhóm tụ tập và nhắc nhở các hộ liên quan."


def test_status_mapping_and_filters(client: Any, rworld: Any, db: Any, key: str) -> None:
    codes = [as_json(post(client, key))[0]["service_request_id"] for _ in range(3)]
    waste = as_json(post(client, key, service_code="rac-thai"))[0]["service_request_id"]
    for code in [*codes, waste]:
        approve(client, rworld, db, code)
    done, rejected, reopened = (report_of(db, c).id for c in codes)
    police, op = rworld.auth("police_a"), rworld.auth("op_a")
    for rid in (done, reopened):
        assert (
            client.post(f"/api/v1/reports/{rid}/actions/accept", json={}, headers=police).status_code == 200
        )
        _resolve(client, rworld, rid, ANSWER)
    r = client.post(
        f"/api/v1/reports/{rejected}/actions/reject", json={"reason": "Nội bộ: báo sai"}, headers=op
    )
    assert r.status_code == 200
    resolved = get_one(client, codes[0])
    assert resolved["status"] == "closed" and resolved["status_notes"] == ANSWER
    assert resolved["expected_datetime"] is None  # nothing left to do but the citizen's rating
    r = client.post(
        f"/api/v1/reports/track/{report_of(db, codes[2]).tracking_code}/rate",
        json={"rating": 1, "satisfied": False},
    )
    assert r.status_code == 200
    assert get_one(client, codes[2])["status"] == "open"
    rej = get_one(client, codes[1])
    assert (
        rej["status"] == "closed" and rej["status_notes"] == "Không xử lý"
    )  # the staff's reason stays inside
    r = client.post(
        f"/api/v1/reports/track/{report_of(db, codes[0]).tracking_code}/rate",
        json={"rating": 5, "satisfied": True},
    )
    closed = get_one(client, codes[0])
    assert closed["status"] == "closed" and when(closed["updated_datetime"]) >= when(
        resolved["updated_datetime"]
    )

    def ids(**params: Any) -> set[str]:
        return {x["service_request_id"] for x in as_json(client.get(f"{BASE}/requests.json", params=params))}

    assert ids(status="closed") == {codes[0], codes[1]}
    assert ids(status="open") == {codes[2], waste}
    assert ids(status="open,closed") == ids() == {*codes, waste}
    assert ids(service_code="rac-thai") == {waste}
    assert ids(service_code="rac-thai,an-ninh", status="open") == {codes[2], waste}
    assert ids(service_code=["rac-thai", "cay-xanh"]) == {waste}
    now = utcnow()
    assert ids(start_date=(now + timedelta(days=1)).isoformat()) == set()
    assert ids(end_date=(now - timedelta(days=1)).isoformat()) == set()
    assert ids(start_date=(now - timedelta(days=1)).strftime("%Y-%m-%d")) == {*codes, waste}
    hour_ago = (now - timedelta(hours=1)).astimezone(VN_TZ)
    assert ids(start_date=hour_ago.isoformat(timespec="seconds"), end_date=now.isoformat()) == {*codes, waste}
    # an unencoded "+" in the query string arrives as a space
    raw = hour_ago.strftime("%Y-%m-%dT%H:%M:%S") + " 07:00"
    assert ids(start_date=raw) == {*codes, waste}
    # service_request_id overrides every other argument
    assert ids(service_request_id=f"{codes[0]}, {waste}", status="open") == {codes[0], waste}
    assert ids(service_request_id=[codes[1], "PANOTHERE"]) == {codes[1]}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_list_arguments(client: Any, key: str, fmt: str) -> None:
    cases = [
        {"start_date": "yesterday"},
        {"end_date": "2025-13-01T00:00:00Z"},
        {"start_date": "2025-01-01T00:00:00"},  # no time zone
        {"start_date": "1900-01-01T00:00:00Z"},
        {"start_date": "2025-01-01T00:00:00Z", "end_date": "2025-06-01T00:00:00Z"},  # over 90 days
        {"start_date": "2025-02-01T00:00:00Z", "end_date": "2025-01-01T00:00:00Z"},
        {"status": "pending"},
        {"api_key": "tck_wrong_key"},
    ]
    for params in cases:
        status = 403 if "api_key" in params else 400
        error_of(client.get(f"{BASE}/requests.{fmt}", params=params), status, fmt)
    for params in cases[:6]:
        error_of(client.get(f"{BASE}/servicerequestupdates.{fmt}", params=params), 400, fmt)


def test_lists_show_moderated_reports_and_the_callers_own(
    client: Any, rworld: Any, db: Any, key: str
) -> None:
    other = new_key(db, "another-app")
    mine = as_json(post(client, key))[0]["service_request_id"]
    web = str(submit(client, lat="20.905", lon="105.805").json()["id"])

    def listed(**params: Any) -> set[str]:
        return {x["service_request_id"] for x in as_json(client.get(f"{BASE}/requests.json", params=params))}

    def updated(**params: Any) -> set[str]:
        r = client.get(f"{BASE}/servicerequestupdates.json", params=params)
        return {x["service_request_id"] for x in as_json(r)}

    assert listed() == updated() == set()
    assert listed(api_key=key) == updated(api_key=key) == {mine}
    assert listed(api_key=other) == updated(api_key=other) == set()
    r = client.get(f"{BASE}/requests.json", headers={"X-API-Key": key})
    assert {x["service_request_id"] for x in as_json(r)} == {mine}
    approve(client, rworld, db, web)
    assert listed() == updated() == {web}
    # hidden by moderation: out of lists, still found by its number
    rid = report_of(db, web).id
    client.post(f"/api/v1/reports/{rid}/moderation", json={"approve": False}, headers=rworld.auth("op_a"))
    assert listed() == set() and get_one(client, web)["description"] is None


def test_tokens_answer_with_the_request_id(client: Any, key: str) -> None:
    code = as_json(post(client, key))[0]["service_request_id"]
    assert as_json(client.get(f"{BASE}/tokens/{code}.json")) == [{"service_request_id": code, "token": code}]
    root = as_xml(client.get(f"{BASE}/tokens/{code}.xml"))
    assert root.tag == "service_requests" and children(root[0]) == ["service_request_id", "token"]
    for fmt in ("json", "xml"):
        error_of(client.get(f"{BASE}/tokens/PANOTHERE.{fmt}"), 404, fmt)


def test_xml_carries_any_text(client: Any, rworld: Any, db: Any, key: str) -> None:
    text = 'Có <b>rác</b> & "khói" ở đây\x01\x0b, xin xử lý'
    code = as_json(post(client, key, description=text))[0]["service_request_id"]
    approve(client, rworld, db, code)
    root = as_xml(client.get(f"{BASE}/requests/{code}.xml"))
    assert root[0].findtext("description") == 'Có <b>rác</b> & "khói" ở đây, xin xử lý'
    assert get_one(client, code)["description"] == 'Có <b>rác</b> & "khói" ở đây, xin xử lý'


# ------------------------------------------------------------------------------------------- updates


def test_service_request_updates(client: Any, rworld: Any, db: Any, key: str) -> None:
    code = as_json(post(client, key))[0]["service_request_id"]
    rid = report_of(db, code).id
    police, op = rworld.auth("police_a"), rworld.auth("op_a")
    r = client.post(
        f"/api/v1/reports/{rid}/actions/transfer",
        json={"agency_id": rworld.agencies["ca-a"].id, "reason": "Ghi chú nội bộ: chuyển lại"},
        headers=op,
    )
    assert r.status_code == 200, r.text
    assert client.post(f"/api/v1/reports/{rid}/actions/accept", json={}, headers=police).status_code == 200
    _resolve(client, rworld, rid, ANSWER)
    with db.session() as s:
        evidence = s.scalar(select(ReportPhoto.sha256).where(ReportPhoto.kind == "evidence"))
    approve(client, rworld, db, code, [evidence])
    with db.session() as s:  # deadline bookkeeping is not an update the public sees
        s.add(
            CaseHistory(
                case_type="field_report", case_id=rid, transition="sla_warning", to_state="in_progress"
            )
        )
    updates = as_json(client.get(f"{BASE}/servicerequestupdates.json"))
    assert all(list(u) == UPDATE_FIELDS for u in updates)
    assert [u["status"] for u in updates] == ["open", "open", "open", "open", "closed"]
    assert all(u["service_request_id"] == code for u in updates)
    assert len({u["update_id"] for u in updates}) == 5
    opened, assigned, transferred, accepted, resolved = updates
    assert opened["description"] == "Đã tiếp nhận" and opened["media_url"] == ""
    assert assigned["description"] == "Đã chuyển cơ quan xử lý: Công an Xã Đại Thanh"
    assert resolved["description"] == ANSWER
    assert resolved["media_url"] == f"http://testserver/reports/photo/{evidence}"
    text = json.dumps(updates, ensure_ascii=False)
    assert "Ghi chú nội bộ" not in text and "open311" not in text and "police_a" not in text
    times = [when(u["updated_datetime"]) for u in updates]
    assert times == sorted(times)
    root = as_xml(client.get(f"{BASE}/servicerequestupdates.xml", headers={"Accept-Language": "en"}))
    assert root.tag == "service_request_updates" and {c.tag for c in root} == {"request_update"}
    assert all(children(u) == UPDATE_FIELDS for u in root)
    assert root[0].findtext("description") == "Received" and root[0].findtext("media_url") == ""
    assert [u.findtext("update_id") for u in root] == [u["update_id"] for u in updates]
    later = (utcnow() + timedelta(minutes=5)).isoformat()
    assert as_json(client.get(f"{BASE}/servicerequestupdates.json", params={"start_date": later})) == []


# ------------------------------------------------------------------------------------------- the demo


def test_demo_open311_client(client: Any, db: Any) -> None:
    from toancanh.demo.seed import DEMO_OPEN311_KEY, seed_demo

    assert seed_demo(db)
    with db.session() as s:
        user = resolve_api_key(s, DEMO_OPEN311_KEY, utcnow())
        assert user is not None and user.username == "open311" and user.is_service
        assert [g.role for g in user.grants] == ["citizen"]
        commune = s.scalar(select(Unit).where(Unit.code == "00664"))
    fields = {"lat": str(commune.lat), "long": str(commune.lon), "service_code": "rac-thai"}
    r = post(client, DEMO_OPEN311_KEY, **fields)
    assert r.status_code == 200, r.text
    assert not seed_demo(db)  # seeding again keeps the one client and key
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ApiKey)) == 1


def test_demo_command_prints_the_open311_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from toancanh.cli import app as cli
    from toancanh.demo.seed import DEMO_OPEN311_KEY

    monkeypatch.setenv("TOANCANH_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("TOANCANH_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["demo", "--no-serve"])
    assert r.exit_code == 0, r.output
    assert f"Open311 API key: {DEMO_OPEN311_KEY}" in r.output


def test_ids_that_look_like_digits_but_are_not_are_ignored(client: Any) -> None:
    """'³' is a digit to str.isdigit() but not to int(): found by the API fuzz test (was a 500)."""
    r = client.get("/open311/v2/requests.json", params={"service_request_id": "³,²"})
    assert r.status_code == 200 and r.json() == []

"""The reading pipeline through the API: places on the map, the same story across sites, watch rules,
classifiers trained from labels (accuracy reported), spikes raised as events the alerts module records."""

from __future__ import annotations

import random
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.modules.media.conftest import add_item, add_source, add_topic
from toancanh.core.db import utcnow
from toancanh.core.outbox import OutboxEvent
from toancanh.modules.media import service
from toancanh.modules.media.feeds import Story

STORY = (
    "Mưa lớn kéo dài từ đêm qua khiến nhiều tuyến đường tại xã Đại Thanh ngập sâu, người dân phải lội nước đi "
    "làm. Theo Ủy ban nhân dân xã, lượng mưa đo được hơn 200 mm, các trạm bơm đã được vận hành hết công suất. "
    "Lực lượng chức năng đã cắm biển cảnh báo tại các điểm ngập sâu và hướng dẫn phương tiện đi đường khác."
)


def test_places_units_and_map_location(client: Any, world: Any) -> None:
    w = world
    r = add_item(client, w, "Phản ánh tại thôn Hai", "Người dân thôn Hai phản ánh đèn đường hỏng.", unit="A")
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["unit_id"] == w.units["H2"].id
    assert {p["name"] for p in item["places"]} == {"Thôn Hai"}
    assert 20.90 <= item["lat"] <= 20.92 and 105.82 <= item["lon"] <= 105.84  # inside the hamlet's boundary
    # an asset named in the text puts the item on the asset's point
    r = add_item(client, w, "Cháy gần SCH-A", "Khói bốc lên gần trường SCH A.", unit="A")
    # typed without diacritics, and an agency by name
    r = add_item(client, w, "cong an xa dai thanh bat doi tuong trom cap", unit="01")
    item = r.json()
    assert item["unit_id"] == w.units["A"].id
    assert any(p["kind"] == "agency" for p in item["places"])
    # a story in commune B entered by commune A's source stays in A (a source's scope is its unit)
    r = add_item(client, w, "Lễ hội ở phường Hoàn Kiếm", unit="A")
    assert r.json()["unit_id"] == w.units["A"].id


def test_same_story_across_sites(client: Any, world: Any) -> None:
    w = world
    first = add_item(client, w, "Ngập sâu ở Đại Thanh - Báo A", STORY, url="http://bao-a.test/1").json()
    again = add_item(
        client,
        w,
        "Đường Đại Thanh thành sông sau mưa lớn",
        "Theo báo B: " + STORY,
        url="http://bao-b.test/x?utm_source=fb",
    ).json()
    same_title = add_item(client, w, "NGẬP SÂU Ở ĐẠI THANH!", "Tin ngắn.", url="http://bao-c.test/2").json()
    other = add_item(
        client,
        w,
        "Khai mạc hội chợ xuân",
        "Hội chợ xuân khai mạc sáng nay với hàng trăm gian hàng "
        "của các doanh nghiệp trong và ngoài tỉnh, thu hút đông đảo người dân tham quan mua sắm.",
    ).json()
    assert first["story_id"] == first["id"] and not first["repeat"]
    assert again["story_id"] == first["id"] and again["repeat"]
    assert same_title["story_id"] == first["id"]
    assert other["story_id"] == other["id"]
    # the same URL (tracking parameters and fragment aside) is not stored twice
    r = add_item(client, w, "x", url="http://bao-b.test/x#top")
    assert r.status_code == 409
    digest = client.get("/api/v1/media/digest", headers=w.auth("admin")).json()
    assert digest["total"] == 4 and digest["stories"] == 2
    assert digest["top_stories"][0] == {**digest["top_stories"][0], "story_id": first["id"], "items": 3}


def test_watch_rules_tag_items_and_filter(client: Any, world: Any) -> None:
    w = world
    flood = add_topic(client, w, "ngap", '"ngập" AND ("Đại Thanh" OR "thôn Một") AND NOT "diễn tập"')
    add_topic(client, w, "ngap-b", "ngập", unit="B")
    add_item(client, w, "Ngập sâu ở Đại Thanh", "Nước ngập đến đầu gối.")
    add_item(client, w, "Diễn tập chống ngập ở Đại Thanh")
    add_item(client, w, "ngap o thon mot", "")  # typed without diacritics
    add_item(client, w, "Ngập ở Hoàn Kiếm", unit="B")  # another commune's topic
    r = client.get(f"/api/v1/media/items?topic_id={flood['id']}", headers=w.auth("admin"))
    assert {i["title"] for i in r.json()["items"]} == {"Ngập sâu ở Đại Thanh", "ngap o thon mot"}
    r = client.get("/api/v1/media/items?q=ngap sau", headers=w.auth("admin"))
    assert [i["title"] for i in r.json()["items"]] == ["Ngập sâu ở Đại Thanh"]
    r = client.get(
        f"/api/v1/media/items?sentiment=negative&unit_id={w.units['B'].id}", headers=w.auth("admin")
    )
    assert [i["title"] for i in r.json()["items"]] == ["Ngập ở Hoàn Kiếm"]
    r = client.post(
        "/api/v1/media/rules/check",
        json={"expression": "ngập AND (Đại", "text": "x"},
        headers=w.auth("viewer_a"),
    )
    assert r.status_code == 400 and r.json()["error"]["details"]["position"] == 10
    r = client.post(
        "/api/v1/media/rules/check",
        json={"expression": "ngap dai thanh", "text": "Đại Thanh ngập"},
        headers=w.auth("viewer_a"),
    )
    assert r.json() == {"valid": True, "terms": ["ngap", "dai", "thanh"], "matches": True}
    r = client.patch(
        f"/api/v1/media/topics/{flood['id']}", json={"expression": "ngập OR"}, headers=w.auth("op_a")
    )
    assert r.status_code == 400
    assert (
        client.get(f"/api/v1/media/topics/{flood['id']}", headers=w.auth("op_a")).json()["expression"]
        == flood["expression"]
    )


CLASSES = {
    "môi trường": [
        "rác thải",
        "ô nhiễm",
        "khói bụi",
        "nước thải",
        "mùi hôi",
        "xả thải",
        "bãi rác",
        "kênh mương",
    ],
    "giao thông": [
        "ùn tắc",
        "tai nạn",
        "xe tải",
        "đèn tín hiệu",
        "vỉa hè",
        "lòng đường",
        "xe máy",
        "cầu vượt",
    ],
    "an ninh": [
        "trộm cắp",
        "cướp giật",
        "đánh nhau",
        "công an",
        "đối tượng",
        "tạm giữ",
        "lừa đảo",
        "truy bắt",
    ],
}
FILLER = [
    "người dân",
    "phản ánh",
    "hôm qua",
    "khu vực",
    "thôn",
    "chính quyền",
    "địa phương",
    "sáng nay",
    "tình trạng",
]


def labelled_set(n: int, seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = list(CLASSES)[i % 3]
        words = rng.sample(CLASSES[label], 3) + rng.sample(FILLER, 4)
        # a word of another class now and then, so that the task is not trivial
        if rng.random() < 0.3:
            words.append(rng.choice(CLASSES[list(CLASSES)[(i + 1) % 3]]))
        rng.shuffle(words)
        out.append((" ".join(words).capitalize(), label))
    return out


def test_train_a_category_classifier_from_labels(client: Any, world: Any, db: Any, app: Any) -> None:
    w = world
    data = labelled_set(90)
    with db.session() as s:
        src = service.MediaSource(name="Nhập", kind="manual", url="", unit_id=w.units["A"].id, rules={})
        s.add(src)
        s.flush()
        out = service.ingest_stories(
            s, src, [Story(url=f"manual:{i}", title=t) for i, (t, _) in enumerate(data)], holder=app.state
        )
        ids = [i.id for i in out.new]
    for item_id, (_, label) in zip(ids, data, strict=True):
        r = client.post(
            f"/api/v1/media/items/{item_id}/labels", json={"category": label}, headers=w.auth("op_a")
        )
        assert r.status_code == 200, r.text
    r = client.post(
        "/api/v1/media/classifiers/train",
        json={"kind": "category", "unit_id": w.units["A"].id},
        headers=w.auth("op_a"),
    )
    assert r.status_code == 200, r.text
    model = r.json()
    print(
        f"\ncategory classifier: accuracy {model['accuracy']:.3f} on {model['n_test']} held-out items "
        f"({model['n_train']} trained)"
    )
    assert model["accuracy"] >= 0.8 and model["n_test"] >= 15
    assert set(model["classes"]) == set(CLASSES) and model["reclassified"] == 90
    # new items are classified as they come in, with a confidence
    r = add_item(client, w, "Xe tải gây tai nạn, ùn tắc kéo dài trên lòng đường")
    cat = r.json()["category"]
    assert cat["label"] == "giao thông" and 0.5 < cat["confidence"] <= 1
    # and the sentiment path: labels replace the lexicon once trained
    for item_id, (_, label) in zip(ids, data, strict=True):
        sent = "negative" if label == "an ninh" else "neutral"
        client.post(f"/api/v1/media/items/{item_id}/labels", json={"sentiment": sent}, headers=w.auth("op_a"))
    r = client.post(
        "/api/v1/media/classifiers/train",
        json={"kind": "sentiment", "unit_id": w.units["A"].id},
        headers=w.auth("op_a"),
    )
    assert r.status_code == 200 and r.json()["accuracy"] >= 0.8
    item = add_item(client, w, "Công an truy bắt đối tượng cướp giật").json()
    assert item["sentiment"]["method"] == "model" and item["sentiment"]["label"] == "negative"
    # too few labels: a clear refusal, nothing stored
    r = client.post(
        "/api/v1/media/classifiers/train",
        json={"kind": "category", "unit_id": w.units["B"].id},
        headers=w.auth("admin"),
    )
    assert r.status_code == 400 and "No labelled items" in r.json()["error"]["message_en"]
    assert len(client.get("/api/v1/media/classifiers", headers=w.auth("admin")).json()) == 2


def test_volume_and_negative_spikes_become_alert_events(client: Any, world: Any, db: Any, app: Any) -> None:
    w = world
    topic = add_topic(client, w, "ngap", "ngập OR sông", spike_min_count=4, domain="environment")
    src = add_source(client, w, kind="manual", name="Tay")
    now = utcnow()
    with db.session() as s:
        source = s.get(service.MediaSource, src["id"])
        # a quiet day: one neutral item every few hours
        for h in range(2, 24, 4):
            service.ingest_stories(
                s,
                source,
                [Story(url=f"manual:q{h}", title=f"Mực nước sông ổn định, bản tin số {h}")],
                holder=app.state,
                now=now - timedelta(hours=h),
            )
    start = time.monotonic()
    with db.session() as s:
        source = s.get(service.MediaSource, src["id"])
        burst = [
            Story(
                url=f"manual:b{i}",
                title=f"Ngập nặng ở thôn Một, dân bức xúc vụ {i}",
                text="Nước ngập sâu, rác thải ô nhiễm, người dân bức xúc.",
            )
            for i in range(5)
        ]
        out = service.ingest_stories(s, source, burst, holder=app.state, now=now)
        assert {sp["kind"] for sp in out.spikes} == {"volume", "negative"}
    with db.session() as s:
        rows = s.scalars(select(OutboxEvent).where(OutboxEvent.subject.like("toancanh.media.spike.%"))).all()
        assert {r.subject for r in rows} == {"toancanh.media.spike.volume", "toancanh.media.spike.negative"}
        assert all(r.unit_id == w.units["A"].id and r.domain == "environment" for r in rows)
        assert rows[0].data["topic_code"] == "ngap" and rows[0].data["lat"] is not None
    # the alerts module records them as events its rules can raise alerts on
    from toancanh.modules.alerts.models import Event

    deadline = time.monotonic() + 15
    while True:
        with db.session() as s:
            cats = set(s.scalars(select(Event.category).where(Event.category.like("media.%"))))
        if cats == {"media.spike.volume", "media.spike.negative"}:
            break
        assert time.monotonic() < deadline, cats
        time.sleep(0.05)
    print(f"\nspike: items ingested -> alert events recorded in {time.monotonic() - start:.2f} s")
    # once per topic, commune, kind and hour
    with db.session() as s:
        source = s.get(service.MediaSource, src["id"])
        more = [Story(url=f"manual:c{i}", title=f"Ngập tiếp diễn {i}", text="ngập bức xúc") for i in range(5)]
        assert (
            service.ingest_stories(s, source, more, holder=app.state, now=now + timedelta(minutes=1)).spikes
            == []
        )
    spikes = client.get("/api/v1/media/spikes", headers=w.auth("leader_a")).json()
    assert len(spikes) == 2 and spikes[0]["topic"] == topic["name"]
    assert client.get("/api/v1/media/spikes", headers=w.auth("op_b")).json() == []

"""Press monitoring pipeline: items per second for each step over the same generated Vietnamese news items,
each against the cheapest way to touch the same text, measured in the same run:

- segmentation (pyvi, `text.segment`) and normalization+syllables vs ``str.lower().split()``;
- watch-rule matching (``--rules`` rules, default 20, each item against all) vs ``str.lower()`` + ``in``
  for the same rules' first keyword;
- classification (trained naive Bayes over segmented words) vs the same ``lower().split()`` baseline;
- spike latency: a burst of items ingested -> the `media.spike.volume` event recorded by the alerts
  module through the outbox and the bus (one app, in-process bus, SQLite), median of ``--spikes`` runs.

    python -m bench.media_pipeline --items 300
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import best_rates, main, print_table, sig
from toancanh.modules.media import classify, rules, text
from toancanh.modules.media.feeds import Story

NAME = "media_pipeline"
ITEMS = int(os.environ.get("TOANCANH_BENCH_MEDIA_ITEMS", "300"))
RULES = 20
SPIKES = 3
_TEXT = (
    "người dân phản ánh tình trạng ngập úng kéo dài tại thôn xã Đại Thanh ủy ban nhân dân đã chỉ đạo lực "
    "lượng chức năng khắc phục rác thải ô nhiễm môi trường giao thông ùn tắc tai nạn trên tuyến đường trường "
    "học bệnh viện công an bắt giữ đối tượng trộm cắp lừa đảo hội nghị triển khai kế hoạch phát triển kinh tế"
)
WORDS = _TEXT.split(" ")
TOPICS = [
    "ngập",
    "rác thải",
    "ùn tắc",
    "tai nạn",
    "trộm cắp",
    "lừa đảo",
    "ô nhiễm",
    "trường học",
    "bệnh viện",
    "hội nghị",
    "cháy",
    "sạt lở",
    "điện",
    "nước sạch",
    "dịch bệnh",
    "đất đai",
    "xây dựng",
    "khiếu nại",
    "tham nhũng",
    "an toàn thực phẩm",
]


def make_items(n: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(60, 120))).capitalize() + "." for _ in range(n)
    ]


def _spike_latency(runs: int) -> list[float]:
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from toancanh.app import create_app
    from toancanh.core.db import Database, utcnow
    from toancanh.core.migrate import upgrade
    from toancanh.core.units import add_unit
    from toancanh.modules.alerts.models import Event
    from toancanh.modules.media import service
    from toancanh.modules.media.models import MediaTopic
    from toancanh.settings import Settings

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database_url="",
            bus_url="memory://",
            secret_key="bench",
            relay_interval_s=0.05,
            camera_monitor=False,
            log_level="ERROR",
            log_json=False,
            retention_interval_h=0,
        )
        upgrade(settings.resolved_database_url)
        db = Database(settings.resolved_database_url)
        app = create_app(settings, database=db)
        with TestClient(app):
            with db.session() as s:
                prov = add_unit(s, code="01", name="Thành phố Hà Nội", kind="thành phố trung ương")
                commune = add_unit(s, code="00664", name="Xã Đại Thanh", kind="xã", parent=prov)
                src = service.MediaSource(name="b", kind="manual", url="", unit_id=commune.id, rules={})
                s.add(src)
                for r in range(runs):
                    s.add(
                        MediaTopic(
                            code=f"t{r}",
                            name=f"T{r}",
                            expression=f"chủđề{r}",
                            unit_id=commune.id,
                            diacritic_insensitive=True,
                            enabled=True,
                            spike_min_count=5,
                        )
                    )
                s.flush()
                src_id = src.id
            for r in range(runs):
                start = time.perf_counter()
                with db.session() as s:
                    source = s.get(service.MediaSource, src_id)
                    burst = [Story(url=f"manual:{r}-{i}", title=f"Tin chủđề{r} số {i}") for i in range(6)]
                    service.ingest_stories(s, source, burst, holder=app.state, now=utcnow())
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    with db.read_session() as s:
                        n = s.scalar(select(Event.id).where(Event.title.like(f"%'T{r}'%")).limit(1))
                    if n is not None:
                        out.append(time.perf_counter() - start)
                        break
                    time.sleep(0.005)
        db.dispose()
    return out


def run(items: int = ITEMS, n_rules: int = RULES, spikes: int = SPIKES) -> dict[str, Any]:
    docs = make_items(items)
    compiled = [rules.compile_rule(f'"{t}" AND NOT "diễn tập"') for t in TOPICS[:n_rules]]
    firsts = [t.split()[0] for t in TOPICS[:n_rules]]
    labels = [("môi trường", "giao thông", "an ninh")[i % 3] for i in range(items)]
    feats = [text.features(d) for d in docs]
    model = classify.fit(feats, labels)

    def baseline() -> int:
        for d in docs:
            d.lower().split()
        return items

    def normalize() -> int:
        for d in docs:
            text.syllables(d)
        return items

    def segment() -> int:
        for d in docs:
            text.segment(d)
        return items

    def match() -> int:
        for d in docs:
            syl = rules.Syllables(d)
            for r in compiled:
                r.matches_syllables(syl)
        return items

    def match_baseline() -> int:
        for d in docs:
            low = d.lower()
            for f in firsts:
                _ = f in low
        return items

    def classify_items() -> int:
        for d in docs:
            model.predict(text.features(d))
        return items

    rates = best_rates(
        {
            "baseline": baseline,
            "normalize": normalize,
            "segment": segment,
            "match": match,
            "match_baseline": match_baseline,
            "classify": classify_items,
        },
        rounds=3,
        seconds_per_round=0.3,
    )
    latencies = _spike_latency(spikes)
    base = rates["baseline"]
    med = statistics.median(latencies) if latencies else float("nan")
    print_table(
        f"Press monitoring pipeline over {items} items of 60-120 syllables, {n_rules} watch rules",
        [
            ("baseline lower+split items/s", f"{base:,.0f}"),
            (
                "normalize + syllables items/s",
                f"{rates['normalize']:,.0f} ({rates['normalize'] / base:.4f}x)",
            ),
            ("segmentation (pyvi) items/s", f"{rates['segment']:,.0f} ({rates['segment'] / base:.4f}x)"),
            (f"matching {n_rules} rules items/s", f"{rates['match']:,.0f} ({rates['match'] / base:.4f}x)"),
            ("  baseline lower + 'in' items/s", f"{rates['match_baseline']:,.0f}"),
            ("classification items/s", f"{rates['classify']:,.0f} ({rates['classify'] / base:.4f}x)"),
            ("spike latency ingest -> alert event (median s)", f"{med:.3f}"),
        ],
    )
    return {
        "items": items,
        "rules": n_rules,
        "baseline_items_per_s": sig(base),
        "normalize_items_per_s": sig(rates["normalize"]),
        "segment_items_per_s": sig(rates["segment"]),
        "match_items_per_s": sig(rates["match"]),
        "match_baseline_items_per_s": sig(rates["match_baseline"]),
        "classify_items_per_s": sig(rates["classify"]),
        "ratio_segment": sig(rates["segment"] / base),
        "ratio_match": sig(rates["match"] / rates["match_baseline"]),
        "ratio_classify": sig(rates["classify"] / base),
        "spike_latency_s_median": sig(med),
        "spike_latencies_s": [sig(x) for x in latencies],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=ITEMS)
    parser.add_argument("--rules", type=int, default=RULES)
    parser.add_argument("--spikes", type=int, default=SPIKES)
    args = parser.parse_args()
    main(NAME, lambda: run(args.items, args.rules, args.spikes))

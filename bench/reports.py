"""Field reports at province scale: submissions through the HTTP API and the two hot queries at 1M reports.

On each database (SQLite: a temporary file; PostgreSQL: a temporary database at ``TOANCANH_BENCH_PG_URL``
when reachable, null figures otherwise) the bench builds a province of 100 communes of 4 hamlets and bulk
loads ``TOANCANH_BENCH_REPORTS`` (default 1,000,000) synthetic reports straight into ``field_reports`` (numpy
columns, ``executemany`` / ``COPY``, secondary indexes dropped and rebuilt: the fixture, not the measure),
a year of reports, ids in time order, states by age. Then, in interleaved rounds:

- ``submit``: citizen reports per second through ``POST /api/v1/reports`` of an in-process app (Starlette
  TestClient), one small JPEG photo each, every request from its own client address (the per-address rate
  limit counts a real index lookup, it does not refuse). Baseline: the raw rate of one ``INSERT`` of one
  report row per transaction through the bare driver (``sqlite3`` / psycopg) into the same table.
- ``queue``: ``service.staff_queue`` as an operator of one commune (its 10,000 reports among the 1M), newest
  first, 100 rows, with each filter of the queue page in turn (none, state, category, overdue, hamlet,
  priority), each call in its own session like a request. Latency p50 and p99.
- ``nearby``: ``service.nearby`` (the "already reported here?" lookup) at random points of the province,
  random categories. Latency p50 and p99.
- Baseline of both queries: the raw latency of a primary-key ``SELECT *`` of one report through the bare
  driver. The figures are latency ratios: 20 means twenty primary-key reads' worth.

The query plans of the queue and the nearby query are printed after the table (they use migration 0003's
indexes). The deadline loop of the app is held off during the run: it is not what is measured.
"""

from __future__ import annotations

import io
import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select, text

from bench._common import main, print_table, rate, sig, temp_pg_database
from toancanh.core.auth.scope import Principal, ScopedGrant
from toancanh.core.db import Database
from toancanh.core.geo import bbox_around
from toancanh.core.migrate import upgrade
from toancanh.core.units import Agency, add_unit
from toancanh.modules.reports import deadlines, service
from toancanh.modules.reports.models import ReportCategory, RoutingRule

NAME = "reports"
N = int(os.environ.get("TOANCANH_BENCH_REPORTS", "1000000"))
PG_URL = os.environ.get("TOANCANH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
GRID = 10  # 10 x 10 communes
COMMUNE_DEG, HAMLET_DEG = 0.04, 0.02
ORIGIN = (20.70, 105.50)  # south-west corner of the synthetic province
ROUNDS = 3
SUBMITS_PER_ROUND = 100
QUERIES_PER_ROUND = 120
PK_PER_ROUND = 600
RAW_INSERTS_PER_ROUND = 300
CHUNK = 100_000
DAY = 86_400.0

COLUMNS = (
    "id, tracking_code, category_id, domain, description, lat, lon, address, location_source, priority, "
    "resolve_days, channel, reporter_name, reporter_phone, reporter_email, anonymous, device_id, client_ip, "
    "attributes, moderation, answer, answered_at, acknowledged_at, rating, satisfied, rating_comment, "
    "supporters, created_at, updated_at, unit_id, state, opened_at, state_since, due_at, sla_status, "
    "escalation_level, closed_at, assignee_agency_id"
)
DESCRIPTIONS = (
    "Rác thải đổ trộm cạnh điểm tập kết, bốc mùi",
    "Đèn chiếu sáng công cộng bị hỏng nhiều ngày",
    "Ổ gà lớn giữa đường, nguy hiểm cho xe máy",
    "Lấn chiếm vỉa hè để kinh doanh, đỗ xe",
    "Nước thải chảy tràn ra mặt đường",
    "Tụ tập gây mất trật tự sau 23 giờ",
    "Cây xanh nghiêng, có nguy cơ đổ",
    "Cống thoát nước bị tắc, ngập khi mưa",
)


# ---------------------------------------------------------------------------------------------- the world


@dataclass
class World:
    """The synthetic province: communes (paths), hamlets (corners, ids), agencies, categories."""

    communes: list[tuple[int, str]] = field(default_factory=list)  # (id, path)
    hamlet_ids: list[int] = field(default_factory=list)
    hamlet_corner: list[tuple[float, float]] = field(default_factory=list)
    hamlet_agency: list[int] = field(default_factory=list)
    categories: list[tuple[int, str, str, int, bool]] = field(
        default_factory=list
    )  # id, code, domain, days, urgent


def square(lat: float, lon: float, d: float) -> dict[str, Any]:
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def build_world(db: Database) -> World:
    w = World()
    with db.session() as s:
        service.ensure_categories(s)
        prov = add_unit(s, code="01", name="Tỉnh Thử nghiệm", kind="tỉnh")
        cats = list(s.scalars(select(ReportCategory).order_by(ReportCategory.id)))
        w.categories = [(c.id, c.code, c.domain, c.resolve_days, c.urgent) for c in cats]
        for k in range(GRID * GRID):
            lat0 = ORIGIN[0] + (k // GRID) * COMMUNE_DEG
            lon0 = ORIGIN[1] + (k % GRID) * COMMUNE_DEG
            commune = add_unit(
                s,
                code=f"{10000 + k}",
                name=f"Xã {k}",
                kind="xã",
                parent=prov,
                boundary=square(lat0, lon0, COMMUNE_DEG),
            )
            agency = Agency(
                unit_id=commune.id, code=f"ca-{k}", name=f"Công an xã {k}", kind="police", domains=[]
            )
            s.add(agency)
            s.flush()
            w.communes.append((commune.id, commune.path))
            for h in range(4):
                hlat, hlon = lat0 + (h // 2) * HAMLET_DEG, lon0 + (h % 2) * HAMLET_DEG
                hamlet = add_unit(
                    s,
                    code=f"{10000 + k}{h:02d}",
                    name=f"Thôn {h} xã {k}",
                    kind="thôn",
                    parent=commune,
                    boundary=square(hlat, hlon, HAMLET_DEG),
                )
                w.hamlet_ids.append(hamlet.id)
                w.hamlet_corner.append((hlat, hlon))
                w.hamlet_agency.append(agency.id)
            # every category of the commune goes to its police (the route lookup is real)
            s.add_all(RoutingRule(unit_id=commune.id, category_id=c.id, agency_id=agency.id) for c in cats)
    return w


# ---------------------------------------------------------------------------------------------- the rows


def _insert_sql(mark: str) -> str:
    return f"INSERT INTO field_reports ({COLUMNS}) VALUES ({', '.join([mark] * len(COLUMNS.split(',')))})"


def _stamp(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds -> "YYYY-MM-DD HH:MM:SS.ffffff" (UTC), the text SQLite holds and PostgreSQL parses."""
    iso = np.datetime_as_string((seconds * 1e6).astype("int64").astype("datetime64[us]"), unit="us")
    return np.char.replace(iso, "T", " ")


def _maybe(mask: np.ndarray, values: np.ndarray) -> list[Any]:
    out = values.astype(object)
    out[~mask] = None
    return out.tolist()  # type: ignore[no-any-return]


def synthetic_rows(w: World, now: float, seed: int = 7) -> Iterator[list[tuple[Any, ...]]]:
    """N reports over the year before `now`, in chunks; ids 1..N in time order."""
    rng = np.random.default_rng(seed)
    cat_ids = np.array([c[0] for c in w.categories])
    cat_domain = np.array([c[2] for c in w.categories], dtype=object)
    cat_days = np.array([c[3] for c in w.categories])
    cat_urgent = np.array([c[4] for c in w.categories])
    corners = np.array(w.hamlet_corner)
    hamlet_ids, agencies = np.array(w.hamlet_ids), np.array(w.hamlet_agency)
    ips = np.array([f"10.{i >> 8 & 255}.{i & 255}.{i % 7 + 1}" for i in range(65_536)], dtype=object)
    descriptions = np.array(DESCRIPTIONS, dtype=object)
    start, span = now - 365 * DAY, 365 * DAY - 600
    for first in range(0, N, CHUNK):
        n = min(CHUNK, N - first)
        ids = np.arange(first + 1, first + n + 1)
        opened = start + (ids - 1) * (span / N) + rng.uniform(0, span / N, n)
        age = (now - opened) / DAY
        ham = rng.integers(0, len(hamlet_ids), n)
        cat = rng.integers(0, len(cat_ids), n)
        u = rng.random(n)
        recent = age < 14
        state = np.where(
            recent,
            np.select(
                [u < 0.1, u < 0.4, u < 0.7, u < 0.8, u < 0.95],
                ["received", "assigned", "in_progress", "resolved", "closed"],
                "rejected",
            ),
            np.select(
                [u < 0.85, u < 0.91, u < 0.95, u < 0.98],
                ["closed", "rejected", "merged", "resolved"],
                "in_progress",
            ),
        ).astype(object)
        open_ = np.isin(state, ["received", "assigned", "in_progress"])
        answered = np.isin(state, ["resolved", "closed"])
        final = np.isin(state, ["closed", "rejected", "merged"])
        due = opened + np.where(state == "in_progress", cat_days[cat] * 1.4 * DAY, 1.2 * DAY)
        sla = np.where(
            open_ & (due < now), "overdue", np.where(open_ & (due - now < 8 * 3600), "warning", "ok")
        )
        rated = (state == "closed") & (rng.random(n) < 0.7)
        rating = rng.integers(3, 6, n)
        late = answered & (rng.random(n) < 0.1)
        ack = opened + rng.uniform(600, 6 * 3600, n)
        done = np.minimum(opened + rng.uniform(0.2, 5, n) * DAY, now - 60)
        created = _stamp(opened).astype(object)
        anonymous = rng.random(n) < 0.7
        cols: list[Any] = [
            ids.tolist(),
            [f"B{i:09d}" for i in ids.tolist()],
            cat_ids[cat].tolist(),
            cat_domain[cat].tolist(),
            descriptions[rng.integers(0, len(descriptions), n)].tolist(),
            (corners[ham, 0] + rng.uniform(0, HAMLET_DEG, n)).tolist(),
            (corners[ham, 1] + rng.uniform(0, HAMLET_DEG, n)).tolist(),
            [""] * n,
            ["gps"] * n,
            np.where(cat_urgent[cat], "urgent", "normal").astype(object).tolist(),
            cat_days[cat].tolist(),
            ["web"] * n,
            np.where(anonymous, "", "Nguyễn Văn A").astype(object).tolist(),
            np.where(anonymous, "", "0912345678").astype(object).tolist(),
            [""] * n,
            anonymous.tolist(),
            [""] * n,
            ips[rng.integers(0, len(ips), n)].tolist(),
            ["{}"] * n,
            np.where(answered, "approved", "pending").astype(object).tolist(),
            np.where(answered, "Đã xử lý xong, đề nghị người dân kiểm tra", "").astype(object).tolist(),
            _maybe(answered, _stamp(done)),
            _maybe(answered | (state == "in_progress"), _stamp(ack)),
            _maybe(rated, rating),
            _maybe(rated, np.ones(n, dtype=bool)),
            [""] * n,
            [1] * n,
            created.tolist(),
            created.tolist(),
            hamlet_ids[ham].tolist(),
            state.tolist(),
            created.tolist(),
            created.tolist(),
            _maybe(~final & (state != "resolved"), _stamp(due)),
            sla.astype(object).tolist(),
            np.where(late | (sla == "overdue"), 1, 0).tolist(),
            _maybe(final, _stamp(done)),
            _maybe(state != "received", agencies[ham]),
        ]
        yield list(zip(*cols, strict=True))


# ---------------------------------------------------------------------------------------------- measuring


def jpeg() -> bytes:
    img = Image.effect_noise((320, 240), 40).convert("RGB")
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


def _with_client_ip(app: Any) -> Any:
    """Each request from the address in its x-bench-ip header, so the hourly limit per address never bites."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            ip = dict(scope["headers"]).get(b"x-bench-ip")
            if ip:
                scope = {**scope, "client": (ip.decode(), 40000)}
        await app(scope, receive, send)

    return asgi


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Figures:
    load_s: float = 0.0
    submit: float = 0.0
    raw_insert: float = 0.0
    queue: list[float] = field(default_factory=list)
    nearby: list[float] = field(default_factory=list)
    pk: list[float] = field(default_factory=list)
    plans: list[str] = field(default_factory=list)


def measure(
    db: Database, w: World, url: str, raw_insert: Callable[[int], None], raw_pk: Callable[[int], None]
) -> Figures:
    """The interleaved rounds of every measure, on a loaded database."""
    from toancanh.app import create_app
    from toancanh.settings import Settings

    f = Figures()
    rnd = random.Random(3)
    photo = jpeg()
    principals = [
        Principal(user_id=0, username=f"op-{cid}", grants=(ScopedGrant("operator", path, None),))
        for cid, path in w.communes
    ]
    cat_ids = [c[0] for c in w.categories]
    filters: list[Callable[[int], dict[str, Any]]] = [
        lambda k: {},
        lambda k: {"states": ["assigned", "in_progress"]},
        lambda k: {"category_id": rnd.choice(cat_ids)},
        lambda k: {"overdue": True},
        lambda k: {"unit_id": w.hamlet_ids[k * 4 + rnd.randrange(4)]},
        lambda k: {"priority": "urgent", "states": ["received", "assigned"]},
    ]
    with tempfile.TemporaryDirectory(prefix="tc-bench-app-") as tmp:
        deadlines.FIRST_CHECK_AFTER_S = 3600.0  # the minute loop is not what is measured
        settings = Settings(
            data_dir=Path(tmp), database_url=url, secret_key="bench", log_level="WARNING", log_json=False
        )
        app = create_app(settings, database=db)
        sent = 0
        with TestClient(_with_client_ip(app)) as client:
            for r in range(ROUNDS + 1):
                warm = r == 0
                # submissions through HTTP, then the raw insert of one row per transaction
                t0 = time.perf_counter()
                for _ in range(SUBMITS_PER_ROUND // (4 if warm else 1)):
                    sent += 1
                    k = rnd.randrange(len(w.hamlet_corner))
                    lat, lon = w.hamlet_corner[k]
                    resp = client.post(
                        "/api/v1/reports",
                        data={
                            "category": rnd.choice(w.categories)[1],
                            "description": "Người dân phản ánh: " + rnd.choice(DESCRIPTIONS),
                            "lat": str(lat + rnd.uniform(0.001, HAMLET_DEG - 0.001)),
                            "lon": str(lon + rnd.uniform(0.001, HAMLET_DEG - 0.001)),
                        },
                        files=[("photos", ("p.jpg", photo, "image/jpeg"))],
                        headers={"x-bench-ip": f"172.16.{sent >> 8 & 255}.{sent & 255}"},
                    )
                    if resp.status_code != 201:
                        raise RuntimeError(f"submission refused: {resp.status_code} {resp.text[:300]}")
                elapsed = time.perf_counter() - t0
                if not warm:
                    f.submit = max(f.submit, rate(SUBMITS_PER_ROUND, elapsed))
                t0 = time.perf_counter()
                for i in range(RAW_INSERTS_PER_ROUND // (4 if warm else 1)):
                    raw_insert(r * 10_000 + i)
                elapsed = time.perf_counter() - t0
                if not warm:
                    f.raw_insert = max(f.raw_insert, rate(RAW_INSERTS_PER_ROUND, elapsed))
                # the queue, nearby and the primary-key read
                for i in range(QUERIES_PER_ROUND):
                    k = rnd.randrange(len(principals))
                    t0 = time.perf_counter()
                    with db.session() as s:
                        rows = service.staff_queue(s, principals[k], **filters[i % len(filters)](k))
                    if not warm:
                        f.queue.append(time.perf_counter() - t0)
                    if i == 0 and not rows:
                        raise RuntimeError("the operator's queue is empty: the fixture is wrong")
                for _ in range(QUERIES_PER_ROUND):
                    cat = rnd.choice(cat_ids)
                    lat = ORIGIN[0] + rnd.uniform(0, GRID * COMMUNE_DEG)
                    lon = ORIGIN[1] + rnd.uniform(0, GRID * COMMUNE_DEG)
                    t0 = time.perf_counter()
                    with db.session() as s:
                        service.nearby(s, s.get(ReportCategory, cat), lat, lon)
                    if not warm:
                        f.nearby.append(time.perf_counter() - t0)
                for _ in range(PK_PER_ROUND):
                    rid = rnd.randint(1, N)
                    t0 = time.perf_counter()
                    raw_pk(rid)
                    if not warm:
                        f.pk.append(time.perf_counter() - t0)
        f.plans = plans(db, principals[0], w)
    return f


def plans(db: Database, principal: Principal, w: World) -> list[str]:
    """The query plans of the queue (no filter, and by state) and of nearby, as the database prints them."""
    from sqlalchemy.dialects import postgresql, sqlite

    postgres = db.is_postgres
    dialect = postgresql.dialect() if postgres else sqlite.dialect()
    out = []
    with db.session() as s:
        queries = {
            "queue": _queue_stmt(principal, {}),
            "queue by state": _queue_stmt(principal, {"states": ["assigned", "in_progress"]}),
            "nearby": _nearby_stmt(w),
        }
        for name, stmt in queries.items():
            sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
            prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            rows = s.execute(text(prefix + sql)).all()
            lines = [str(r[0]) if postgres else str(r[-1]) for r in rows]
            out.append(f"{name}: " + " | ".join(line.strip() for line in lines))
    return out


def _queue_stmt(principal: Principal, extra: dict[str, Any]) -> Any:
    from toancanh.modules.reports.models import FieldReport

    stmt = service.scoped_reports(principal)
    if extra.get("states"):
        stmt = stmt.where(FieldReport.state.in_(extra["states"]))
    return stmt.order_by(FieldReport.id.desc()).limit(100)


def _nearby_stmt(w: World) -> Any:
    from toancanh.modules.reports.models import FieldReport

    lat, lon = w.hamlet_corner[0]
    minlon, minlat, maxlon, maxlat = bbox_around(lat, lon, service.NEARBY_RADIUS_M)
    return select(FieldReport).where(
        FieldReport.category_id == w.categories[0][0],
        FieldReport.state.in_(service.OPEN_STATES),
        FieldReport.created_at >= datetime.now(UTC) - timedelta(days=service.NEARBY_DAYS),
        FieldReport.lat.between(minlat, maxlat),
        FieldReport.lon.between(minlon, maxlon),
    )


# ---------------------------------------------------------------------------------------------- SQLite


def _sqlite() -> Figures:
    with tempfile.TemporaryDirectory(prefix="tc-bench-") as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        db = Database(url)
        world = build_world(db)
        raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            t0 = time.perf_counter()
            _sqlite_load(raw, world)
            load_s = time.perf_counter() - t0
            for pragma in ("synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000", "cache_size=-2000"):
                raw.execute(f"PRAGMA {pragma}")
            insert = _insert_sql("?")
            template = raw.execute(f"SELECT {COLUMNS} FROM field_reports WHERE id = 1").fetchone()

            def raw_insert(i: int) -> None:
                raw.execute("BEGIN IMMEDIATE")
                raw.execute(insert, (N + 1_000_000 + i, f"R{i:09d}", *template[2:]))
                raw.execute("COMMIT")

            def raw_pk(rid: int) -> None:
                raw.execute("SELECT * FROM field_reports WHERE id = ?", (rid,)).fetchone()

            f = measure(db, world, url, raw_insert, raw_pk)
            f.load_s = load_s
        finally:
            raw.close()
            db.dispose()
    return f


def _sqlite_load(raw: sqlite3.Connection, w: World) -> None:
    raw.execute("PRAGMA synchronous=OFF")
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute("PRAGMA cache_size=-262144")
    indexes = [
        sql
        for (sql,) in raw.execute(
            "SELECT sql FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name = 'field_reports' AND sql IS NOT NULL"
        )
    ]
    for sql in indexes:
        raw.execute("DROP INDEX " + sql.split()[2])
    insert = _insert_sql("?")
    raw.execute("BEGIN")
    for rows in synthetic_rows(w, time.time()):
        raw.executemany(insert, rows)
    raw.execute("COMMIT")
    for sql in indexes:
        raw.execute(sql)
    raw.execute("PRAGMA analysis_limit=1000")
    raw.execute("ANALYZE")
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# ---------------------------------------------------------------------------------------------- PostgreSQL


def _postgres() -> Figures | None:
    import psycopg
    from psycopg.types.json import Json

    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except psycopg.Error:
        return None
    with temp_pg_database(PG_URL) as url:
        upgrade(url)
        db = Database(url)
        world = build_world(db)
        raw = psycopg.connect(url, autocommit=True)
        try:
            t0 = time.perf_counter()
            _pg_load(raw, world)
            load_s = time.perf_counter() - t0
            insert = _insert_sql("%s")
            first = raw.execute(f"SELECT {COLUMNS} FROM field_reports WHERE id = 1").fetchone()
            template = tuple(Json(v) if isinstance(v, dict) else v for v in first)

            def raw_insert(i: int) -> None:
                raw.execute(insert, (N + 1_000_000 + i, f"R{i:09d}", *template[2:]))

            def raw_pk(rid: int) -> None:
                raw.execute("SELECT * FROM field_reports WHERE id = %s", (rid,)).fetchone()

            f = measure(db, world, url, raw_insert, raw_pk)
            f.load_s = load_s
        finally:
            raw.close()
            db.dispose()
    return f


def _pg_load(raw: Any, w: World) -> None:
    raw.execute("SET session_replication_role = replica")  # no foreign-key triggers for the fixture
    raw.execute("SET maintenance_work_mem = '512MB'")
    raw.execute("SET TimeZone = 'UTC'")
    indexes = raw.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'field_reports' "
        "AND indexname NOT IN ('pk_field_reports', 'uq_field_reports_tracking_code')"
    ).fetchall()
    for name, _ in indexes:
        raw.execute(f'DROP INDEX "{name}"')
    with raw.cursor() as cur, cur.copy(f"COPY field_reports ({COLUMNS}) FROM STDIN") as copy:
        for rows in synthetic_rows(w, time.time()):
            for row in rows:
                copy.write_row(row)
    for _, ddl in indexes:
        raw.execute(ddl)
    raw.execute("SET session_replication_role = DEFAULT")
    raw.execute(
        "SELECT setval(pg_get_serial_sequence('field_reports', 'id'), (SELECT max(id) FROM field_reports))"
    )
    raw.execute("VACUUM ANALYZE field_reports")


# ---------------------------------------------------------------------------------------------- the report


def _figures(prefix: str, f: Figures | None) -> dict[str, Any]:
    keys = (
        "load_rows_per_s",
        "submit_per_s",
        "raw_insert_per_s",
        "submit_ratio",
        "queue_p50_ms",
        "queue_p99_ms",
        "nearby_p50_ms",
        "nearby_p99_ms",
        "pk_p50_ms",
        "pk_p99_ms",
        "queue_p50_ratio",
        "queue_p99_ratio",
        "nearby_p50_ratio",
        "nearby_p99_ratio",
    )
    if f is None:
        return {f"{prefix}_{k}": None for k in keys}
    ms = {
        name: (percentile(samples, 0.5) * 1000, percentile(samples, 0.99) * 1000)
        for name, samples in (("queue", f.queue), ("nearby", f.nearby), ("pk", f.pk))
    }
    values = {
        "load_rows_per_s": N / f.load_s,
        "submit_per_s": f.submit,
        "raw_insert_per_s": f.raw_insert,
        "submit_ratio": f.submit / f.raw_insert,
        "queue_p50_ms": ms["queue"][0],
        "queue_p99_ms": ms["queue"][1],
        "nearby_p50_ms": ms["nearby"][0],
        "nearby_p99_ms": ms["nearby"][1],
        "pk_p50_ms": ms["pk"][0],
        "pk_p99_ms": ms["pk"][1],
        "queue_p50_ratio": ms["queue"][0] / ms["pk"][0],
        "queue_p99_ratio": ms["queue"][1] / ms["pk"][1],
        "nearby_p50_ratio": ms["nearby"][0] / ms["pk"][0],
        "nearby_p99_ratio": ms["nearby"][1] / ms["pk"][1],
    }
    return {f"{prefix}_{k}": sig(v) for k, v in values.items()}


def run() -> dict[str, Any]:
    started = time.perf_counter()
    lite = _sqlite()
    pg = _postgres()
    out: dict[str, Any] = {"reports": N, **_figures("sqlite", lite), **_figures("pg", pg)}
    rows: list[tuple[str, str]] = []
    for label, prefix, f in (("SQLite", "sqlite", lite), ("PostgreSQL", "pg", pg)):
        if f is None:
            rows.append((label, f"not reachable at {PG_URL}; skipped"))
            continue
        g = {k[len(prefix) + 1 :]: v for k, v in out.items() if k.startswith(prefix + "_")}
        rows += [
            (f"{label}: bulk load of {N:,} reports (fixture)", f"{g['load_rows_per_s']:,.0f} rows/s"),
            (f"{label}: submissions via HTTP, 1 photo", f"{g['submit_per_s']:,.1f} /s"),
            (f"{label}: raw one-row INSERT per transaction", f"{g['raw_insert_per_s']:,.0f} /s"),
            (f"{label}: submissions / raw insert", f"{g['submit_ratio']:.4f}"),
            (f"{label}: queue p50 / p99", f"{g['queue_p50_ms']:.2f} / {g['queue_p99_ms']:.2f} ms"),
            (f"{label}: nearby p50 / p99", f"{g['nearby_p50_ms']:.2f} / {g['nearby_p99_ms']:.2f} ms"),
            (f"{label}: raw primary-key SELECT p50 / p99", f"{g['pk_p50_ms']:.3f} / {g['pk_p99_ms']:.3f} ms"),
            (f"{label}: queue / pk (p50, p99)", f"{g['queue_p50_ratio']:.1f}×, {g['queue_p99_ratio']:.1f}×"),
            (
                f"{label}: nearby / pk (p50, p99)",
                f"{g['nearby_p50_ratio']:.1f}×, {g['nearby_p99_ratio']:.1f}×",
            ),
        ]
    rows.append(("total bench time", f"{time.perf_counter() - started:.0f} s"))
    print_table(f"reports: {N:,} field reports, submissions and queries vs raw driver baselines", rows)
    for label, f in (("SQLite", lite), ("PostgreSQL", pg)):
        for plan in f.plans if f else []:
            print(f"{label} plan, {plan}")
    return out


if __name__ == "__main__":
    main(NAME, run)

"""Time series (chuỗi số liệu): series and their samples, batched writes, range queries with rollups.

Sample times are integer epoch milliseconds, so bucketing is the same integer arithmetic on SQLite and
PostgreSQL. Day buckets follow Vietnam's local day (UTC+7, no daylight saving).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg.errors import UniqueViolation
from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    PrimaryKeyConstraint,
    String,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from toancanh.core.db import Base, BigId, IdMixin, TimestampMixin, UnitScopedMixin
from toancanh.core.errors import BadRequest

ROLLUPS_MS = {"raw": 0, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000}
LOCAL_OFFSET_MS = 7 * 3_600_000
MAX_POINTS = 100_000


class Series(IdMixin, TimestampMixin, UnitScopedMixin, Base):
    """A named number over time (e.g. PM2.5 at a sensor, vehicles per minute at an intersection)."""

    __tablename__ = "series"

    key: Mapped[str] = mapped_column(String(160), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    asset_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("assets.id"), index=True)
    domain: Mapped[str] = mapped_column(String(32), default="environment")
    unit_of_measure: Mapped[str] = mapped_column(String(32), default="")

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "name": self.name,
            "asset_id": self.asset_id,
            "unit_id": self.unit_id,
            "domain": self.domain,
            "unit_of_measure": self.unit_of_measure,
        }


class Sample(Base):
    __tablename__ = "samples"
    __table_args__ = (PrimaryKeyConstraint("series_id", "ts"),)

    series_id: Mapped[int] = mapped_column(BigId, ForeignKey("series.id", ondelete="CASCADE"))
    ts: Mapped[int] = mapped_column(BigInteger)  # epoch milliseconds, UTC
    value: Mapped[float] = mapped_column(Float)


def to_ms(at: datetime) -> int:
    if at.tzinfo is None:
        raise BadRequest("Thời gian phải có múi giờ", "Timestamps must carry a time zone")
    return int(at.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _clean(rows: Iterable[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    out = []
    for series_id, ts, value in rows:
        v = float(value)
        if not math.isfinite(v):
            raise BadRequest("Giá trị phải là số hữu hạn", "Sample values must be finite numbers")
        out.append((int(series_id), int(ts), v))
    return out


def _write_pg(raw: Any, data: list[tuple[int, int, float]]) -> None:
    """COPY straight into samples, in a savepoint; a batch that repeats a stored (series, ts) (a device
    re-sending after a reconnect) goes again through a staging table and INSERT ... ON CONFLICT."""
    text = "".join([f"{r[0]}\t{r[1]}\t{r[2]!r}\n" for r in data])
    with raw.cursor() as cur:
        cur.execute("SAVEPOINT samples_copy")
        try:
            with cur.copy("COPY samples (series_id, ts, value) FROM STDIN") as copy:
                copy.write(text)
        except UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT samples_copy")  # nothing of the batch is in
        else:
            cur.execute("RELEASE SAVEPOINT samples_copy")
            return
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS samples_stage "
            "(series_id bigint, ts bigint, value double precision) ON COMMIT DELETE ROWS"
        )
        cur.execute("TRUNCATE samples_stage")
        # The last of a repeated (series, ts) wins here: one INSERT cannot update the same row twice, and the
        # staged rows carry no order that SQL could tell first from last by.
        newest = {(r[0], r[1]): r[2] for r in data}
        with cur.copy("COPY samples_stage (series_id, ts, value) FROM STDIN") as copy:
            copy.write("".join([f"{k[0]}\t{k[1]}\t{v!r}\n" for k, v in newest.items()]))
        cur.execute(
            "INSERT INTO samples (series_id, ts, value) SELECT series_id, ts, value FROM samples_stage "
            "ORDER BY series_id, ts ON CONFLICT (series_id, ts) DO UPDATE SET value = EXCLUDED.value"
        )


def write_samples(db: Session, rows: Iterable[tuple[int, int, float]], *, checked: bool = False) -> int:
    """Write (series_id, epoch_ms, value) rows in one batch; a repeated (series, ts) keeps the newest value.

    SQLite: one prepared INSERT ... ON CONFLICT executed for all rows. PostgreSQL: COPY into a temporary
    table, then one INSERT ... SELECT ... ON CONFLICT, which is close to raw COPY speed.
    """
    data = rows if checked and isinstance(rows, list) else _clean(rows)  # checked: (int, int, finite float)
    if not data:
        return 0
    conn = db.connection()
    if conn.dialect.name == "postgresql":
        _write_pg(conn.connection.driver_connection, data)
        return len(data)
    raw_sqlite: Any = conn.connection.driver_connection
    raw_sqlite.executemany(
        "INSERT INTO samples (series_id, ts, value) VALUES (?, ?, ?) "
        "ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value",
        data,
    )
    return len(data)


@dataclass(frozen=True)
class Point:
    ts: int
    avg: float
    min: float
    max: float
    count: int
    sum: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "t": from_ms(self.ts).isoformat(),
            "ts": self.ts,
            "avg": self.avg,
            "min": self.min,
            "max": self.max,
            "count": self.count,
            "sum": self.sum,
        }


def query(db: Session, series_id: int, start_ms: int, end_ms: int, rollup: str = "raw") -> list[Point]:
    """Samples in [start, end), raw or rolled up to minute/hour/day buckets (bucket start times)."""
    if rollup not in ROLLUPS_MS:
        raise BadRequest(f"Kiểu gộp không hợp lệ: {rollup}", f"Unknown rollup: {rollup}")
    if end_ms <= start_ms:
        raise BadRequest("Thời điểm kết thúc phải sau thời điểm bắt đầu", "end must be after start")
    step = ROLLUPS_MS[rollup]
    where = (Sample.series_id == series_id, Sample.ts >= start_ms, Sample.ts < end_ms)
    if step == 0:
        rows: Sequence[Any] = db.execute(
            select(Sample.ts, Sample.value).where(*where).order_by(Sample.ts).limit(MAX_POINTS)
        ).all()
        return [Point(ts, v, v, v, 1, v) for ts, v in rows]
    offset = LOCAL_OFFSET_MS if rollup == "day" else 0
    bucket = (Sample.ts - ((Sample.ts + literal_column(str(offset))) % literal_column(str(step)))).label("b")
    stmt = (
        select(
            bucket,
            func.avg(Sample.value),
            func.min(Sample.value),
            func.max(Sample.value),
            func.count(),
            func.sum(Sample.value),
        )
        .where(*where)
        .group_by(bucket)
        .order_by(bucket)
        .limit(MAX_POINTS)
    )
    return [
        Point(int(b), float(a), float(mn), float(mx), int(c), float(sm))
        for b, a, mn, mx, c, sm in db.execute(stmt)
    ]


def latest(db: Session, series_id: int) -> tuple[int, float] | None:
    row = db.execute(
        select(Sample.ts, Sample.value)
        .where(Sample.series_id == series_id)
        .order_by(Sample.ts.desc())
        .limit(1)
    ).first()
    return (int(row[0]), float(row[1])) if row else None

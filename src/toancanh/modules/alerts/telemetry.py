"""Readings from devices (số liệu quan trắc): validated, written to core time series, last state updated.

One path for every transport (HTTP batch, MQTT): `ingest()` takes readings as dicts
``{"device": "<asset code>", "ts": <epoch ms | ISO 8601>, "values": {"<measure>": <number>, ...}}``,
rejects what is wrong with a reason (and keeps the rest), creates a series the first time a device reports a
measure, writes all samples in one batch, and records each device's newest values and time on its asset. A
device that was offline and reports again comes back online (an event).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from toancanh.core import outbox, timeseries
from toancanh.core.assets import Asset, merge_states
from toancanh.core.db import utcnow
from toancanh.core.units import Unit
from toancanh.modules.alerts.rules.types import AssetInfo, Row

MEASURE = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_FUTURE_MS = 5 * 60_000
MAX_PAST_MS = 366 * 86_400_000
MAX_REASONS = 100
UNKNOWN_TTL_S = 30.0
INACTIVE = ("retired", "maintenance")


@dataclass(slots=True)
class Device:
    info: AssetInfo
    status: str
    series: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class IngestResult:
    accepted: int = 0
    rejected: int = 0
    reasons: list[dict[str, Any]] = field(
        default_factory=list
    )  # the first MAX_REASONS: {index, reason, reason_en}
    readings: list[Row] = field(default_factory=list)  # (asset_id, measure, ts, value), as rules take them
    devices: set[int] = field(default_factory=set)

    def reject(self, index: int, vi: str, en: str, n: int = 1) -> None:
        self.rejected += n
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append({"index": index, "reason": vi, "reason_en": en})

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "rejected": self.rejected, "errors": self.reasons}


class Directory:
    """Devices (assets) and their series, cached for the ingestion path and the rule engine. Thread-safe."""

    def __init__(self) -> None:
        self._by_code: dict[str, Device] = {}
        self._by_id: dict[int, Device] = {}
        self._unknown: dict[str, float] = {}
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._by_code.clear()
            self._by_id.clear()
            self._unknown.clear()

    def set_status(self, asset_id: int, status: str) -> None:
        """Tell the cache that a device's status changed (it came back, or the heartbeat check lost it)."""
        dev = self._by_id.get(asset_id)
        if dev is not None:
            dev.status = status

    def info(self, asset_id: int) -> AssetInfo | None:
        dev = self._by_id.get(asset_id)
        return dev.info if dev else None

    def info_loading(self, db: Session, asset_id: int) -> AssetInfo | None:
        dev = self._by_id.get(asset_id)
        if dev is None:
            code = db.scalar(select(Asset.code).where(Asset.id == asset_id))
            dev = self.device(db, code) if code else None
        return dev.info if dev else None

    def device(self, db: Session, code: str) -> Device | None:
        dev = self._by_code.get(code)
        if dev is not None:
            return dev
        seen = self._unknown.get(code)
        if seen is not None and time.monotonic() - seen < UNKNOWN_TTL_S:
            return None  # a flood of unknown devices must not cost a query each
        row = db.execute(
            select(Asset, Unit.path).join(Unit, Unit.id == Asset.unit_id).where(Asset.code == code)
        ).first()
        if row is None:
            with self._lock:
                if len(self._unknown) > 10_000:
                    self._unknown.clear()
                self._unknown[code] = time.monotonic()
            return None
        asset, path = row
        series = {
            key.rsplit(".", 1)[-1]: sid
            for sid, key in db.execute(
                select(timeseries.Series.id, timeseries.Series.key).where(
                    timeseries.Series.asset_id == asset.id
                )
            )
        }
        dev = Device(asset_info(asset, path), asset.status, series)
        with self._lock:
            self._by_code[code] = dev
            self._by_id[asset.id] = dev
        return dev

    def create_series(self, db: Session, wanted: list[tuple[Device, str]]) -> dict[tuple[int, str], int]:
        """Create the series of devices' new measures; returns ``{(asset_id, measure): series_id}``.

        In the order of their keys, so that two transactions creating overlapping sets wait for each other
        instead of deadlocking. The new ids are this transaction's own: they reach the shared cache only once
        it commits (`publish_after_commit`), because another thread must never write samples against a
        series that is not committed yet, or one that is rolled back.
        """
        made: dict[tuple[int, str], int] = {}
        for dev, measure in sorted(wanted, key=lambda w: (w[0].info.code, w[1])):
            key = f"{dev.info.code}.{measure}"
            try:
                with db.begin_nested():
                    series = timeseries.Series(
                        key=key,
                        name=f"{dev.info.name} — {measure}",
                        asset_id=dev.info.id,
                        unit_id=dev.info.unit_id,
                        domain=dev.info.domain,
                    )
                    db.add(series)
                sid = series.id
            except IntegrityError:  # another transaction created it and has committed since
                sid = db.scalar(select(timeseries.Series.id).where(timeseries.Series.key == key))
                assert sid is not None
            made[(dev.info.id, measure)] = sid
        return made

    def publish_after_commit(self, db: Session, fresh: dict[tuple[int, str], int]) -> None:
        """Put the series this transaction created into the cache when (and only if) it commits."""
        if not fresh:
            return
        state = {"rolled_back": False}

        def rolled_back(_session: Session) -> None:
            state["rolled_back"] = True

        def committed(_session: Session) -> None:
            if state["rolled_back"]:
                return
            for (asset_id, measure), sid in fresh.items():
                dev = self._by_id.get(asset_id)
                if dev is not None:
                    dev.series[measure] = sid

        event.listen(db, "after_rollback", rolled_back, once=True)
        event.listen(db, "after_commit", committed, once=True)


def asset_info(asset: Asset, unit_path: str) -> AssetInfo:
    return AssetInfo(
        id=asset.id,
        code=asset.code,
        name=asset.name,
        type=asset.type,
        domain=asset.domain,
        unit_id=asset.unit_id,
        unit_path=unit_path,
        lat=asset.lat,
        lon=asset.lon,
        group=str((asset.attributes or {}).get("group", "")),
    )


def parse_ts(value: Any, now_ms: int) -> int | None:
    """Epoch milliseconds from an integer (ms) or an ISO 8601 string with a zone; None when invalid."""
    if value is None:
        return now_ms
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and 10 <= len(value) <= 40:
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            return None
        return int(dt.timestamp() * 1000)
    return None


def ingest(
    db: Session,
    directory: Directory,
    items: Sequence[Any],
    *,
    now: datetime | None = None,
    may_write: Callable[[AssetInfo], bool] | None = None,
) -> IngestResult:
    """Validate and store a batch of readings; see the module docstring for the shape of an item.

    `may_write(asset)` says whether the caller may write for a device (an API key of one commune must not
    write for another's devices); its answer is kept per device for the batch.
    """
    now = now or utcnow()
    now_ms = int(now.timestamp() * 1000)
    lo, hi = now_ms - MAX_PAST_MS, now_ms + MAX_FUTURE_MS
    out = IngestResult()
    rows: list[tuple[int, int, float]] = []
    newest: dict[int, tuple[int, dict[str, float]]] = {}
    measure_ok: dict[str, bool] = {}
    allowed: dict[int, bool] = {}
    pending: dict[tuple[int, str], int] = {}  # a new series: a negative stand-in id until it is made
    wanted: list[tuple[Device, str]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            out.reject(index, "Mỗi bản ghi phải là một đối tượng JSON", "Each reading must be a JSON object")
            continue
        code = item.get("device")
        values = item.get("values")
        if not isinstance(code, str) or not code or len(code) > 64:
            out.reject(index, "Thiếu mã thiết bị (device)", "Missing device code")
            continue
        if not isinstance(values, dict) or not values or len(values) > 100:
            out.reject(index, "values phải có 1-100 chỉ số", "values must hold 1-100 measures")
            continue
        ts = parse_ts(item.get("ts"), now_ms)
        if ts is None or not lo <= ts <= hi:
            out.reject(index, "Thời gian không hợp lệ", "Invalid or out-of-range time", len(values))
            continue
        dev = directory.device(db, code)
        if dev is None:
            out.reject(index, f"Thiết bị không tồn tại: {code}", f"Unknown device: {code}", len(values))
            continue
        if dev.status in INACTIVE:
            out.reject(index, f"Thiết bị {code} đang ngừng", f"Device {code} is {dev.status}", len(values))
            continue
        asset_id = dev.info.id
        if may_write is not None:
            ok_dev = allowed.get(asset_id)
            if ok_dev is None:
                ok_dev = allowed[asset_id] = may_write(dev.info)
            if not ok_dev:
                out.reject(
                    index,
                    f"Không có quyền ghi cho thiết bị {code}",
                    f"Not allowed to write for {code}",
                    len(values),
                )
                continue
        state = newest.get(asset_id)
        for measure, value in values.items():
            ok = measure_ok.get(measure)
            if ok is None:
                ok = measure_ok[measure] = isinstance(measure, str) and MEASURE.fullmatch(measure) is not None
            if not ok:
                out.reject(
                    index, f"Tên chỉ số không hợp lệ: {measure!r}", f"Invalid measure name: {measure!r}"
                )
                continue
            if type(value) not in (int, float) or not math.isfinite(value):
                out.reject(index, f"Giá trị {measure} không phải số", f"{measure} is not a finite number")
                continue
            v = float(value)
            sid = dev.series.get(measure)
            if sid is None:
                sid = pending.get((asset_id, measure))
                if sid is None:
                    sid = pending[(asset_id, measure)] = -len(pending) - 1
                    wanted.append((dev, measure))
            rows.append((sid, ts, v))
            out.readings.append((asset_id, measure, ts, v))
            if state is None:
                state = newest[asset_id] = (ts, {})
            if ts >= state[0]:
                if ts > state[0]:
                    state = newest[asset_id] = (ts, dict(state[1]))
                state[1][measure] = v
    out.accepted = len(rows)
    if wanted:
        made = directory.create_series(db, wanted)
        real = {stand_in: made[pair] for pair, stand_in in pending.items()}
        rows = [(real[r[0]], r[1], r[2]) if r[0] < 0 else r for r in rows]
        directory.publish_after_commit(db, made)
    timeseries.write_samples(db, rows, checked=True)
    _update_assets(db, directory, newest, now)
    out.devices = set(newest)
    return out


def _update_assets(
    db: Session, directory: Directory, newest: dict[int, tuple[int, dict[str, float]]], now: datetime
) -> None:
    states = {asset_id: (timeseries.from_ms(ts), values) for asset_id, (ts, values) in newest.items()}
    for asset_id in merge_states(db, states):
        came_back(db, directory, asset_id, now)


def came_back(db: Session, directory: Directory, asset_id: int, now: datetime) -> None:
    """A device marked offline reported again: online, with an event for the ticker."""
    asset = db.get(Asset, asset_id)
    if asset is None or asset.status != "offline":
        return
    asset.status = "online"
    directory.set_status(asset_id, "online")
    outbox.emit(
        db,
        "toancanh.core.device.online",
        {
            "asset_id": asset.id,
            "asset_code": asset.code,
            "lat": asset.lat,
            "lon": asset.lon,
            "title_vi": f"Thiết bị hoạt động trở lại: {asset.name}",
            "title_en": f"Device back online: {asset.name}",
            "severity": "minor",
            "at": now.isoformat(),
        },
        unit_id=asset.unit_id,
        domain=asset.domain,
    )

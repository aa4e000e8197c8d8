"""Evidence clips from a ring buffer of encoded packets (no re-encoding, so it costs almost nothing).

Every camera's reader hands each demuxed packet of the stream it analyses to its `PacketRing`, which keeps
the last `seconds` of them, always from a keyframe (a clip must start on one to be playable). When an event
happens, `ClipRecorder` waits until `after_s` seconds of video past the event have arrived, then copies the
packets from the last keyframe at or before `before_s` seconds ahead of the event to `after_s` past it into
an MP4 file (stream copy, timestamps rebased to 0), and hands it on to be stored in the blob store and
linked to the event as evidence.

Times are the reader's clock (seconds since the runner started), the same clock the pipeline's event times
use. A file source that loops starts its timestamps again: the ring moves them on so they keep growing; a
reconnection that brings a different stream (another codec or size) starts the ring afresh.
"""

from __future__ import annotations

import io
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClipFormat:
    """What it takes to write the packets again: the stream's codec parameters."""

    codec: str
    width: int
    height: int
    pix_fmt: str | None
    time_base: Fraction
    rate: Fraction | None
    extradata: bytes | None

    @classmethod
    def of(cls, stream: Any) -> ClipFormat:
        cc = stream.codec_context
        return cls(
            codec=cc.name,
            width=cc.width,
            height=cc.height,
            pix_fmt=cc.pix_fmt,
            time_base=Fraction(stream.time_base) if stream.time_base else Fraction(1, 90_000),
            rate=Fraction(stream.average_rate) if stream.average_rate else None,
            extradata=bytes(cc.extradata) if cc.extradata else None,
        )


@dataclass(frozen=True, slots=True)
class StoredPacket:
    t: float  # arrival on the reader's clock, seconds
    pts: int
    dts: int
    key: bool
    data: bytes


class PacketRing:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.format: ClipFormat | None = None
        self._packets: deque[StoredPacket] = deque()
        self._lock = threading.Lock()
        self._offset = 0  # added to the stream's timestamps so that a looped file keeps counting up
        self._last_dts: int | None = None
        self._step = 1  # one packet's duration, in time-base units (for the loop offset)

    def __len__(self) -> int:
        return len(self._packets)

    @property
    def newest_t(self) -> float | None:
        return self._packets[-1].t if self._packets else None

    @property
    def oldest_t(self) -> float | None:
        return self._packets[0].t if self._packets else None

    def add(self, packet: Any, stream: Any, t: float) -> None:
        """Keep a demuxed packet that arrived at `t` (an empty flush packet is ignored)."""
        if packet.size == 0:
            return
        fmt = ClipFormat.of(stream)
        with self._lock:
            if fmt != self.format:
                self.format = fmt
                self._packets.clear()
                self._offset, self._last_dts = 0, None
            if not self._packets and not packet.is_keyframe:
                return  # nothing playable before the first keyframe
            if packet.duration:
                self._step = int(packet.duration)
            pts = packet.pts if packet.pts is not None else round(t / float(fmt.time_base))
            dts = packet.dts if packet.dts is not None else pts
            if self._last_dts is not None and dts + self._offset <= self._last_dts:
                self._offset = self._last_dts + self._step - dts  # the file started again
            self._last_dts = dts + self._offset
            self._packets.append(
                StoredPacket(
                    t, pts + self._offset, dts + self._offset, bool(packet.is_keyframe), bytes(packet)
                )
            )
            self._trim(t - self.seconds)

    def _trim(self, cutoff: float) -> None:
        """Drop whole groups of pictures that end before `cutoff`: the ring starts at the last keyframe at
        or before it."""
        ps = self._packets
        while len(ps) > 1 and ps[0].t < cutoff:
            nxt = next((i for i in range(1, len(ps)) if ps[i].key), None)
            if nxt is None or ps[nxt].t > cutoff:
                return
            for _ in range(nxt):
                ps.popleft()

    def cut(self, start_t: float, end_t: float) -> list[StoredPacket]:
        """The packets from the last keyframe at or before `start_t` (or the oldest kept) up to `end_t`."""
        with self._lock:
            ps = list(self._packets)
        first = 0
        for i, p in enumerate(ps):
            if p.t > start_t:
                break
            if p.key:
                first = i
        return [p for p in ps[first:] if p.t <= end_t]

    def write_mp4(self, packets: list[StoredPacket]) -> bytes:
        """An MP4 of the packets (stream copy), timestamps starting at 0."""
        fmt = self.format
        if fmt is None or not packets:
            raise ValueError("no packets to write")
        buf = io.BytesIO()
        base_pts, base_dts = packets[0].pts, packets[0].dts
        shift = min(0, min(p.dts for p in packets) - base_dts)
        with av.open(buf, "w", format="mp4") as out:
            stream: Any = out.add_stream(fmt.codec, rate=fmt.rate)
            stream.width, stream.height = fmt.width, fmt.height
            if fmt.pix_fmt:
                stream.pix_fmt = fmt.pix_fmt
            stream.time_base = fmt.time_base
            if fmt.extradata:
                stream.codec_context.extradata = fmt.extradata
            for p in packets:
                pkt = av.Packet(p.data)
                pkt.pts, pkt.dts = p.pts - base_pts - shift, p.dts - base_dts - shift
                pkt.time_base = fmt.time_base
                pkt.is_keyframe = p.key
                pkt.stream = stream
                out.mux(pkt)
        return buf.getvalue()


@dataclass(frozen=True, slots=True)
class ClipRequest:
    ref: Any  # what the clip is for (the event); handed back with the clip
    t: float  # the event's time on the reader's clock


class ClipRecorder:
    """Cuts a clip for each requested event once `after_s` seconds past it are in the ring, and hands it
    to `store(ref, mp4, seconds)` on its own thread (a slow database never holds up the reader)."""

    def __init__(
        self,
        ring: PacketRing,
        store: Callable[[Any, bytes, float], None],
        *,
        before_s: float = 5.0,
        after_s: float = 5.0,
    ) -> None:
        self.ring, self.store, self.before_s, self.after_s = ring, store, before_s, after_s
        self.written = 0
        self.failed = 0
        self._pending: list[ClipRequest] = []
        self._lock = threading.Lock()
        self._work: deque[tuple[ClipRequest, list[StoredPacket]]] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, name: str = "vision-clips") -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def request(self, ref: Any, t: float) -> None:
        with self._lock:
            self._pending.append(ClipRequest(ref, t))

    def on_packet(self, packet: Any, stream: Any, t: float) -> None:
        """The reader's hook: keep the packet, and cut the clips that are now complete."""
        self.ring.add(packet, stream, t)
        self.poll(t)

    def poll(self, now: float) -> None:
        with self._lock:
            due = [r for r in self._pending if now >= r.t + self.after_s]
            self._pending = [r for r in self._pending if now < r.t + self.after_s]
        for r in due:
            self._work.append((r, self.ring.cut(r.t - self.before_s, r.t + self.after_s)))
        if due:
            self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set() or self._work:
            if not self._work:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            req, packets = self._work.popleft()
            try:
                if not packets:
                    raise ValueError("the ring had no packets for the clip")
                data = self.ring.write_mp4(packets)
                self.store(req.ref, data, packets[-1].t - packets[0].t)
                self.written += 1
            except Exception:  # a failed clip must not end the camera's clips
                self.failed += 1
                log.exception("vision: evidence clip not written")

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

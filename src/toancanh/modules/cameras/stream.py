"""Opening a camera's stream with PyAV (ffmpeg) and taking a snapshot of it.

RTSP goes over TCP (UDP loses packets through NAT and across the internet); every open and read has a
timeout so a dead camera never blocks a thread for ever. A `file` source is played as if it were live: paced
at its own frame rate and looped at the end, so that demo and test cameras behave like real ones.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import av
import cv2
import numpy as np

from toancanh.core.db import utcnow

JPEG_QUALITY = 80


class StreamError(Exception):
    """The stream could not be opened or stopped giving frames."""


@dataclass(frozen=True)
class Source:
    """What it takes to open a stream: the kind, the URL and the (decrypted) credentials."""

    kind: str  # rtsp | http_mjpeg | hls | file
    url: str
    username: str = ""
    password: str = ""
    open_timeout_s: float = 10.0
    read_timeout_s: float = 10.0
    start_frame: int = (
        0  # a file starts this far in: demo cameras sharing a video do not show the same instant
    )

    def __repr__(self) -> str:  # never print a password into a log
        return f"Source({self.kind!r}, {self.url!r}, credentials={'yes' if self.password else 'no'})"


@dataclass(frozen=True)
class Snapshot:
    jpeg: bytes
    width: int
    height: int
    at: datetime


def file_path(url: str) -> Path:
    """The local path of a `file:///...` URL."""
    return Path(urlsplit(url).path)


def open_target(source: Source) -> str:
    """The URL ffmpeg opens: credentials put back into it (they are stored apart from the URL)."""
    if source.kind == "file":
        return str(file_path(source.url))
    if not source.username and not source.password:
        return source.url
    parts = urlsplit(source.url)
    auth = quote(source.username, safe="") + (
        ":" + quote(source.password, safe="") if source.password else ""
    )
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{auth}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def open_container(source: Source) -> Any:
    """An opened PyAV input container; raises StreamError with ffmpeg's reason."""
    options: dict[str, str] = {}
    fmt = None
    if source.kind == "rtsp":
        options = {"rtsp_transport": "tcp", "timeout": str(int(source.read_timeout_s * 1_000_000))}
    elif source.kind == "http_mjpeg":
        fmt = "mpjpeg"
    elif source.kind == "hls":
        options = {"rw_timeout": str(int(source.read_timeout_s * 1_000_000))}
    try:
        container = av.open(
            open_target(source),
            format=fmt,
            options=options,
            timeout=(source.open_timeout_s, source.read_timeout_s),
        )
    except (av.FFmpegError, OSError) as exc:
        raise StreamError(_reason(exc)) from exc
    if not container.streams.video:
        container.close()
        raise StreamError("no video stream")
    return container


def _reason(exc: BaseException) -> str:
    # ffmpeg's messages repeat the URL, which may hold credentials: keep the reason only.
    text = getattr(exc, "strerror", None) or exc.__class__.__name__
    return str(text)


PacketHook = Callable[[Any, Any], None]  # (packet, stream): sees every encoded packet before it is decoded


def _decode(container: Any, stream: Any, on_packet: PacketHook | None) -> Iterator[Any]:
    if on_packet is None:
        yield from container.decode(stream)
        return
    for packet in container.demux(stream):
        on_packet(packet, stream)
        yield from packet.decode()


def frames(
    source: Source, stop: threading.Event | None = None, on_packet: PacketHook | None = None
) -> Generator[Any, None, None]:
    """Decoded video frames until the stream ends (StreamError) or `stop` is set. A file plays in real time,
    looped; a live stream's end is an error (the camera or the network went away). `on_packet` sees each
    encoded packet first (the evidence clip ring buffer keeps them)."""
    stop = stop or threading.Event()
    container = open_container(source)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if source.kind != "file":
            try:
                for frame in _decode(container, stream, on_packet):
                    if stop.is_set():
                        return
                    yield frame
            except (av.FFmpegError, OSError) as exc:
                raise StreamError(_reason(exc)) from exc
            raise StreamError("stream ended")
        yield from _play_file(container, stream, stop, source.start_frame, on_packet)
    finally:
        container.close()


def packets(source: Source, stop: threading.Event | None = None) -> Generator[tuple[Any, Any], None, None]:
    """Encoded video packets with their stream, demuxed and never decoded (recording costs almost nothing),
    until the stream ends (StreamError) or `stop` is set; a file plays in real time, looped, like `frames`."""
    stop = stop or threading.Event()
    container = open_container(source)
    try:
        stream = container.streams.video[0]
        start, loop_offset, last = time.monotonic(), 0.0, 0.0
        while not stop.is_set():
            n = 0
            try:
                for packet in container.demux(stream):
                    if stop.is_set():
                        return
                    if packet.size == 0:
                        continue
                    if source.kind == "file" and packet.pts is not None:
                        at = loop_offset + float(packet.pts * stream.time_base)
                        last = max(last, at)
                        delay = start + at - time.monotonic()
                        if delay > 0 and stop.wait(delay):
                            return
                    n += 1
                    yield packet, stream
            except (av.FFmpegError, OSError) as exc:
                raise StreamError(_reason(exc)) from exc
            if source.kind != "file":
                raise StreamError("stream ended")
            if n == 0:
                raise StreamError("the file has no frames")
            loop_offset = last + 1.0 / float(stream.average_rate or 10)
            container.seek(0)
    finally:
        container.close()


def _play_file(
    container: Any, stream: Any, stop: threading.Event, skip: int = 0, on_packet: PacketHook | None = None
) -> Iterator[Any]:
    rate = float(stream.average_rate or 10)
    skip = skip % stream.frames if stream.frames else 0
    start = time.monotonic()
    shown = 0
    while not stop.is_set():
        n = 0
        try:
            for frame in _decode(container, stream, on_packet):
                if skip > 0:
                    skip -= 1
                    continue
                due = start + shown / rate
                delay = due - time.monotonic()
                if delay > 0 and stop.wait(delay):
                    return
                shown += 1
                n += 1
                yield frame
        except (av.FFmpegError, OSError) as exc:
            raise StreamError(_reason(exc)) from exc
        if n == 0:
            raise StreamError("the file has no frames")
        container.seek(0)


def to_image(frame: Any) -> np.ndarray:
    """A decoded frame as a BGR array (OpenCV's layout)."""
    image: np.ndarray = frame.to_ndarray(format="bgr24")
    return image


def encode_jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise StreamError("JPEG encoding failed")
    return bytes(buf.tobytes())


def grab_snapshot(source: Source) -> Snapshot:
    """One frame of the stream, now, as a JPEG (the first decodable frame of a file)."""
    stop = threading.Event()
    gen = frames(source, stop)
    try:
        frame = next(gen)
    except StopIteration as exc:
        raise StreamError("no frame") from exc
    finally:
        stop.set()
        gen.close()
    image = to_image(frame)
    return Snapshot(encode_jpeg(image), image.shape[1], image.shape[0], utcnow())

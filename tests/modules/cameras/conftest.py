"""Cameras test helpers: synthetic videos made with PyAV, a local HTTP MJPEG server that can drop its
clients and go away, and a world with a few registered cameras."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from sqlalchemy import select

from toancanh.core.outbox import OutboxEvent
from toancanh.settings import Settings

W, H, FPS = 160, 96, 10


def make_video(path: Path, seconds: float = 2.0, fps: int = FPS, size: tuple[int, int] = (W, H)) -> Path:
    """Moving shapes: a ball across the frame and a box going down."""
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    n = int(seconds * fps)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for i in range(n):
            img = np.full((h, w, 3), 40, np.uint8)
            cv2.circle(img, (int(10 + i * (w - 20) / n), h // 2), 8, (0, 200, 255), -1)
            cv2.rectangle(
                img, (w - 30, int(i * (h - 20) / n)), (w - 10, int(i * (h - 20) / n) + 20), (255, 0, 0), -1
            )
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def jpeg_frames(video: Path) -> list[bytes]:
    with av.open(str(video)) as c:
        return [cv2.imencode(".jpg", f.to_ndarray(format="bgr24"))[1].tobytes() for f in c.decode(video=0)]


class MjpegServer:
    """multipart/x-mixed-replace JPEG frames at `fps`, looping, on a fixed 127.0.0.1 port. `drop()` ends every
    client's stream and refuses new connections until `resume()` (the camera or its network went away)."""

    def __init__(self, frames: list[bytes], fps: int = FPS) -> None:
        self.frames, self.fps = frames, fps
        self.up = threading.Event()
        self.up.set()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.server: ThreadingHTTPServer | None = None
        self.clients = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/video.mjpg"

    def start(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.clients += 1
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                i = 0
                try:
                    while outer.up.is_set():
                        j = outer.frames[i % len(outer.frames)]
                        self.wfile.write(
                            b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(j)
                            + j
                            + b"\r\n"
                        )
                        i += 1
                        time.sleep(1 / outer.fps)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def drop(self) -> None:
        self.up.clear()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def resume(self) -> None:
        self.up.set()
        self.start()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Short timeouts and backoff: the tests wait on events, never on fixed delays."""
    return settings.model_copy(
        update={
            "camera_open_timeout_s": 3.0,
            "camera_read_timeout_s": 3.0,
            "camera_backoff_initial_s": 0.1,
            "camera_backoff_max_s": 0.4,
            "camera_state_interval_s": 0.5,
        }
    )


@pytest.fixture
def media(settings: Settings) -> Path:
    path = (settings.data_dir / "media").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def video(media: Path) -> Path:
    return make_video(media / "moving.mp4")


@pytest.fixture
def mjpeg(video: Path) -> Iterator[MjpegServer]:
    srv = MjpegServer(jpeg_frames(video))
    yield srv
    srv.drop()


def wait_for(predicate: Any, timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll until `predicate()` is truthy (the outcome is asserted, not the time it took)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def device_events(db: Any, asset_id: int) -> list[str]:
    with db.session() as s:
        rows = s.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.subject.like("toancanh.core.device.%"))
            .order_by(OutboxEvent.id)
        )
        return [r.subject.rsplit(".", 1)[1] for r in rows if r.data.get("asset_id") == asset_id]


def camera_body(world: Any, unit: str = "A", code: str = "cam-new", **extra: Any) -> dict[str, Any]:
    body = {
        "asset": {
            "code": code,
            "name": "Camera cổng trường Tiểu học",
            "unit_id": world.units[unit].id,
            "domain": "traffic",
            "lat": 20.91,
            "lon": 105.81,
        },
        "source_kind": "rtsp",
        "substream_url": "rtsp://192.0.2.10:554/Streaming/Channels/102",
        "main_url": "rtsp://192.0.2.10:554/Streaming/Channels/101",
        "groups": ["school_gate", "intersection"],
        "direction_deg": 135,
    }
    body.update(extra)
    return body


@contextlib.contextmanager
def running_app(app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c

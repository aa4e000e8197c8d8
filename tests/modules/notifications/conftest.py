"""A real SMTP server (aiosmtpd) and a real HTTP server for webhooks, both on 127.0.0.1, started per test."""

from __future__ import annotations

import asyncio
import email
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import BUS_URL
from tests.modules.reports.conftest import rworld  # noqa: F401  (the world with report routing)
from toancanh.settings import Settings

PUBLIC_URL = "https://ioc.example.gov.vn"


def wait_for(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


class Mailbox:
    """What the SMTP server received."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd)
        with self._lock:
            self.raw.append(envelope.content)
            self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with socket.socket() as probe:  # a free port (aiosmtpd's controller cannot take port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox(port)
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@dataclass
class Hooks:
    """A webhook receiver: /ok and /b answer 200, /fail answers 500."""

    port: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c for c in self.calls if c["path"] == path]


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    box = Hooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with box.lock:
                box.calls.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body, "json": json.loads(body)}
                )
            self.send_response(500 if self.path == "/fail" else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings(settings: Settings, mailbox: Mailbox) -> Iterator[Settings]:
    """The suite's settings with e-mail on, and a durable of this test's own on NATS (no other test's
    events, and no other process sharing the server, reach this test's worker)."""
    durable = f"notifications-test-{uuid.uuid4().hex[:12]}" if BUS_URL.startswith("nats") else "notifications"
    yield settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "smtp_from": "ioc@example.gov.vn",
            "smtp_starttls": False,
            "public_url": PUBLIC_URL,
            "notifications_durable": durable,
        }
    )
    if BUS_URL.startswith("nats"):
        asyncio.run(_delete_consumer(durable))


async def _delete_consumer(name: str) -> None:
    import nats

    nc = await nats.connect(BUS_URL)
    try:
        await nc.jetstream().delete_consumer("TOANCANH", name)
    except Exception:  # noqa: BLE001 - already gone
        pass
    finally:
        await nc.close()

"""The SIEM connector's loop: listeners bound, lines queued, read and recorded in batches.

One process at a time runs it (the lease `connector:siem`), so one process binds the syslog ports. The
listeners put `(kind, line, sender)` on a bounded queue (`QUEUE_MAX`; a line past it is dropped and counted
as `dropped`); a writer task takes up to `BATCH_MAX` lines 50 ms after the first arrived and runs the
pipeline on a worker thread. A database failure keeps the batch and retries it with a growing delay while
the connector shows unavailable; the queue bound keeps memory flat meanwhile.

Counters: received, recorded, duplicates, rejected, ignored:<why>, malformed:<reason>, rate_limited,
dropped, batches, failed_batches, tcp_connections, file_lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from pathlib import Path
from typing import Any

from toancanh.connectors.siem.const import BATCH_MAX, BATCH_WINDOW_S, DOMAIN, LOG_EVERY_S, LOGGER, QUEUE_MAX
from toancanh.connectors.siem.listeners import RateLimiter, Tail, TcpSyslog, UdpSyslog
from toancanh.connectors.siem.pipeline import Line, Pipeline, SiemConfig
from toancanh.core.connectors import Coordinator
from toancanh.core.logs import Throttled

log = logging.getLogger(LOGGER)


class SiemCoordinator(Coordinator):
    """Syslog/CEF over UDP and TCP and a tailed Wazuh alerts.json, recorded as infosec events."""

    def __init__(self, config: SiemConfig, pipeline: Pipeline) -> None:
        super().__init__(DOMAIN)
        self.config = config
        self.pipeline = pipeline
        pipeline._count = self.count
        self.limiter = RateLimiter(config.rate_per_s, config.rate_burst)
        self.queue: deque[Line] = deque()
        self._wake = asyncio.Event()
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp_server: asyncio.Server | None = None
        self._tcp = TcpSyslog(self._sink, self.limiter, self._limited)
        self._tail: Tail | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._limited_log = Throttled(log, LOG_EVERY_S)
        self.udp_port: int | None = None
        self.tcp_port: int | None = None

    # ------------------------------------------------------------------------------------------ intake

    def _sink(self, kind: str, line: bytes, peer: str) -> None:
        if len(self.queue) >= QUEUE_MAX:
            self.count("dropped")
            self._limited_log.warning(
                "dropped", "siem: queue full (%d lines); line from %s dropped", QUEUE_MAX, peer
            )
            return
        self.queue.append((kind, line, peer))
        if len(self.queue) == 1:
            self._wake.set()

    def _limited(self, peer: str) -> None:
        self.count("rate_limited")
        self._limited_log.warning(
            f"rate:{peer}", "siem: %s sends faster than %s lines/s; dropped", peer, self.config.rate_per_s
        )

    # ------------------------------------------------------------------------------------------ lifecycle

    async def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        cfg = self.config
        if cfg.syslog_udp_port and self._udp is None:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: UdpSyslog(self._sink, self.limiter, self._limited),
                local_addr=(cfg.syslog_host, cfg.syslog_udp_port if cfg.syslog_udp_port > 0 else 0),
            )
            self._udp = transport
            self.udp_port = transport.get_extra_info("sockname")[1]
            log.info("siem: syslog over UDP on %s:%s", cfg.syslog_host, self.udp_port)
        if cfg.syslog_tcp_port and self._tcp_server is None:
            server = await asyncio.start_server(
                self._tcp.handle, cfg.syslog_host, cfg.syslog_tcp_port if cfg.syslog_tcp_port > 0 else 0
            )
            self._tcp_server = server
            self.tcp_port = server.sockets[0].getsockname()[1]
            log.info("siem: syslog over TCP on %s:%s", cfg.syslog_host, self.tcp_port)
        if cfg.wazuh_alerts_file and self._tail is None:
            self._tail = Tail(Path(cfg.wazuh_alerts_file), self._sink, from_start=cfg.wazuh_from_start)
            self._tasks.append(asyncio.create_task(self._tail.run(), name="siem-tail"))

    async def run_once(self) -> None:
        await self._bind()
        if not any(t.get_name() == "siem-writer" for t in self._tasks):
            self._tasks.append(asyncio.create_task(self._writer(), name="siem-writer"))
        await asyncio.to_thread(self.pipeline.refresh_assets)
        self.mark_available()
        while True:  # serve until stopped; refresh the asset map now and then
            await asyncio.sleep(self.pipeline.matcher.refresh_s)
            if self._tasks and all(t.done() for t in self._tasks):
                raise RuntimeError("siem listeners stopped")

    async def stop(self) -> None:
        await super().stop()
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp_server is not None:
            self._tcp_server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp_server.wait_closed(), 2)
            self._tcp_server = None
        # the lines already queued go in before the writer stops (bounded by the batch retry below)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._drain(), 5)
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()

    async def _drain(self) -> None:
        while self.queue:
            await asyncio.sleep(0.02)

    def status(self) -> dict[str, Any]:
        out = super().status()
        out["udp_port"] = self.udp_port
        out["tcp_port"] = self.tcp_port
        out["wazuh_alerts_file"] = self.config.wazuh_alerts_file or None
        out["queued"] = len(self.queue)
        out["tcp_clients"] = self._tcp.clients
        out["counters"]["tcp_connections"] = self._tcp.connections
        if self._tail is not None:
            out["counters"]["file_lines"] = self._tail.lines
        return out

    # ------------------------------------------------------------------------------------------ writer

    async def _writer(self) -> None:
        queue = self.queue
        backoff = 0.5
        while True:
            if not queue:
                self._wake.clear()
                await self._wake.wait()
            await asyncio.sleep(BATCH_WINDOW_S)
            batch = [queue.popleft() for _ in range(min(BATCH_MAX, len(queue)))]
            while True:
                try:
                    await asyncio.to_thread(self.pipeline.process, batch)
                    self.count("batches")
                    if not self.available:
                        self.mark_available()
                    backoff = 0.5
                    break
                except Exception as exc:  # the database: keep the batch, retry, show why
                    self.count("failed_batches")
                    log.exception("siem: storing %d lines failed; retrying", len(batch))
                    self.mark_unavailable(f"storing failed: {type(exc).__name__}: {exc}"[:300])
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.max_backoff_s)

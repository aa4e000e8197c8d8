"""How lines arrive: syslog over UDP (one message per datagram, RFC 5426) and TCP (newline framing, or RFC
6587 octet counting: "<length> <message>"), and a Wazuh `alerts.json` followed like `tail -F`.

The listeners only frame, bound and rate-limit; reading the lines is the pipeline's work, on a worker
thread, so a flood of bad input costs the event loop little. Each listener hands `(kind, line, peer)` to a
`sink` that never blocks (the coordinator's bounded queue).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from toancanh.connectors.siem.const import LOGGER, MAX_LINE_BYTES, MAX_TCP_CLIENTS, TAIL_POLL_S, TCP_IDLE_S

log = logging.getLogger(LOGGER)

Sink = Callable[[str, bytes, str], None]
"""(kind "syslog" or "wazuh", the line, the sender's address)."""
TOO_LONG = b"\x00too_long"  # what a framer hands on for a frame over the limit (counted, never read)
BROKEN = b"\x00framing"


class RateLimiter:
    """A token bucket per sender address: `rate_per_s` lines a second after a burst of `burst` (0: off)."""

    def __init__(self, rate_per_s: float, burst: int, max_senders: int = 10_000) -> None:
        self.rate = rate_per_s
        self.burst = float(max(burst, 1))
        self.max_senders = max_senders
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, sender: str, now: float | None = None) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(sender, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[sender] = (tokens, now)
            return False
        if len(self._buckets) >= self.max_senders and sender not in self._buckets:
            self._buckets.clear()  # a spray of spoofed UDP sources must not grow this without bound
        self._buckets[sender] = (tokens - 1.0, now)
        return True


class Framer:
    """Splits a TCP byte stream into syslog frames: octet-counted ("123 <34>1 ...") or newline-ended.

    Frames over `max_len` come out as TOO_LONG (and their bytes are skipped); a length prefix that cannot
    be followed ends the stream with BROKEN, since nothing after it can be trusted to start a frame.
    """

    def __init__(self, max_len: int = MAX_LINE_BYTES) -> None:
        self.max_len = max_len
        self.buf = bytearray()
        self.skip = 0  # bytes of an oversized octet-counted frame still to drop
        self.discarding = False  # inside an oversized newline-framed line
        self.broken = False

    def feed(self, data: bytes) -> list[bytes]:
        if self.broken:
            return []
        buf = self.buf
        buf += data
        out: list[bytes] = []
        pos, n = 0, len(buf)
        while pos < n:
            if self.skip:
                step = min(self.skip, n - pos)
                pos += step
                self.skip -= step
                continue
            if self.discarding:
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    pos = n
                    break
                pos = nl + 1
                self.discarding = False
                continue
            c = buf[pos]
            if c in b"\r\n":
                pos += 1
                continue
            if 48 <= c <= 57:  # a digit: octet counting, if "<digits> " follows
                sp = pos
                while sp < n and sp - pos < 7 and 48 <= buf[sp] <= 57:
                    sp += 1
                if sp == n and sp - pos < 7:
                    break  # wait for the rest of the length
                if sp < n and buf[sp] == 32 and sp - pos <= 6:
                    length = int(buf[pos:sp])
                    if length == 0:
                        self.broken = True
                        out.append(BROKEN)
                        break
                    if length > self.max_len:
                        out.append(TOO_LONG)
                        self.skip = length
                        pos = sp + 1
                        continue
                    if n - (sp + 1) < length:
                        break
                    out.append(bytes(buf[sp + 1 : sp + 1 + length]))
                    pos = sp + 1 + length
                    continue
            nl = buf.find(b"\n", pos)
            if nl < 0:
                if n - pos > self.max_len:
                    out.append(TOO_LONG)
                    self.discarding = True
                    pos = n
                break
            if nl - pos > self.max_len:
                out.append(TOO_LONG)
            else:
                out.append(bytes(buf[pos:nl]))
            pos = nl + 1
        del buf[:pos]
        return out

    def close(self) -> list[bytes]:
        """What is left at the end of the stream: a last line without its newline."""
        rest = bytes(self.buf).strip(b"\r\n")
        self.buf.clear()
        if self.broken or self.skip or self.discarding or not rest:
            return []
        if rest[:1].isdigit() and b" " in rest[:8]:
            head = rest.split(b" ", 1)[0]
            if head.isdigit():
                return [BROKEN]  # a truncated octet-counted frame
        return [rest] if len(rest) <= self.max_len else [TOO_LONG]


class UdpSyslog(asyncio.DatagramProtocol):
    def __init__(self, sink: Sink, limiter: RateLimiter, on_limited: Callable[[str], None]) -> None:
        self.sink = sink
        self.limiter = limiter
        self.on_limited = on_limited

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        peer = str(addr[0])
        if not self.limiter.allow(peer):
            self.on_limited(peer)
            return
        self.sink("syslog", data.rstrip(b"\r\n") if len(data) <= MAX_LINE_BYTES else TOO_LONG, peer)

    def error_received(self, exc: Exception) -> None:
        log.debug("udp syslog: %s", exc)


class TcpSyslog:
    """Serves TCP syslog connections (at most MAX_TCP_CLIENTS at once, closed after TCP_IDLE_S of silence)."""

    def __init__(self, sink: Sink, limiter: RateLimiter, on_limited: Callable[[str], None]) -> None:
        self.sink = sink
        self.limiter = limiter
        self.on_limited = on_limited
        self.clients = 0
        self.connections = 0
        self.idle_s = TCP_IDLE_S

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        peer = str(peername[0]) if peername else "?"
        if self.clients >= MAX_TCP_CLIENTS:
            log.warning("tcp syslog: too many connections; refusing %s", peer)
            writer.close()
            return
        self.clients += 1
        self.connections += 1
        framer = Framer()
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(65536), self.idle_s)
                except TimeoutError:
                    break
                frames = framer.feed(data) if data else framer.close()
                for frame in frames:
                    if frame is BROKEN or frame == BROKEN:
                        self.sink("syslog", BROKEN, peer)
                        continue
                    if not self.limiter.allow(peer):
                        self.on_limited(peer)
                        continue
                    self.sink("syslog", frame, peer)
                if not data or framer.broken:
                    break
        except (ConnectionError, OSError) as exc:
            log.debug("tcp syslog %s: %s", peer, exc)
        finally:
            self.clients -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class Tail:
    """Follows a file like `tail -F`: new complete lines as they are written, from the end at first (or
    from the start), reopened when the file is rotated (a new inode) or truncated."""

    def __init__(self, path: Path, sink: Sink, *, from_start: bool = False, kind: str = "wazuh") -> None:
        self.path = path
        self.sink = sink
        self.kind = kind
        self.from_start = from_start
        self.poll_s = TAIL_POLL_S
        self._fh: object | None = None
        self._inode: int | None = None
        self._pos = 0
        self._partial = b""
        self.lines = 0

    def _open(self, first: bool) -> bool:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return False
        self._inode = st.st_ino
        self._pos = st.st_size if (first and not self.from_start) else 0
        self._partial = b""
        return True

    def read_new(self, first: bool = False) -> int:
        """Hand on the lines written since the last call (blocking; a worker thread calls it)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._inode = None
            return 0
        if self._inode is None or st.st_ino != self._inode or st.st_size < self._pos:
            if not self._open(first):
                return 0
            st = self.path.stat()
        if st.st_size == self._pos:
            return 0
        count = 0
        with self.path.open("rb") as fh:
            fh.seek(self._pos)
            while True:
                chunk = fh.read(1 << 20)
                if not chunk:
                    break
                self._pos += len(chunk)
                data = self._partial + chunk
                lines = data.split(b"\n")
                self._partial = lines.pop()
                if len(self._partial) > MAX_LINE_BYTES:
                    self.sink(self.kind, TOO_LONG, str(self.path))
                    self._partial = b""
                for line in lines:
                    if line.strip():
                        self.sink(self.kind, line if len(line) <= MAX_LINE_BYTES else TOO_LONG, "file")
                        count += 1
        self.lines += count
        return count

    async def run(self) -> None:
        await asyncio.to_thread(self.read_new, True)
        while True:
            await asyncio.sleep(self.poll_s)
            await asyncio.to_thread(self.read_new)


def inode_of(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None

"""A private Mosquitto for tests, benches and trying things out: its own port, config and persistence folder.

Production brokers are the operator's (see docs/mqtt.md for the settings that matter); this runs the
`mosquitto` binary with a config written to a folder, and can stop and restart it on the same port with the
same persistence file, as a broker restart in the field would.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateBroker:
    """`mosquitto -c <folder>/mosquitto.conf` on 127.0.0.1:<port>; anonymous unless given auth files."""

    def __init__(
        self,
        folder: Path,
        *,
        port: int | None = None,
        passwd: str | None = None,
        acl: str | None = None,
        extra: str = "",
    ) -> None:
        binary = shutil.which("mosquitto") or next(
            (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.path.exists(p)), None
        )
        if binary is None:
            raise RuntimeError("the mosquitto binary is not installed")
        self.binary = binary
        self.folder = folder
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        auth = "allow_anonymous true\n"
        if passwd is not None:
            self.write_auth(passwd, acl or "")
            auth = f"allow_anonymous false\npassword_file {folder / 'passwd'}\nacl_file {folder / 'acl'}\n"
        (folder / "mosquitto.conf").write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"{auth}"
            f"user {getpass.getuser()}\n"
            "persistence true\n"
            f"persistence_location {folder}/\n"
            # what a broker in front of the IOC needs (docs/mqtt.md): no cap on our queued QoS 1 messages
            "max_queued_messages 0\n"
            "max_inflight_messages 0\n"
            f"log_dest file {folder / 'mosquitto.log'}\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            f"{extra}"
        )

    def write_auth(self, passwd: str, acl: str) -> None:
        """Write the password and ACL files; call `reload()` for a running broker to read them."""
        for name, text in (("passwd", passwd), ("acl", acl)):
            path = self.folder / name
            path.write_text(text)
            path.chmod(0o600)

    def start(self, timeout_s: float = 10.0) -> PrivateBroker:
        self.proc = subprocess.Popen(  # noqa: S603 (our own binary and config)
            [self.binary, "-c", str(self.folder / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                log = self.folder / "mosquitto.log"
                raise RuntimeError(f"mosquitto exited: {log.read_text() if log.exists() else ''}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"mosquitto did not listen on {self.port}") from None
                time.sleep(0.02)

    def stop(self) -> None:
        """A clean stop: Mosquitto saves its persistence file (sessions, queued QoS 1 messages) on exit."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def reload(self) -> None:
        """SIGHUP: Mosquitto reads its password and ACL files again."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGHUP)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def __enter__(self) -> PrivateBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

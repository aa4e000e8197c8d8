"""Structured logs: one JSON object a line, with the request id when there is one."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from toancanh.core.context import current_request

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = current_request.get().request_id
        if rid:
            out["request_id"] = rid
        for k, v in record.__dict__.items():
            if k not in _RESERVED and not k.startswith("_"):
                out[k] = v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(level: str = "INFO", as_json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if as_json else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


class Throttled:
    """Logs a repeated reason at most once per `every_s` with how many times it happened since.

    For rejections on a stream (bad payloads, unknown devices): every reason is logged, a flood cannot fill
    the disk. Thread-safe enough: a lost count under a race is harmless.
    """

    def __init__(self, logger: logging.Logger, every_s: float = 10.0, max_keys: int = 1000) -> None:
        self.logger = logger
        self.every_s = every_s
        self.max_keys = max_keys
        self._seen: dict[str, tuple[float, int]] = {}

    def warning(self, key: str, msg: str, *args: object) -> None:
        import time

        now = time.monotonic()
        last, count = self._seen.get(key, (0.0, 0))
        count += 1
        if now - last >= self.every_s:
            if len(self._seen) >= self.max_keys:
                self._seen.clear()
            self._seen[key] = (now, 0)
            self.logger.warning(msg + " (%d times since the last report)", *args, count)
        else:
            self._seen[key] = (last, count)

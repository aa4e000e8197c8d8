"""Message gateways (cổng gửi tin) for SMS and Zalo: one small interface, three built-in kinds, and plugins.

A gateway is configured by one string per channel (settings `sms_gateway`, `zalo_gateway`):

* ``""``: the channel is off;
* ``file:/var/lib/toancanh/sms.jsonl``: append one JSON line per message (offline, demo, what an
  integrator can tail);
* ``https://sms.example.vn/send``: for SMS, a generic HTTP JSON gateway: POST ``{to, text, sender, ref}``
  with ``Authorization: Bearer <sms_gateway_token>``; most Vietnamese brandname providers and self-hosted
  relays can be put behind such an endpoint. For Zalo, the Zalo Notification Service (ZNS) template API
  (``zns`` is short for Zalo's own endpoint);
* ``<name>:<anything>``: the gateway that the entry point ``<name>`` of the group ``toancanh.gateways``
  builds (a third-party package): ``factory(kind=..., target=<anything>, settings=...)``.

`send` returns the provider's message id and raises on failure; the dispatcher records both.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import httpx

ENTRY_POINT_GROUP = "toancanh.gateways"
KINDS = ("sms", "zalo")
ZNS_URL = "https://business.openapi.zalo.me/message/template"
TIMEOUT_S = 10.0


class GatewayError(RuntimeError):
    """The gateway did not take the message (the provider's answer in a few words)."""


@runtime_checkable
class Gateway(Protocol):
    """Sends short messages of one channel."""

    kind: str  # "sms" | "zalo"

    async def send(self, to: str, text: str, *, ref: str, link: str = "") -> str:
        """Send `text` to `to` (a normalized address); `ref` is our reference (idempotency key at the
        provider), `link` the page the message is about. Returns the provider's message id; raises on
        failure."""
        ...


def _answer(reply: httpx.Response) -> Any:
    try:
        return reply.json()
    except ValueError:
        return None


def _failed(reply: httpx.Response) -> GatewayError:
    return GatewayError(f"HTTP {reply.status_code}: {reply.text[:200]}")


class HttpSmsGateway:
    """A generic HTTP JSON SMS gateway: POST {to, text, sender, ref}, bearer token, 2xx = taken.

    The message id is the answer's ``id`` or ``message_id`` when there is one, else our `ref`."""

    kind = "sms"

    def __init__(self, url: str, token: str, sender: str, client: httpx.AsyncClient) -> None:
        self.url, self.token, self.sender, self.client = url, token, sender, client

    async def send(self, to: str, text: str, *, ref: str, link: str = "") -> str:
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "toancanh-sms/1"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = {"to": to, "text": text, "sender": self.sender, "ref": ref}
        reply = await self.client.post(self.url, json=body, headers=headers, timeout=TIMEOUT_S)
        if not 200 <= reply.status_code < 300:
            raise _failed(reply)
        answer = _answer(reply)
        if isinstance(answer, dict):
            for key in ("id", "message_id", "msg_id"):
                if isinstance(answer.get(key), str | int) and not isinstance(answer.get(key), bool):
                    return str(answer[key])[:120]
        return ref


class ZaloZnsGateway:
    """Zalo Notification Service: a template message (mẫu tin ZNS) approved by Zalo for the Official Account.

    POST ``{phone, template_id, template_data: {title, link}, tracking_id}`` with the OA's ``access_token``
    header; Zalo answers ``{"error": 0, "data": {"msg_id": ...}}`` on success and a non-zero ``error`` with
    a ``message`` otherwise. ZNS sends by phone number only."""

    kind = "zalo"

    def __init__(self, url: str, access_token: str, template_id: str, client: httpx.AsyncClient) -> None:
        self.url, self.access_token, self.template_id, self.client = url, access_token, template_id, client

    async def send(self, to: str, text: str, *, ref: str, link: str = "") -> str:
        if not (to.isascii() and to.isdecimal()) or not to.startswith("84") or len(to) != 11:
            raise GatewayError("ZNS sends to phone numbers only (84xxxxxxxxx), not to Zalo user ids")
        body = {
            "phone": to,
            "template_id": self.template_id,
            "template_data": {"title": text[:400], "link": link},
            "tracking_id": ref[:48],
        }
        headers = {"access_token": self.access_token, "Content-Type": "application/json"}
        reply = await self.client.post(self.url, json=body, headers=headers, timeout=TIMEOUT_S)
        if not 200 <= reply.status_code < 300:
            raise _failed(reply)
        answer = _answer(reply)
        if not isinstance(answer, dict):
            raise GatewayError(f"ZNS answered something that is not JSON: {reply.text[:120]}")
        if answer.get("error") != 0:
            raise GatewayError(f"ZNS error {answer.get('error')}: {str(answer.get('message', ''))[:200]}")
        data = answer.get("data")
        msg_id = data.get("msg_id") if isinstance(data, dict) else None
        return str(msg_id)[:120] if msg_id else ref


class FileGateway:
    """Appends one JSON line per message to a file: the offline default, and the demo's."""

    def __init__(self, kind: str, path: Path) -> None:
        self.kind = kind
        self.path = path
        self._lock = threading.Lock()

    async def send(self, to: str, text: str, *, ref: str, link: str = "") -> str:
        return await self.write({"to": to, "text": text, "link": link, "ref": ref})

    async def write(self, record: dict[str, Any]) -> str:
        """Append `record` (with its kind, time and a fresh id); returns the id."""
        msg_id = f"file-{uuid.uuid4().hex[:16]}"
        line = json.dumps(
            {"id": msg_id, "kind": self.kind, "at": datetime.now(UTC).isoformat(), **record},
            ensure_ascii=False,
        )
        await asyncio.to_thread(self._append, line)
        return msg_id

    def _append(self, line: str) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")


# ------------------------------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class GatewayInfo:
    """What the channels page shows of a gateway: its kind and where it sends, never a secret."""

    channel: str
    configured: bool
    kind: str = ""  # file | http | zns | <plugin name>
    where: str = ""
    credentials: bool = False  # a token is set (its value is not shown)
    error: str = ""


def _spec(settings: Any, kind: str) -> str:
    return str(getattr(settings, f"{kind}_gateway", "") or "").strip()


def _safe_url(url: str) -> str:
    """The URL without user info, query or fragment (where tokens hide)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def build(kind: str, settings: Any, client: httpx.AsyncClient) -> Gateway | None:
    """The gateway of channel `kind` from the settings; None when the channel is off. Raises ValueError
    (a message for the operator) when the setting names no gateway that exists."""
    spec = _spec(settings, kind)
    if not spec:
        return None
    scheme = spec.split(":", 1)[0].lower()
    if scheme == "file":
        path = spec.split(":", 1)[1]
        if not path:
            raise ValueError(f"{kind}_gateway: 'file:' needs a path, e.g. file:/var/lib/{kind}.jsonl")
        return FileGateway(kind, Path(path))
    if kind == "zalo" and spec.lower() == "zns":
        spec, scheme = ZNS_URL, "https"
    if scheme in ("http", "https"):
        if not urlsplit(spec).hostname:
            raise ValueError(f"{kind}_gateway: the URL {_safe_url(spec)!r} has no host")
        if kind == "sms":
            return HttpSmsGateway(spec, settings.sms_gateway_token, settings.sms_sender, client)
        if not settings.zalo_access_token or not settings.zalo_template_id:
            raise ValueError("zalo_gateway: ZNS needs zalo_access_token and zalo_template_id")
        return ZaloZnsGateway(spec, settings.zalo_access_token, settings.zalo_template_id, client)
    return _plugin(kind, scheme, spec.split(":", 1)[1] if ":" in spec else "", settings)


def _plugin(kind: str, name: str, target: str, settings: Any) -> Gateway:
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        raise ValueError(
            f"{kind}_gateway: no gateway named {name!r} (built in: file:, http(s)://; "
            f"plugins: entry points of the group {ENTRY_POINT_GROUP!r})"
        )
    factory = found[0].load()
    gateway = factory(kind=kind, target=target, settings=settings)
    if not isinstance(gateway, Gateway):
        raise ValueError(f"{kind}_gateway: the plugin {name!r} did not return a gateway (kind + async send)")
    return gateway


def build_all(settings: Any, client: httpx.AsyncClient) -> tuple[dict[str, Gateway], dict[str, str]]:
    """Every configured gateway by channel, and the errors of those that could not be built."""
    gateways: dict[str, Gateway] = {}
    errors: dict[str, str] = {}
    for kind in KINDS:
        try:
            gateway = build(kind, settings, client)
        except Exception as exc:  # a broken plugin must not stop the notifications: the page shows it
            errors[kind] = f"{type(exc).__name__}: {exc}"[:300]
            continue
        if gateway is not None:
            gateways[kind] = gateway
    return gateways, errors


def describe(kind: str, settings: Any, error: str = "") -> GatewayInfo:
    """How channel `kind` is configured, for the channels page (no secrets)."""
    spec = _spec(settings, kind)
    if not spec:
        return GatewayInfo(kind, False, error=error)
    scheme = spec.split(":", 1)[0].lower()
    if scheme == "file":
        return GatewayInfo(kind, not error, "file", spec.split(":", 1)[1], error=error)
    if kind == "zalo" and spec.lower() == "zns":
        spec, scheme = ZNS_URL, "https"
    if scheme in ("http", "https"):
        token = settings.sms_gateway_token if kind == "sms" else settings.zalo_access_token
        return GatewayInfo(
            kind, not error, "http" if kind == "sms" else "zns", _safe_url(spec), bool(token), error
        )
    return GatewayInfo(kind, not error, scheme, "", error=error)

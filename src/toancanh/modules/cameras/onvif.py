"""ONVIF discovery (dò tìm camera ONVIF): a WS-Discovery Probe for network video transmitters.

The probe goes to the multicast group 239.255.255.250:3702 (the `onvif_probe_address` setting; a test
gives a unicast 127.0.0.1 port). Each camera answers with a ProbeMatches message naming its service
addresses (XAddrs) and scopes (`onvif://www.onvif.org/name/...`, `/hardware/...`, `/location/...`).
Answers are parsed with defusedxml: they come from anything on the network.
"""

from __future__ import annotations

import socket
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element  # noqa: S405 (only the type; parsing is defusedxml's)

from defusedxml import ElementTree

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "d": "http://schemas.xmlsoap.org/ws/2005/04/discovery",
}
MAX_DATAGRAM = 65_535

PROBE = """<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
 xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"
 xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"
 xmlns:dn="http://www.onvif.org/ver10/network/wsdl">
 <s:Header>
  <a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>
  <a:MessageID>uuid:{message_id}</a:MessageID>
  <a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>
  <a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>
 </s:Header>
 <s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body>
</s:Envelope>"""


@dataclass
class FoundDevice:
    """A device that answered the probe."""

    endpoint: str  # its WS-Addressing endpoint reference (a stable uuid)
    xaddrs: list[str]
    host: str
    name: str = ""
    hardware: str = ""
    location: str = ""
    scopes: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe_message(message_id: str | None = None) -> bytes:
    return PROBE.format(message_id=message_id or uuid.uuid4()).encode()


def parse_probe_matches(data: bytes, relates_to: str | None = None) -> list[FoundDevice]:
    """The devices of one ProbeMatches message ([] for anything else, malformed or hostile)."""
    try:
        root = ElementTree.fromstring(data)
    except Exception:  # defusedxml refuses entities and DTDs; anything unparsable is not an answer
        return []
    if relates_to is not None:
        rel = root.find("s:Header/a:RelatesTo", NS)
        if rel is None or (rel.text or "").strip() not in (relates_to, f"uuid:{relates_to}"):
            return []
    out = []
    for match in root.findall("s:Body/d:ProbeMatches/d:ProbeMatch", NS):
        out.append(_device(match))
    return [d for d in out if d.xaddrs]


def _text(el: Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


def _device(match: Element) -> FoundDevice:
    xaddrs = [x for x in _text(match.find("d:XAddrs", NS)).split() if x.startswith(("http://", "https://"))]
    scopes = _text(match.find("d:Scopes", NS)).split()
    dev = FoundDevice(
        endpoint=_text(match.find("a:EndpointReference/a:Address", NS))[:200],
        xaddrs=xaddrs[:8],
        host=urlsplit(xaddrs[0]).hostname or "" if xaddrs else "",
        scopes=scopes[:50],
        types=_text(match.find("d:Types", NS)).split()[:10],
    )
    for scope in scopes:
        prefix = "onvif://www.onvif.org/"
        if not scope.startswith(prefix):
            continue
        key, _, value = scope[len(prefix) :].partition("/")
        value = unquote(value.replace("_", " "))[:200]
        if key == "name" and not dev.name:
            dev.name = value
        elif key == "hardware" and not dev.hardware:
            dev.hardware = value
        elif key == "location" and not dev.location:
            dev.location = value
    return dev


def parse_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"onvif_probe_address must be host:port, got {address!r}")
    return host, int(port)


def discover(address: str = "239.255.255.250:3702", timeout_s: float = 3.0) -> list[FoundDevice]:
    """Send one Probe and collect the answers for `timeout_s` seconds; one entry per endpoint."""
    host, port = parse_address(address)
    message_id = str(uuid.uuid4())
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
        sock.bind(("", 0))
        sock.sendto(probe_message(message_id), (host, port))
        found: dict[str, FoundDevice] = {}
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, peer = sock.recvfrom(MAX_DATAGRAM)
            except TimeoutError:
                break
            for dev in parse_probe_matches(data, message_id):
                dev.host = dev.host or peer[0]
                found.setdefault(dev.endpoint or dev.xaddrs[0], dev)
        return sorted(found.values(), key=lambda d: (d.host, d.endpoint))
    finally:
        sock.close()

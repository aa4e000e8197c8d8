"""Without the monitor: snapshots taken on demand (and a clear 503 when the camera is unreachable).
ONVIF WS-Discovery against a responder on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import pytest
from defusedxml import ElementTree

from tests.modules.cameras.conftest import H, W, camera_body
from toancanh.modules.cameras import onvif
from toancanh.modules.cameras.stream import Source, grab_snapshot
from toancanh.settings import Settings


def test_snapshot_on_demand_from_a_file(client: Any, world: Any, video: Any) -> None:
    body = camera_body(world, source_kind="file", substream_url=video.as_uri(), main_url="")
    cam = client.post("/api/v1/cameras", json=body, headers=world.auth("op_a")).json()
    r = client.get(f"/api/v1/cameras/{cam['id']}/snapshot.jpg", headers=world.auth("op_a"))
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    img = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (H, W, 3)


def test_unreachable_camera_is_a_clear_503(client: Any, world: Any) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there
    body = camera_body(
        world, source_kind="http_mjpeg", substream_url=f"http://127.0.0.1:{port}/x", main_url=""
    )
    cam = client.post("/api/v1/cameras", json=body, headers=world.auth("op_a")).json()
    r = client.get(f"/api/v1/cameras/{cam['id']}/snapshot.jpg", headers=world.auth("op_a"))
    assert r.status_code == 503
    err = r.json()["error"]
    assert err["code"] == "no_image" and "offline" in err["message_en"] and err["message"]
    r = client.get(f"/api/v1/cameras/{cam['id']}/mjpeg", headers=world.auth("op_a"))
    assert r.status_code == 503  # live view needs the monitor
    assert client.get("/api/v1/cameras/987654/snapshot.jpg", headers=world.auth("admin")).status_code == 404


def test_grab_snapshot_sends_credentials_but_never_prints_them() -> None:
    src = Source("rtsp", "rtsp://192.0.2.1/live", username="admin", password="p@ss:word")
    assert "p@ss" not in repr(src)
    from toancanh.modules.cameras.stream import open_target

    assert open_target(src) == "rtsp://admin:p%40ss%3Aword@192.0.2.1/live"


def test_grab_snapshot_of_a_file(video: Any) -> None:
    snap = grab_snapshot(Source("file", video.as_uri()))
    assert (snap.width, snap.height) == (W, H) and snap.jpeg[:2] == b"\xff\xd8"


# ---------------------------------------------------------------------------------------------- ONVIF

MATCH = """<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"
 xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl">
 <s:Header><a:MessageID>uuid:{mid}</a:MessageID><a:RelatesTo>{rel}</a:RelatesTo>
  <a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</a:Action></s:Header>
 <s:Body><d:ProbeMatches><d:ProbeMatch>
  <a:EndpointReference><a:Address>urn:uuid:{ep}</a:Address></a:EndpointReference>
  <d:Types>dn:NetworkVideoTransmitter</d:Types>
  <d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/name/{name}
   onvif://www.onvif.org/hardware/DS-2CD2143G2 onvif://www.onvif.org/location/Cong_truong_TH_Dai_Thanh</d:Scopes>
  <d:XAddrs>http://{host}/onvif/device_service</d:XAddrs>
  <d:MetadataVersion>1</d:MetadataVersion>
 </d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>"""


class Responder:
    """Answers WS-Discovery probes on a 127.0.0.1 UDP port like two cameras would (plus junk)."""

    def __init__(self, hosts: list[str]) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.hosts = hosts
        self.probes: list[bytes] = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(65535)
            except OSError:
                return
            self.probes.append(data)
            root = ElementTree.fromstring(data)
            mid = root.find("s:Header/a:MessageID", onvif.NS).text
            self.sock.sendto(b"<not-xml", peer)
            self.sock.sendto(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', peer)
            self.sock.sendto(
                MATCH.format(
                    mid="x", rel="uuid:someone-else", ep="stale", name="Old", host="10.0.0.9"
                ).encode(),
                peer,
            )
            for i, host in enumerate(self.hosts):
                reply = MATCH.format(mid=f"m{i}", rel=mid, ep=f"ep-{i}", name=f"Camera%20{i}", host=host)
                self.sock.sendto(reply.encode(), peer)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def responder() -> Iterator[Responder]:
    r = Responder(["192.0.2.10", "192.0.2.11:8080"])
    yield r
    r.close()


def test_discover_parses_probe_matches(responder: Responder) -> None:
    found = onvif.discover(f"127.0.0.1:{responder.port}", timeout_s=1.0)
    assert [d.host for d in found] == ["192.0.2.10", "192.0.2.11"]
    d = found[0]
    assert d.name == "Camera 0" and d.hardware == "DS-2CD2143G2" and d.location == "Cong truong TH Dai Thanh"
    assert d.xaddrs == ["http://192.0.2.10/onvif/device_service"] and d.endpoint == "urn:uuid:ep-0"
    probe = responder.probes[0].decode()
    assert "dn:NetworkVideoTransmitter" in probe and "discovery/Probe" in probe


def test_hostile_answers_are_ignored() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "a"><!ENTITY b "&a;&a;">]><l>&b;</l>'
    assert onvif.parse_probe_matches(bomb) == []
    assert onvif.parse_probe_matches(b"\x00\xff") == []


@pytest.fixture
def settings(settings: Settings, responder: Responder) -> Settings:
    return settings.model_copy(
        update={"onvif_probe_address": f"127.0.0.1:{responder.port}", "onvif_timeout_s": 1.0}
    )


def test_discover_api_lists_unregistered_devices_for_admins(
    client: Any, world: Any, responder: Responder
) -> None:
    body = camera_body(world, substream_url="rtsp://192.0.2.10/Streaming/102", main_url="")
    assert client.post("/api/v1/cameras", json=body, headers=world.auth("op_a")).status_code == 201
    r = client.get("/api/v1/cameras/discover", headers=world.auth("admin"))
    assert r.status_code == 200, r.text
    assert r.json()["found"] == 2 and [d["host"] for d in r.json()["devices"]] == ["192.0.2.11"]
    for who in ("op_a", "leader_a", "viewer_a", "citizen"):
        assert client.get("/api/v1/cameras/discover", headers=world.auth(who)).status_code == 403

"""Faces and plates blurred in camera views for roles without `cameras.unblurred`: a synthetic street frame
with a drawn face and a rendered Vietnamese plate; the plate can no longer be read and the face no longer
found, the rest of the frame is untouched; operators see the raw image, leaders the blurred one, and the
audit records which."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from sqlalchemy import select

from tests.modules.cameras.conftest import camera_body, wait_for
from toancanh.core.audit import AuditEntry
from toancanh.modules.cameras.privacy import PrivacyFilter
from toancanh.modules.cameras.stream import encode_jpeg
from toancanh.modules.vision.plate_reader import PlateReader
from toancanh.modules.vision.plate_synth import render_plate
from toancanh.modules.vision.plates import parse_plate
from toancanh.settings import Settings

W, H = 640, 360
PLATE = parse_plate("30A-123.45")
PLATE_AT = (330, 200)
FACE_AT, FACE_SIZE = (170, 150), 120


def _face(img: np.ndarray, cx: int, cy: int, s: int) -> None:
    """A drawn face: skin oval, dark eyes and brows, mouth; enough for the Haar cascade."""
    cv2.ellipse(img, (cx, cy), (int(s * 0.42), int(s * 0.55)), 0, 0, 360, (150, 180, 215), -1)
    for dx in (-1, 1):
        ex, ey = cx + dx * int(s * 0.18), cy - int(s * 0.1)
        cv2.ellipse(img, (ex, ey), (int(s * 0.09), int(s * 0.05)), 0, 0, 360, (40, 40, 40), -1)
        cv2.line(
            img, (ex - int(s * 0.1), ey - int(s * 0.1)), (ex + int(s * 0.1), ey - int(s * 0.11)), (30,) * 3, 4
        )
    cv2.ellipse(img, (cx, cy + int(s * 0.25)), (int(s * 0.15), int(s * 0.05)), 0, 0, 360, (60, 60, 120), -1)


def street_frame() -> tuple[np.ndarray, tuple[int, int, int, int]]:
    img = np.full((H, W, 3), (90, 110, 100), np.uint8)
    cv2.rectangle(img, (0, 300), (W, H), (70, 70, 70), -1)  # the road
    _face(img, *FACE_AT, FACE_SIZE)
    plate = render_plate(PLATE, two_lines=False, height=32)
    ph, pw = plate.shape[:2]
    x, y = PLATE_AT
    img[y : y + ph, x : x + pw] = plate
    return cv2.GaussianBlur(img, (3, 3), 0), (x, y, x + pw, y + ph)


def _faces(img: np.ndarray) -> Any:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    return cascade.detectMultiScale(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), 1.1, 3, minSize=(24, 24))


def test_the_filter_hides_the_plate_and_the_face_and_leaves_the_rest() -> None:
    frame, (x0, y0, x1, y1) = street_frame()
    reader = PlateReader()
    assert reader.read(frame[y0:y1, x0:x1]).plate == PLATE  # readable before
    assert len(_faces(frame)) >= 1  # found before
    blurred = PrivacyFilter().blur(frame)
    after = reader.read(blurred[y0:y1, x0:x1])
    assert after.plate is None, after.text
    assert len(_faces(blurred)) == 0
    # far from both (the sky in the top right): unchanged
    assert np.array_equal(blurred[0:80, 560:640], frame[0:80, 560:640])
    assert not np.array_equal(blurred[y0:y1, x0:x1], frame[y0:y1, x0:x1])


def test_blur_jpeg_rejects_what_is_not_an_image_and_repeats_its_answer() -> None:
    f = PrivacyFilter()
    with pytest.raises(ValueError):
        f.blur_jpeg(b"not a jpeg")
    data = encode_jpeg(street_frame()[0])
    assert f.blur_jpeg(data) is f.blur_jpeg(data)  # the same image is blurred once


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"camera_monitor": True})


@pytest.fixture
def street_video(media: Path) -> Path:
    frame, _ = street_frame()
    path = media / "street.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mjpeg", rate=5)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuvj420p"
        for _ in range(20):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _image(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img


def test_views_are_blurred_for_roles_without_the_right(
    client: Any, world: Any, db: Any, street_video: Path
) -> None:
    body = camera_body(world, source_kind="file", substream_url=street_video.as_uri(), main_url="")
    cam = client.post("/api/v1/cameras", json=body, headers=world.auth("op_a")).json()
    url = f"/api/v1/cameras/{cam['id']}/snapshot.jpg"
    raw = wait_for(
        lambda: (r := client.get(url, headers=world.auth("op_a"))).status_code == 200 and r, what="an image"
    )
    _, (x0, y0, x1, y1) = street_frame()
    reader = PlateReader()
    assert reader.read(_image(raw.content)[y0:y1, x0:x1]).plate == PLATE  # the operator: raw
    leader = client.get(url, headers=world.auth("leader_a"))
    assert leader.status_code == 200
    seen = _image(leader.content)
    assert reader.read(seen[y0:y1, x0:x1]).plate is None and len(_faces(seen)) == 0
    with client.stream(
        "GET", f"/api/v1/cameras/{cam['id']}/mjpeg?limit=1", headers=world.auth("leader_a")
    ) as r:
        part = b"".join(r.iter_bytes()).split(b"\r\n\r\n", 1)[1].rstrip(b"\r\n").rsplit(b"\r\n--", 1)[0]
    assert reader.read(_image(part)[y0:y1, x0:x1]).plate is None
    with db.session() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == "camera.view")).all()
        got = {(a.actor, a.changes["kind"], a.changes["raw"]) for a in rows}
    assert got == {("op_a", "snapshot", True), ("leader_a", "snapshot", False), ("leader_a", "live", False)}

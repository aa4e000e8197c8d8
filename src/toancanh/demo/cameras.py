"""The demo's cameras: a registry entry for each camera asset, zones drawn on them, and synthetic videos.

No camera of the demo is on a network: each plays a small synthetic video of its kind of scene (made here
with OpenCV and PyAV, looped by the monitor as if it were live). The few cameras the seed marks offline point
at a file that does not exist, so they stay offline with the placeholder a dead camera shows.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from toancanh.core.assets import Asset
from toancanh.core.db import Database

SIZE = (384, 216)
FPS = 5
SECONDS = 8
SCENES = ("school_gate", "intersection", "waste_point", "kitchen")
CAPTIONS = {
    "school_gate": "CONG TRUONG",
    "intersection": "NUT GIAO THONG",
    "waste_point": "DIEM TAP KET RAC",
    "kitchen": "BEP AN BAN TRU",
}
FOV = {"school_gate": 80.0, "intersection": 100.0, "waste_point": 70.0, "kitchen": 90.0}


def demo_media_dir(db: Database) -> Path:
    """Where the app looks for `file` camera sources: `<data dir>/media` (the default layout)."""
    from toancanh.settings import Settings

    settings = Settings()
    if settings.resolved_database_url == db.url:
        return (settings.camera_media_dir or settings.data_dir / "media").resolve()
    path = db.engine.url.database
    if db.engine.url.get_backend_name() == "sqlite" and path:
        return (Path(path).parent / "media").resolve()
    return Path(tempfile.gettempdir()) / "toancanh-demo-media"


def _frame(scene: str, i: int) -> Any:
    import cv2
    import numpy as np

    w, h = SIZE
    img = np.full((h, w, 3), (70, 80, 70), np.uint8)
    t = i / (FPS * SECONDS)
    if scene in ("school_gate", "intersection"):
        cv2.rectangle(img, (0, h // 2 - 30), (w, h // 2 + 30), (60, 60, 60), -1)  # the road
        for x in range(0, w, 40):
            cv2.line(img, (x, h // 2), (x + 20, h // 2), (220, 220, 220), 2)
        cv2.rectangle(
            img, (int(-60 + t * (w + 120)), h // 2 - 25), (int(t * (w + 120)), h // 2 - 5), (40, 40, 200), -1
        )
        cv2.rectangle(
            img,
            (int(w - t * (w + 80)), h // 2 + 5),
            (int(w + 40 - t * (w + 80)), h // 2 + 22),
            (200, 160, 40),
            -1,
        )
        if scene == "school_gate":
            cv2.rectangle(img, (w // 2 - 50, 10), (w // 2 + 50, h // 2 - 40), (30, 90, 160), 4)  # the gate
            for k in range(5):
                x = int((k * 70 + t * 90) % w)
                cv2.circle(img, (x, h - 40 - 6 * (k % 3)), 7, (200, 200, 240), -1)
        else:
            cv2.rectangle(img, (w // 2 - 30, 0), (w // 2 + 30, h), (60, 60, 60), -1)
            y = int(-30 + t * (h + 60))
            cv2.rectangle(img, (w // 2 - 20, y), (w // 2 + 5, y + 30), (30, 180, 30), -1)
    elif scene == "waste_point":
        cv2.rectangle(img, (40, 90), (130, 170), (30, 110, 30), -1)  # the bins
        cv2.rectangle(img, (150, 90), (240, 170), (30, 110, 30), -1)
        x = int(w * 0.3 + math.sin(t * 2 * math.pi) * w * 0.25)
        cv2.circle(img, (x, 150), 9, (200, 200, 240), -1)
        cv2.rectangle(img, (x - 6, 159), (x + 6, 190), (120, 80, 60), -1)
    else:
        img[:] = (180, 185, 190)
        cv2.rectangle(img, (20, 120), (w - 20, 170), (140, 140, 150), -1)  # the work bench
        for k in range(3):
            x = int(60 + k * 110 + 25 * math.sin(t * 2 * math.pi + k))
            cv2.circle(img, (x, 90), 12, (230, 230, 230), -1)
            cv2.rectangle(img, (x - 12, 102), (x + 12, 150), (240, 240, 240), -1)
    cv2.putText(img, CAPTIONS[scene], (8, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def make_video(path: Path, scene: str) -> None:
    """A small looping video of one kind of scene (MPEG-4 part 2: every ffmpeg build has the encoder)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("mpeg4", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        stream.bit_rate = 400_000
        for i in range(FPS * SECONDS):
            frame = av.VideoFrame.from_ndarray(_frame(scene, i), format="bgr24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.replace(path)


def ensure_videos(media: Path) -> dict[str, Path]:
    out = {}
    for scene in SCENES:
        path = media / "demo" / f"{scene}.mp4"
        if not path.exists():
            make_video(path, scene)
        out[scene] = path
    return out


def _zones(group: str) -> list[dict[str, Any]]:
    school = {"type": "school_hours"}
    always = {"type": "always"}
    if group == "school_gate":
        return [
            {
                "kind": "zone",
                "name": "Cổng trường",
                "points": [[0.35, 0.05], [0.65, 0.05], [0.65, 0.36], [0.35, 0.36]],
                "purposes": ["gate"],
                "schedule": school,
            },
            {
                "kind": "zone",
                "name": "Làn cấm dừng đỗ",
                "points": [[0.0, 0.37], [1.0, 0.37], [1.0, 0.63], [0.0, 0.63]],
                "purposes": ["no_stopping"],
                "schedule": school,
            },
            {
                "kind": "line",
                "name": "Vạch sang đường",
                "points": [[0.5, 0.3], [0.5, 0.75]],
                "direction": "both",
                "purposes": ["crossing"],
                "schedule": school,
            },
        ]
    if group == "intersection":
        return [
            {
                "kind": "line",
                "name": "Vạch đếm xe hướng Đông",
                "points": [[0.6, 0.35], [0.6, 0.65]],
                "direction": "a_to_b",
                "purposes": ["count_line"],
                "schedule": always,
            },
        ]
    if group == "waste_point":
        return [
            {
                "kind": "zone",
                "name": "Khu vực cấm đổ rác",
                "points": [[0.05, 0.35], [0.7, 0.35], [0.75, 0.95], [0.02, 0.95]],
                "purposes": ["no_dumping"],
                "schedule": always,
            },
        ]
    return [
        {
            "kind": "zone",
            "name": "Khu sơ chế, chế biến",
            "points": [[0.05, 0.4], [0.95, 0.4], [0.95, 0.85], [0.05, 0.85]],
            "purposes": ["food_prep"],
            "schedule": {
                "type": "custom",
                "weekly": {d: [["06:00", "11:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
            },
        },
        {
            "kind": "mask",
            "name": "Che cửa phòng thay đồ",
            "points": [[0.85, 0.0], [1.0, 0.0], [1.0, 0.3], [0.85, 0.3]],
            "purposes": ["privacy"],
            "schedule": always,
        },
    ]


def seed_cameras(s: Session, assets: list[Asset], media: Path) -> int:
    """A registry entry and zones for every camera asset; returns how many."""
    from toancanh.modules.cameras.models import Camera, CameraZone

    videos = ensure_videos(media)
    n = 0
    for a in assets:
        if a.type != "camera":
            continue
        group = str(a.attributes.get("group", "public_place"))
        video = videos.get(group)
        # An offline camera of the seed plays nothing: its file is missing, as a dead camera sends nothing.
        path = media / "demo" / "mat-tin-hieu.mp4" if a.status == "offline" or video is None else video
        url = path.as_uri()
        cam = Camera(
            asset_id=a.id,
            source_kind="file",
            substream_url=url,
            main_url=url,
            detect_fps=5.0,
            direction_deg=float(a.attributes.get("direction_deg", 0)),
            fov_deg=FOV.get(group, 90.0),
            range_m=60.0 if group == "intersection" else 40.0,
            groups=[group],
            enabled=True,
        )
        s.add(cam)
        s.flush()
        for z in _zones(group):
            s.add(
                CameraZone(
                    camera_id=cam.id,
                    direction=z.get("direction"),
                    enabled=True,
                    **{k: v for k, v in z.items() if k != "direction"},
                )
            )
        n += 1
    s.flush()
    return n

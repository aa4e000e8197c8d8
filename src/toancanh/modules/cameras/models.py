"""Camera registry tables: a camera's configuration (1:1 with an asset of type camera) and its zones.

Location, unit, domain, name and status live on the asset (`core.assets.Asset`); this table holds only what
makes the asset a video source. The analytics pipeline reads both tables: the substream and detect rate of a
camera, the zones, lines and masks (normalised image coordinates) with their purposes and schedules.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from toancanh.core.db import Base, BigId, IdMixin, TimestampMixin

SOURCE_KINDS = ("rtsp", "http_mjpeg", "hls", "file")
GROUPS = ("school_gate", "intersection", "waste_point", "kitchen", "public_place")
ZONE_KINDS = ("zone", "line", "mask")
LINE_DIRECTIONS = ("a_to_b", "b_to_a", "both")
PURPOSES = (
    "no_dumping",
    "gate",
    "no_stopping",
    "food_prep",
    "crossing",
    "count_line",
    "loitering",
    "privacy",
)


class Camera(IdMixin, TimestampMixin, Base):
    """A camera (camera giám sát): the video source of an asset of type `camera`."""

    __tablename__ = "cameras"

    asset_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("assets.id", ondelete="CASCADE"), unique=True, index=True
    )
    source_kind: Mapped[str] = mapped_column(String(16))
    substream_url: Mapped[str] = mapped_column(String(1000))  # the detection (low-resolution) stream
    main_url: Mapped[str] = mapped_column(String(1000), default="")  # the evidence (full-resolution) stream
    username_enc: Mapped[str | None] = mapped_column(Text)  # Fernet tokens; never leave the server
    password_enc: Mapped[str | None] = mapped_column(Text)
    detect_fps: Mapped[float] = mapped_column(default=5.0)
    direction_deg: Mapped[float | None]  # the view direction on the map, clockwise from north
    fov_deg: Mapped[float] = mapped_column(default=90.0)
    range_m: Mapped[float] = mapped_column(default=60.0)  # how far the view cone reaches on the map
    groups: Mapped[list[Any]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)

    @property
    def has_credentials(self) -> bool:
        return bool(self.username_enc or self.password_enc)


class CameraZone(IdMixin, TimestampMixin, Base):
    """A zone (vùng), line (vạch) or mask (vùng che) drawn on a camera's image, in coordinates 0..1."""

    __tablename__ = "camera_zones"

    camera_id: Mapped[int] = mapped_column(BigId, ForeignKey("cameras.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(120))
    points: Mapped[list[Any]] = mapped_column(JSON)  # [[x, y], ...], x and y in 0..1 of the image
    direction: Mapped[str | None] = mapped_column(String(8))  # lines only: a_to_b | b_to_a | both
    purposes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    schedule: Mapped[dict[str, Any]] = mapped_column(JSON, default=lambda: {"type": "always"})
    enabled: Mapped[bool] = mapped_column(default=True)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "camera_id": self.camera_id,
            "kind": self.kind,
            "name": self.name,
            "points": self.points,
            "direction": self.direction,
            "purposes": self.purposes,
            "schedule": self.schedule,
            "enabled": self.enabled,
        }

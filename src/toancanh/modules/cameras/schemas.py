"""Request bodies of the cameras API. Checks that need the settings (URLs, file folders) live in service."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from toancanh.modules.cameras.models import GROUPS, LINE_DIRECTIONS, PURPOSES, SOURCE_KINDS, ZONE_KINDS

SourceKind = Literal["rtsp", "http_mjpeg", "hls", "file"]
Group = Literal["school_gate", "intersection", "waste_point", "kitchen", "public_place"]
assert set(SourceKind.__args__) == set(SOURCE_KINDS)  # type: ignore[attr-defined]
assert set(Group.__args__) == set(GROUPS)  # type: ignore[attr-defined]


class NewAsset(BaseModel):
    """The asset of a new camera, when it is not registered yet."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: str = Field(min_length=1, max_length=200)
    unit_id: int = Field(ge=1, le=2**53)
    domain: str = Field(min_length=1, max_length=32)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class CameraFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_kind: SourceKind | None = None
    substream_url: str | None = Field(None, min_length=1, max_length=1000)
    main_url: str | None = Field(None, max_length=1000)
    username: str | None = Field(None, max_length=120)
    password: str | None = Field(None, max_length=200)
    detect_fps: float | None = Field(None, gt=0, le=30)
    direction_deg: float | None = Field(None, ge=0, lt=360)
    fov_deg: float | None = Field(None, gt=0, le=360)
    range_m: float | None = Field(None, gt=0, le=2000)
    groups: list[Group] | None = Field(None, max_length=len(GROUPS))
    enabled: bool | None = None
    name: str | None = Field(None, min_length=1, max_length=200)


class CameraCreate(CameraFields):
    """A camera: an existing asset of type camera (`asset_id`) or a new one (`asset`), and its source."""

    asset_id: int | None = Field(None, ge=1, le=2**53)
    asset: NewAsset | None = None
    source_kind: SourceKind
    substream_url: str = Field(min_length=1, max_length=1000)


class CameraUpdate(CameraFields):
    """Changes; `clear_credentials` removes the stored user name and password."""

    clear_credentials: bool = False


class ZoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["zone", "line", "mask"]
    name: str = Field(min_length=1, max_length=120)
    points: list[Any] = Field(max_length=64)
    direction: Literal["a_to_b", "b_to_a", "both"] | None = None
    purposes: list[str] = Field(default_factory=list, max_length=len(PURPOSES))
    schedule: dict[str, Any] | None = None
    enabled: bool = True


class ZoneUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=120)
    points: list[Any] | None = Field(None, max_length=64)
    direction: Literal["a_to_b", "b_to_a", "both"] | None = None
    purposes: list[str] | None = Field(None, max_length=len(PURPOSES))
    schedule: dict[str, Any] | None = None
    enabled: bool | None = None


assert set(ZoneIn.model_fields["kind"].annotation.__args__) == set(ZONE_KINDS)  # type: ignore[union-attr]
assert LINE_DIRECTIONS == ("a_to_b", "b_to_a", "both")

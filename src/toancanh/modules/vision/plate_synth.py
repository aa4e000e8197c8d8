"""Synthetic Vietnamese plate crops for tests, benches and the demo: fonts found on the machine, one or two
lines, and the conditions a street camera adds (blur, tilt, noise, night).

No image of a real plate is needed (or allowed: plates are personal data). The layouts follow the printed
plates: black characters on white (yellow for commercial cars, blue for state vehicles) inside a border; a
one-line plate about 4.7:1, a two-line plate about 1.4:1 (cars) or 1.35:1 (motorbikes).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from toancanh.modules.vision.plates import CAR_PAIRS, PROVINCE_CODES, SERIES_LETTERS, Plate, parse_plate

_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts"))
_PREFERRED = (
    "DejaVuSansCondensed-Bold",
    "DejaVuSans-Bold",
    "LiberationSansNarrow-Bold",
    "LiberationSans-Bold",
    "LiberationMono-Bold",
    "DejaVuSansMono-Bold",
    "FreeSansBold",
    "NotoSans-Bold",
)
BACKGROUNDS = {"white": (245, 245, 245), "yellow": (40, 200, 245), "blue": (160, 70, 20)}  # BGR


@lru_cache(maxsize=1)
def plate_fonts() -> tuple[str, ...]:
    """Bold sans fonts on this machine that have the Vietnamese Đ, best first."""
    found: dict[str, str] = {}
    for d in _FONT_DIRS:
        for p in Path(d).rglob("*.ttf") if Path(d).is_dir() else []:
            found.setdefault(p.stem, str(p))
    fonts = [found[n] for n in _PREFERRED if n in found]
    return tuple(fonts) or tuple(sorted(found.values()))[:3]


@dataclass(frozen=True, slots=True)
class Conditions:
    blur: float = 0.0  # Gaussian sigma in pixels at a 60 px character height
    tilt: float = 0.0  # degrees of rotation
    shear: float = 0.0  # horizontal shear (perspective of a camera to the side)
    noise: float = 0.0  # standard deviation of Gaussian noise, 0..255
    night: bool = False  # dark, low contrast, a headlight glow

    @property
    def name(self) -> str:
        parts = [
            n
            for n, on in (
                ("blur", self.blur),
                ("tilt", self.tilt or self.shear),
                ("noise", self.noise),
                ("night", self.night),
            )
            if on
        ]
        return "+".join(parts) or "clean"


CLEAN = Conditions()
CONDITIONS = {
    "clean": CLEAN,
    "blur": Conditions(blur=1.6),
    "tilt": Conditions(tilt=6.0, shear=0.12),
    "noise": Conditions(noise=18.0),
    "night": Conditions(night=True, noise=8.0),
}


def render_plate(
    plate: Plate,
    *,
    two_lines: bool | None = None,
    font: str | None = None,
    height: int = 64,
    background: str = "white",
    conditions: Conditions = CLEAN,
    seed: int = 0,
) -> np.ndarray:
    """A BGR crop of `plate` as a camera sees it; `height` is the character height of a one-line plate."""
    rng = np.random.default_rng(seed)
    if two_lines is None:
        two_lines = plate.kind in ("motorbike", "electric_motorbike")
    lines = list(plate.lines) if two_lines else [plate.text]
    font_path = font or plate_fonts()[0]
    ch = height
    f = ImageFont.truetype(font_path, ch)
    widths = [int(f.getbbox(t)[2] - f.getbbox(t)[0]) for t in lines]
    pad_x, pad_y, gap = int(ch * 0.35), int(ch * 0.28), int(ch * 0.25)
    w = max(widths) + 2 * pad_x
    h = len(lines) * ch + (len(lines) - 1) * gap + 2 * pad_y
    if two_lines:
        w = max(w, round(h * 1.35))
    bg = BACKGROUNDS[background]
    ink = (250, 250, 250) if background == "blue" else (20, 20, 20)
    img = Image.new("RGB", (w, h), bg[::-1])
    draw = ImageDraw.Draw(img)
    draw.rectangle((2, 2, w - 3, h - 3), outline=ink[::-1], width=max(2, ch // 16))
    y = pad_y
    for text, tw in zip(lines, widths, strict=True):
        box = f.getbbox(text)
        draw.text(((w - tw) / 2 - box[0], y - box[1] * 0.9), text, font=f, fill=ink[::-1])
        y += ch + gap
    plate_img = cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)
    return _camera(plate_img, conditions, rng)


def _camera(img: np.ndarray, c: Conditions, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    margin = int(0.12 * h) + 4
    surround = np.full((h + 2 * margin, w + 2 * margin, 3), (70, 75, 80), np.uint8)  # the car's bumper
    surround[margin : margin + h, margin : margin + w] = img
    img = surround
    if c.tilt or c.shear:
        hh, ww = img.shape[:2]
        m = cv2.getRotationMatrix2D((ww / 2, hh / 2), c.tilt, 1.0)
        m[0, 1] += c.shear
        m[0, 2] -= c.shear * hh / 2
        img = cv2.warpAffine(img, m, (ww, hh), borderMode=cv2.BORDER_REPLICATE)
    if c.blur:
        img = cv2.GaussianBlur(img, (0, 0), c.blur)
    out = img.astype(np.float32)
    if c.night:
        out = out * 0.28 + 12  # dark and flat
        hh, ww = out.shape[:2]
        yy, xx = np.mgrid[0:hh, 0:ww]
        glow = np.exp(-(((xx - ww * 0.2) / (ww * 0.5)) ** 2 + ((yy - hh * 0.5) / (hh * 0.8)) ** 2))
        out += (glow * 45)[..., None]
    if c.noise:
        out += rng.normal(0, c.noise, out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def random_plate(rng: random.Random, kind: str | None = None, code: str | None = None) -> Plate:
    """A valid plate of `kind` (any when None) with a random number; `code` picks the province."""
    kind = kind or rng.choice(
        ["car", "car", "car_old", "car_pair", "motorbike", "motorbike", "electric", "temporary", "diplomatic"]
    )
    code = code or rng.choice(PROVINCE_CODES)
    n5 = f"{rng.randrange(100000):05d}"
    letter = rng.choice(SERIES_LETTERS)
    text, vehicle = {
        "car": (f"{code}{letter}{n5}", "car"),
        "car_old": (f"{code}{letter}{n5[:4]}", "car"),
        "car_pair": (f"{code}{rng.choice(sorted(CAR_PAIRS - {'NG', 'NN', 'QT', 'CV'}))}{n5}", "car"),
        "motorbike": (f"{code}{letter}{rng.randrange(1, 10)}{n5}", "motorbike"),
        "electric": (f"{code}MĐ{rng.randrange(1, 10)}{n5}", "motorbike"),
        "temporary": (f"T{code}{n5}", "car"),
        "diplomatic": (f"{code}NG{n5}", "car"),
    }[kind]
    return parse_plate(text, vehicle=vehicle)


@dataclass(frozen=True, slots=True)
class SampleCrop:
    plate: Plate
    image: np.ndarray
    two_lines: bool
    conditions: str
    font: str


def plate_set(
    n: int,
    *,
    conditions: Sequence[str] = ("clean",),
    seed: int = 7,
    every_province: bool = True,
) -> Iterator[SampleCrop]:
    """`n` crops per condition; with `every_province` the province codes are cycled so each one appears."""
    rng = random.Random(seed)
    fonts = plate_fonts()
    for i in range(n):
        code = PROVINCE_CODES[i % len(PROVINCE_CODES)] if every_province else None
        plate = random_plate(rng, code=code)
        motorbike = plate.kind in ("motorbike", "electric_motorbike")
        two = motorbike or (plate.kind == "car" and rng.random() < 0.35)
        font = fonts[i % len(fonts)]
        bg = "white" if plate.kind != "car" or rng.random() < 0.7 else rng.choice(["yellow", "blue"])
        height = rng.choice([40, 52, 64])
        for cname in conditions:
            img = render_plate(
                plate,
                two_lines=two,
                font=font,
                height=height,
                background=bg,
                conditions=CONDITIONS[cname],
                seed=seed + i,
            )
            yield SampleCrop(plate, img, two, cname, Path(font).stem)

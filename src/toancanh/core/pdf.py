"""PDF building blocks shared by the reports: finding a Unicode TTF font for Vietnamese and a page class that
embeds it (DejaVu Sans, which Debian and most Linux systems ship), or falls back to a core PDF font with the
text transliterated to ASCII (Đà Nẵng -> Da Nang) so a report still comes out, readable if plain."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

from fpdf import FPDF

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
)
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}


def find_font_dir(candidates: Sequence[Path] = FONT_DIRS) -> Path | None:
    """The first folder holding DejaVu Sans regular and bold, or None."""
    for folder in candidates:
        if all((folder / name).is_file() for name in FONT_FILES.values()):
            return folder
    return None


def ascii_text(text: str) -> str:
    """Vietnamese without diacritics, for the core PDF fonts (Latin-1 only)."""
    text = text.replace("đ", "d").replace("Đ", "D").replace("—", "-").replace("→", "->")
    decomposed = unicodedata.normalize("NFKD", text)
    return (
        "".join(c for c in decomposed if not unicodedata.combining(c))
        .encode("latin-1", "replace")
        .decode("latin-1")
    )


class UnicodePDF(FPDF):
    """An FPDF whose `base_family` writes Vietnamese: DejaVu embedded from `font_dir`, else Helvetica with
    `clean` transliterating every text."""

    base_family: str
    clean: Callable[[str], str]

    def __init__(self, font_dir: Path | None, orientation: str = "portrait") -> None:
        super().__init__(orientation=orientation, format="A4")
        if font_dir is not None:
            for style, name in FONT_FILES.items():
                self.add_font("DejaVu", style, str(font_dir / name))
            self.base_family = "DejaVu"
            self.clean = str
        else:
            self.base_family = "Helvetica"
            self.clean = ascii_text

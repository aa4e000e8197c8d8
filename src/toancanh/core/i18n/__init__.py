"""Message catalogs (Babel .po files read at start-up; no compile step). Vietnamese first, English second.

Message ids are English; `vi.po` holds the Vietnamese text. A missing translation falls back to the id.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"
_DIR = Path(__file__).parent


@cache
def catalog(locale: str) -> dict[str, str]:
    path = _DIR / f"{locale}.po"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        cat = read_po(fh, locale=locale)
    return {str(m.id): str(m.string) for m in cat if m.id and m.string}


def gettext(locale: str, message: str) -> str:
    return catalog(locale).get(message, message)


def pick_locale(cookie: str | None, default: str = DEFAULT_LOCALE) -> str:
    """The UI language: the user's choice (a cookie set by the language switch), else the site default.

    The browser's Accept-Language is deliberately ignored: control-room machines often run English
    operating systems, and the users read Vietnamese.
    """
    if cookie in LOCALES:
        return cookie
    return default if default in LOCALES else DEFAULT_LOCALE

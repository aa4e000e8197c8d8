"""Vietnamese text for press monitoring (xử lý tiếng Việt): normalization, diacritic-less folding, syllables
and word segmentation.

- `normalize()`: Unicode NFC, one tone-mark placement (the traditional "hòa, thủy, khỏe" by default, the
  newer "hoà, thuỷ, khoẻ" on request), so that the same word typed two ways compares equal.
- `fold()`: lower case without any diacritic, đ -> d: what people type when they search ("ubnd xa dai thanh").
- `syllables()`: the text's syllables (lower case, normalized) — what watch rules and the gazetteer match.
- `segment()`: words of one or more syllables joined by "_" (pyvi's CRF model, shipped in its wheel; loaded
  once, never downloaded) — the classifiers' features.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from typing import Any, Literal

TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}  # huyền, sắc, ngã, hỏi, nặng
MARKS = {"\u0302", "\u0306", "\u031b"}  # â ê ô, ă, ơ ư: the vowel's quality, not its tone
VOWELS = set("aeiouy")
WORD = re.compile(r"\w+", re.UNICODE)
Style = Literal["old", "new"]


def _tone_position(letters: list[tuple[str, str]], style: Style) -> int:
    """Which letter of a syllable carries the tone mark. `letters`: (base letter, quality marks)."""
    bases = [b.lower() for b, _ in letters]
    n = len(bases)
    start = 0
    while start < n and bases[start] not in VOWELS:
        start += 1
    if start == n:
        return -1
    # "qu" and "gi" before another vowel: the u / i belongs to the consonant
    glide = start > 0 and (bases[start - 1], bases[start]) in (("q", "u"), ("g", "i"))
    if glide and start + 1 < n and bases[start + 1] in VOWELS:
        start += 1
    end = start
    while end < n and bases[end] in VOWELS:
        end += 1
    nucleus = list(range(start, end))
    marked = [i for i in nucleus if letters[i][1]]
    if marked:
        return marked[-1]  # ươ: on the ơ; ê, ô, â, ă, ư, ơ otherwise
    if len(nucleus) == 1:
        return nucleus[0]
    if end < n:  # a closed syllable: on the last vowel (hoàn, tuyết, khuyên)
        return nucleus[-1]
    if len(nucleus) >= 3:
        return nucleus[1]  # hoài, khuỷu, ngoáy
    pair = bases[nucleus[0]] + bases[nucleus[1]]
    if style == "new" and pair in ("oa", "oe", "uy"):
        return nucleus[1]  # hoà, khoẻ, thuỷ
    return nucleus[0]  # hòa, khỏe, thủy; mùa, gái, cháu


def _retone_word(word: str, style: Style) -> str:
    letters: list[tuple[str, str]] = []
    tone = ""
    for ch in word:
        if ch in TONES:
            tone = tone or ch
        elif unicodedata.combining(ch) and letters:
            base, marks = letters[-1]
            letters[-1] = (base, marks + ch)
        else:
            letters.append((ch, ""))
    if not tone:
        return word
    pos = _tone_position(letters, style)
    if pos < 0:
        return word
    out = []
    for i, (base, marks) in enumerate(letters):
        out.append(base + marks + (tone if i == pos else ""))
    return "".join(out)


@lru_cache(maxsize=65536)
def _normalize_word(word: str, style: Style) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    if not any(c in TONES for c in decomposed):
        return unicodedata.normalize("NFC", word)
    return unicodedata.normalize("NFC", _retone_word(decomposed, style))


def normalize(text: str, style: Style = "old") -> str:
    """NFC, with every syllable's tone mark where `style` puts it; nothing else changes."""
    text = unicodedata.normalize("NFC", text)
    return WORD.sub(lambda m: _normalize_word(m.group(0), style), text)


@lru_cache(maxsize=65536)
def _fold_word(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def fold(text: str) -> str:
    """Lower case, no diacritics, đ -> d: "Ủy ban nhân dân xã Đại Thanh" -> "uy ban nhan dan xa dai thanh"."""
    return WORD.sub(lambda m: _fold_word(m.group(0)), text)


def syllables(text: str, *, folded: bool = False) -> list[str]:
    """The syllables (words between spaces and punctuation), lower case and normalized; folded on request."""
    words = WORD.findall(normalize(text).lower())
    return [_fold_word(w) for w in words] if folded else words


# ------------------------------------------------------------------------------------------ segmentation

_tokenizer: Any = None
_lock = threading.Lock()
MAX_SEGMENT_CHARS = 20_000  # a longer text is segmented on its first part only (the model is per sentence)


def _load() -> Any:
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            from pyvi import ViTokenizer  # noqa: PLC0415 - loading the CRF model takes a second

            _tokenizer = ViTokenizer
    return _tokenizer


def segment(text: str) -> list[str]:
    """Words of the text (pyvi): multi-syllable words joined by "_", lower case, punctuation dropped."""
    text = normalize(text[:MAX_SEGMENT_CHARS])
    if not text.strip():
        return []
    out = _load().tokenize(text)
    return [w.lower() for w in out.split() if any(ch.isalnum() for ch in w)]


def features(text: str) -> list[str]:
    """Classifier features: the segmented words plus their folded forms (text typed without diacritics)."""
    words = segment(text)
    return words + [f"~{_fold_word(w)}" for w in words if _fold_word(w) != w]

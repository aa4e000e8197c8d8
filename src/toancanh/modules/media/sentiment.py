"""Sentiment (sắc thái) of an item: a Vietnamese lexicon scorer with negation and intensifiers.

The lexicon (`lexicon_vi.txt`, shipped) weighs words and phrases from -3 to +3; the longest phrase wins at
each syllable. A negation ("không", "chưa", "chẳng", ...) within the three syllables before a term flips and
softens it ("không tốt" is negative, "không hề xấu" mildly positive); an intensifier ("rất", "quá", "cực kỳ")
strengthens it. The label is positive, negative or neutral; the confidence grows with the score's size and
the number of sentiment words found. Operators can replace this scorer with a classifier trained on their
own labels (`classify.py`); pages show which one decided.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from toancanh.modules.media.text import syllables

LABELS = ("positive", "neutral", "negative")
LABEL_VI = {"positive": "Tích cực", "neutral": "Trung tính", "negative": "Tiêu cực"}
NEGATIONS = (
    ("không", "hề"),
    ("chẳng", "hề"),
    ("không",),
    ("chưa",),
    ("chẳng",),
    ("chả",),
    ("đâu", "có"),
    ("không", "còn"),
)
INTENSIFIERS = {("rất",): 1.5, ("quá",): 1.4, ("cực", "kỳ"): 1.8, ("vô", "cùng"): 1.8, ("hết", "sức"): 1.6}
NEGATION_REACH = 3
NEUTRAL_BAND = 0.25


@dataclass(frozen=True)
class Sentiment:
    label: str
    score: float  # -1 .. 1
    confidence: float  # 0 .. 1
    method: str = "lexicon"


@lru_cache(maxsize=1)
def lexicon() -> dict[tuple[str, ...], float]:
    out: dict[tuple[str, ...], float] = {}
    path = Path(__file__).with_name("lexicon_vi.txt")
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        phrase, weight = line.rsplit("\t", 1)
        out[tuple(syllables(phrase))] = float(weight)
    return out


def _longest(words: list[str], i: int, table: dict[tuple[str, ...], float], longest: int) -> int:
    for n in range(min(longest, len(words) - i), 0, -1):
        if tuple(words[i : i + n]) in table:
            return n
    return 0


def score(text: str) -> Sentiment:
    words = syllables(text)
    lex = lexicon()
    longest = max(len(k) for k in lex)
    total = 0.0
    hits = 0
    i = 0
    last_negation = -100
    boost = 1.0
    while i < len(words):
        neg = next((n for n in NEGATIONS if tuple(words[i : i + len(n)]) == n), None)
        if neg is not None:
            last_negation = i + len(neg) - 1
            i += len(neg)
            continue
        amp = next((v for k, v in INTENSIFIERS.items() if tuple(words[i : i + len(k)]) == k), None)
        if amp is not None:
            boost = amp
            i += 1
            continue
        n = _longest(words, i, lex, longest)
        if n == 0:
            i += 1
            if i - last_negation > NEGATION_REACH + 1:
                boost = 1.0
            continue
        weight = lex[tuple(words[i : i + n])] * boost
        if i - last_negation <= NEGATION_REACH:
            weight = -0.6 * weight
        total += weight
        hits += 1
        boost = 1.0
        i += n
    if hits == 0:
        return Sentiment("neutral", 0.0, 0.5)
    value = math.tanh(total / (2.0 + math.sqrt(hits)))
    label = "neutral" if abs(value) < NEUTRAL_BAND else "positive" if value > 0 else "negative"
    strength = abs(value) if label != "neutral" else 1 - abs(value) / NEUTRAL_BAND
    confidence = min(0.95, 0.4 + 0.35 * strength + 0.05 * min(hits, 4))
    return Sentiment(label, round(value, 3), round(confidence, 3))

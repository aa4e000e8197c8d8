"""The same story on several sites (cùng một tin trên nhiều trang): normalized titles and MinHash.

Two items tell the same story when their normalized titles are equal (folded, punctuation and the site's
" - Báo X" suffix dropped), or when their texts share most word pairs: the Jaccard similarity of their folded
word 2-shingles, estimated from `PERMUTATIONS` MinHash values, is at least `MIN_SIMILARITY`. Candidates come
from locality-sensitive hashing: the signature is cut into `BANDS` bands of `ROWS` values, each band hashed
into one indexed row (`media_item_bands`); two texts with similarity 0.5 share a band with probability
1 - (1 - 0.5^2)^16 > 99 %, two unrelated ones (0.05) with about 4 %, and those few are checked in full.
"""

from __future__ import annotations

import hashlib
import re
import struct

from toancanh.modules.media.text import fold, syllables

PERMUTATIONS = 32
BANDS = 16
ROWS = PERMUTATIONS // BANDS
MIN_SIMILARITY = 0.5
MIN_SHINGLES = 12  # shorter texts are too short to compare: only the title counts for them
_PRIME = (1 << 61) - 1
_MASK = (1 << 32) - 1
_SUFFIX = re.compile(r"\s+[-|–—]\s+[^-|–—]{2,40}$")
# fixed "random" permutations a*x+b mod p, the same in every process and release
_PARAMS = [
    (
        int.from_bytes(hashlib.sha256(f"a{i}".encode()).digest()[:8], "big") % (_PRIME - 1) + 1,
        int.from_bytes(hashlib.sha256(f"b{i}".encode()).digest()[:8], "big") % _PRIME,
    )
    for i in range(PERMUTATIONS)
]


def title_key(title: str) -> str:
    """The title as compared across sites: folded, no site suffix, no punctuation, single spaces."""
    base = _SUFFIX.sub("", title.strip())
    return " ".join(syllables(fold(base)))[:300]


def _h32(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=4).digest(), "big")


def shingles(text: str) -> set[int]:
    words = syllables(text, folded=True)
    return {_h32(f"{words[i]} {words[i + 1]}") for i in range(len(words) - 1)}


def minhash(text: str) -> list[int] | None:
    """The MinHash signature of a text's folded word pairs, or None when the text is too short."""
    sh = shingles(text)
    if len(sh) < MIN_SHINGLES:
        return None
    return [min(((a * x + b) % _PRIME) & _MASK for x in sh) for a, b in _PARAMS]


def similarity(a: list[int], b: list[int]) -> float:
    """The estimated Jaccard similarity of two signatures."""
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def bands(sig: list[int]) -> list[int]:
    """One signed 64-bit key per band (what the index stores), the band's number mixed in."""
    out = []
    for band in range(BANDS):
        part = struct.pack(f">I{ROWS}I", band, *sig[band * ROWS : (band + 1) * ROWS])
        out.append(int.from_bytes(hashlib.blake2b(part, digest_size=8).digest(), "big", signed=True))
    return out

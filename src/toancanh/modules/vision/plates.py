"""Vietnamese licence plates (biển số xe): normalization, validation, voting across frames, fuzzy distance.

The formats (Thông tư 79/2024/TT-BCA), written the way they are printed:

| kind | example | layout |
|---|---|---|
| car (ô tô) | `29A-123.45`, old `29A-1234` | province code, one series letter, 5 (old: 4) digits |
| car, two-letter series | `30LD-123.45`, `51KT-123.45` | LD (foreign-invested), KT, DA, HC, NN, NG... |
| trailer (rơ moóc) | `29R-123.45` | series R |
| motorbike (mô tô, xe máy) | `29-B1 123.45`, old `29-B1 1234` | two lines: code-series (B1, AA), digits |
| electric motorbike (xe máy điện) | `29-MĐ1 123.45` | series MĐ + digit |
| temporary (tạm thời) | `T29-123.45` | T before the province code |
| diplomatic (ngoại giao) | `80-NG-123-45` | code, NG/NN/QT/CV, 3-digit country code, 2-digit serial |

Province codes are the registration codes of the 63 provinces before 1 July 2025, which stay valid; each
maps to one of the 34 provinces after the merger (e.g. 34 Hải Dương -> Hải Phòng). 80 is the central
registration office (Cục Cảnh sát giao thông).

A compact key (`29A12345`, `29B112345`) is what reads are stored, voted and searched by; the display form
comes back from `parse_plate(...).text`. One collision is inherent: an old motorbike plate `29-A1 2345` and a
car plate `29A-123.45` share the key `29A12345`; only the plate's two lines or the vehicle class tell them
apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from toancanh.core.errors import BadRequest

# code -> (province before 1 July 2025, province after the merger)
_PROVINCES: dict[str, tuple[str, str]] = {}


def _add(codes: Iterable[int], before: str, after: str) -> None:
    for c in codes:
        _PROVINCES[f"{c:02d}"] = (before, after)


_add([11], "Cao Bằng", "Cao Bằng")
_add([12], "Lạng Sơn", "Lạng Sơn")
_add([14], "Quảng Ninh", "Quảng Ninh")
_add([15, 16], "Hải Phòng", "Hải Phòng")
_add([34], "Hải Dương", "Hải Phòng")
_add([17], "Thái Bình", "Hưng Yên")
_add([89], "Hưng Yên", "Hưng Yên")
_add([18], "Nam Định", "Ninh Bình")
_add([90], "Hà Nam", "Ninh Bình")
_add([35], "Ninh Bình", "Ninh Bình")
_add([19], "Phú Thọ", "Phú Thọ")
_add([88], "Vĩnh Phúc", "Phú Thọ")
_add([28], "Hòa Bình", "Phú Thọ")
_add([20], "Thái Nguyên", "Thái Nguyên")
_add([97], "Bắc Kạn", "Thái Nguyên")
_add([21], "Yên Bái", "Lào Cai")
_add([24], "Lào Cai", "Lào Cai")
_add([22], "Tuyên Quang", "Tuyên Quang")
_add([23], "Hà Giang", "Tuyên Quang")
_add([25], "Lai Châu", "Lai Châu")
_add([26], "Sơn La", "Sơn La")
_add([27], "Điện Biên", "Điện Biên")
_add([29, 30, 31, 32, 33, 40], "Hà Nội", "Hà Nội")
_add([36], "Thanh Hóa", "Thanh Hóa")
_add([37], "Nghệ An", "Nghệ An")
_add([38], "Hà Tĩnh", "Hà Tĩnh")
_add([73], "Quảng Bình", "Quảng Trị")
_add([74], "Quảng Trị", "Quảng Trị")
_add([75], "Thừa Thiên Huế", "Huế")
_add([43], "Đà Nẵng", "Đà Nẵng")
_add([92], "Quảng Nam", "Đà Nẵng")
_add([76], "Quảng Ngãi", "Quảng Ngãi")
_add([82], "Kon Tum", "Quảng Ngãi")
_add([77], "Bình Định", "Gia Lai")
_add([81], "Gia Lai", "Gia Lai")
_add([78], "Phú Yên", "Đắk Lắk")
_add([47], "Đắk Lắk", "Đắk Lắk")
_add([79], "Khánh Hòa", "Khánh Hòa")
_add([85], "Ninh Thuận", "Khánh Hòa")
_add([48], "Đắk Nông", "Lâm Đồng")
_add([49], "Lâm Đồng", "Lâm Đồng")
_add([86], "Bình Thuận", "Lâm Đồng")
_add([41, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59], "TP Hồ Chí Minh", "TP Hồ Chí Minh")
_add([61], "Bình Dương", "TP Hồ Chí Minh")
_add([72], "Bà Rịa - Vũng Tàu", "TP Hồ Chí Minh")
_add([39, 60], "Đồng Nai", "Đồng Nai")
_add([93], "Bình Phước", "Đồng Nai")
_add([62], "Long An", "Tây Ninh")
_add([70], "Tây Ninh", "Tây Ninh")
_add([65], "Cần Thơ", "Cần Thơ")
_add([83], "Sóc Trăng", "Cần Thơ")
_add([95], "Hậu Giang", "Cần Thơ")
_add([64], "Vĩnh Long", "Vĩnh Long")
_add([71], "Bến Tre", "Vĩnh Long")
_add([84], "Trà Vinh", "Vĩnh Long")
_add([63], "Tiền Giang", "Đồng Tháp")
_add([66], "Đồng Tháp", "Đồng Tháp")
_add([69], "Cà Mau", "Cà Mau")
_add([94], "Bạc Liêu", "Cà Mau")
_add([67], "An Giang", "An Giang")
_add([68], "Kiên Giang", "An Giang")
_add([98], "Bắc Giang", "Bắc Ninh")
_add([99], "Bắc Ninh", "Bắc Ninh")
_add([80], "Cục Cảnh sát giao thông", "Trung ương")

PROVINCE_CODES: tuple[str, ...] = tuple(sorted(_PROVINCES))
# Letters never used as a series: they read like digits (I, O, Q) or are not Vietnamese letters (J, W).
SERIES_LETTERS = "ABCDEFGHKLMNPRSTUVXYZ"
CAR_PAIRS = frozenset({"LD", "KT", "DA", "HC", "TĐ", "NN", "NG", "QT", "CV"})
DIPLOMATIC = frozenset({"NG", "NN", "QT", "CV"})

KINDS = ("car", "trailer", "motorbike", "electric_motorbike", "temporary", "diplomatic")
KIND_VI = {
    "car": "Ô tô",
    "trailer": "Rơ moóc, sơ mi rơ moóc",
    "motorbike": "Mô tô, xe máy",
    "electric_motorbike": "Xe máy điện",
    "temporary": "Biển tạm thời",
    "diplomatic": "Ngoại giao",
}

# OCR confusions: where a digit belongs, these letters are read as the digit, and the other way round.
_TO_DIGIT = {
    "O": "0",
    "D": "0",
    "Q": "0",
    "U": "0",
    "I": "1",
    "L": "1",
    "J": "1",
    "Z": "2",
    "S": "5",
    "B": "8",
    "G": "6",
    "T": "7",
    "A": "4",
}
_TO_LETTER = {
    "0": "D",
    "2": "Z",
    "4": "A",
    "5": "S",
    "6": "G",
    "7": "T",
    "8": "B",
    "O": "D",
    "Q": "D",
    "I": "T",
    "J": "T",
    "W": "V",
}
_SEPARATORS = re.compile(r"[\s\-.·,_:;/|'\"`]+")


class PlateError(BadRequest):
    code = "plate_invalid"


@dataclass(frozen=True, slots=True)
class Plate:
    """A valid plate: `text` as printed (one line), `key` compact (what reads are stored and searched by)."""

    key: str
    text: str
    kind: str
    province_code: str
    series: str
    number: str
    lines: tuple[str, ...]  # the lines as printed on a two-line plate (one entry for a one-line plate)

    @property
    def province(self) -> str:
        """The province after 1 July 2025."""
        return _PROVINCES[self.province_code][1]

    @property
    def province_before_2025(self) -> str:
        return _PROVINCES[self.province_code][0]

    @property
    def kind_vi(self) -> str:
        return KIND_VI[self.kind]


def province_of(code: str) -> tuple[str, str] | None:
    """(province before 1 July 2025, province after) of a registration code, or None."""
    return _PROVINCES.get(code)


def clean(raw: str) -> str:
    """Upper case, NFC, separators removed; `Đ` kept (the electric series MĐ), other accents dropped."""
    text = unicodedata.normalize("NFC", raw.strip().upper()).replace("Ð", "Đ")
    out = []
    for ch in _SEPARATORS.sub("", text):
        if ch == "Đ" or ch.isascii():
            out.append(ch)
        else:  # an accent the recognizer invented: keep the base letter
            base = unicodedata.normalize("NFD", ch)[0]
            if base.isascii():
                out.append(base)
    return "".join(c for c in out if c.isalnum() or c == "Đ")


def _digits(s: str) -> str | None:
    out = "".join(c if c.isdigit() else _TO_DIGIT.get(c, "?") for c in s)
    return None if "?" in out else out


def _letter(c: str) -> str | None:
    if c in SERIES_LETTERS or c == "Đ":
        return c
    return _TO_LETTER.get(c)


def _fmt_number(n: str) -> str:
    return f"{n[:3]}.{n[3:]}" if len(n) == 5 else n


def _err(code: str, vi: str, en: str, raw: str) -> PlateError:
    return PlateError(vi, en, code=code, details={"plate": raw})


def _province(code: str | None, raw: str) -> str:
    if code is None or code not in _PROVINCES:
        raise _err(
            "plate_unknown_province",
            f"Mã tỉnh không hợp lệ trong biển số «{raw}»",
            f"Unknown province code in plate '{raw}'",
            raw,
        )
    return code


def _car(code: str, series: str, number: str, raw: str, *, kind: str = "car") -> Plate:
    if len(number) not in (4, 5):
        raise _err(
            "plate_bad_number",
            f"Biển số «{raw}» phải có 4 hoặc 5 chữ số sau ký hiệu",
            f"Plate '{raw}' needs 4 or 5 digits after the series",
            raw,
        )
    if kind == "car" and series == "R":
        kind = "trailer"
    head = f"{code}{series}"
    return Plate(
        f"{head}{number}",
        f"{head}-{_fmt_number(number)}",
        kind,
        code,
        series,
        number,
        (head, _fmt_number(number)),
    )


def _motorbike(code: str, series: str, number: str, raw: str) -> Plate:
    if len(number) not in (4, 5):
        raise _err(
            "plate_bad_number",
            f"Biển số «{raw}» phải có 4 hoặc 5 chữ số sau ký hiệu",
            f"Plate '{raw}' needs 4 or 5 digits after the series",
            raw,
        )
    kind = "electric_motorbike" if series.startswith("MĐ") else "motorbike"
    return Plate(
        f"{code}{series}{number}",
        f"{code}-{series} {_fmt_number(number)}",
        kind,
        code,
        series,
        number,
        (f"{code}-{series}", _fmt_number(number)),
    )


def _split_lines(raw: str) -> list[str]:
    parts = [clean(p) for p in re.split(r"[\n\r/|]+", raw)]
    return [p for p in parts if p]


def parse_plate(raw: str, *, vehicle: str | None = None) -> Plate:
    """Normalize and validate a plate read or typed by a person; raises `PlateError` (vi/en) if invalid.

    Lines may be separated by a newline or `/` (a two-line read). One-line text that fits both a car and a
    motorbike (`29A12345`: car 29A-123.45 or motorbike 29-A1 2345) is a car unless `vehicle` says
    motorbike or the lines say otherwise: motorbike plates always have two lines.
    """
    lines = _split_lines(raw)
    s = "".join(lines)
    if not s:
        raise _err("plate_empty", "Chưa nhập biển số", "The plate is empty", raw)
    if len(s) < 6 or len(s) > 11:
        raise _err(
            "plate_bad_length",
            f"Biển số «{raw}» có độ dài không hợp lệ",
            f"Plate '{raw}' has an invalid length",
            raw,
        )
    top = lines[0] if len(lines) == 2 else None
    motorbike_hint = vehicle in ("motorbike", "electric_motorbike") or (top is not None and len(top) >= 4)
    car_hint = vehicle in ("car", "trailer") or (top is not None and len(top) == 3)

    # temporary: T + code + digits
    if s[0] == "T" and len(s) in (7, 8) and _digits(s[1:]) is not None:
        d = _digits(s[1:])
        assert d is not None
        code = _province(d[:2], raw)
        n = d[2:]
        return Plate(
            f"T{code}{n}",
            f"T{code}-{_fmt_number(n)}",
            "temporary",
            code,
            "T",
            n,
            (f"T{code}", _fmt_number(n)),
        )
    code = _province(_digits(s[:2]), raw)
    rest = s[2:]
    # diplomatic: code + NG/NN/QT/CV + 3-digit country + 2-digit serial
    if len(rest) == 7 and rest[:2] in DIPLOMATIC and (d := _digits(rest[2:])) is not None:
        return Plate(
            f"{code}{rest[:2]}{d}",
            f"{code}-{rest[:2]}-{d[:3]}-{d[3:]}",
            "diplomatic",
            code,
            rest[:2],
            d,
            (f"{code}-{rest[:2]}", f"{d[:3]}-{d[3:]}"),
        )
    # electric motorbike: MĐ (or MD as read) + digit
    if rest[:2] in ("MĐ", "MD", "M0") and len(rest) in (7, 8) and (d := _digits(rest[2:])) is not None:
        return _motorbike(code, "MĐ" + d[0], d[1:], raw)
    if not rest:
        raise _err(
            "plate_no_series", f"Biển số «{raw}» thiếu ký hiệu sê-ri", f"Plate '{raw}' has no series", raw
        )
    first = _letter(rest[0])
    if first is None:
        raise _err(
            "plate_bad_series",
            f"Ký hiệu sê-ri không hợp lệ trong biển số «{raw}»",
            f"Invalid series in plate '{raw}'",
            raw,
        )
    second = rest[1] if len(rest) > 1 else ""
    # two-letter series: a car's (LD, KT, ...) or a moped's (AA, AB, ...)
    # a look-alike of a digit in second place with 4 digits after it is a 5-digit number (29A-l23.45)
    lookalike = len(rest) == 6 and second in _TO_DIGIT and (first + second) not in CAR_PAIRS
    if len(rest) in (6, 7) and second.isalpha() and not lookalike and _digits(rest[2:]) is not None:
        pair = first + (_letter(second) or second)
        d = _digits(rest[2:])
        assert d is not None
        if pair in CAR_PAIRS and vehicle not in ("motorbike", "electric_motorbike"):
            return _car(code, pair, d, raw)
        if pair[1] in SERIES_LETTERS:
            return _motorbike(code, pair, d, raw)
    # a letter then digits: car (29A-123.45) or motorbike (29-B1 123.45) by the number of digits and the hints
    d = _digits(rest[1:])
    if d is None:
        raise _err(
            "plate_bad_number",
            f"Biển số «{raw}» có ký tự không phải chữ số ở phần số",
            f"Plate '{raw}' has a non-digit in its number",
            raw,
        )
    if len(d) == 6 or (len(d) == 5 and motorbike_hint and not car_hint):
        if d[0] == "0":
            raise _err(
                "plate_bad_series",
                f"Ký hiệu sê-ri không hợp lệ trong biển số «{raw}»",
                f"Invalid series in plate '{raw}'",
                raw,
            )
        return _motorbike(code, first + d[0], d[1:], raw)
    return _car(code, first, d, raw)


def normalize_plate(raw: str, *, vehicle: str | None = None) -> str | None:
    """The display form of a valid plate, or None."""
    try:
        return parse_plate(raw, vehicle=vehicle).text
    except PlateError:
        return None


def plate_key(raw: str) -> str:
    """The compact search key of a (possibly partial or invalid) plate text: `29A-123.45` -> `29A12345`."""
    try:
        return parse_plate(raw).key
    except PlateError:
        return clean(raw)


# ---- fuzzy distance (watch lists, tracing) --------------------------------------------------------------

_LOOKALIKE = [
    set("0DOQU"),
    set("1IL7T"),
    set("2Z"),
    set("5S"),
    set("8B"),
    set("6G"),
    set("4A"),
    set("ĐD"),
    set("MN"),
    set("VY"),
    set("UV"),
    set("3B"),
    set("9G"),
]


def _sub_cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    return 0.5 if any(a in g and b in g for g in _LOOKALIKE) else 1.0


def plate_distance(a: str, b: str) -> float:
    """Edit distance between two plate keys where a look-alike substitution (8/B, 0/D, 5/S...) costs 0.5."""
    a, b = clean(a), clean(b)
    prev = [float(j) for j in range(len(b) + 1)]
    for i, ca in enumerate(a, 1):
        cur = [float(i)] + [0.0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + _sub_cost(ca, cb))
        prev = cur
    return prev[-1]


# ---- voting across the frames of one track ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlateRead:
    text: str  # as the reader returned it (lines joined by "/")
    confidence: float  # 0..1
    t: float = 0.0


@dataclass(frozen=True, slots=True)
class VoteResult:
    plate: Plate
    confidence: float  # the share of the reads' weight behind the winner, times their mean confidence
    support: int  # reads that agree with the winner
    reads: int  # reads considered (valid or not)


@dataclass
class PlateVote:
    """Reads of one tracked vehicle's plate over several frames -> one plate with a confidence.

    Valid reads vote with their confidence. Reads of the same layout (same key length) also vote per
    character, which recovers a plate no single frame read right (one frame misses the 5, another the 8).
    """

    vehicle: str | None = None
    reads: list[PlateRead] = field(default_factory=list)

    def add(self, text: str, confidence: float, t: float = 0.0) -> None:
        self.reads.append(PlateRead(text, max(0.0, min(1.0, confidence)), t))

    def result(self, min_confidence: float = 0.0) -> VoteResult | None:
        return vote(self.reads, vehicle=self.vehicle, min_confidence=min_confidence)


def vote(
    reads: Sequence[PlateRead], *, vehicle: str | None = None, min_confidence: float = 0.0
) -> VoteResult | None:
    if not reads:
        return None
    parsed: list[tuple[Plate, float]] = []
    for r in reads:
        try:
            parsed.append((parse_plate(r.text, vehicle=vehicle), r.confidence))
        except PlateError:
            continue
    weight: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    by_key: dict[str, Plate] = {}
    for p, c in parsed:
        weight[p.key] += c
        count[p.key] += 1
        by_key[p.key] = p
    # character voting within each key length
    by_len: dict[int, list[tuple[str, float]]] = defaultdict(list)
    for p, c in parsed:
        by_len[len(p.key)].append((p.key, c))
    for group in by_len.values():
        if len(group) < 3:
            continue
        chars = []
        for i in range(len(group[0][0])):
            w: dict[str, float] = defaultdict(float)
            for k, c in group:
                w[k[i]] += c
            chars.append(max(w, key=lambda ch: w[ch]))
        key = "".join(chars)
        if key not in by_key:
            try:
                by_key[key] = parse_plate(key, vehicle=vehicle)
            except PlateError:
                continue
            # the composite gets the weight of each read in proportion to the characters it agrees on
            weight[key] = sum(
                c * sum(a == b for a, b in zip(k, key, strict=True)) / len(key) for k, c in group
            )
            count[key] = sum(1 for k, _ in group if sum(a != b for a, b in zip(k, key, strict=True)) <= 1)
    if not weight:
        return None
    total = sum(r.confidence for r in reads) or 1.0
    best = max(weight, key=lambda k: (weight[k], count[k]))
    support = count[best]
    mean = weight[best] / max(support, 1)
    confidence = round(min(1.0, weight[best] / total) * min(1.0, mean), 4)
    if confidence < min_confidence:
        return None
    return VoteResult(by_key[best], confidence, support, len(reads))

"""Vietnamese plate normalization, validation and voting (property tests with hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toancanh.modules.vision.plates import (
    CAR_PAIRS,
    PROVINCE_CODES,
    SERIES_LETTERS,
    PlateError,
    PlateRead,
    PlateVote,
    normalize_plate,
    parse_plate,
    plate_distance,
    plate_key,
    province_of,
    vote,
)

codes = st.sampled_from(PROVINCE_CODES)
letters = st.sampled_from(SERIES_LETTERS)
five = st.integers(0, 99999).map(lambda n: f"{n:05d}")
four = st.integers(0, 9999).map(lambda n: f"{n:04d}")


def fmt(n: str) -> str:
    return f"{n[:3]}.{n[3:]}" if len(n) == 5 else n


@st.composite
def printed_plates(draw: st.DrawFn) -> tuple[str, str, str]:
    """(printed text, kind, vehicle hint) of a valid plate of any kind."""
    kind = draw(
        st.sampled_from(
            [
                "car",
                "car_old",
                "car_pair",
                "motorbike",
                "motorbike_old",
                "moped",
                "electric",
                "temporary",
                "diplomatic",
            ]
        )
    )
    code = draw(codes)
    if kind == "car":
        return f"{code}{draw(letters)}-{fmt(draw(five))}", "car", "car"
    if kind == "car_old":
        return f"{code}{draw(letters)}-{draw(four)}", "car", "car"
    if kind == "car_pair":
        pair = draw(st.sampled_from(sorted(CAR_PAIRS - {"NG", "NN", "QT", "CV"})))
        return f"{code}{pair}-{fmt(draw(five))}", "car", "car"
    if kind in ("motorbike", "motorbike_old"):
        n = draw(five) if kind == "motorbike" else draw(four)
        return f"{code}-{draw(letters)}{draw(st.integers(1, 9))} {fmt(n)}", "motorbike", "motorbike"
    if kind == "moped":
        pair = draw(letters) + draw(letters)
        if pair in CAR_PAIRS or pair == "MD":  # MD is read as the electric series MĐ
            pair = "AA"
        return f"{code}-{pair} {fmt(draw(five))}", "motorbike", "motorbike"
    if kind == "electric":
        return f"{code}-MĐ{draw(st.integers(1, 9))} {fmt(draw(five))}", "electric_motorbike", "motorbike"
    if kind == "temporary":
        return f"T{code}-{fmt(draw(five))}", "temporary", "car"
    d = draw(st.integers(0, 99999)).__format__("05d")
    return f"{code}-{draw(st.sampled_from(['NG', 'NN', 'QT', 'CV']))}-{d[:3]}-{d[3:]}", "diplomatic", "car"


def test_examples_of_every_kind() -> None:
    cases = {
        "29A-123.45": ("29A-123.45", "car", "Hà Nội"),
        "30ld 12345": ("30LD-123.45", "car", "Hà Nội"),
        "29A-1234": ("29A-1234", "car", "Hà Nội"),
        "29-B1 123.45": ("29-B1 123.45", "motorbike", "Hà Nội"),
        "29B1/12345": ("29-B1 123.45", "motorbike", "Hà Nội"),
        "29-MD1 123.45": ("29-MĐ1 123.45", "electric_motorbike", "Hà Nội"),
        "T29-123.45": ("T29-123.45", "temporary", "Hà Nội"),
        "80 NG 123 45": ("80-NG-123-45", "diplomatic", "Trung ương"),
        "29R-000.01": ("29R-000.01", "trailer", "Hà Nội"),
        "34A-567.89": ("34A-567.89", "car", "Hải Phòng"),  # Hải Dương merged into Hải Phòng
        "97B-111.22": ("97B-111.22", "car", "Thái Nguyên"),  # Bắc Kạn merged into Thái Nguyên
        "68-K1 234.56": ("68-K1 234.56", "motorbike", "An Giang"),
    }
    for raw, (text, kind, province) in cases.items():
        p = parse_plate(raw)
        assert (p.text, p.kind, p.province) == (text, kind, province), raw


def test_province_codes_before_and_after_the_merger() -> None:
    assert province_of("34") == ("Hải Dương", "Hải Phòng")
    assert province_of("61") == ("Bình Dương", "TP Hồ Chí Minh")
    assert province_of("23") == ("Hà Giang", "Tuyên Quang")
    assert province_of("13") is None
    afters = {province_of(c)[1] for c in PROVINCE_CODES if c != "80"}  # type: ignore[index]
    assert len(afters) == 34  # the 34 provinces after 1 July 2025


def test_ocr_confusions_are_fixed_by_position() -> None:
    assert normalize_plate("2gA-l23.4S") == "26A-123.45"
    assert normalize_plate("29A-I23.O5") == "29A-123.05"
    assert normalize_plate("298-123.45") == "29B-123.45"  # a digit where the series letter goes
    assert normalize_plate("29A1/2345") == "29-A1 2345"  # two lines: top line of four is a motorbike's
    assert normalize_plate("29A12345", vehicle="motorbike") == "29-A1 2345"
    assert normalize_plate("29A12345") == "29A-123.45"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "plate_empty"),
        ("13A-123.45", "plate_unknown_province"),
        ("00A-123.45", "plate_unknown_province"),
        ("29A-12", "plate_bad_length"),
        ("29A-1234567", "plate_bad_number"),
        ("29A-123456789", "plate_bad_length"),
        ("29@-123.45", "plate_bad_series"),
        ("29A-12X.45", "plate_bad_number"),
        ("29-B0 123.45", "plate_bad_series"),
    ],
)
def test_invalid_plates_have_clear_errors(raw: str, code: str) -> None:
    with pytest.raises(PlateError) as e:
        parse_plate(raw)
    assert e.value.code == code
    assert e.value.message and e.value.message_en and e.value.message != e.value.message_en


@settings(max_examples=300, deadline=None)
@given(printed_plates())
def test_printed_plates_round_trip(case: tuple[str, str, str]) -> None:
    printed, kind, vehicle = case
    p = parse_plate(printed, vehicle=vehicle)
    assert p.text == printed
    assert p.kind in (kind, "trailer")
    assert parse_plate(p.text, vehicle=vehicle) == p  # idempotent
    assert parse_plate("/".join(p.lines)) == p  # the two lines alone decide the layout
    assert p.province and p.province_before_2025


@settings(max_examples=200, deadline=None)
@given(printed_plates(), st.sampled_from(["", " ", "-", "."]), st.booleans())
def test_separators_and_case_do_not_matter(case: tuple[str, str, str], sep: str, lower: bool) -> None:
    printed, _, vehicle = case
    variant = sep.join(printed.replace("-", " ").replace(".", " ").split())
    if lower:
        variant = variant.lower()
    assert parse_plate(variant, vehicle=vehicle).text == printed


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 99).map(lambda n: f"{n:02d}").filter(lambda c: c not in PROVINCE_CODES), letters, five)
def test_unknown_province_codes_are_refused(code: str, letter: str, n: str) -> None:
    with pytest.raises(PlateError) as e:
        parse_plate(f"{code}{letter}-{n}")
    assert e.value.code == "plate_unknown_province"


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=14))
def test_any_text_parses_or_raises_plate_error(raw: str) -> None:
    try:
        p = parse_plate(raw)
    except PlateError:
        return
    assert parse_plate(p.text).key == p.key


@settings(max_examples=200, deadline=None)
@given(printed_plates(), printed_plates())
def test_distance_is_a_symmetric_measure(a: tuple[str, str, str], b: tuple[str, str, str]) -> None:
    ka, kb = plate_key(a[0]), plate_key(b[0])
    assert plate_distance(ka, kb) == plate_distance(kb, ka)
    assert (plate_distance(ka, kb) == 0) == (ka == kb)
    assert plate_distance(ka, ka) == 0


def test_lookalikes_are_closer_than_other_substitutions() -> None:
    assert plate_distance("29A12845", "29A12B45") == 0.5
    assert plate_distance("29A12845", "29A12745") == 1.0
    assert plate_distance("29A12345", "29A1234") == 1.0


def test_vote_majority_with_confidence() -> None:
    v = PlateVote()
    for text, c in [("29A-123.45", 0.9), ("29A-123.45", 0.8), ("29A-128.45", 0.6), ("garbage", 0.3)]:
        v.add(text, c)
    r = v.result()
    assert r is not None
    assert r.plate.text == "29A-123.45"
    assert r.support == 2 and r.reads == 4
    assert 0.4 < r.confidence < 0.85
    assert v.result(min_confidence=0.95) is None


def test_character_vote_recovers_a_plate_no_frame_read_right() -> None:
    reads = [PlateRead("29A-123.46", 0.9), PlateRead("29A-183.45", 0.9), PlateRead("20A-123.45", 0.9)]
    r = vote(reads)
    assert r is not None and r.plate.text == "29A-123.45"
    assert r.support == 3


def test_vote_with_no_valid_read_is_none() -> None:
    assert vote([]) is None
    assert vote([PlateRead("xx", 0.9), PlateRead("13A-123.45", 0.9)]) is None


def test_confidence_grows_with_agreement() -> None:
    one = vote([PlateRead("29A-123.45", 0.9), PlateRead("30A-555.55", 0.9)])
    many = vote([PlateRead("29A-123.45", 0.9)] * 4 + [PlateRead("30A-555.55", 0.9)])
    assert one is not None and many is not None
    assert many.confidence > one.confidence

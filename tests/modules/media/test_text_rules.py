"""Vietnamese normalization, diacritic-less matching, watch rules, sentiment and de-duplication: properties
and examples."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toancanh.modules.media import dedup, sentiment
from toancanh.modules.media.rules import RuleError, compile_rule
from toancanh.modules.media.text import fold, normalize, segment, syllables

VIET = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
words = st.text(alphabet=VIET + VIET.upper(), min_size=1, max_size=8)
texts = st.lists(words, min_size=0, max_size=12).map(" ".join)


@given(texts)
@settings(max_examples=200, deadline=None)
def test_normalize_is_idempotent_nfc_and_keeps_the_letters(s: str) -> None:
    n = normalize(s)
    assert normalize(n) == n
    assert unicodedata.is_normalized("NFC", n)
    assert fold(n) == fold(s)  # only the tone's place moves: the letters stay
    assert len(n.split()) == len(s.split())


@given(texts)
@settings(max_examples=200, deadline=None)
def test_both_styles_fold_alike_and_convert_back_and_forth(s: str) -> None:
    old, new = normalize(s, "old"), normalize(s, "new")
    assert fold(old) == fold(new) == fold(s)
    assert normalize(new, "old") == old and normalize(old, "new") == new


@given(texts)
@settings(max_examples=200, deadline=None)
def test_fold_is_plain_ascii_lower_case(s: str) -> None:
    f = fold(s)
    assert f == fold(f)
    assert all(ord(c) < 128 for c in f)
    assert f == f.lower() and "đ" not in f


@given(texts)
@settings(max_examples=100, deadline=None)
def test_a_text_typed_without_diacritics_matches_a_diacritic_insensitive_rule(s: str) -> None:
    words = syllables(s)
    if not words:
        return
    phrase = " ".join(words[: min(3, len(words))])
    rule = compile_rule(f'"{phrase}"')
    assert rule.matches(s)
    assert rule.matches(fold(s))
    assert rule.matches(s.upper())


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("hoà", "hòa"),
        ("Thuỷ", "Thủy"),
        ("khoẻ", "khỏe"),
        ("hòa", "hòa"),
        ("quý", "quý"),
        ("người", "người"),
        ("hoàn", "hoàn"),
        ("giữ", "giữ"),
        ("khuỷu", "khuỷu"),
        ("mùa", "mùa"),
    ],
)
def test_tone_mark_placement(written: str, canonical: str) -> None:
    assert normalize(written) == canonical
    decomposed = unicodedata.normalize("NFD", written)
    assert normalize(decomposed) == canonical  # NFD input (macOS, some phones) too


def test_fold_examples() -> None:
    assert fold("Ủy ban nhân dân xã Đại Thanh") == "uy ban nhan dan xa dai thanh"
    assert syllables("UBND xã Đại-Thanh!", folded=True) == ["ubnd", "xa", "dai", "thanh"]


def test_segmentation_ships_its_model() -> None:
    words = segment("Ủy ban nhân dân xã Đại Thanh họp về tình trạng ngập úng")
    assert "ủy_ban" in words and "nhân_dân" in words and "ngập_úng" in words


@pytest.mark.parametrize(
    ("expr", "text", "expected"),
    [
        ('"ngập" AND "Đại Thanh"', "Ngập sâu ở xã Đại Thanh", True),
        ('"ngập" AND "Đại Thanh"', "ngap sau o xa dai thanh", True),
        ('"ngập" AND "Đại Thanh"', "Ngập sâu ở Hoàn Kiếm", False),
        ("ngập OR cháy", "Cháy nhà dân", True),
        ('ngập AND NOT "diễn tập"', "Diễn tập chống ngập", False),
        ('ngập -"diễn tập"', "Ngập thật rồi", True),
        ('(ngập OR lụt) AND ("Đại Thanh" OR "Tả Thanh Oai")', "Lụt ở Tả Thanh Oai", True),
        ("ngập đại thanh", "Đại Thanh bị ngập", True),  # adjacent words: AND, any order
        ('"thanh đại"', "Đại Thanh bị ngập", False),  # a phrase keeps its order
        ("sạt*", "sạt lở đất", True),
        ("hoà", "Hòa Bình", True),  # tone placement never decides a match
    ],
)
def test_watch_rules(expr: str, text: str, expected: bool) -> None:
    assert compile_rule(expr).matches(text) is expected


def test_diacritic_sensitive_rules() -> None:
    exact = compile_rule("ngập", diacritic_insensitive=False)
    assert (
        exact.matches("trời ngập nước") and not exact.matches("troi ngap nuoc") and not exact.matches("ngáp")
    )
    assert compile_rule("ngập").matches("ngáp")  # the documented price of diacritic-less matching


@pytest.mark.parametrize(
    ("expr", "position", "en"),
    [
        ("", 1, "empty"),
        ("ngập AND", 9, "missing at the end"),
        ("(ngập OR cháy", 1, "Missing ')'"),
        ("ngập)", 5, "Unmatched ')'"),
        ('"ngập', 1, "Unterminated"),
        ("NOT ngập", 1, "not negated"),
        ("AND ngập", 1, "missing before AND"),
        ("ngập OR OR cháy", 9, "missing before OR"),
        ("s*", 1, "at least 2 letters"),
        ('""', 1, "Empty quoted phrase"),
        ("x" * 2001, 1, "longer than"),
    ],
)
def test_rule_errors_name_the_position(expr: str, position: int, en: str) -> None:
    with pytest.raises(RuleError) as info:
        compile_rule(expr)
    assert info.value.details["position"] == position
    assert en in info.value.message_en and "vị trí" in info.value.message


def test_sentiment_lexicon_with_negation() -> None:
    assert sentiment.score("Dịch vụ công rất tốt, người dân hài lòng").label == "positive"
    assert sentiment.score("Dịch vụ công không tốt").label == "negative"
    assert sentiment.score("Đường ngập úng, người dân bức xúc").label == "negative"
    assert sentiment.score("Đường không còn ngập nữa, sạch sẽ").label == "positive"
    neutral = sentiment.score("Hội nghị triển khai kế hoạch năm 2027")
    assert neutral.label == "neutral" and 0 < neutral.confidence <= 1
    strong, weak = sentiment.score("rất tệ, rất bẩn, ô nhiễm"), sentiment.score("hơi chậm")
    assert strong.confidence > weak.confidence


BASE = (
    "Mưa lớn kéo dài từ đêm qua khiến nhiều tuyến đường tại xã Đại Thanh ngập sâu, người dân phải lội nước đi "
    "làm. Theo Ủy ban nhân dân xã, lượng mưa đo được hơn 200 mm, các trạm bơm đã được vận hành hết công suất. "
    "Lực lượng chức năng đã cắm biển cảnh báo tại các điểm ngập sâu và hướng dẫn phương tiện đi đường khác."
)


def test_same_story_detection() -> None:
    a = BASE + " Dự báo mưa còn kéo dài đến hết tuần."
    b = "Theo phóng viên báo Thủ Đô: " + BASE + " Chúng tôi sẽ tiếp tục cập nhật."
    c = (
        "Hội nghị tổng kết công tác năm của Ủy ban nhân dân phường Hoàn Kiếm diễn ra sáng nay tại hội trường "
        "lớn, với sự tham dự của lãnh đạo thành phố và các sở ngành, bàn về chuyển đổi số."
    )
    sa, sb, sc = dedup.minhash(a), dedup.minhash(b), dedup.minhash(c)
    assert sa is not None and sb is not None and sc is not None
    assert dedup.similarity(sa, sb) >= dedup.MIN_SIMILARITY > dedup.similarity(sa, sc)
    assert set(dedup.bands(sa)) & set(dedup.bands(sb))  # the index finds it
    assert dedup.title_key("Ngập sâu ở Đại Thanh - Báo Hà Nội Mới") == dedup.title_key(
        "NGẬP SÂU Ở ĐẠI THANH!"
    )
    assert dedup.minhash("quá ngắn") is None

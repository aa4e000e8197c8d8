"""The q language: the grammar of ETSI GS CIM 009 4.9, evaluated against entities (with hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.modules.ngsild.conftest import BASE, problem, prop, waste
from toancanh.modules.ngsild import qlang
from toancanh.modules.ngsild.context import DEFAULT
from toancanh.modules.ngsild.errors import NgsiError
from toancanh.modules.ngsild.representation import expand_attributes


def _attrs(**fragment: Any) -> dict[str, Any]:
    return expand_attributes(fragment, DEFAULT)


ENTITY = _attrs(
    speed=prop(42, observedAt="2026-12-01T10:00:00Z", unitCode="KMH"),
    name=prop("Đường Láng"),
    status=prop("open"),
    tags=prop(["a", "b"]),
    address=prop({"street": "Láng", "city": {"code": "01"}}),
    seen=prop("2026-12-01T10:00:00Z"),
    ok=prop(True),
    road=prop(1, quality=prop(0.8)),
    refStreet={"type": "Relationship", "object": "urn:ngsi-ld:Street:7"},
)


def m(q: str) -> bool:
    return qlang.matches(qlang.parse(q), ENTITY, DEFAULT.expand)


@pytest.mark.parametrize(
    ("q", "want"),
    [
        ("speed", True),
        ("missing", False),
        ("speed==42", True),
        ("speed==42.0", True),
        ("speed!=42", False),
        ("speed>41", True),
        ("speed>42", False),
        ("speed>=42", True),
        ("speed<43", True),
        ("speed<=41", False),
        ("speed==40..45", True),
        ("speed==43..45", False),
        ("speed!=43..45", True),
        ("speed==1,2,42", True),
        ("speed==1,2", False),
        ("speed!=1,2", True),
        ('name=="Đường Láng"', True),
        ("status==open", True),
        ('status=="closed"', False),
        ("name~=^Đường", True),
        ("name~=(?i)LÁNG", True),
        ("name!~=Láng", False),
        ("tags==b", True),
        ("tags==c", False),
        ("address[street]==Láng", True),
        ('address[city][code]=="01"', True),
        ("address.street==Láng", True),
        ("seen>2026-11-30T00:00:00Z", True),
        ("seen<2026-11-30T00:00:00Z", False),
        ("speed.observedAt>=2026-12-01T09:00:00Z", True),
        ("speed.unitCode==KMH", True),
        ("road.quality>0.5", True),
        ("road.quality>0.9", False),
        ("ok==true", True),
        ("ok==false", False),
        ("refStreet==urn:ngsi-ld:Street:7", True),
        ("speed>40;status==open", True),
        ("speed>50;status==open", False),
        ("speed>50|status==open", True),
        ("speed>50|status==closed", False),
        ("(speed>50|status==open);name~=Láng", True),
        ("speed>50|(status==open;name~=Xuân)", False),
        ("speed>50;status==open|ok==true", True),  # AND binds tighter: (a;b)|c
        ("speed>40;(status==closed|ok==true)", True),
        ("name>5", False),  # a string never compares with a number
        ("https://uri.etsi.org/ngsi-ld/default-context/speed==42", True),
    ],
)
def test_query_terms(q: str, want: bool) -> None:
    assert m(q) is want


@pytest.mark.parametrize(
    "q", ["", "speed==", "(speed==1", "speed==1)", 'speed=="x', "name~=(", "a[b", ";", "speed>1,2"]
)
def test_syntax_errors_are_bad_request_data(q: str) -> None:
    with pytest.raises(NgsiError) as exc:
        qlang.parse(q)
    assert exc.value.kind == "BadRequestData" and exc.value.status == 400


numbers = st.integers(min_value=-10_000, max_value=10_000)


@settings(max_examples=200, deadline=None)
@given(value=numbers, bound=numbers, low=numbers, span=st.integers(0, 500))
def test_comparisons_agree_with_python(value: int, bound: int, low: int, span: int) -> None:
    attrs = _attrs(x=prop(value))
    for op, fn in (
        ("==", value == bound),
        ("!=", value != bound),
        (">", value > bound),
        (">=", value >= bound),
        ("<", value < bound),
        ("<=", value <= bound),
    ):
        assert qlang.matches(qlang.parse(f"x{op}{bound}"), attrs, DEFAULT.expand) is fn
    assert qlang.matches(qlang.parse(f"x=={low}..{low + span}"), attrs, DEFAULT.expand) is (
        low <= value <= low + span
    )


@settings(max_examples=100, deadline=None)
@given(
    flags=st.lists(st.booleans(), min_size=1, max_size=6),
    ops=st.lists(st.sampled_from([";", "|"]), min_size=5, max_size=5),
)
def test_logic_follows_precedence(flags: list[bool], ops: list[str]) -> None:
    attrs = _attrs(t=prop(1))
    terms = ["t==1" if f else "t==2" for f in flags]
    q = terms[0]
    py = "True" if flags[0] else "False"
    for op, term, f in zip(ops, terms[1:], flags[1:], strict=False):
        q += op + term
        py += (" and " if op == ";" else " or ") + ("True" if f else "False")
    assert qlang.matches(qlang.parse(q), attrs, DEFAULT.expand) is eval(py)  # noqa: S307


@settings(max_examples=100, deadline=None)
@given(
    text=st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='"\\'), max_size=20
    )
)
def test_quoted_strings_round_trip(text: str) -> None:
    attrs = _attrs(s=prop(text if text else "-"))
    value = text if text else "-"
    assert qlang.matches(qlang.parse(f's=="{value}"'), attrs, DEFAULT.expand)


def test_q_over_http(client: Any, world: Any) -> None:
    h = world.auth("op_a")
    for n in range(5):
        client.post(BASE + "/entities", json=waste(n, fill=n / 4), headers=h)
    r = client.get(
        BASE + "/entities",
        params={"type": "WasteContainer", "q": "fillingLevel>=0.5", "count": "true"},
        headers=h,
    )
    assert sorted(e["id"][-2:] for e in r.json()) == ["w2", "w3", "w4"]
    assert r.headers["NGSILD-Results-Count"] == "3"
    r = client.get(BASE + "/entities", params={"q": "fillingLevel==0.25|fillingLevel==1.0"}, headers=h)
    assert sorted(e["id"][-2:] for e in r.json()) == ["w1", "w4"]
    r = client.get(
        BASE + "/entities",
        params={"q": "fillingLevel.observedAt>2026-01-01T00:00:00Z", "limit": 2},
        headers=h,
    )
    assert len(r.json()) == 2
    problem(client.get(BASE + "/entities", params={"q": "fillingLevel=="}, headers=h), "BadRequestData", 400)

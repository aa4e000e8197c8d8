"""The NGSI-LD query language (`q`), parsed into a small tree and evaluated against stored entities.

Grammar (ETSI GS CIM 009, 4.9): terms joined by `;` (AND) and `|` (OR), AND binding tighter, parentheses
for grouping. A term is an attribute path alone (the attribute exists) or a path, an operator and a value:
`==` `!=` `>` `>=` `<` `<=` `~=` (regular expression) `!~=`. With `==` and `!=` the value may be a list
(`a,b,c`: any of them) or a range (`min..max`, inclusive). Values are numbers, "quoted strings", true/false,
dates and date-times, or unquoted URIs. Paths are `attr`, `attr.subAttr` (a sub-property, or observedAt,
unitCode ...) and `attr[key][key]` (into a JSON value). An entity whose attribute has several instances
(datasetId) matches when any instance does; an array value matches when any element does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from toancanh.modules.ngsild.errors import bad_data

OPERATORS = ("!~=", "==", "!=", ">=", "<=", "~=", ">", "<")
META = ("observedAt", "createdAt", "modifiedAt", "unitCode", "datasetId")
_NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_STOP = set(";|()")
_MISSING = object()


@dataclass(frozen=True)
class Term:
    path: tuple[str, ...]  # attribute name, then sub-attribute names (dotted)
    keys: tuple[str, ...]  # [key] parts into the value
    op: str | None = None
    values: tuple[Any, ...] = ()  # one value, or a list
    low: Any = None  # a range
    high: Any = None
    pattern: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Logic:
    op: str  # "and" | "or"
    parts: tuple[Node, ...]


Node = Term | Logic


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def fail(self, why: str) -> Exception:
        return bad_data(f"invalid q at position {self.i}: {why}")

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def parse(self) -> Node:
        if not self.s.strip():
            raise self.fail("empty query")
        node = self.expr()
        if self.i != len(self.s):
            raise self.fail(f"unexpected {self.peek()!r}")
        return node

    def expr(self) -> Node:
        parts = [self.conj()]
        while self.peek() == "|":
            self.i += 1
            parts.append(self.conj())
        return parts[0] if len(parts) == 1 else Logic("or", tuple(parts))

    def conj(self) -> Node:
        parts = [self.factor()]
        while self.peek() == ";":
            self.i += 1
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else Logic("and", tuple(parts))

    def factor(self) -> Node:
        if self.peek() == "(":
            self.i += 1
            node = self.expr()
            if self.peek() != ")":
                raise self.fail("missing ')'")
            self.i += 1
            return node
        return self.term()

    def term(self) -> Term:
        start = self.i
        while self.i < len(self.s) and self.s[self.i] not in _STOP and not self._at_operator():
            self.i += 1
        attr = self.s[start : self.i].strip()
        if not attr:
            raise self.fail("attribute name expected")
        path, keys = _split_path(attr, self.fail)
        op = self._operator()
        if op is None:
            return Term(path, keys)
        raw = self._value_text(op)
        if raw == "":
            raise self.fail(f"value expected after {op}")
        if op in ("~=", "!~="):
            pattern = _unquote(raw) if raw.startswith('"') else raw
            try:
                return Term(path, keys, op, pattern=re.compile(pattern))
            except re.error as exc:
                raise self.fail(f"bad regular expression: {exc}") from None
        if op in ("==", "!=") and not raw.startswith('"') and ".." in raw:
            low, _, high = raw.partition("..")
            return Term(path, keys, op, low=_literal(low, self.fail), high=_literal(high, self.fail))
        items = _split_list(raw) if op in ("==", "!=") else [raw]
        if op not in ("==", "!=") and len(_split_list(raw)) > 1 and not raw.startswith('"'):
            raise self.fail(f"a list needs == or !=, not {op}")
        return Term(path, keys, op, values=tuple(_literal(v, self.fail) for v in items))

    def _at_operator(self) -> bool:
        return any(self.s.startswith(op, self.i) for op in OPERATORS)

    def _operator(self) -> str | None:
        for op in OPERATORS:
            if self.s.startswith(op, self.i):
                self.i += len(op)
                return op
        return None

    def _value_text(self, op: str) -> str:
        start = self.i
        depth = 0
        quoted = False
        while self.i < len(self.s):
            c = self.s[self.i]
            if quoted:
                if c == "\\":
                    self.i += 1
                elif c == '"':
                    quoted = False
            elif c == '"':
                quoted = True
            elif c == "(" and op in ("~=", "!~="):
                depth += 1
            elif c == ")" and depth:
                depth -= 1
            elif c in _STOP and depth == 0:
                break
            self.i += 1
        if quoted:
            raise self.fail("unterminated string")
        return self.s[start : self.i]


def _split_path(attr: str, fail: Callable[[str], Exception]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    m = re.match(r"^([^\[\]]+)((\[[^\[\]]+\])*)$", attr)
    if not m:
        raise fail(f"bad attribute path {attr!r}")
    head, brackets = m.group(1), m.group(2)
    keys = tuple(re.findall(r"\[([^\[\]]+)\]", brackets))
    # a full IRI keeps its dots: only split when the name is not an absolute IRI
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", head):
        path: tuple[str, ...] = (head,)
    else:
        path = tuple(head.split("."))
    if any(not p for p in path):
        raise fail(f"bad attribute path {attr!r}")
    return path, keys


def _split_list(raw: str) -> list[str]:
    out, cur, quoted, i = [], "", False, 0
    while i < len(raw):
        c = raw[i]
        if quoted and c == "\\" and i + 1 < len(raw):
            cur += c + raw[i + 1]
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        if c == "," and not quoted:
            out.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    out.append(cur)
    return out


def _unquote(raw: str) -> str:
    body = raw[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _literal(raw: str, fail: Callable[[str], Exception]) -> Any:
    raw = raw.strip()
    if not raw:
        raise fail("empty value")
    if raw.startswith('"'):
        if len(raw) < 2 or not raw.endswith('"'):
            raise fail("unterminated string")
        return _unquote(raw)
    if raw == "true":
        return True
    if raw == "false":
        return False
    if _NUMBER.match(raw):
        return float(raw) if any(c in raw for c in ".eE") else int(raw)
    return raw  # a URI, a date or a date-time


def parse(text: str) -> Node:
    """Parse a q expression; raises BadRequestData on a syntax error."""
    return _Parser(text).parse()


def attribute_names(node: Node) -> set[str]:
    """The (unexpanded) attribute names a query refers to."""
    if isinstance(node, Term):
        return {node.path[0]}
    out: set[str] = set()
    for p in node.parts:
        out |= attribute_names(p)
    return out


# ------------------------------------------------------------------------------------------------ evaluate


def matches(node: Node, attrs: dict[str, Any], expand: Callable[[str], str]) -> bool:
    """Does an entity (its attributes, names expanded) satisfy the query?"""
    if isinstance(node, Logic):
        if node.op == "and":
            return all(matches(p, attrs, expand) for p in node.parts)
        return any(matches(p, attrs, expand) for p in node.parts)
    targets = list(_targets(node, attrs, expand))
    if node.op is None:
        return bool(targets)
    if node.op in ("!=", "!~="):
        # "not equal" holds when the attribute exists and no value equals
        positive = Term(
            node.path,
            node.keys,
            node.op[1:] if node.op == "!~=" else "==",
            node.values,
            node.low,
            node.high,
            node.pattern,
        )
        return bool(targets) and not any(_test(positive, t) for t in targets)
    return any(_test(node, t) for t in targets)


def _instances(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return [value] if isinstance(value, dict) else []


def _payload(instance: dict[str, Any]) -> Any:
    kind = instance.get("type")
    if kind == "Relationship":
        return instance.get("object", _MISSING)
    if kind == "LanguageProperty":
        lm = instance.get("languageMap")
        return list(lm.values()) if isinstance(lm, dict) else _MISSING
    return instance.get("value", _MISSING)


def _targets(term: Term, attrs: dict[str, Any], expand: Callable[[str], str]) -> Iterator[Any]:
    current = _instances(attrs.get(expand(term.path[0])))
    values: list[Any] = []
    rest = term.path[1:]
    for depth, name in enumerate(rest):
        nxt: list[dict[str, Any]] = []
        for inst in current:
            sub = inst.get(expand(name))
            if sub is not None:
                nxt += _instances(sub)
            elif name in META and depth == len(rest) - 1 and name in inst:
                values.append(inst[name])
            else:
                v = _payload(inst)
                if isinstance(v, dict) and name in v:
                    values.append(_dig(v[name], rest[depth + 1 :]))
        current = nxt
    values += [_payload(i) for i in current]
    for v in values:
        for key in term.keys:
            v = v.get(key, _MISSING) if isinstance(v, dict) else _MISSING
        if v is _MISSING:
            continue
        if isinstance(v, list):
            yield from v
        else:
            yield v


def _dig(value: Any, names: tuple[str, ...]) -> Any:
    for n in names:
        value = value.get(n, _MISSING) if isinstance(value, dict) else _MISSING
    return value


def _comparable(a: Any, b: Any) -> tuple[Any, Any] | None:
    if isinstance(a, bool) or isinstance(b, bool):
        return (a, b) if isinstance(a, bool) and isinstance(b, bool) else None
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a, b
    if isinstance(a, str) and isinstance(b, str):
        ta, tb = _time(a), _time(b)
        if ta is not None and tb is not None:
            return ta, tb
        return a, b
    return None


def _time(text: str) -> datetime | None:
    if len(text) < 10 or not text[:4].isdigit() or text[4] != "-":
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _test(term: Term, target: Any) -> bool:
    if term.pattern is not None:
        return isinstance(target, str) and term.pattern.search(target) is not None
    if term.low is not None or term.high is not None:
        lo, hi = _comparable(target, term.low), _comparable(target, term.high)
        return lo is not None and hi is not None and lo[1] <= lo[0] and hi[0] <= hi[1]
    for value in term.values:
        pair = _comparable(target, value)
        if pair is None:
            continue
        a, b = pair
        op = term.op
        try:
            if (
                (op == "==" and a == b)
                or (op == ">" and a > b)
                or (op == "<" and a < b)
                or (op == ">=" and a >= b)
                or (op == "<=" and a <= b)
            ):
                return True
        except TypeError:
            continue
    return False

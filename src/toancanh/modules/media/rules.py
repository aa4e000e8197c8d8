"""Watch rules (quy tắc theo dõi): boolean keyword expressions written by operators.

    "ngập" AND ("Đại Thanh" OR "Tả Thanh Oai") AND NOT "diễn tập"
    ngap lut dai thanh                       (adjacent terms: AND)
    sạt* OR "cháy nổ"                        (trailing *: any syllable starting so)

Terms are syllables or "quoted phrases" (syllables in a row); AND, OR, NOT (also &&, ||, -), parentheses.
A rule is diacritic-insensitive unless it asks otherwise: "ngap" then matches "ngập" (and "ngáp" too —
that is the price of matching what people type). Every error names its position and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from toancanh.core.errors import BadRequest
from toancanh.modules.media.text import fold, syllables

MAX_RULE_CHARS = 2000
MAX_TERMS = 100
_TOKEN = re.compile(r'\s*(?:(\()|(\))|"([^"]*)("?)|(&&|\|\||-(?=[\w"(]))|([^\s()"]+))', re.UNICODE)


class RuleError(BadRequest):
    code = "invalid_rule"

    def __init__(self, vi: str, en: str, position: int) -> None:
        super().__init__(f"{vi} (vị trí {position + 1})", f"{en} (at position {position + 1})")
        self.position = position
        self.details = {"position": position + 1}


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]
    prefix: bool = False  # the last word is a prefix (written with a trailing *)


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Not | And | Or


@dataclass(frozen=True)
class _Tok:
    kind: str  # ( ) term and or not
    value: tuple[str, ...] = ()
    prefix: bool = False
    pos: int = 0


def _lex(text: str, folded: bool) -> list[_Tok]:
    out: list[_Tok] = []
    i = 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None or m.end() == i:
            if text[i:].strip() == "":
                break
            raise RuleError("Ký tự không hợp lệ", "Unexpected character", i)
        pos = m.start() + (len(m.group(0)) - len(m.group(0).lstrip()))
        lparen, rparen, phrase, closed, symbol, word = m.groups()
        i = m.end()
        if lparen:
            out.append(_Tok("(", pos=pos))
        elif rparen:
            out.append(_Tok(")", pos=pos))
        elif phrase is not None:
            if not closed:
                raise RuleError("Thiếu dấu ngoặc kép đóng", "Unterminated quoted phrase", pos)
            words = tuple(syllables(phrase, folded=folded))
            if not words:
                raise RuleError("Cụm từ trong ngoặc kép rỗng", "Empty quoted phrase", pos)
            out.append(_Tok("term", words, pos=pos))
        elif symbol:
            out.append(_Tok({"&&": "and", "||": "or", "-": "not"}[symbol], pos=pos))
        elif word is not None:
            upper = word.upper()
            if upper in ("AND", "OR", "NOT"):
                out.append(_Tok(upper.lower(), pos=pos))
                continue
            prefix = word.endswith("*")
            core = word.rstrip("*")
            words = tuple(syllables(core, folded=folded))
            if "*" in core or not words:
                raise RuleError("Từ khóa không hợp lệ", f"Invalid keyword {word!r}", pos)
            if prefix and len(words[-1]) < 2:
                raise RuleError("Tiền tố cần ít nhất 2 ký tự", "A prefix needs at least 2 letters", pos)
            out.append(_Tok("term", words, prefix, pos))
    return out


class _Parser:
    def __init__(self, toks: list[_Tok], length: int) -> None:
        self.toks = toks
        self.i = 0
        self.end = length
        self.terms = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def here(self) -> int:
        tok = self.peek()
        return tok.pos if tok else self.end

    def parse(self) -> Node:
        if not self.toks:
            raise RuleError("Quy tắc rỗng", "The rule is empty", 0)
        node = self.or_()
        tok = self.peek()
        if tok is not None:
            if tok.kind == ")":
                raise RuleError("Thừa dấu ngoặc đóng", "Unmatched ')'", tok.pos)
            raise RuleError("Cú pháp không hợp lệ", "Unexpected token", tok.pos)
        return node

    def or_(self) -> Node:
        parts = [self.and_()]
        while (tok := self.peek()) is not None and tok.kind == "or":
            self.i += 1
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_(self) -> Node:
        parts = [self.unary()]
        while (tok := self.peek()) is not None and tok.kind in ("and", "not", "term", "("):
            if tok.kind == "and":
                self.i += 1
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise RuleError("Thiếu từ khóa ở cuối quy tắc", "A keyword is missing at the end", self.end)
        if tok.kind == "not":
            self.i += 1
            return Not(self.unary())
        if tok.kind == "(":
            self.i += 1
            node = self.or_()
            close = self.peek()
            if close is None or close.kind != ")":
                raise RuleError("Thiếu dấu ngoặc đóng", "Missing ')'", tok.pos)
            self.i += 1
            return node
        if tok.kind == "term":
            self.i += 1
            self.terms += 1
            if self.terms > MAX_TERMS:
                raise RuleError(
                    f"Quá nhiều từ khóa (tối đa {MAX_TERMS})",
                    f"Too many keywords (at most {MAX_TERMS})",
                    tok.pos,
                )
            return Term(tok.value, tok.prefix)
        word = {"and": "AND", "or": "OR", ")": ")"}[tok.kind]
        raise RuleError(f"Thiếu từ khóa trước {word}", f"A keyword is missing before {word}", tok.pos)


@dataclass(frozen=True)
class WatchRule:
    """A compiled rule: `matches(text)` on a text, or `matches_syllables()` on syllables made once."""

    expression: str
    root: Node
    folded: bool

    def matches(self, text: str) -> bool:
        return self.matches_syllables(Syllables(text))

    def matches_syllables(self, s: Syllables) -> bool:
        return _eval(self.root, s.folded if self.folded else s.exact, s)

    def terms(self) -> list[Term]:
        out: list[Term] = []
        _collect(self.root, out)
        return out


class Syllables:
    """A text's syllables, both exact and folded, with a set of each for quick single-word tests."""

    __slots__ = ("exact", "folded", "_sets")

    def __init__(self, text: str) -> None:
        self.exact = syllables(text)
        self.folded = [fold(w) for w in self.exact]
        self._sets: dict[int, frozenset[str]] = {}

    def as_set(self, words: Sequence[str]) -> frozenset[str]:
        key = id(words)
        found = self._sets.get(key)
        if found is None:
            found = self._sets[key] = frozenset(words)
        return found


def _collect(node: Node, out: list[Term]) -> None:
    if isinstance(node, Term):
        out.append(node)
    elif isinstance(node, Not):
        _collect(node.child, out)
    else:
        for c in node.children:
            _collect(c, out)


def _has(term: Term, words: list[str], s: Syllables) -> bool:
    w = term.words
    n = len(w)
    if n == 1 and not term.prefix:
        return w[0] in s.as_set(words)
    last = n - 1
    for i in range(len(words) - n + 1):
        for j in range(n):
            got = words[i + j]
            if not (got.startswith(w[j]) if (j == last and term.prefix) else got == w[j]):
                break
        else:
            return True
    return False


def _eval(node: Node, words: list[str], s: Syllables) -> bool:
    if isinstance(node, Term):
        return _has(node, words, s)
    if isinstance(node, Not):
        return not _eval(node.child, words, s)
    if isinstance(node, And):
        return all(_eval(c, words, s) for c in node.children)
    return any(_eval(c, words, s) for c in node.children)


def compile_rule(expression: str, *, diacritic_insensitive: bool = True) -> WatchRule:
    """Parse a rule; a `RuleError` (400, with the position) says what is wrong."""
    if not isinstance(expression, str):
        raise RuleError("Quy tắc phải là chuỗi ký tự", "A rule must be a string", 0)
    if len(expression) > MAX_RULE_CHARS:
        raise RuleError(
            f"Quy tắc dài quá {MAX_RULE_CHARS} ký tự", f"The rule is longer than {MAX_RULE_CHARS}", 0
        )
    toks = _lex(expression, diacritic_insensitive)
    root = _Parser(toks, len(expression)).parse()
    if _only_negative(root):
        raise RuleError(
            "Quy tắc phải có ít nhất một từ khóa không bị phủ định (NOT)",
            "A rule needs at least one keyword that is not negated (NOT)",
            0,
        )
    return WatchRule(expression, root, diacritic_insensitive)


def _only_negative(node: Node) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, Term):
        return False
    if isinstance(node, And):
        return all(_only_negative(c) for c in node.children)
    return any(_only_negative(c) for c in node.children)

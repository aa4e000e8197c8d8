"""Indicator formulas: arithmetic over data element codes, parsed by a small recursive-descent parser.

    DOSSIER_ONTIME / DOSSIER_FINISHED * 100
    (BUDGET_REVENUE - BUDGET_REVENUE_LAST) / BUDGET_REVENUE_LAST * 100

Only numbers, codes, + - * / and parentheses; never `eval`. A formula is parsed once into a tree; evaluating
it with a value missing, or a division by zero, gives None (no value), not an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from toancanh.core.errors import BadRequest

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Z][A-Z0-9_]{0,63})|([-+*/()]))")
MAX_LENGTH = 500
MAX_DEPTH = 40


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Ref:
    code: str


@dataclass(frozen=True)
class Neg:
    operand: Node


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Node
    right: Node


Node = Num | Ref | Neg | BinOp


def _error(expr: str, why_vi: str, why_en: str) -> BadRequest:
    return BadRequest(
        f"Công thức không hợp lệ '{expr[:80]}': {why_vi}",
        f"Invalid formula '{expr[:80]}': {why_en}",
        code="bad_formula",
    )


def tokenize(expr: str) -> list[str]:
    if len(expr) > MAX_LENGTH:
        raise _error(expr, "quá dài", "too long")
    tokens, pos = [], 0
    while pos < len(expr):
        if expr[pos:].strip() == "":
            break
        m = _TOKEN.match(expr, pos)
        if m is None:
            raise _error(expr, f"ký tự không hợp lệ ở vị trí {pos + 1}", f"unexpected character at {pos + 1}")
        tokens.append(m.group(1) or m.group(2) or m.group(3))
        pos = m.end()
    if not tokens:
        raise _error(expr, "rỗng", "empty")
    return tokens


class _Parser:
    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.tokens = tokenize(expr)
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise _error(self.expr, "kết thúc bất ngờ", "unexpected end")
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.sum(0)
        if self.peek() is not None:
            raise _error(self.expr, f"thừa '{self.peek()}'", f"unexpected '{self.peek()}'")
        return node

    def sum(self, depth: int) -> Node:
        node = self.product(depth)
        while self.peek() in ("+", "-"):
            op = self.take()
            node = BinOp(op, node, self.product(depth))
        return node

    def product(self, depth: int) -> Node:
        node = self.unary(depth)
        while self.peek() in ("*", "/"):
            op = self.take()
            node = BinOp(op, node, self.unary(depth))
        return node

    def unary(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise _error(self.expr, "lồng quá sâu", "nested too deeply")
        tok = self.take()
        if tok == "-":
            return Neg(self.unary(depth + 1))
        if tok == "+":
            return self.unary(depth + 1)
        if tok == "(":
            node = self.sum(depth + 1)
            if self.take() != ")":
                raise _error(self.expr, "thiếu ')'", "missing ')'")
            return node
        if tok[0].isdigit():
            return Num(float(tok))
        if tok[0].isalpha():
            return Ref(tok)
        raise _error(self.expr, f"không mong đợi '{tok}'", f"unexpected '{tok}'")


def parse(expr: str) -> Node:
    """The tree of a formula; BadRequest (bad_formula) when it is not one."""
    return _Parser(expr).parse()


def codes(node: Node) -> set[str]:
    """The data element codes a formula refers to."""
    if isinstance(node, Ref):
        return {node.code}
    if isinstance(node, Neg):
        return codes(node.operand)
    if isinstance(node, BinOp):
        return codes(node.left) | codes(node.right)
    return set()


def evaluate(node: Node, values: Mapping[str, float | None]) -> float | None:
    """The formula's value, or None when a value is missing or a divisor is zero."""
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Ref):
        return values.get(node.code)
    if isinstance(node, Neg):
        v = evaluate(node.operand, values)
        return None if v is None else -v
    left = evaluate(node.left, values)
    right = evaluate(node.right, values)
    if left is None or right is None:
        return None
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    if right == 0:
        return None
    return left / right


def ratio(numerator: Node, denominator: Node | None, values: Mapping[str, float | None]) -> float | None:
    """numerator / denominator (or the numerator alone), None for a missing value or a zero divisor."""
    num = evaluate(numerator, values)
    if denominator is None or num is None:
        return num
    den = evaluate(denominator, values)
    if den is None or den == 0:
        return None
    return num / den

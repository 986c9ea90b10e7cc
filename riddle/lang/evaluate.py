"""The meaning of an expression: integer arithmetic over the unknowns' labels.

`evaluate` works on numpy integer arrays that broadcast against each other, so one call
enumerates a relation over all label combinations (how logic tensors are built). `%` follows
Python's rule (the result has the sign of the divisor); `x % 0` is undefined, and a relation is
false wherever one of its sides is undefined.
"""
from __future__ import annotations

import numpy as np

from . import ast

INT_LIMIT = 2 ** 62               # beyond this int64 arithmetic could wrap: wider expressions compute in Python ints
WIDE_DIGITS = 18                  # a numeral this long, or a literal this large, makes an expression wide


def wide(expr: ast.Expr) -> bool:
    """Could the expression leave int64? Then it is evaluated exactly in Python integers (object arrays):
    long numerals (`num(…)` of any length) and large literals are allowed in linear relations."""
    if isinstance(expr, ast.Literal):
        return len(expr.number.text) >= WIDE_DIGITS
    if isinstance(expr, ast.Numeral):
        return len(expr.digits) >= WIDE_DIGITS
    if isinstance(expr, ast.BinOp):
        return wide(expr.left) or wide(expr.right)
    if isinstance(expr, ast.Negate):
        return wide(expr.operand)
    return False


def evaluate(expr: ast.Expr, env: dict) -> tuple[np.ndarray, np.ndarray]:
    """Return (values, defined): int64 arrays broadcast over the arrays in `env` (name → labels) —
    object arrays of Python integers where the expression is `wide`."""
    if wide(expr):
        env = {k: np.asarray(v).astype(object) for k, v in env.items()}
        return _evaluate(expr, env, big=True)
    return _evaluate(expr, env, big=False)


def _evaluate(expr: ast.Expr, env: dict, big: bool) -> tuple[np.ndarray, np.ndarray]:
    dtype = object if big else np.int64
    if isinstance(expr, ast.Literal):
        return (int(expr.number.text) if big else np.int64(int(expr.number.text))), np.bool_(True)
    if isinstance(expr, ast.Variable):
        return np.asarray(env[expr.name.text], dtype=dtype), np.bool_(True)
    if isinstance(expr, ast.Placeholder):                       # a template's number: the row's value
        return np.asarray(env[expr.text], dtype=dtype), np.bool_(True)
    if isinstance(expr, ast.Numeral):
        value = 0 if big else np.int64(0)
        for d in expr.digits:
            value = value * 10 + np.asarray(env[d.text], dtype=dtype)
        return value, np.bool_(True)
    if isinstance(expr, ast.Negate):
        v, ok = _evaluate(expr.operand, env, big)
        return -v, ok
    if isinstance(expr, ast.BinOp):
        a, ok_a = _evaluate(expr.left, env, big)
        b, ok_b = _evaluate(expr.right, env, big)
        ok = ok_a & ok_b
        if expr.op == "+":
            return a + b, ok
        if expr.op == "-":
            return a - b, ok
        if expr.op == "*":
            return a * b, ok
        if expr.op == "%":
            zero = b == 0
            return np.mod(a, np.where(zero, 1, b)), ok & ~zero
    raise TypeError(f"not an expression: {expr!r}")


def compare(op: str, left, right):
    return {"=": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
            ">": np.greater, ">=": np.greater_equal}[op](left, right)


def holds(relation_left: ast.Expr, op: str, relation_right: ast.Expr, env: dict) -> np.ndarray:
    """Where the relation is true, broadcast over `env`'s arrays."""
    if wide(relation_left) or wide(relation_right):        # both sides in Python integers
        big = {k: np.asarray(v).astype(object) for k, v in env.items()}
        (a, ok_a), (b, ok_b) = _evaluate(relation_left, big, True), _evaluate(relation_right, big, True)
        return np.asarray(compare(op, a, b), dtype=bool) & ok_a & ok_b
    a, ok_a = evaluate(relation_left, env)
    b, ok_b = evaluate(relation_right, env)
    return compare(op, a, b) & ok_a & ok_b


def bounds(expr: ast.Expr, ranges: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """Interval of the values an expression can take (Python ints: exact, never wrap)."""
    if isinstance(expr, ast.Literal):
        v = int(expr.number.text)
        return v, v
    if isinstance(expr, ast.Variable):
        return ranges[expr.name.text]
    if isinstance(expr, ast.Placeholder):
        return ranges[expr.text]
    if isinstance(expr, ast.Numeral):
        lo = hi = 0
        for d in expr.digits:
            a, b = ranges[d.text]
            lo, hi = lo * 10 + a, hi * 10 + b
        return lo, hi
    if isinstance(expr, ast.Negate):
        lo, hi = bounds(expr.operand, ranges)
        return -hi, -lo
    if isinstance(expr, ast.BinOp):
        a, b = bounds(expr.left, ranges)
        c, d = bounds(expr.right, ranges)
        if expr.op == "+":
            return a + c, b + d
        if expr.op == "-":
            return a - d, b - c
        if expr.op == "*":
            p = (a * c, a * d, b * c, b * d)
            return min(p), max(p)
        if expr.op == "%":
            m = max(abs(c), abs(d))
            return (-m if c < 0 else 0), (m if d > 0 else 0)
    raise TypeError(f"not an expression: {expr!r}")


def linear_form(expr: ast.Expr) -> tuple[dict[str, int], int] | None:
    """expr = Σ coeffs[name] · name + const, when expr is linear — sums and differences of constant
    multiples of unknowns and numerals, the relations the graph builder can split into chains of
    small partial-sum factors (graph/logic.py); None when it is not. The one test of linearity: the
    checker asks it whether a large relation may be split, the graph builder for the split."""
    if isinstance(expr, ast.Literal):
        return {}, int(expr.number.text)
    if isinstance(expr, ast.Variable):
        return {expr.name.text: 1}, 0
    if isinstance(expr, ast.Placeholder):
        return {expr.text: 1}, 0
    if isinstance(expr, ast.Numeral):
        coeffs: dict[str, int] = {}
        for power, d in enumerate(reversed(expr.digits)):
            coeffs[d.text] = coeffs.get(d.text, 0) + 10 ** power
        return coeffs, 0
    if isinstance(expr, ast.Negate):
        inner = linear_form(expr.operand)
        return None if inner is None else ({n: -v for n, v in inner[0].items()}, -inner[1])
    if isinstance(expr, ast.BinOp) and expr.op in "+-":
        left, right = linear_form(expr.left), linear_form(expr.right)
        if left is None or right is None:
            return None
        sign = 1 if expr.op == "+" else -1
        out = dict(left[0])
        for n, v in right[0].items():
            out[n] = out.get(n, 0) + sign * v
        return out, left[1] + sign * right[1]
    if isinstance(expr, ast.BinOp) and expr.op == "*":
        for const_side, other in ((expr.left, expr.right), (expr.right, expr.left)):
            if ast.expr_names(const_side) or ast.expr_placeholders(const_side):
                continue
            factor, defined = evaluate(const_side, {})
            inner = linear_form(other)
            if bool(defined) and inner is not None:
                return {n: int(factor) * v for n, v in inner[0].items()}, int(factor) * inner[1]
    return None

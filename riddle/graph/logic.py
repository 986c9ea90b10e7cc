"""Logic tensors: relations enumerated exactly over the unknowns' labels.

A small relation becomes one dense boolean tensor (`DenseLogic`: A[a, b, c] = 1 iff a + b = c).
A linear relation too large for that, `Σ c_i x_i + k  (op)  0`, becomes a chain (`LinearChain`):
partial sums s_0 = k, s_j = s_{j-1} + c_j x_j, each step a deterministic map
(s_{j-1}, x_j) → s_j, and an accept mask on s_n. Partial-sum values that can no longer reach an
accepted end are pruned, which keeps SEND + MORE = MONEY's 10^8-entry tensor down to a few
thousand states. Contracting the chain gives back exactly the dense tensor (tested).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..lang.evaluate import INT_LIMIT, compare, linear_form

DENSE_LIMIT = 10 ** 6             # entries; the checker uses the same bound to decide what is split
STATE_LIMIT = 2 * 10 ** 5         # partial-sum values per chain link
REST_SORT_LIMIT = 4 * STATE_LIMIT  # a level of a chain's exact rest sums is sorted only from at most this many sums:
                                   # one more level of a 10-letter sum is 10× the last, and sorting 1–2 M sums only to
                                   # find them past STATE_LIMIT was most of `riddle check` of a long sum (23 of 29 ms)


class LogicTooLarge(ValueError):
    pass


@dataclass(frozen=True)
class DenseLogic:
    """T[i_1, …, i_n] = relation holds at labels (values_1[i_1], …); axes in `scope` order."""
    scope: tuple[str, ...]
    table: np.ndarray             # bool [|D_1|, …, |D_n|]
    differ: bool = False          # built as `label(a) ≠ label(b)` over one domain (an `all different` pair): the
                                  # search need not count the table to know (a Sudoku has 972 of them)


@dataclass(frozen=True)
class LinearChain:
    """Σ coeffs[j] · x_j + const  (op)  0, as a chain over partial sums.

    states[j]: int64 [|S_j|] — the partial-sum values kept after j terms (states[0] = [const]).
    step[j]:   int64 [|S_j|, |D_{j+1}|] — index into states[j+1] of s + coeffs[j] · label,
               or -1 where that partial sum can no longer be accepted (pruned).
    Every value in states[-1] is accepted (the pruning guarantees it).
    """
    scope: tuple[str, ...]        # the unknowns in chain order
    coeffs: tuple[int, ...]
    const: int
    op: str
    states: tuple[np.ndarray, ...]
    step: tuple[np.ndarray, ...]

    @property
    def size(self) -> int:
        return sum(s.size for s in self.step)

    def onehot(self, j: int) -> np.ndarray:
        """Step j as a dense float tensor [|S_j|, |D_{j+1}|, |S_{j+1}|]: 1 where (s, x) leads to s'."""
        step = self.step[j]
        out = np.zeros(step.shape + (len(self.states[j + 1]),))
        ij = np.nonzero(step >= 0)
        out[ij + (step[ij],)] = 1.0
        return out

    def dense(self) -> DenseLogic:
        """The equivalent dense tensor (for tests and tiny relations): contract the chain."""
        msg = np.ones((1,), dtype=bool)                       # [|S_0|]
        table = msg
        for j, nxt in enumerate(self.step):
            # table: [D_1, …, D_j, S_j] → [D_1, …, D_{j+1}, S_{j+1}]
            n_next = len(self.states[j + 1])
            onehot = np.zeros(nxt.shape + (n_next,), dtype=bool)
            idx = np.nonzero(nxt >= 0)
            onehot[idx + (nxt[idx],)] = True
            table = np.tensordot(table, onehot, axes=([-1], [0])) > 0
        return DenseLogic(self.scope, table.any(axis=-1))


def domain_grid(scope, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each unknown's label values shaped to broadcast along its own axis."""
    n = len(scope)
    return {name: values[name].reshape([-1 if i == k else 1 for i in range(n)]) for k, name in enumerate(scope)}


def dense_truth(part, values: dict[str, np.ndarray], limit: float | None = DENSE_LIMIT) -> DenseLogic:
    """A label-level statement (lang/checked.py) as a dense table over its unknowns' labels: its own
    `holds` on the label grid — a relation, a part of a connective, all different's pairs alike. More
    than `limit` entries raise LogicTooLarge (None: no bound, for a reference computed on purpose)."""
    scope = part.unknowns
    if getattr(part, "kind", None) == "distinct" and len(scope) == 2:   # an `all different` pair: built directly
        a, b = values[scope[0]], values[scope[1]]                        # (a Sudoku has 972 of them)
        if limit is None or len(a) * len(b) <= limit:
            return DenseLogic(scope, a[:, None] != b[None, :], differ=a is b)
    shape = tuple(len(values[n]) for n in scope)
    size = math.prod(shape)
    if limit is not None and size > limit:
        raise LogicTooLarge(f"`{part.text()}` ties {len(scope)} unknowns ({size:.3g} label tuples; a dense table "
                            f"holds at most {DENSE_LIMIT:.0e})")
    return DenseLogic(scope, np.broadcast_to(part.holds(domain_grid(scope, values)), shape).copy())


def linear_chain(stmt, values: dict[str, np.ndarray]) -> LinearChain:
    """Split `left op right` into a pruned partial-sum chain over its unknowns."""
    cl, kl = linear_form(stmt.left)                  # the checker let only linear relations come this far
    cr, kr = linear_form(stmt.right)
    coeffs = dict(cl)
    for n, v in cr.items():
        coeffs[n] = coeffs.get(n, 0) - v
    const = kl - kr
    # Largest coefficients first: they decide the most, so pruning bites early.
    order = sorted((n for n in stmt.unknowns if coeffs.get(n, 0) != 0), key=lambda n: -abs(coeffs[n]))
    c = [coeffs[n] for n in order]
    # Long numerals (sums of any length are exact): partial sums in Python integers. With the largest
    # coefficients first and the pruning below, a sum of numerals keeps carry-many values per step, so
    # the chain grows linearly with the digits (docs/LANGUAGE.md, "Long numbers").
    big = max([abs(const)] + [abs(ci) * int(np.abs(values[n]).max(initial=0)) for ci, n in zip(c, order)]) \
        * max(len(c), 1) >= INT_LIMIT
    dtype = object if big else np.int64
    vals = [values[n].astype(dtype) for n in order]
    # Range of what the terms after j can still add: rest_lo[j], rest_hi[j].
    term_lo = [min(ci * v.min(), ci * v.max()) for ci, v in zip(c, vals)]
    term_hi = [max(ci * v.min(), ci * v.max()) for ci, v in zip(c, vals)]
    rest_lo = [sum(term_lo[j:]) for j in range(len(c) + 1)]
    rest_hi = [sum(term_hi[j:]) for j in range(len(c) + 1)]

    # For `=`, the exact sums the last terms can add where they are few (at most STATE_LIMIT): a partial sum
    # must be minus one of them. Bounds alone let through every sum within the rest's range, which for a
    # sum of many numerals over ten letters (coefficients of one size) is hundreds of thousands of states.
    rest_sums: list[np.ndarray | None] = [None] * (len(c) + 1)
    if stmt.op == "=":
        rest_sums[len(c)] = np.zeros(1, dtype=dtype)
        for j in range(len(c) - 1, -1, -1):
            if vals[j].size * rest_sums[j + 1].size > REST_SORT_LIMIT:
                break                                 # far past the limit: not sorted only to be dropped
            grown = sorted_unique(c[j] * vals[j][:, None] + rest_sums[j + 1][None, :])     # sorted runs
            if grown.size > STATE_LIMIT:
                break
            rest_sums[j] = grown

    def feasible(s: np.ndarray, j: int) -> np.ndarray:
        """Can s plus some completion of terms j.. satisfy (op) 0? Exact where the rest's sums are known,
        bounds before."""
        if rest_sums[j] is not None:
            return _lookup(rest_sums[j], -s)[1]
        lo, hi = s + rest_lo[j], s + rest_hi[j]
        lo0, hi0 = np.asarray(lo <= 0, bool), np.asarray(hi >= 0, bool)     # bool, also for Python integers
        lz, hz = np.asarray(lo == 0, bool), np.asarray(hi == 0, bool)
        return {"=": lo0 & hi0, "!=": ~(lz & hz), "<": lo0 & ~lz, "<=": lo0, ">": hi0 & ~hz, ">=": hi0}[stmt.op]

    # Forward: the partial sums reachable after j terms that bounds do not rule out.
    states = [np.array([const], dtype=dtype)]
    for j, (cj, v) in enumerate(zip(c, vals)):
        candidates = sorted_unique(cj * v[:, None] + states[j][None, :])                 # sorted runs
        kept = candidates[feasible(candidates, j + 1)]
        if kept.size > STATE_LIMIT:
            raise LogicTooLarge(f"its partial sums take {kept.size} values after {j + 1} terms (at most {STATE_LIMIT})")
        states.append(kept)
    # Backward: keep only states from which an accepted end is reachable (bounds were only a filter).
    alive = [None] * len(states)
    alive[-1] = np.asarray(compare(stmt.op, states[-1], 0), bool)
    for j in range(len(c) - 1, -1, -1):
        pos, found = _lookup(states[j + 1], states[j][:, None] + c[j] * vals[j][None, :])
        alive[j] = (found & alive[j + 1][pos]).any(axis=1)
    states = [st[a] for st, a in zip(states, alive)]
    steps = []
    for j in range(len(c)):
        pos, found = _lookup(states[j + 1], states[j][:, None] + c[j] * vals[j][None, :])
        steps.append(np.where(found, pos, -1).astype(np.int64))
    return LinearChain(tuple(order), tuple(c), const, stmt.op, tuple(states), tuple(steps))


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """np.unique of a flattened array, by sorting: numpy 2.4's np.unique hashes, and took 2.8 s on the 1.9 M
    partial sums of puzzles/long-sum.rdl where a sort takes 0.04 s (what made `riddle check` of it slow).
    A stable sort (timsort) merges the sorted runs that a row per shift of a sorted array makes, about a
    third faster than sorting them afresh (linear_chain lays its sums out so)."""
    s = np.sort(a, axis=None, kind="stable")
    return s[np.concatenate(([True], s[1:] != s[:-1]))] if s.size else s


def _lookup(sorted_values: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of `queries` in `sorted_values`, and whether each is there."""
    if sorted_values.size == 0:
        return np.zeros(queries.shape, np.int64), np.zeros(queries.shape, bool)
    pos = np.clip(np.searchsorted(sorted_values, queries), 0, sorted_values.size - 1)
    return pos, sorted_values[pos] == queries


def relation_factor(stmt, values: dict[str, np.ndarray]) -> DenseLogic | LinearChain:
    size = math.prod(len(values[n]) for n in stmt.unknowns)
    if size <= DENSE_LIMIT:
        return dense_truth(stmt, values)
    return linear_chain(stmt, values)

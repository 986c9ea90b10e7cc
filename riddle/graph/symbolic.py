"""The exact symbolic oracle: which label tuples satisfy every statement when each predicate is
read through its declared truth table.

It answers before any network runs: "exactly one solution", "N solutions", or "no solution" with a
minimal set of conflicting statements. It also judges the solver's answers in every report.

Method: a vectorised join over the unknowns. Rows are partial assignments (numpy, one column per
assigned unknown); each step adds one unknown (the one that completes the most factors), filters
by every factor whose scope is now complete, and prunes split linear relations by the bounds of
what their unassigned terms can still add. A row budget bounds memory; past it, the number of
solutions is counted by tensor contraction instead (opt_einsum, greedy path) — exactly below 2^53,
as an estimate above — or reported as unknown when even that would be too large. A time budget
(ORACLE_SECONDS) bounds the whole reading: past it the answer is "not counted within N s", and a
conflict that is not yet minimal is reported as found so far.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import opt_einsum as oe

from ..lang.checked import Statement
from ..lang.errors import ERROR, NOTE, Diagnostic
from ..lang.evaluate import compare
from . import search  # a constraint solver lists what the join cannot hold
from .build import Factor, FactorGraph, LabelFactor, LogicFactor, PredicateFactor, ReadFactor, unary_mask  # noqa: F401
from .logic import DenseLogic, LinearChain

ROW_LIMIT = 1_000_000             # partial assignments held at once (× unknowns × 4 bytes)
CONTRACTION_LIMIT = 10 ** 8       # largest intermediate tensor when counting by contraction
CONFLICT_ROW_LIMIT = 100_000      # rows per join while narrowing a conflict (wider: counted by contraction)
READ_SEARCH_LIMIT = 500           # … where cells of a sheet are read (the planner lists the most probable instead)
SEARCH_FIRST = 48                 # unknowns past which the oracle asks CP-SAT before the join …
FIRST_SEARCH_SECONDS = 1.5        # … for at most this long (a 9 x 9 Sudoku's one board: 0.2–0.5 s)
SEARCH_LIMIT = 10_000              # solutions the constraint solver lists for the oracle before it counts instead
ORACLE_SECONDS = 10.0             # the oracle's time budget per riddle (check, solve, the playground)


class TooMany(Exception):
    pass


class OutOfTime(TooMany):
    """The oracle's budget ran out (a kind of TooMany: the join gives up the same way)."""


@dataclass(frozen=True)
class SymbolicResult:
    names: tuple[str, ...]                # the unknowns, in declaration order
    solutions: np.ndarray | None          # int64 [m, n], sorted; None when there were too many to list
    count: int | None                     # None: too many to count exactly
    ignored: tuple[Statement, ...]        # statements the oracle cannot read (no truth table)
    conflict: tuple[Statement, ...] = ()  # an unsatisfiable set when count == 0, minimal unless said
    estimate: float | None = None         # the count in float64 when it is past 2^53 (count is None)
    budget: float | None = None           # set when the count ran out of this many seconds
    minimal: bool = True                  # False: the conflict search ran out of time before minimising

    @property
    def unique(self) -> bool:
        return self.count == 1

    def accepts(self, labels) -> bool:
        """Does this label tuple (declaration order) satisfy the riddle?"""
        if self.solutions is None:
            raise ValueError("too many solutions to judge by lookup; use graph.symbolic.satisfies")
        return bool((self.solutions == np.asarray(labels)[None, :]).all(axis=1).any())

    def to_json(self) -> dict:
        """What a JSON client needs beside the solutions: the count, or why there is none."""
        return {"solution_count": self.count, "solution_estimate": self.estimate, "counted_within_s": self.budget,
                **({"conflict": [s.span.line for s in self.conflict], "conflict_minimal": self.minimal}
                   if self.count == 0 else {})}

    def describe(self, limit: int = 5) -> str:
        if self.count == 0:
            return "no solution under the truth tables"
        if self.count is None and self.estimate is not None:
            mantissa, exponent = f"{self.estimate:.1e}".split("e")
            return f"about {mantissa} × 10^{int(exponent)} solutions under the truth tables (too many to count exactly)"
        if self.count is None and self.budget is not None:
            return f"not counted within {self.budget:g} s (the oracle's time budget)"
        if self.count is None:
            return "too many solutions to count"
        fmt = lambda row: " ".join(f"{n}={v}" for n, v in zip(self.names, row))  # noqa: E731
        if self.count == 1:
            return f"exactly one solution under the truth tables: {fmt(self.solutions[0])}"
        if self.solutions is None:
            return f"{self.count:,} solutions under the truth tables"
        shown = "; ".join(fmt(r) for r in self.solutions[:limit])
        more = f"; … ({self.count - limit:,} more)" if self.count > limit else ""
        return f"{self.count:,} solutions under the truth tables: {shown}{more}"


def readable(f: Factor) -> bool:
    """Can the oracle read this factor? Its statement must be label-level: not seen pixels, nor a
    predicate without a truth table, nor a connective with one inside (its switch would be free)."""
    return isinstance(f, ReadFactor) or f.statement.label_level


def solve_symbolic(graph: FactorGraph, explain: bool = True, budget: float = ORACLE_SECONDS) -> SymbolicResult:
    """Read the riddle through its truth tables within `budget` seconds."""
    deadline = time.monotonic() + budget
    factors = [f for f in graph.factors if readable(f)]
    ignored = tuple(dict.fromkeys(f.statement for f in graph.factors if not readable(f)))
    estimate = out_of_time = None

    def searched(seconds: float = search.SEARCH_SECONDS):    # a sheet's readings allow many boards: not all listed
        return search.solutions(graph, factors, list(graph.names), READ_SEARCH_LIMIT if graph.reads else SEARCH_LIMIT,
                                max(0.0, min(seconds, deadline - time.monotonic())))
    # a grid is past the join's rows at once (0.3 s to find out on a Sudoku): CP-SAT first there, briefly — a wide
    # riddle of countless solutions (60 digits tied by `or`s: 10^52) would spend its whole search budget listing
    # 10,000 of them (5 s; `riddle check` went 1.3 → 9.8 s) where a contraction counts them in 0.1 s
    first = searched(FIRST_SEARCH_SECONDS) if len(graph.names) > SEARCH_FIRST else None
    try:
        if first is not None:
            rows = first
        else:
            rows = enumerate_solutions(graph, factors, deadline=deadline)
        rows = one_completion(graph, rows, graph.names)
        count, solutions = len(rows), rows
    except TooMany:
        rows = searched() if len(graph.names) <= SEARCH_FIRST else None
        if rows is not None:
            rows = one_completion(graph, rows, graph.names)
            count, solutions = len(rows), rows
        else:
            # a sheet's boards past the listing: their number is not worth a contraction's path (1 s on a 9 x 9)
            solutions, total = None, None if graph.reads else contract_count(graph, factors)
            count = int(round(total)) if total is not None and total < 2 ** 53 else None
            estimate = total if count is None else None
            out_of_time = budget if total is None and time.monotonic() > deadline else None
    conflict, minimal = minimal_conflict(graph, factors, deadline) if explain and count == 0 else ((), True)
    return SymbolicResult(graph.names, solutions, count, ignored, conflict, estimate, out_of_time, minimal)


def one_completion(graph: FactorGraph, rows: np.ndarray, names) -> np.ndarray:
    """Where a sheet says `with one solution`: the rows (label tuples over `names`) whose read cells' labels no
    other row shares — a proper puzzle's givens have exactly one completion, so a reading of them that several
    boards complete is not how they were written. Exact where `rows` hold every satisfying tuple of the givens
    they show: the oracle's whole list, or the planner's list of the boards within e^-Δ of the best (the
    completions of one reading weigh alike: all of them are in it or none). Where no reading listed has one
    completion, the rows are left as they are: the sheet is then read without the convention."""
    cols = [list(names).index(f.scope[0]) for f in graph.reads if f.puzzle and f.scope[0] in names]
    if not cols or not len(rows):
        return rows
    _, inverse, counts = np.unique(rows[:, cols], axis=0, return_inverse=True, return_counts=True)
    single = counts[inverse.reshape(-1)] == 1
    return rows[single] if single.any() else rows


def satisfies(graph: FactorGraph, labels) -> list[Statement]:
    """The statements a label tuple breaks under the truth tables (empty: it is a solution)."""
    env = dict(zip(graph.names, (np.array([v]) for v in labels)))
    # statements by identity, each once (hashing one by value walks its whole tree, each time it is asked)
    reads = {id(f.statement): f for f in graph.reads}        # a read cell holds where its reading allows the label
    values = graph.values()

    def holds(s) -> bool:
        if id(s) in reads:
            f = reads[id(s)]
            return bool(f.logic.table[np.searchsorted(values[f.scope[0]], env[f.scope[0]][0])])
        return bool(s.holds(env)[0])
    return [s for s in {id(f.statement): f.statement for f in graph.factors if readable(f)}.values() if not holds(s)]


# ── the join ─────────────────────────────────────────────────────────────────

def _check(f: Factor, env: dict[str, np.ndarray], values: dict[str, np.ndarray]) -> np.ndarray:
    """Row mask: does factor f hold for the rows' labels in env (all of f's scope assigned)?"""
    if isinstance(f, (PredicateFactor, LabelFactor)):
        return unary_mask(f, env[f.scope[0]])
    logic = f.logic
    if isinstance(logic, DenseLogic):
        if logic.differ:                                   # an all-different pair: label(a) ≠ label(b), no lookup
            return env[logic.scope[0]] != env[logic.scope[1]]
        return logic.table[tuple(_positions(values[n], env[n]) for n in logic.scope)]
    total = logic.const + sum(c * env[n] for c, n in zip(logic.coeffs, logic.scope))
    return compare(logic.op, total, 0)


def _positions(domain: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Where each label sits in its (sorted) domain: an offset where the domain is a run of integers, as a
    digit's is (a join checks 45 all-different pairs over its rows: alphametic-199's oracle spent most of
    its time in searchsorted), else a search."""
    if len(domain) and int(domain[-1]) - int(domain[0]) == len(domain) - 1:
        return labels.astype(np.intp) - int(domain[0])
    return np.searchsorted(domain, labels)


def _choose_order(names, factors, domain_sizes) -> list[str]:
    """Greedy: next, the unknown that completes the most factors, then the one most tied to those
    already chosen, then the one with the largest linear coefficient, then the smallest domain.
    Kept incrementally (per factor: how many of its unknowns are still unchosen), so a wide riddle's
    order costs O(Σ scope × degree), not O(n² × factors) — the planner asks for hundreds of orders."""
    position = {n: i for i, n in enumerate(names)}
    touching: dict[str, list[int]] = {n: [] for n in names}
    for i, f in enumerate(factors):
        for n in dict.fromkeys(f.scope):
            touching[n].append(i)
    unchosen = [len(set(f.scope)) for f in factors]        # per factor: its unknowns not yet chosen
    coeff = {n: 0 for n in names}
    for f in factors:
        if isinstance(f, LogicFactor) and isinstance(f.logic, LinearChain):
            for c, m in zip(f.logic.coeffs, f.logic.scope):
                coeff[m] = max(coeff[m], abs(c))
    completes = {n: sum(unchosen[i] == 1 for i in touching[n]) for n in names}
    tied = {n: 0 for n in names}

    def score(n):
        return (completes[n], tied[n], coeff[n], -domain_sizes[n], -position[n])
    chosen: list[str] = []
    left = set(names)
    while left:
        best = max(left, key=score)
        chosen.append(best)
        left.discard(best)
        for i in touching[best]:
            unchosen[i] -= 1
            members = set(factors[i].scope) - {best}
            if unchosen[i] == 1:                           # its last unchosen unknown now completes it
                for m in members:
                    if m in left:
                        completes[m] += 1
            if unchosen[i] == len(members):                # first of its unknowns chosen: the rest are tied
                for m in members:
                    tied[m] += 1
    return chosen


def enumerate_solutions(graph: FactorGraph, factors: list[Factor], names=None,
                        row_limit: int | None = None, deadline: float | None = None) -> np.ndarray:
    """All satisfying label tuples, int64 [m, n] over `names` (default: every unknown, in
    declaration order), sorted. The join also runs over the factors' switches (connectives) that
    `names` leaves out, and projects them away. Raises TooMany when a partial assignment's rows
    would exceed `row_limit`, OutOfTime past `deadline` (time.monotonic())."""
    values = graph.values()
    shown = list(graph.names if names is None else names)
    names = shown + [v for v in dict.fromkeys(n for f in factors for n in f.scope) if v not in shown]
    row_limit = ROW_LIMIT if row_limit is None else row_limit
    # Unary factors shrink the domains up front.
    domain = {}
    for n in names:
        mask = np.ones(len(values[n]), bool)
        for f in factors:
            if f.scope == (n,) and not isinstance(f, LogicFactor):
                mask &= unary_mask(f, values[n])
        domain[n] = values[n][mask]
    multi = [f for f in factors if isinstance(f, LogicFactor)]
    chains = [f.logic for f in multi if isinstance(f.logic, LinearChain)]
    order = _choose_order(names, multi, {n: len(domain[n]) for n in names})
    # One table [rows, assigned unknowns] in the smallest integer type that holds every label (int8
    # for digits and switches): each step repeats and filters it in one call each, 8× fewer bytes
    # than a column of int64 per unknown.
    low = min((int(values[n].min()) for n in names if len(values[n])), default=0)
    high = max((int(values[n].max()) for n in names if len(values[n])), default=0)
    table = np.zeros((1, 0), np.result_type(np.min_scalar_type(low), np.min_scalar_type(high)))
    column: dict[str, int] = {}
    partial = [np.full(1, ch.const, dtype=ch.states[0].dtype) for ch in chains]   # object: a long numeral's sums
    # each table factor is checked once, at the step that assigns the last of its unknowns
    at = {n: step for step, n in enumerate(order)}
    due: dict[int, list] = {}
    for f in multi:
        if not isinstance(f.logic, LinearChain):
            due.setdefault(max(at[v] for v in f.scope), []).append(f)
    for step, n in enumerate(order):
        d = domain[n]
        m = len(table)
        if m * len(d) > row_limit:
            raise TooMany()
        if deadline is not None and time.monotonic() > deadline:
            raise OutOfTime()
        grown = np.empty((m * len(d), step + 1), table.dtype)
        grown[:, :step] = np.repeat(table, len(d), axis=0)
        grown[:, step] = np.tile(d, m)
        table, column[n] = grown, step
        cols = {k: table[:, j] for k, j in column.items()}
        partial = [np.repeat(p, len(d)) for p in partial]
        keep = np.ones(len(table), bool)
        assigned = set(order[:step + 1])
        for f in due.get(step, ()):
            keep &= _check(f, cols, values)
        for i, ch in enumerate(chains):
            if n in ch.scope:                              # int64 before the product: int8 labels overflow
                partial[i] = partial[i] + ch.coeffs[ch.scope.index(n)] * cols[n].astype(partial[i].dtype)
            if n in ch.scope or step == 0:
                keep &= _chain_feasible(ch, partial[i], assigned, values)
        table = table[keep]
        partial = [p[keep] for p in partial]
        if len(table) == 0:
            return np.zeros((0, len(shown)), dtype=np.int64)
    rows = (table[:, [column[n] for n in shown]].astype(np.int64) if shown
            else np.zeros((int(len(table) > 0), 0), np.int64))
    if len(shown) < len(names):                           # switches projected away: keep each tuple once
        return np.unique(rows, axis=0)
    return rows[np.lexsort(rows.T[::-1])] if len(rows) else rows


def _chain_feasible(ch: LinearChain, partial: np.ndarray, assigned: set, values) -> np.ndarray:
    lo = hi = 0
    for c, n in zip(ch.coeffs, ch.scope):
        if n not in assigned:
            a, b = c * int(values[n].min()), c * int(values[n].max())
            lo, hi = lo + min(a, b), hi + max(a, b)
    low, high = partial + lo, partial + hi
    l0, h0 = np.asarray(low <= 0, bool), np.asarray(high >= 0, bool)         # bool, also for Python integers
    lz, hz = np.asarray(low == 0, bool), np.asarray(high == 0, bool)
    return {"=": l0 & h0, "!=": ~(lz & hz), "<": l0 & ~lz, "<=": l0, ">": h0 & ~hz, ">=": h0}[ch.op]


# ── counting by contraction ──────────────────────────────────────────────────

def count_by_contraction(graph: FactorGraph, factors: list[Factor]) -> int | None:
    """The number of solutions, exactly, or None (too many to count exactly, or to contract)."""
    total = contract_count(graph, factors)
    return int(round(total)) if total is not None and total < 2 ** 53 else None


def contract_count(graph: FactorGraph, factors: list[Factor]) -> float | None:
    """The number of solutions as a tensor contraction in float64 (exact below 2^53, an estimate with
    float64's relative error above), or None when the contraction is too large."""
    values = graph.values()
    # every unknown summed, even if unconstrained; the factors' switches (each fixed by the labels
    # where the oracle can read a connective) summed too
    variables = list(graph.names) + [v for v in dict.fromkeys(n for f in factors for n in f.scope)
                                     if v not in graph.names]
    labels: dict[str, int] = {n: i for i, n in enumerate(variables)}
    operands: list = []
    for n in variables:
        operands += [np.ones(len(values[n])), [labels[n]]]
    for f in factors:
        if isinstance(f, (PredicateFactor, LabelFactor)):
            operands += [unary_mask(f, values[f.scope[0]]).astype(float), [labels[f.scope[0]]]]
        elif isinstance(f.logic, DenseLogic):
            operands += [f.logic.table.astype(float), [labels[n] for n in f.logic.scope]]
        else:
            ch = f.logic
            prev = len(labels)
            labels[f"{f.id}.s0"] = prev
            operands += [np.ones(len(ch.states[0])), [prev]]
            for j, (n, step) in enumerate(zip(ch.scope, ch.step), start=1):
                if step.size * len(ch.states[j]) > CONTRACTION_LIMIT:
                    return None
                cur = len(labels)
                labels[f"{f.id}.s{j}"] = cur
                operands += [ch.onehot(j - 1), [prev, labels[n], cur]]
                prev = cur
    # opt_einsum, not numpy's einsum: numpy ran the pairwise steps of a 10-way `all different` in
    # its unblocked C loop (8 minutes); opt_einsum's path and tensordot take under a second
    try:
        path, info = oe.contract_path(*operands, [], optimize="auto")
        if info.largest_intermediate > CONTRACTION_LIMIT:
            return None
        return float(oe.contract(*operands, [], optimize=path))
    except (ValueError, MemoryError):
        return None


# ── explaining "no solution" ─────────────────────────────────────────────────

def minimal_conflict(graph: FactorGraph, factors: list[Factor],
                     deadline: float | None = None) -> tuple[tuple[Statement, ...], bool]:
    """A minimal unsatisfiable set of statements — without any one of them the others can all hold —
    and whether it is minimal. First each statement alone (a statement that never holds is the whole
    story, and cheap to find); then QuickXplain (Junker, AAAI 2004): split the statements in halves and
    recurse, O(k log n) joins for a conflict of k among n, where deleting one at a time takes n joins
    (65 joins, 16 s, on a 60-unknown riddle). Past the deadline: every statement, not minimal."""
    statements = list(dict.fromkeys(f.statement for f in factors))
    by_statement = {s: [f for f in factors if f.statement is s] for s in statements}

    def unsat(group: list[Statement]) -> bool:
        chosen = [f for s in group for f in by_statement[s]]
        try:
            rows = enumerate_solutions(graph, chosen, names=(), row_limit=CONFLICT_ROW_LIMIT, deadline=deadline)
            return len(rows) == 0
        except OutOfTime:
            raise
        except TooMany:                                   # too wide to join: count by contraction
            if deadline is not None and time.monotonic() > deadline:
                raise OutOfTime() from None
            return contract_count(graph, chosen) == 0     # (None, unknown: treated as satisfiable)

    def explain(background: list[Statement], added: bool, candidates: list[Statement]) -> list[Statement]:
        if added and unsat(background):
            return []
        if len(candidates) == 1:
            return list(candidates)
        first, second = candidates[:len(candidates) // 2], candidates[len(candidates) // 2:]
        from_second = explain(background + first, bool(first), second)
        from_first = explain(background + from_second, bool(from_second), first)
        return from_first + from_second

    try:
        for s in statements:
            if unsat([s]):
                return (s,), True
        found = explain([], False, statements)
        if found and unsat(found):
            return tuple(sorted(found, key=statements.index)), True
    except OutOfTime:
        pass
    return tuple(statements), False


def conflict_diagnostic(result: SymbolicResult) -> Diagnostic:
    first, *rest = result.conflict
    n = len(result.conflict)
    message = ("no solution: this statement can never hold" if n == 1 else
               f"no solution: these {n} statements cannot all hold")
    message += " under the predicates' truth tables"
    if not result.minimal:
        message += " (not narrowed to a minimal set within the oracle's time budget)"
    return Diagnostic(ERROR, "R050", message, first.span,
                      "conflicts" if n > 1 else "never holds", related=tuple((s.span, "conflicts") for s in rest),
                      help="drop or change one of them" if n > 1 else "drop or change it")


def ignored_diagnostic(s: Statement) -> Diagnostic:
    if s.kind == "observation":
        seen = "the measured data" if getattr(s, "through", ()) else "the seen pixels"
        return Diagnostic(NOTE, "R051", "the oracle ignores this statement: it reads pixels, not labels (the report "
                          f"checks each answer's image against {seen})", s.span, "not checked symbolically")
    whose = "a predicate in it declares" if s.parts else "its predicate declares"
    return Diagnostic(NOTE, "R051", f"the oracle ignores this statement: {whose} no truth table",
                      s.span, "not checked symbolically")

"""Search with a constraint solver (OR-Tools CP-SAT): the label tuples of logic too wide for the join.

The join (symbolic.enumerate_solutions) lists a component's satisfying tuples by extending partial
assignments one unknown at a time; a grid of 81 cells under 27 `all different` groups holds far more
partial assignments than it may keep, even when the givens leave one solution. CP-SAT propagates and
backtracks instead: every factor the graph holds is a constraint it takes as it is —

  unary     a label, a predicate's truth table, a one-unknown relation: the unknown's domain
  dense     a logic table over a few variables (pairs of an `all different`, a connective's switch):
            its allowed tuples (a pairwise "differ" table as x ≠ y)
  linear    Σ c·x + k (op) 0

— so `solutions` enumerates a component completely, or says it could not within its limits. Where it
could, the component is exact: the planner makes it an `enumerate` group (graph/joint.py) and the
oracle counts it (graph/symbolic.py). OR-Tools is a dependency of riddle; where it cannot be imported
(a broken install) `solutions` says so by returning None and the join's answer stands.
"""
from __future__ import annotations

import operator

import numpy as np

from .build import FactorGraph, LogicFactor, ReadFactor, unary_mask
from .logic import DenseLogic, LinearChain

SEARCH_SECONDS = 5.0              # per component
_COMPARE = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
            ">=": operator.ge}


def available() -> bool:
    try:
        import ortools.sat.python.cp_model  # noqa: F401
    except ImportError:
        return False
    return True


def solutions(graph: FactorGraph, factors, names, limit: int, seconds: float = SEARCH_SECONDS) -> np.ndarray | None:
    """Every satisfying label tuple over `names` (labels, int64 [m, len(names)], sorted), or None when there are
    more than `limit`, the search ran out of `seconds`, or CP-SAT is not installed."""
    built = _model(graph, factors, names)
    if built is None or isinstance(built, np.ndarray):
        return built
    return _enumerate(graph, built[0], built[1], names, limit, seconds)


def most_probable(graph: FactorGraph, factors, names, limit: int, deltas, seconds: float = SEARCH_SECONDS
                  ) -> tuple[np.ndarray, float] | None:
    """Where a read sheet's cells are among the factors and the satisfying tuples are too many to list: the
    tuples whose weight Π_cells P(label | picture) is at least e^−Δ times the most probable's, for the largest
    Δ of `deltas` whose list holds at most `limit` — MAP as weighted CP first (the weights as integers,
    log · WEIGHT_SCALE), then the lists for growing Δ until one is too long. → (rows, Δ), or None."""
    built = _model(graph, factors, names)
    if built is None or isinstance(built, np.ndarray):
        return None
    model, var = built
    total = _weight(model, var, factors)
    model.Maximize(total)
    from ortools.sat.python import cp_model
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = 1
    if solver.Solve(model) != cp_model.OPTIMAL:
        return None
    best = int(round(solver.ObjectiveValue()))
    found, before = None, None
    for delta in sorted(deltas):
        model, var = _model(graph, factors, names)
        model.Add(_weight(model, var, factors) >= best - int(delta * WEIGHT_SCALE))
        rows = _enumerate(graph, model, var, names, limit, seconds)
        if rows is None:
            break
        found = (rows, delta)
        # the lists grow about geometrically with Δ: where the next would pass the limit at this rate, stop
        # here rather than pay for a list that is thrown away (the costliest search of the lot)
        if before and len(rows) * len(rows) / before > limit:
            break
        before = len(rows)
    return found


def _model(graph: FactorGraph, factors, names):
    """(CP-SAT model, variables by name); an empty [0, k] array where a domain is empty; None where CP-SAT
    is missing or cannot hold the coefficients."""
    if not available():
        return None
    from ortools.sat.python import cp_model

    values = graph.values()
    if any(isinstance(f, LogicFactor) and isinstance(f.logic, LinearChain) and
           max([abs(int(f.logic.const)), *(abs(int(c)) for c in f.logic.coeffs)]) > 2 ** 53 for f in factors):
        return None                               # CP-SAT's coefficients are 64-bit: a long numeral's are not
    variables = list(dict.fromkeys([*names, *(n for f in factors for n in f.scope)]))
    allowed = {n: np.ones(len(values[n]), bool) for n in variables}
    for f in factors:
        if len(f.scope) == 1 and not (isinstance(f, LogicFactor) and isinstance(f.logic, LinearChain)):
            allowed[f.scope[0]] &= unary_mask(f, values[f.scope[0]])
    model = cp_model.CpModel()
    var = {}
    for n in variables:                   # a variable's value is its label's position in the domain
        keep = np.nonzero(allowed[n])[0]
        if len(keep) == 0:
            return np.zeros((0, len(names)), np.int64)
        var[n] = model.NewIntVarFromDomain(cp_model.Domain.FromValues(keep.tolist()), n)
    # an `all different` arrives as its pairs: where a statement's pairs are all of them, one AllDifferent
    # (its propagation is stronger: a Sudoku's 1,284 boards were listed in 0.9 s as pairs)
    pairs: dict[int, list] = {}
    for f in factors:
        if isinstance(f, LogicFactor) and isinstance(f.logic, DenseLogic) and len(f.scope) == 2 \
                and _differ(f.logic, values):
            pairs.setdefault(id(f.statement), []).append(f)
    whole = set()
    for group in pairs.values():
        members = list(dict.fromkeys(n for f in group for n in f.scope))
        if len(group) == len(members) * (len(members) - 1) // 2 and len(members) > 2:
            model.AddAllDifferent([var[n] for n in members])
            whole |= {id(f) for f in group}
    for f in factors:
        if not isinstance(f, LogicFactor) or len(f.scope) == 1 and isinstance(f.logic, DenseLogic) or id(f) in whole:
            continue
        logic = f.logic
        if isinstance(logic, DenseLogic):
            scope = [var[n] for n in logic.scope]
            if len(scope) == 2 and _differ(logic, values):
                model.Add(scope[0] != scope[1])
            else:
                model.AddAllowedAssignments(scope, [tuple(map(int, t)) for t in np.argwhere(logic.table)])
        else:                             # Σ c · label + k (op) 0, a label being values[n][position]
            terms = []
            for c, n in zip(logic.coeffs, logic.scope):
                labels = values[n].astype(np.int64)
                if np.array_equal(labels, np.arange(len(labels)) + labels[0]):
                    terms.append(int(c) * (var[n] + int(labels[0])))
                else:
                    lab = model.NewIntVar(int(labels.min()), int(labels.max()), f"{n}.label")
                    model.AddElement(var[n], labels.tolist(), lab)
                    terms.append(int(c) * lab)
            model.Add(_COMPARE[logic.op](sum(terms) + int(logic.const), 0))
    return model, var


def _enumerate(graph: FactorGraph, model, var, names, limit: int, seconds: float) -> np.ndarray | None:
    from ortools.sat.python import cp_model
    values = graph.values()
    shown = [var[n] for n in names]
    found: list[tuple[int, ...]] = []
    seen: set[tuple[int, ...]] = set()

    class Collect(cp_model.CpSolverSolutionCallback):
        def __init__(self):
            super().__init__()
            self.over = False

        def on_solution_callback(self):
            row = tuple(self.Value(v) for v in shown)
            if row not in seen:                   # switches left out of `names` may repeat a tuple
                seen.add(row)
                found.append(row)
            if len(found) > limit:
                self.over = True
                self.StopSearch()
    solver = cp_model.CpSolver()
    solver.parameters.enumerate_all_solutions = True
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = 1             # enumeration is single-threaded in CP-SAT
    collect = Collect()
    status = solver.Solve(model, collect)
    if collect.over or status not in (cp_model.OPTIMAL, cp_model.INFEASIBLE):
        return None                               # too many, or out of time: not complete
    positions = np.asarray(found, np.int64).reshape(len(found), len(names))
    rows = np.stack([values[n].astype(np.int64)[positions[:, j]] for j, n in enumerate(names)], 1) \
        if len(names) else positions                                     # positions → labels
    return rows[np.lexsort(rows.T[::-1])] if len(rows) else rows


WEIGHT_SCALE = 1000               # a read cell's log-evidence in CP-SAT's integers: 0.001 nats resolution
WEIGHT_FLOOR = -60.0               # log-evidence below this counts as this (the labels are ruled out before)


def _weight(model, var, factors):
    """Σ over the read cells of round(log P(label | picture) · WEIGHT_SCALE), as a CP-SAT expression."""
    terms = []
    for f in factors:
        if isinstance(f, ReadFactor) and f.evidence is not None:
            w = np.round(np.maximum(np.log(np.maximum(f.evidence, 1e-300)), WEIGHT_FLOOR) * WEIGHT_SCALE)
            score = model.NewIntVar(int(w.min()), int(w.max()), f"{f.id}.w")
            model.AddElement(var[f.scope[0]], [int(v) for v in w], score)
            terms.append(score)
    return sum(terms)


def _differ(logic: DenseLogic, values) -> bool:
    """Is this pair's table exactly `label(a) ≠ label(b)` over one domain?"""
    if logic.differ:
        return True
    a, b = logic.scope
    table, n = logic.table, len(values[a])
    if table.shape != (n, n) or values[a] is not values[b] and not np.array_equal(values[a], values[b]):
        return False
    # off the diagonal everywhere, on it nowhere (counted, not compared with a fresh eye: a Sudoku asks 972 times)
    return not table.diagonal().any() and int(np.count_nonzero(table)) == n * n - n

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

from .build import FactorGraph, LogicFactor, unary_mask
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
    for f in factors:
        if not isinstance(f, LogicFactor) or len(f.scope) == 1 and isinstance(f.logic, DenseLogic):
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


def _differ(logic: DenseLogic, values) -> bool:
    """Is this pair's table exactly `label(a) ≠ label(b)` over one domain?"""
    a, b = logic.scope
    if not np.array_equal(values[a], values[b]):
        return False
    return np.array_equal(logic.table, ~np.eye(len(values[a]), dtype=bool))

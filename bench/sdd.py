"""Plan 3, tried: compile a riddle's label-level statements into an SDD with PySDD (the knowledge
compiler DeepProbLog uses) and compare with the plans riddle uses.

    pip install pysdd          # not a dependency of riddle: this bench only
    python -m bench.sdd [FILE ...]      (default: bench/sdd/all-different-ten.rdl)

Encoding: one Boolean variable per (unknown, label), exactly one true per unknown; every dense
logic table and `all different` pair as clauses over them, every unary statement as a mask; the
weighted model count with weight p_v[label] on (v, label) is then P_logic. Chains (split sums) are not
encoded here. Prints the SDD's size, its model count against the oracle's, the compile time, and
the plan riddle's own compiler chose (docs/BENCHMARKS.md, "Logic plans").
"""
from __future__ import annotations

import sys
import time

import numpy as np

from bench.common import ROOT
from riddle.graph import build, solve_symbolic
from riddle.graph.joint import compile_logic, label_level
from riddle.graph.logic import DenseLogic
from riddle.graph.symbolic import unary_mask
from riddle.lang import load


def compile_sdd(graph):
    from pysdd.sdd import SddManager, Vtree
    values = graph.values()
    sizes = [len(values[n]) for n in graph.names]
    first = np.cumsum([0] + sizes[:-1])
    var = lambda i, label: int(first[i] + label + 1)  # noqa: E731
    manager = SddManager.from_vtree(Vtree(var_count=sum(sizes), vtree_type="balanced"))
    lit = lambda i, label: manager.literal(var(i, label))  # noqa: E731
    f = manager.true()
    for i, size in enumerate(sizes):                        # exactly one label per unknown
        one = manager.false()
        for label in range(size):
            term = lit(i, label)
            for k in range(size):
                if k != label:
                    term = term & ~lit(i, k)
            one = one | term
        f = f & one
    index = {n: i for i, n in enumerate(graph.names)}
    for fac in (x for x in graph.factors if label_level(x)):
        if len(fac.scope) == 1:
            mask = unary_mask(fac, values[fac.scope[0]])
            for label in np.nonzero(~mask)[0]:
                f = f & ~lit(index[fac.scope[0]], int(label))
        elif isinstance(fac.logic, DenseLogic):
            ids = [index[n] for n in fac.logic.scope]
            if len(ids) == 2 and fac.statement.kind == "distinct":
                for label in range(min(fac.logic.table.shape)):
                    f = f & ~(lit(ids[0], label) & lit(ids[1], label))
                continue
            clause = manager.false()
            for row in np.argwhere(fac.logic.table):
                term = manager.true()
                for i, label in zip(ids, row):
                    term = term & lit(i, int(label))
                clause = clause | term
            f = f & clause
        else:
            raise SystemExit(f"{fac.statement.text()}: split sums are not encoded by this bench")
    return f


def main() -> None:
    files = sys.argv[1:] or [str(ROOT / "bench" / "sdd" / "all-different-ten.rdl")]
    for path in files:
        graph = build(load(path))
        started = time.perf_counter()
        sdd = compile_sdd(graph)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        program = compile_logic(graph)
        plan_seconds = time.perf_counter() - started
        oracle = solve_symbolic(graph).count
        print(f"{path}: SDD of {sdd.size():,} nodes, {sdd.model_count():,} models (oracle: {oracle:,}), "
              f"compiled in {seconds:.1f} s; riddle's plans ({plan_seconds:.1f} s): "
              + "; ".join(g.describe() for g in program.groups))


if __name__ == "__main__":
    main()

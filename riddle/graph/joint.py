"""Exact joint logic: every statement that reads labels, compiled into weighted model counts.

Given each unknown's label distribution p_v (the label classifier's softmax), the probability that
all label-level statements hold at once is a weighted model count,

    P_logic = Σ_{l ⊨ all of them} Π_v p_v[l_v].

Label-level: label statements, relations, `all different`, and the truth tables of predicates that
declare one. A predicate's network stays a factor of its own beside its truth table (an answer must
look right to the network *and* be a label for which the predicate holds); predicates without a
truth table are not label-level at all.

Compilation (`compile_logic`), numpy only — the objective turns the result into torch buffers:

  components  statements that share no unknown are independent given the images, so P_logic is
              the product of the connected components' counts, exactly. Unary statements (labels,
              truth tables, one-unknown relations) join their unknown's component.
  enumerate   the oracle's join lists the component's satisfying label tuples, rows [m, k]; at run
              time log P = logsumexp over rows of Σ_v log p_v[row_v]. Fits when m · k ≤ ENUMERATE_LIMIT.
  contract    the component's logic tensors (dense tables; split sums as one-hot partial-sum steps)
              and the unknowns' distributions (unary statements as masks) contracted along a path
              opt_einsum plans. Fits when every tensor and the largest intermediate per image
              tuple stay within CONTRACT_LIMIT entries.
  search      the join gives up (a grid: 81 cells under 27 `all different`): OR-Tools CP-SAT lists
              the satisfying tuples instead (graph/search.py); within the enumerate bound, the group
              is an exact `enumerate` group as above.
  split       neither fits: the component's factors are gathered greedily, most-shared unknowns
              first, into parts that fit, and the parts' counts multiplied. This is an
              approximation (marked `exact: false`); with one factor per part it is the factored
              product.

`factored` mode is the papers' formulation, kept for reproduction and benchmarks: one term per
factor (label, relation, pair of an `all different`), no truth tables — the objective as it was
before joint logic, term for term.

The bounds were measured (bench/logic.py, docs/BENCHMARKS.md "Logic plans"): below them a plan costs
less per solver step than the networks do.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import opt_einsum as oe

from ..lang.ast import is_unknown_name
from ..lang.checked import Statement
from ..vocabulary import LOGIC_MODES
from . import search
from .build import Factor, FactorGraph, LogicFactor, ObservationFactor, PredicateFactor, ReadFactor
from .logic import DenseLogic, LinearChain
from .symbolic import TooMany, enumerate_solutions, one_completion, unary_mask

MODES = LOGIC_MODES
# Chosen so that a logic term at the bound costs about one step of the networks on a three-digit
# riddle (docs/BENCHMARKS.md, "Logic plans", from bench/logic.py). Past them, splitting.
ENUMERATE_LIMIT = 40_000           # satisfying rows × unknowns of one enumerated group
CONTRACT_LIMIT = 20_000            # entries of any tensor or intermediate, per image tuple
JOIN_ROW_LIMIT = 1_000_000         # partial assignments the join may hold while it enumerates a component
TRIAL_ROW_LIMIT = 250_000          # … while it tries a part of a split (many tries: each must be quick)
# A component of more variables than this that is one split relation runs as its chain in log space: a
# contraction floors each distribution at exp(−CONTRACT_FLOOR / variables), negligible up to here
# (e^−27 ≈ 2·10⁻¹²) but not at the hundreds of digits of a long sum (docs/LANGUAGE.md, "Long numbers").
CHAIN_OVER = 24
PLAN_BATCH = 256                   # the batch (restarts × samples) opt_einsum plans a path for
# A component with a read sheet's cells whose valid tuples are too many to list: the most probable of
# them are listed instead, every tuple within e^−Δ of the best for the first Δ here whose list fits.
WITHIN = (40.0, 30.0, 20.0, 14.0, 10.0, 7.0, 5.0)


@dataclass(frozen=True)
class LogicGroup:
    """One term of the objective that reads labels: log P of its factors holding together."""
    id: str                                   # "g1", …
    factors: tuple[Factor, ...]               # the graph's factors it covers (predicates: their truth tables)
    scope: tuple[str, ...]                    # its variables: unknowns in declaration order, then switches
    plan: str                                 # "enumerate" | "contract" | "chain"
    size: int                                 # enumerate: satisfying rows; contract: largest intermediate per
                                              # image tuple; chain: entries of its step maps
    strength: float
    exact: bool = True                        # False: one part of a split component
    rows: np.ndarray | None = None  # enumerate: int64 [m, k], label positions per scope unknown
    masks: tuple[np.ndarray, ...] = ()  # contract, chain: bool [|D_v|] per scope unknown, what its unary
                                        # statements allow
    operands: tuple[tuple[np.ndarray, tuple[int, ...]], ...] = ()   # contract: logic tensors and their index ids
    path: tuple = ()                          # contract: opt_einsum's path over (unknown operands, then `operands`)
    equation: str = ""                        # contract: the einsum over batch, unknowns and partial sums
    chain: LinearChain | None = None          # chain: the split relation, contracted by messages in log space
    within: float | None = None               # enumerate: only the tuples weighing ≥ e^−within of the most
                                              # probable (by the read cells' evidence); the rest left out
    left_out: float | None = None             # … and the share of the valid tuples' weight they carry, where the
                                              # oracle listed every one (None: not known, each < e^−within)

    kind = "logic"

    @property
    def statements(self) -> tuple[Statement, ...]:
        return tuple({id(f.statement): f.statement for f in self.factors}.values())   # by identity: hashing a
                                                                                     # statement walks its tree

    @property
    def switches(self) -> tuple[str, ...]:
        """The connectives' 0/1 switches in scope (their names are never identifiers; unknowns' are)."""
        return tuple(n for n in self.scope if not is_unknown_name(n) and not n.startswith("$"))

    @property
    def givens(self) -> tuple[str, ...]:
        """A template's given numbers in scope (`$sum`, or its digits `$sum.3`): each data row fixes them."""
        return tuple(n for n in self.scope if n.startswith("$"))

    @property
    def unknowns(self) -> tuple[str, ...]:
        return tuple(n for n in self.scope if is_unknown_name(n))

    def _variables(self) -> str:
        k, s, g = len(self.unknowns), len(self.switches), len(self.givens)
        text = f"{k} unknown{'s' if k != 1 else ''}"
        text += f", {s} switch{'es' if s != 1 else ''}" if s else ""
        return text + (f", {g} given{'s' if g != 1 else ''}" if g else "")

    def describe(self) -> str:
        if self.plan == "enumerate" and self.within is not None:
            rest = (f"the rest, {self.left_out:.1e} of the weight, left out" if self.left_out is not None
                    else "the rest left out")
            return (f"enumerate the {self.size:,} most probable satisfying tuple{'s' if self.size != 1 else ''} of "
                    f"{self._variables()} (every one within e^-{self.within:g} of the best, by the cells read; "
                    f"{rest})")
        if self.plan == "enumerate":
            what = f"enumerate {self.size:,} satisfying tuple{'s' if self.size != 1 else ''} of {self._variables()}"
        elif self.plan == "contract":
            what = (f"contract {len(self.operands)} logic tensor{'s' if len(self.operands) != 1 else ''} with "
                    f"the distributions of {self._variables()}, largest intermediate {self.size:,} entries")
        else:
            what = (f"chain over partial sums of {self._variables()}, "
                    f"{'·'.join(str(len(s)) for s in self.chain.states)} values")
        return what + ("" if self.exact else " (part of a split component: approximate)")

    def to_json(self) -> dict:
        return {"id": self.id, "plan": self.plan, "size": self.size, "exact": self.exact, "within": self.within,
                "left_out": self.left_out,
                "unknowns": list(self.scope), "lines": sorted({s.span.line for s in self.statements}),
                "statements": [s.text() for s in self.statements], "strength": self.strength}


@dataclass(frozen=True)
class LogicProgram:
    """What the objective computes: its terms in order, each a predicate network, an observation or a
    logic group."""
    mode: str
    terms: tuple[PredicateFactor | ObservationFactor | LogicGroup, ...]

    @property
    def groups(self) -> tuple[LogicGroup, ...]:
        return tuple(t for t in self.terms if isinstance(t, LogicGroup))

    @property
    def exact(self) -> bool:
        return self.mode == "joint" and all(g.exact for g in self.groups)

    @property
    def shortfall(self) -> str:
        """Why the joint logic is not exact, in a few words ("" where it is)."""
        if self.exact or self.mode != "joint":
            return ""
        if any(g.within is not None for g in self.groups):
            return "the most probable tuples of the cells read"
        return "a component split"

    def to_json(self) -> dict:
        return {"mode": self.mode, "exact": self.exact, "groups": [g.to_json() for g in self.groups]}

    def describe(self) -> list[str]:
        groups = self.groups
        head = f"logic ({self.mode}): {len(groups)} term{'s' if len(groups) != 1 else ''}"
        if self.mode == "joint":
            head += " · exact" if self.exact else f" · {self.shortfall}: approximate"
        lines = [head]
        for g in groups:
            where = ", ".join(str(n) for n in sorted({s.span.line for s in g.statements}))
            shown = list(g.unknowns) + list(dict.fromkeys(n.split(".")[0] for n in g.givens))
            lines.append(f"  {g.id:<4} {g.describe()}  ← line{'s' if ',' in where else ''} {where} "
                         f"({', '.join(shown)})")
        return lines


def compile_logic(graph: FactorGraph, mode: str = "joint", solutions: np.ndarray | None = None,
                  too_many: bool = False) -> LogicProgram:
    """`solutions`: every satisfying label tuple over graph.names where the oracle listed them (int64 [m, n],
    m > 0): a component over unknowns alone is then planned from their projection, not searched again.
    `too_many`: the oracle searched and found more than it lists: a component with read cells goes straight
    to its most probable boards."""
    if mode not in MODES:
        raise ValueError(f"logic mode must be one of {', '.join(MODES)}, not {mode!r}")
    return _factored(graph) if mode == "factored" else _joint(graph, solutions, too_many)


# ── factored: one term per factor, as the papers write it ────────────────────

def _factored(graph: FactorGraph) -> LogicProgram:
    terms: list = []
    for f in graph.factors:
        if isinstance(f, (PredicateFactor, ObservationFactor)):
            terms.append(f)
        elif isinstance(f, LogicFactor) and isinstance(f.logic, LinearChain):
            terms.append(LogicGroup(f"g{len(terms) + 1}", (f,), f.scope, "chain", f.logic.size, f.strength,
                                    chain=f.logic))
        elif isinstance(f, LogicFactor):
            positions = np.argwhere(f.logic.table).astype(np.int64)              # [nnz, m] in the factor's order
            terms.append(_enumerated(f"g{len(terms) + 1}", (f,), graph, f.scope, positions, f.strength))
        else:
            keep = unary_mask(f, graph.values()[f.scope[0]])
            terms.append(_enumerated(f"g{len(terms) + 1}", (f,), graph, f.scope,
                                     np.nonzero(keep)[0][:, None].astype(np.int64), f.strength))
    return LogicProgram("factored", tuple(terms))


def _enumerated(gid, factors, graph, scope, positions, strength, exact=True) -> LogicGroup:
    """An enumerate group over `scope` given in any order; rows are stored in declaration order."""
    order = sorted(range(len(scope)), key=lambda i: graph.variables.index(scope[i]))
    return LogicGroup(gid, tuple(factors), tuple(scope[i] for i in order), "enumerate", len(positions), strength,
                      exact, rows=np.ascontiguousarray(positions[:, order]))


# ── joint: connected components, each enumerated, contracted or split ───────

def label_level(f: Factor) -> bool:
    if isinstance(f, ObservationFactor):
        return False
    return not isinstance(f, PredicateFactor) or f.predicate.truth_table is not None


def _joint(graph: FactorGraph, solutions: np.ndarray | None = None, too_many: bool = False) -> LogicProgram:
    networks = [f for f in graph.factors if isinstance(f, (PredicateFactor, ObservationFactor))]
    units = [f for f in graph.factors if label_level(f)]
    components = _components(graph, units)
    groups: list[LogicGroup] = []
    for comp in components:
        groups += _plan_component(graph, comp, start=len(groups) + 1, solutions=solutions, too_many=too_many)
    return LogicProgram("joint", tuple(networks) + tuple(groups))


def _components(graph: FactorGraph, units: list[Factor]) -> list[list[Factor]]:
    """Units grouped by shared unknowns (union-find), in the order of their first factor."""
    parent = {n: n for n in graph.variables}

    def root(n):
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n
    for f in units:
        for n in f.scope[1:]:
            parent[root(n)] = root(f.scope[0])
    comps: dict[str, list[Factor]] = {}
    for f in units:
        comps.setdefault(root(f.scope[0]), []).append(f)
    return list(comps.values())


def _scope(graph: FactorGraph, factors) -> tuple[str, ...]:
    names = {n for f in factors for n in f.scope}
    return tuple(n for n in graph.variables if n in names)


def _strength(factors) -> float:
    """A group weighs as its strongest statement; a truth table's strength is its network's."""
    return max((f.strength for f in factors if not isinstance(f, PredicateFactor)), default=1.0)


def _plan_component(graph: FactorGraph, factors: list[Factor], start: int,
                    solutions: np.ndarray | None = None, too_many: bool = False) -> list[LogicGroup]:
    whole = _fit(graph, factors, f"g{start}", solutions=solutions, too_many=too_many)
    if whole is not None:
        return [whole]
    # split: gather the multi-unknown factors greedily into parts that fit; each unknown's unary
    # statements go with the first part that holds it (or, failing that, stand alone)
    unary = [f for f in factors if len(f.scope) == 1]
    multi = [f for f in factors if len(f.scope) > 1]
    parts: list[list[Factor]] = []
    queue = _greedy_order(multi)
    current, queue = queue[:1], queue[1:]
    chunk = 1
    # grow the part by chunks of the queue, doubling while they fit and halving when not, so a wide
    # component needs O(parts · log factors) trial fits, not one per factor (each trial is a join and
    # a contraction path: 200 of them took 15 s on a 60-unknown riddle)
    while queue:
        take = queue[:chunk]
        if _fit(graph, current + take, "", trial=True) is not None:
            current, queue = current + take, queue[len(take):]
            chunk *= 2
        elif chunk > 1:
            chunk //= 2
        else:                                   # not even the next factor fits: this part is done, and
            parts.append(current)               # the next one gathers around its own first factor
            current, chunk = [queue[0]], 1
            queue = _greedy_order(queue[1:], set(queue[0].scope))
    parts.append(current)
    groups: list[LogicGroup] = []
    placed: set[int] = set()
    for part in parts:
        gid = f"g{start + len(groups)}"
        names = {n for f in part for n in f.scope}
        mine = [u for u in unary if id(u) not in placed and u.scope[0] in names]
        # (a part has fewer factors than the riddle, so no fewer tuples: where it covers every unknown and the
        # oracle found too many, so does the part; a part with read cells keeps its own search, as before)
        many = too_many and not any(isinstance(f, ReadFactor) for f in part)
        group = _fit(graph, part + mine, gid, exact=False, too_many=many)
        if group is not None:
            placed |= {id(u) for u in mine}
        else:                                   # one factor too large even alone: its factored term
            group = _fit(graph, part, gid, exact=False, too_many=many) or _factored_term(graph, part[0], gid)
        groups.append(group)
    for name in dict.fromkeys(u.scope[0] for u in unary if id(u) not in placed):
        mine = [u for u in unary if id(u) not in placed and u.scope[0] == name]
        mask = np.logical_and.reduce([unary_mask(u, graph.values()[name]) for u in mine])
        groups.append(LogicGroup(f"g{start + len(groups)}", tuple(mine), (name,), "enumerate", int(mask.sum()),
                                 _strength(mine), False, rows=np.nonzero(mask)[0][:, None].astype(np.int64)))
    return groups


def _greedy_order(factors: list[Factor], cover: set[str] | None = None) -> list[Factor]:
    """Most overlap with what came before first, then the widest, then the first written: the order
    in which a split gathers factors into parts (neighbours together, so parts stay connected)."""
    left = list(range(len(factors)))
    cover = set() if cover is None else set(cover)
    out = []
    while left:
        i = max(left, key=lambda i: (len(cover & set(factors[i].scope)), len(factors[i].scope), -i))
        left.remove(i)
        out.append(factors[i])
        cover |= set(factors[i].scope)
    return out


def _factored_term(graph: FactorGraph, f: Factor, gid: str) -> LogicGroup:
    term = _factored(FactorGraph(graph.riddle, graph.unknowns, (f,), graph.switches, graph.givens)).terms[0]
    return LogicGroup(gid, term.factors, term.scope, term.plan, term.size, term.strength, False, term.rows,
                      chain=term.chain)


def _fit(graph: FactorGraph, factors: list[Factor], gid: str, exact: bool = True,
         trial: bool = False, solutions: np.ndarray | None = None, too_many: bool = False) -> LogicGroup | None:
    """The group for these factors by enumeration, else by contraction, else None (fits neither)."""
    scope = _scope(graph, factors)
    reads = [f for f in factors if isinstance(f, ReadFactor) and f.evidence is not None]
    if solutions is not None and len(solutions) and all(n in graph.names for n in scope):
        rows = np.unique(solutions[:, [graph.names.index(n) for n in scope]], axis=0)   # the oracle's, projected
    elif too_many and not trial and (reads or set(graph.names) <= set(scope)):
        rows = None                           # more than the oracle lists, so more than fit: not listed again (a
                                              # group of every unknown has no fewer tuples than the riddle: a wide
                                              # riddle's search for them spent 1 s a group, in vain)
    else:
        try:
            rows = enumerate_solutions(graph, factors, names=scope,
                                       row_limit=TRIAL_ROW_LIMIT if trial else JOIN_ROW_LIMIT)
        except TooMany:                       # too wide for the join: a constraint solver may still list it
            rows = None if trial else search.solutions(graph, factors, scope, ENUMERATE_LIMIT // max(len(scope), 1))
        rows = None if rows is None else one_completion(graph, rows, scope)
    if rows is not None and rows.size <= ENUMERATE_LIMIT:
        return LogicGroup(gid, tuple(factors), scope, "enumerate", len(rows), _strength(factors), exact,
                          rows=_positions(graph, scope, rows))
    if not trial and reads:
        fit = ENUMERATE_LIMIT // max(len(scope), 1)
        if rows is not None:                  # listed already: keep those within e^-Δ of the best, as many as fit
            weight = _read_weights(graph, scope, rows, reads)
            share = np.exp(weight - weight.max())
            for within in WITHIN:
                keep = weight >= weight.max() - within
                if keep.sum() <= fit:
                    return LogicGroup(gid, tuple(factors), scope, "enumerate", int(keep.sum()), _strength(factors),
                                      False, rows=_positions(graph, scope, rows[keep]), within=within,
                                      left_out=float(share[~keep].sum() / share.sum()))
        else:                                 # too many to list: CP-SAT lists the most probable
            found = search.most_probable(graph, factors, scope, fit, WITHIN)
            if found is not None:
                top, within = found
                top = one_completion(graph, top, scope)
                return LogicGroup(gid, tuple(factors), scope, "enumerate", len(top), _strength(factors), False,
                                  rows=_positions(graph, scope, top), within=within)
    chain = _lone_chain(graph, factors, scope, gid, exact) if len(scope) > CHAIN_OVER else None
    return chain if chain is not None else _contraction(graph, factors, scope, gid, exact)


def _read_weights(graph: FactorGraph, scope, rows: np.ndarray, reads) -> np.ndarray:
    """log Π_cells P(label | picture) of each row (labels [m, k] over scope) [m]."""
    values = graph.values()
    total = np.zeros(len(rows))
    for f in reads:
        j = scope.index(f.scope[0])
        total += np.log(np.maximum(f.evidence[np.searchsorted(values[f.scope[0]], rows[:, j])], 1e-300))
    return total


def _lone_chain(graph: FactorGraph, factors, scope, gid, exact) -> LogicGroup | None:
    """A component that is one split relation (and unary statements on its unknowns) runs as its chain:
    messages over partial sums in log space, exact however many unknowns it ties — a contraction floors
    each distribution (CONTRACT_FLOOR / unknowns), which at hundreds of unknowns is no longer exact."""
    multi = [f for f in factors if len(f.scope) > 1]
    if len(multi) != 1 or not isinstance(getattr(multi[0], "logic", None), LinearChain):
        return None
    chain = multi[0].logic
    values = graph.values()
    masks = {n: np.ones(len(values[n]), bool) for n in chain.scope}
    for f in factors:
        if len(f.scope) == 1:
            if f.scope[0] not in masks:
                return None
            masks[f.scope[0]] &= unary_mask(f, values[f.scope[0]])
    return LogicGroup(gid, tuple(factors), tuple(scope), "chain", chain.size, _strength(factors), exact,
                      masks=tuple(masks[n] for n in chain.scope), chain=chain)


def _positions(graph: FactorGraph, scope, rows: np.ndarray) -> np.ndarray:
    """Label values [m, k] → positions in each unknown's domain labels."""
    values = graph.values()
    out = np.empty_like(rows)
    for i, n in enumerate(scope):
        order = np.argsort(values[n])
        out[:, i] = order[np.searchsorted(values[n], rows[:, i], sorter=order)]
    return out


def _contraction(graph: FactorGraph, factors, scope, gid, exact) -> LogicGroup | None:
    values = graph.values()
    ids = {n: 1 + i for i, n in enumerate(scope)}          # index 0 is the batch (restarts × samples)
    next_id = 1 + len(scope)
    masks = {n: np.ones(len(values[n]), bool) for n in scope}
    operands: list[tuple[np.ndarray, tuple[int, ...]]] = []
    for f in factors:
        if len(f.scope) == 1:
            masks[f.scope[0]] &= unary_mask(f, values[f.scope[0]])
        elif isinstance(f.logic, DenseLogic):
            operands.append((f.logic.table.astype(np.float64), tuple(ids[n] for n in f.logic.scope)))
        else:
            ch = f.logic
            prev = None
            for j, (n, step) in enumerate(zip(ch.scope, ch.step)):
                if step.size * len(ch.states[j + 1]) > CONTRACT_LIMIT:
                    return None
                onehot = ch.onehot(j)
                if j == 0:                                   # s_0 is the one constant state: drop its axis
                    operands.append((onehot[0], (ids[n], next_id)))
                else:
                    operands.append((onehot, (prev, ids[n], next_id)))
                prev, next_id = next_id, next_id + 1
            # the last partial sum appears once, so it is summed out: every value kept there is accepted
    if any(t.size > CONTRACT_LIMIT for t, _ in operands):
        return None
    inputs = [(0, ids[n]) for n in scope] + [axes for _, axes in operands]
    shapes = [(PLAN_BATCH, len(values[n])) for n in scope] + [t.shape for t, _ in operands]
    equation = ",".join("".join(oe.get_symbol(i) for i in axes) for axes in inputs) + "->" + oe.get_symbol(0)
    path, info = oe.contract_path(equation, *shapes, shapes=True, optimize="auto")
    largest = int(info.largest_intermediate) // PLAN_BATCH
    if largest > CONTRACT_LIMIT:
        return None
    return LogicGroup(gid, tuple(factors), tuple(scope), "contract", max(largest, 1), _strength(factors), exact,
                      masks=tuple(masks[n] for n in scope), operands=tuple(operands), path=tuple(path),
                      equation=equation)


"""Checked riddle → factor graph.

Nodes (networkx DiGraph, each with a `kind`):
  generator:DOMAIN    the domain's generator G, which draws every unknown of that domain
  classifier:DOMAIN   the domain's label classifier F (feeds label and logic factors)
  network:NAME        a predicate's network (feeds its predicate factors)
  UNKNOWN             an unknown (its image x = G(ξ))
  fK                  a factor: one per predicate, label, relation and observation statement, one per
                      pair of an `all different`
  fK.sJ               a partial-sum variable of a split linear relation
  P(x)                a switch: a predicate network's yes/no reading of an unknown inside a connective
  fK.tJ               a switch: whether part J of connective statement K holds (its factor: fK.pJ;
                      a reading switch's tie to its truth table: fK.rJ)
Edges say what feeds what: generator → unknown → (classifier | network) → factor.

Connectives (`or`, `and`, `if … then`, `exactly N of`) compile Tseitin-style into small factors over
0/1 *switch* variables, so that the joint logic sums them out exactly with the labels:
  - a predicate inside a connective is a switch P(x) weighted by its network (σ(logit) for 1); where
    the predicate has a truth table, a factor ties the switch to it, P(x) = 1 ⟺ label(x) ∈ table
    (the network's reading and the label must agree, as for a predicate stated alone);
  - any other part (a label, a relation, `all different`, a nested connective) gets a switch fK.tJ
    and a factor fK.tJ = 1 ⟺ the part holds;
  - the connective itself is a count over its parts' literals (a switch, or 1 − switch for a negated
    predicate): `or` Σ ≥ 1, `and` Σ = k, `if A then B` (1 − A) + B ≥ 1, `exactly N` Σ = N, … — a
    dense table, or a partial-sum chain when it is long.

Factors carry what the compiler and the oracle need: the predicate, the label, or the logic tensor.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from ..lang import ast

if TYPE_CHECKING:
    import networkx as nx
from ..lang.checked import (
    CheckedRiddle,
    ConnectiveStatement,
    FactorSpec,
    Formula,
    LabelLogic,
    LabelRead,
    NetworkRead,
    PixelData,
    RelationStatement,
    Statement,
    Unknown,
)
from ..lang.errors import ERROR, Diagnostic, RiddleError
from ..models.registry import Predicate
from .logic import DENSE_LIMIT, DenseLogic, LinearChain, LogicTooLarge, dense_truth, relation_factor


@dataclass(frozen=True)
class Factor:
    id: str                       # "f3", or "f3.2" for the pairs of one `all different`
    statement: Statement
    scope: tuple[str, ...]
    strength: float

    @property
    def kind(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class PredicateFactor(Factor):
    predicate: Predicate
    negated: bool
    kind = "predicate"


@dataclass(frozen=True)
class LabelFactor(Factor):
    label: int
    negated: bool
    kind = "label"


@dataclass(frozen=True, eq=False)
class ObservationFactor(Factor):
    """Seen pixels of one unknown: log P = −½ Σ_seen ((A(x) − pixels) / σ)², a Gaussian likelihood up
    to its constant (0 for a perfect match), A the instruments it was seen through (none: A(x) = x).
    Not label-level: the oracle cannot read it."""
    pixels: np.ndarray            # float32 [h, w]: the measured data (the image itself without instruments)
    seen: np.ndarray              # bool [h, w]
    noise: float
    through: tuple = ()           # lang.checked.Instrument, applied in order (infer/instruments.py)
    kind = "observation"


@dataclass(frozen=True)
class LogicFactor(Factor):
    logic: DenseLogic | LinearChain
    kind = "logic"

    @property
    def entries(self) -> int:
        return self.logic.table.size if isinstance(self.logic, DenseLogic) else self.logic.size


READ_FLOOR = 1e-6       # a read cell's labels below this evidence are ruled out of the logic (the mass they
                        # carry is reported: FactorGraph.unread_mass)


@dataclass(frozen=True, eq=False)
class ReadFactor(LogicFactor):
    """A sheet's cell with ink, *read*: the picture is its unknown's image (the solver draws nothing
    there), and P(label | picture), the label classifier's calibrated reading (infer/cells.py), is the
    evidence on its label. As logic it is a one-unknown table of the labels that evidence leaves possible (≥
    READ_FLOOR; every label until the cell is read, `FactorGraph.with_readings`), so the join, CP-SAT
    and the oracle treat it as any unary statement; the samplers weigh the labels by `evidence`."""
    pixels: np.ndarray = None               # float32 [H, W]: the cell's picture
    evidence: np.ndarray | None = None      # float64 [L]: P(label | picture); None until read
    puzzle: bool = False                    # its sheet says `with one solution` (graph/joint.one_completion)
    kind = "read"


@dataclass(frozen=True)
class Switch:
    """A 0/1 variable of a connective: a predicate network's reading of an unknown (`reading`), or
    whether a part of a connective holds (`truth`)."""
    name: str                     # "odd(x)" | "f3.t2"
    kind: str                     # "reading" | "truth"
    unknown: str | None = None    # reading: the unknown the network reads
    predicate: Predicate | None = None


SWITCH_VALUES = np.array([0, 1], dtype=np.int64)

# A template number whose values span at most this many integers is one given variable; a wider one is
# its decimal digits, one given variable each (so that a sum of long numerals stays a chain of small steps).
GIVEN_WHOLE_LIMIT = 64


@dataclass(frozen=True)
class Given:
    """A variable of the logic whose value each data row gives: a template's `$name` number (docs/LEARNING.md),
    whole or one decimal digit of it. A row's value v is first clamped into [low, high] — the values at
    which the statements that read it can differ, widened by one each side, where every statement reads a
    value beyond as it reads the bound — then stored as the position of (v − low)'s digit at `power`
    (digits), or of v itself (whole)."""
    name: str                     # "$sum" (whole) or "$sum.3" (the digit at 10^3)
    placeholder: str              # "$sum"
    values: np.ndarray            # int64: the labels of this variable
    low: int
    high: int
    power: int | None = None      # None: the whole number

    def position(self, value: int) -> int:
        """Where a row's value of the placeholder falls among this variable's values."""
        v = min(max(int(value), self.low), self.high)
        if self.power is None:
            return v - self.low
        return (v - self.low) // 10 ** self.power % 10


@dataclass(frozen=True)
class FactorGraph:
    riddle: CheckedRiddle
    unknowns: tuple[Unknown, ...]
    factors: tuple[Factor, ...]
    switches: tuple[Switch, ...] = ()
    givens: tuple[Given, ...] = ()            # a template's numbers: variables each data row fixes

    @functools.cached_property
    def graph(self) -> nx.DiGraph:
        """The factor graph as networkx nodes and edges (the module's docstring): what feeds what, for
        `riddle graph` and its DOT. Built when first asked: no solve needs it, and importing networkx
        costs every command a third of a second."""
        return _networkx(self.unknowns, self.factors, {s.name: s for s in self.switches})

    @functools.cached_property                 # asked per factor as a graph is planned (a Sudoku's: 1,700 times)
    def names(self) -> tuple[str, ...]:
        return tuple(u.name for u in self.unknowns)

    @functools.cached_property
    def variables(self) -> tuple[str, ...]:
        """Every variable the logic sums over: the unknowns (declaration order), the switches, then a
        template's given numbers."""
        return self.names + tuple(s.name for s in self.switches) + tuple(g.name for g in self.givens)

    def values(self) -> dict[str, np.ndarray]:
        """Each variable's values: an unknown's labels, a switch's 0 and 1, a given's values."""
        out = label_values(self.unknowns)
        out.update({s.name: SWITCH_VALUES for s in self.switches})
        out.update({g.name: g.values for g in self.givens})
        return out

    def factors_of(self, statement: Statement) -> list[Factor]:
        return [f for f in self.factors if f.statement is statement]

    @property
    def reads(self) -> tuple[ReadFactor, ...]:
        """The sheet cells read (their pictures are their unknowns' images)."""
        return tuple(f for f in self.factors if isinstance(f, ReadFactor))

    @property
    def unread(self) -> bool:
        """Has a read cell not been read yet (its labels all left possible)?"""
        return any(f.evidence is None for f in self.reads)

    def with_readings(self, evidence: dict[str, np.ndarray]) -> FactorGraph:
        """The graph with each read cell's evidence, by factor id (P(label | picture) [L]): its logic
        then allows the labels at or above READ_FLOOR."""
        factors = []
        for f in self.factors:
            if isinstance(f, ReadFactor) and f.id in evidence:
                e = np.asarray(evidence[f.id], np.float64)
                f = replace(f, evidence=e, logic=DenseLogic(f.scope, e >= READ_FLOOR))
            factors.append(f)
        return replace(self, factors=tuple(factors))

    def unread_mass(self) -> float:
        """The share of the readings' joint mass on labels the logic rules out (READ_FLOOR): 1 − Π_cells
        Σ_kept P(label | picture), what enumerating the kept labels may miss at most before the rules."""
        kept = [float(f.evidence[f.logic.table].sum()) for f in self.reads if f.evidence is not None]
        return float(1 - np.prod(kept)) if kept else 0.0


def label_values(unknowns) -> dict[str, np.ndarray]:
    """Each unknown's labels as an int64 array, one read-only array per domain: unknowns of one domain share
    it, so a Sudoku's 972 `all different` pairs are known to range over one domain by `is`, not by a compare."""
    shared: dict[tuple, np.ndarray] = {}
    out = {}
    for u in unknowns:
        labels = tuple(u.domain.labels)
        if labels not in shared:
            shared[labels] = np.asarray(labels, dtype=np.int64)
            shared[labels].flags.writeable = False
        out[u.name] = shared[labels]
    return out


def build(riddle: CheckedRiddle) -> FactorGraph:
    """Raise RiddleError (with spans) when a relation cannot be built within the memory bounds."""
    if not riddle.ok:
        raise RiddleError([d for d in riddle.diagnostics if d.is_error], riddle.source)
    values = label_values(riddle.unknowns)
    givens, given_exprs = _givens(riddle, values)
    values.update({g.name: g.values for g in givens})
    factors: list[Factor] = []
    problems: list[Diagnostic] = []
    switches: dict[str, Switch] = {}
    for k, s in enumerate(riddle.statements, start=1):
        s = s.with_givens(given_exprs)
        specs = s.factors()
        for j, spec in enumerate(specs, start=1):
            fid = f"f{k}" if len(specs) == 1 else f"f{k}.{j}"          # one statement, several factors: f3.1, f3.2
            try:
                factors += _factors(fid, s, spec, values, switches, given_exprs)
            except LogicTooLarge as e:
                problems.append(_too_large(s, e))
                break
    if problems:
        raise RiddleError(problems, riddle.source)
    return FactorGraph(riddle, riddle.unknowns, tuple(factors), tuple(switches.values()), givens)


def _givens(riddle: CheckedRiddle, values: dict) -> tuple[tuple[Given, ...], dict[str, ast.Expr]]:
    """A template's numbers as given variables, and the expression over them that stands for each
    placeholder. Each placeholder's range is where the statements that read it can tell its values
    apart: in a linear relation, −(the rest) / coefficient over the rest's bounds; as a count, 0..parts."""
    ranges: dict[str, tuple[int, int]] = {}
    for st in riddle.statements:
        for p, (lo, hi) in st.given_ranges(values).items():
            a, b = ranges.get(p, (lo, hi))
            ranges[p] = (min(a, lo), max(b, hi))
    givens: list[Given] = []
    exprs: dict[str, ast.Expr] = {}
    for p, (lo, hi) in ranges.items():
        low, high = lo - 1, hi + 1
        span = next(st.span for st in riddle.statements if p in st.placeholders)
        if high - low + 1 <= GIVEN_WHOLE_LIMIT:
            givens.append(Given(p, p, np.arange(low, high + 1, dtype=np.int64), low, high))
            exprs[p] = ast.Variable(name=ast.Name(text=p, span=span), span=span)
            continue
        width = len(str(high - low))
        digits = [Given(f"{p}.{j}", p, np.arange(10, dtype=np.int64), low, high, j) for j in reversed(range(width))]
        givens += digits
        expr: ast.Expr = ast.Numeral(digits=tuple(ast.Name(text=g.name, span=span) for g in digits), span=span)
        if low:
            shift = ast.Literal(number=ast.Number(text=str(abs(low)), span=span), span=span)
            expr = ast.BinOp(op="+" if low > 0 else "-", left=expr, right=shift, span=span)
        exprs[p] = expr
    return tuple(givens), exprs


def _factors(fid: str, s: Statement, spec: FactorSpec, values: dict, switches: dict,
             given_exprs: dict | None = None) -> list[Factor]:
    """One of a statement's factor kinds (lang/checked.py) → its factors. Raises LogicTooLarge."""
    if isinstance(spec, NetworkRead):
        return [PredicateFactor(fid, s, (spec.unknown,), s.strength, spec.predicate, spec.negated)]
    if isinstance(spec, LabelRead):
        return [LabelFactor(fid, s, (spec.unknown,), s.strength, spec.label, spec.negated)]
    if isinstance(spec, LabelLogic):
        logic = relation_factor(spec.part, values) if spec.linear else dense_truth(spec.part, values)
        return [LogicFactor(fid, s, logic.scope, s.strength, logic)]
    if isinstance(spec, PixelData) and spec.observation.read:
        o = spec.observation
        every = DenseLogic((o.unknown,), np.ones(len(values[o.unknown]), bool))     # until read: every label
        return [ReadFactor(fid, s, (o.unknown,), s.strength, every, o.pixels, puzzle=o.puzzle)]
    if isinstance(spec, PixelData):
        o = spec.observation
        return [ObservationFactor(fid, s, (o.unknown,), s.strength, o.pixels, o.seen, o.noise, o.through)]
    if isinstance(spec, Formula):
        return _Connective(fid, spec.statement, values, switches, given_exprs or {}).factors()
    raise TypeError(f"unknown factor kind {type(spec).__name__}")


def _too_large(s: Statement, e: LogicTooLarge) -> Diagnostic:
    if s.parts:
        return Diagnostic(ERROR, "R015", f"this connective is too large to compile: {e}", s.span, "too large",
                          help="split it into smaller statements, or state the large relation on its own line")
    return Diagnostic(ERROR, "R015", f"this relation is too large to build even when split: {e}", s.span,
                      "too large", help="write it over fewer unknowns or smaller numbers")


def reading_name(p: NetworkRead) -> str:
    return f"{p.predicate.name}({p.unknown})"


class _Connective:
    """One connective statement → its switch factors (see the module's docstring)."""

    def __init__(self, fid: str, stmt: ConnectiveStatement, values: dict, switches: dict[str, Switch],
                 given_exprs: dict[str, ast.Expr]):
        self.fid, self.stmt, self.values, self.switches = fid, stmt, values, switches
        self.given_exprs = given_exprs
        self.out: list[Factor] = []
        self.linked: set[str] = set()
        self.parts = 0

    def factors(self) -> list[Factor]:
        literals = [self.literal(p) for p in self.stmt.parts]             # the parts' factors, then the count
        return [self._factor(self.fid, self.count_logic(self.stmt, literals))] + self.out

    def _factor(self, fid: str, logic) -> LogicFactor:
        return LogicFactor(fid, self.stmt, logic.scope, self.stmt.strength, logic)

    def _switch(self, sw: Switch) -> str:
        self.switches.setdefault(sw.name, sw)
        self.values[sw.name] = SWITCH_VALUES
        return sw.name

    def literal(self, part: Statement) -> tuple[str, bool]:
        """(switch, positive): the 0/1 variable that says whether `part` holds (or its negation does)."""
        read = part.reading
        if read is not None:
            name = self._switch(Switch(reading_name(read), "reading", read.unknown, read.predicate))
            table = read.predicate.truth_table
            if table is not None and name not in self.linked:   # the reading agrees with the label
                self.linked.add(name)
                labels = self.values[read.unknown]
                tie = np.isin(labels, list(table))[:, None] == SWITCH_VALUES.astype(bool)[None, :]
                self.out.append(self._factor(f"{self.fid}.r{len(self.linked)}", DenseLogic((read.unknown, name), tie)))
            return name, not read.negated
        self.parts += 1
        j = self.parts                                    # fixed before nested parts take their numbers
        t = self._switch(Switch(f"{self.fid}.t{j}", "truth"))
        if part.parts:                                    # a nested formula: its own count over its literals
            inner = self.count_logic(part, [self.literal(p) for p in part.parts], dense=True)
        else:
            inner = dense_truth(part, self.values)
        # t ⟺ part: the part's table for t = 1, its complement for t = 0
        table = np.stack([~inner.table, inner.table], axis=-1)
        self.out.append(self._factor(f"{self.fid}.p{j}", DenseLogic(inner.scope + (t,), table)))
        return t, True

    def count_logic(self, s: ConnectiveStatement, literals: list[tuple[str, bool]], dense: bool = False):
        """The connective as a linear count over its literals: Σ (b or 1 − b)  (op)  N."""
        k = len(literals)
        if s.op == "if":
            (a, pa), (b, pb) = literals
            literals, op, n = [(a, not pa), (b, pb)], ">=", 1          # A → B  ≡  ¬A ∨ B
        elif s.op == "or":
            op, n = ">=", 1
        elif s.op == "and":
            op, n = "=", k
        else:
            op, n = {"exactly": "=", "at least": ">=", "at most": "<="}[s.op], s.count
        span = s.span

        def term(name, positive) -> ast.Expr:
            var = ast.Variable(name=ast.Name(text=name, span=span), span=span)
            if positive:
                return var
            one = ast.Literal(number=ast.Number(text="1", span=span), span=span)
            return ast.BinOp(op="-", left=one, right=var, span=span)
        left = term(*literals[0])
        for lit in literals[1:]:
            left = ast.BinOp(op="+", left=left, right=term(*lit), span=span)
        if isinstance(n, str):                           # a template's `$k`: the row's given count
            right = self.given_exprs[n]
        else:
            right = ast.Literal(number=ast.Number(text=str(n), span=span), span=span)
        count = RelationStatement(span=span, left=left, op=op, right=right, linear=True)
        switches = len(count.unknowns)
        if dense:
            if 2 ** switches > DENSE_LIMIT:
                raise LogicTooLarge(f"a nested connective counts {switches} parts (at most 19)")
            return dense_truth(count, self.values)
        return relation_factor(count, self.values)


def _networkx(unknowns, factors, switches: dict[str, Switch]) -> nx.DiGraph:
    import networkx as nx
    g = nx.DiGraph()
    for s in switches.values():
        g.add_node(s.name, kind="switch", switch=s.kind)
        if s.kind == "reading":
            domain = next(u.domain.name for u in unknowns if u.name == s.unknown)
            net = f"network:{s.predicate.name}"
            g.add_node(net, kind="network", predicate=s.predicate.name, domain=domain)
            g.add_edge(s.unknown, net)
            g.add_edge(net, s.name)
    for u in unknowns:
        gen, cls = f"generator:{u.domain.name}", f"classifier:{u.domain.name}"
        g.add_node(gen, kind="generator", domain=u.domain.name)
        g.add_node(cls, kind="classifier", domain=u.domain.name)
        g.add_node(u.name, kind="unknown", domain=u.domain.name, index=u.index)
        g.add_edge(gen, u.name)
    for f in factors:
        g.add_node(f.id, kind=f.kind, text=f.statement.text(), line=f.statement.span.line, strength=f.strength)
        for name in f.scope:
            if name in switches:
                g.add_edge(name, f.id)
                continue
            domain = next(u.domain.name for u in unknowns if u.name == name)
            if isinstance(f, ObservationFactor):             # the pixels themselves, no network between
                g.add_edge(name, f.id)
            elif isinstance(f, PredicateFactor):
                net = f"network:{f.predicate.name}"
                g.add_node(net, kind="network", predicate=f.predicate.name, domain=domain)
                g.add_edge(name, net)
                g.add_edge(net, f.id, negated=f.negated)
            else:
                g.add_edge(name, f"classifier:{domain}")
                g.add_edge(f"classifier:{domain}", f.id, unknown=name)
        if isinstance(f, LogicFactor) and isinstance(f.logic, LinearChain):
            g.nodes[f.id]["split"] = True
            for j, states in enumerate(f.logic.states[1:-1], start=1):
                aux = f"{f.id}.s{j}"
                g.add_node(aux, kind="partial sum", size=int(states.size))
                g.add_edge(aux, f.id)
        elif isinstance(f, LogicFactor):
            g.nodes[f.id]["shape"] = tuple(f.logic.table.shape)
    return g


def unary_mask(f: Factor, values: np.ndarray) -> np.ndarray:
    """bool [|D|]: the labels a one-unknown factor allows (a predicate read through its truth table)."""
    if isinstance(f, PredicateFactor):
        return np.isin(values, list(f.predicate.truth_table)) != f.negated
    if isinstance(f, LabelFactor):
        return (values == f.label) != f.negated
    if isinstance(f, LogicFactor) and isinstance(f.logic, DenseLogic) and len(f.scope) == 1:
        return f.logic.table.astype(bool)
    raise TypeError(f)

"""Checked riddle → factor graph.

Nodes (networkx DiGraph, each with a `kind`):
  generator:DOMAIN    the domain's generator G, which draws every unknown of that domain
  classifier:DOMAIN   the domain's label classifier F (feeds label and logic factors)
  network:NAME        a predicate's network (feeds its predicate factors)
  UNKNOWN             an unknown (its image x = G(ξ))
  fK                  a factor: one per predicate, label and relation statement, one per pair of an
                      `all different`
  fK.sJ               a partial-sum variable of a split linear relation
Edges say what feeds what: generator → unknown → (classifier | network) → factor.

Factors carry what the compiler and the oracle need: the predicate, the label, or the logic tensor.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from ..lang.check import (CheckedRiddle, DistinctStatement, LabelStatement, PredicateStatement,
                          RelationStatement, Statement, Unknown)
from ..lang.errors import ERROR, Diagnostic, RiddleError
from ..models.registry import Predicate
from .logic import DenseLogic, LinearChain, LogicTooLarge, distinct_pair, relation_factor


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


@dataclass(frozen=True)
class LogicFactor(Factor):
    logic: DenseLogic | LinearChain
    kind = "logic"

    @property
    def entries(self) -> int:
        return self.logic.table.size if isinstance(self.logic, DenseLogic) else self.logic.size


@dataclass(frozen=True)
class FactorGraph:
    riddle: CheckedRiddle
    unknowns: tuple[Unknown, ...]
    factors: tuple[Factor, ...]
    graph: nx.DiGraph = field(compare=False, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(u.name for u in self.unknowns)

    def values(self) -> dict[str, np.ndarray]:
        """Each unknown's label values."""
        return {u.name: np.asarray(u.domain.labels, dtype=np.int64) for u in self.unknowns}

    def factors_of(self, statement: Statement) -> list[Factor]:
        return [f for f in self.factors if f.statement is statement]


def build(riddle: CheckedRiddle) -> FactorGraph:
    """Raise RiddleError (with spans) when a relation cannot be built within the memory bounds."""
    if not riddle.ok:
        raise RiddleError([d for d in riddle.diagnostics if d.is_error], riddle.source)
    values = {u.name: np.asarray(u.domain.labels, dtype=np.int64) for u in riddle.unknowns}
    factors: list[Factor] = []
    problems: list[Diagnostic] = []
    for k, s in enumerate(riddle.statements, start=1):
        fid = f"f{k}"
        if isinstance(s, PredicateStatement):
            factors.append(PredicateFactor(fid, s, (s.unknown,), s.strength, s.predicate, s.negated))
        elif isinstance(s, LabelStatement):
            factors.append(LabelFactor(fid, s, (s.unknown,), s.strength, s.label, s.negated))
        elif isinstance(s, RelationStatement):
            try:
                logic = relation_factor(s, values)
            except LogicTooLarge as e:
                problems.append(Diagnostic(ERROR, "R015", f"this relation is too large to build even when split: {e}",
                                           s.span, "too large", help="write it over fewer unknowns or smaller numbers"))
                continue
            factors.append(LogicFactor(fid, s, logic.scope, s.strength, logic))
        elif isinstance(s, DistinctStatement):
            # Pairwise `!=`: n(n-1)/2 tables of |D|^2 entries instead of one of |D|^n.
            for j, (a, b) in enumerate(itertools.combinations(s.names, 2), start=1):
                factors.append(LogicFactor(f"{fid}.{j}", s, (a, b), s.strength, distinct_pair(a, b, values)))
        else:
            raise TypeError(s)
    if problems:
        raise RiddleError(problems, riddle.source)
    return FactorGraph(riddle, riddle.unknowns, tuple(factors), _networkx(riddle.unknowns, factors))


def _networkx(unknowns, factors) -> nx.DiGraph:
    g = nx.DiGraph()
    for u in unknowns:
        gen, cls = f"generator:{u.domain.name}", f"classifier:{u.domain.name}"
        g.add_node(gen, kind="generator", domain=u.domain.name)
        g.add_node(cls, kind="classifier", domain=u.domain.name)
        g.add_node(u.name, kind="unknown", domain=u.domain.name, index=u.index)
        g.add_edge(gen, u.name)
    for f in factors:
        g.add_node(f.id, kind=f.kind, text=f.statement.text(), line=f.statement.span.line, strength=f.strength)
        for name in f.scope:
            domain = next(u.domain.name for u in unknowns if u.name == name)
            if isinstance(f, PredicateFactor):
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

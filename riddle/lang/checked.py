"""The checked riddle: what the checker (`check.py`) makes of a riddle's syntax tree — its unknowns
bound to domains, its statements in normal forms with their kinds, its settings — and what every
later stage (graph, infer, report) reads. Plain frozen dataclasses, each statement with its span.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..models.registry import Domain, Predicate
from . import ast
from .errors import Diagnostic, Source, Span


@dataclass(frozen=True)
class Unknown:
    name: str
    domain: Domain
    span: Span
    index: int                    # position in declaration order: the order of every answer


@dataclass(frozen=True, kw_only=True)
class Statement:
    span: Span
    strength: float = 1.0
    kind: str = ""                # "neural predicate" | "label" | "logic relation" | "distinct"

    @property
    def unknowns(self) -> tuple[str, ...]:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class PredicateStatement(Statement):
    unknown: str
    predicate: Predicate
    negated: bool
    kind: str = "neural predicate"

    @property
    def unknowns(self):
        return (self.unknown,)

    def text(self):
        return f"{'not ' if self.negated else ''}{self.predicate.name}({self.unknown})"


@dataclass(frozen=True, kw_only=True)
class LabelStatement(Statement):
    unknown: str
    label: int
    negated: bool
    kind: str = "label"

    @property
    def unknowns(self):
        return (self.unknown,)

    def text(self):
        return f"label({self.unknown}) {'!=' if self.negated else '='} {self.label}"


@dataclass(frozen=True, kw_only=True)
class RelationStatement(Statement):
    left: ast.Expr
    op: str
    right: ast.Expr
    linear: bool                  # a sum of constant multiples of unknowns and numerals: decomposable
    kind: str = "logic relation"

    @property
    def unknowns(self):
        return tuple(dict.fromkeys(n.text for n in ast.expr_names(self.left) + ast.expr_names(self.right)))

    def text(self):
        return f"{ast.expr_text(self.left)} {self.op} {ast.expr_text(self.right)}"


@dataclass(frozen=True, kw_only=True)
class DistinctStatement(Statement):
    names: tuple[str, ...]
    kind: str = "distinct"

    @property
    def unknowns(self):
        return self.names

    def text(self):
        return f"all different({', '.join(self.names)})"


# The pixel noise σ of an observation without `with noise S`: measured by bench/observe.py
# (docs/BENCHMARKS.md, "Observations").
DEFAULT_NOISE = 0.1
# An answer keeps an observation when its residual over the seen entries is at most this many times what
# a right answer's is expected to be: χ² per seen entry, each entry's residual over its expected standard
# deviation τ (the noise σ, plus the generator's misfit of real images carried through the instruments:
# infer/judge.entry_variance), at most MATCH_SIGMAS² = 2.25. A right answer's χ² per entry is about 1;
# the margin covers digits the generator draws less well than most (docs/LANGUAGE.md, "Measurements").
MATCH_SIGMAS = 1.5


INSTRUMENTS = {"blur": "a Gaussian blur of σ pixels (zero outside the image): `blur 2.5`",
               "downsample": "block means of f × f pixels, f dividing the image's size: `downsample 4`",
               "projection": "linear measurements y = A · vec(x), A an [m, H·W] matrix in a .npy: "
                             "`projection \"A.npy\"`"}


@dataclass(frozen=True)
class Instrument:
    """One step of what happened between an unknown's image and the measured data (infer/instruments.py
    applies it): `blur` σ (pixels) keeps the shape; `downsample` f takes f × f block means;
    `projection` multiplies the flattened data (row-major) by its matrix [m, k], giving m numbers."""
    kind: str                                 # "blur" | "downsample" | "projection"
    value: float = 0.0
    path: str = ""                            # projection: the matrix file, as written
    matrix: np.ndarray | None = field(default=None, compare=False, repr=False)   # float32 [m, k]

    def shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if self.kind == "downsample":
            f = int(self.value)
            return (shape[0] // f, shape[1] // f)
        if self.kind == "projection":
            return (self.matrix.shape[0],)
        return shape

    def text(self) -> str:
        return f'{self.kind} "{self.path}"' if self.kind == "projection" else f"{self.kind} {self.value:g}"


@dataclass(frozen=True, kw_only=True, eq=False)
class ObservationStatement(Statement):
    """`x looks like "PATH"`: pixels seen of one unknown; compared by identity (it holds arrays)."""
    unknown: str
    path: str                                 # as written in the file
    file: Path                                # resolved against the riddle's folder
    pixels: np.ndarray                        # float32 [H, W] in [0, 1], 0 where unseen
    seen: np.ndarray                          # bool [H, W]
    noise: float                              # σ of the Gaussian pixel likelihood
    through: tuple[Instrument, ...] = ()      # applied to the unknown's image, in order, before comparing
    kind: str = "observation"

    @property
    def unknowns(self):
        return (self.unknown,)

    def text(self):
        chain = "".join(f" through {i.text()}" if k == 0 else f", {i.text()}" for k, i in enumerate(self.through))
        return f'looks like({self.unknown}, "{self.path}"{chain}, σ {self.noise:g})'

    def rms(self, measured: np.ndarray) -> np.ndarray:
        """What the instruments make of images, [..., *data shape] → the root-mean-square difference
        over the seen entries [...] (without instruments: the images themselves)."""
        diff = (np.asarray(measured, dtype=np.float64) - self.pixels) * self.seen
        return np.sqrt((diff ** 2).sum(axis=tuple(range(-self.pixels.ndim, 0))) / self.seen.sum())

    def chi2(self, measured: np.ndarray, variance: np.ndarray | float | None = None) -> np.ndarray:
        """χ² per seen entry [...]: the squared residuals over each entry's expected variance (default σ²)
        averaged over the seen entries."""
        variance = self.noise ** 2 if variance is None else variance
        diff2 = (np.asarray(measured, dtype=np.float64) - self.pixels) ** 2 * self.seen / variance
        return diff2.sum(axis=tuple(range(-self.pixels.ndim, 0))) / self.seen.sum()

    def matches(self, measured: np.ndarray, variance: np.ndarray | float | None = None) -> np.ndarray:
        """Does each measured image keep the seen entries? (χ² per seen entry ≤ MATCH_SIGMAS²; with the
        default variance σ² that is an RMS ≤ MATCH_SIGMAS · σ)"""
        return self.chi2(measured, variance) <= MATCH_SIGMAS ** 2


COUNTING = ("exactly", "at least", "at most")


@dataclass(frozen=True, kw_only=True)
class ConnectiveStatement(Statement):
    """A Boolean formula over statements. Every connective is a count of its parts that hold:
    `or` at least 1, `and` all, `if A then B` at least 1 of (not A, B), and the counting forms
    as written. The compiler reads it that way too (graph/build.py)."""
    op: str                                   # "or" | "and" | "if" | "exactly" | "at least" | "at most"
    parts: tuple[Statement, ...]
    count: int | None = None                  # the counting forms' N
    kind: str = "connective"

    @property
    def unknowns(self):
        return tuple(dict.fromkeys(n for p in self.parts for n in p.unknowns))

    @property
    def predicates(self) -> tuple[PredicateStatement, ...]:
        """The predicate statements inside, at any depth."""
        out = []
        for p in self.parts:
            out += (
                p.predicates if isinstance(p, ConnectiveStatement) else [p] if isinstance(p, PredicateStatement) else []
            )
        return tuple(out)

    def text(self):
        if self.op == "if":
            return f"if {_part_text(self.parts[0], self.op)} then {_part_text(self.parts[1], self.op)}"
        if self.op in COUNTING:
            return f"{self.op} {self.count} of {{{'; '.join(p.text() for p in self.parts)}}}"
        return f" {self.op} ".join(_part_text(p, self.op) for p in self.parts)

    def normal_form(self) -> str:
        """Negation normal form: `not` only on single statements, `if` rewritten as `or`."""
        return _nnf(self, True)


def _part_text(p: Statement, parent: str) -> str:
    """A part's text, in parentheses where the grammar would read it otherwise."""
    if isinstance(p, ConnectiveStatement) and (p.op == "if" or (p.op == "or" and parent in ("and", "if"))
                                               or (p.op == "and" and parent == "if")):
        return f"({p.text()})"
    return p.text()


_FLIP = {"=": "!=", "!=": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


def _nnf(s: Statement, positive: bool) -> str:
    if not isinstance(s, ConnectiveStatement):
        if positive:
            return s.text()
        if isinstance(s, (PredicateStatement, LabelStatement)):
            return type(s)(**{**s.__dict__, "negated": not s.negated}).text()
        if isinstance(s, RelationStatement):
            return type(s)(**{**s.__dict__, "op": _FLIP[s.op]}).text()
        return f"not {s.text()}"
    wrap = lambda x, parent: f"({x})" if " or " in x and parent == "and" else x  # noqa: E731
    if s.op == "if":                                      # A → B  ≡  ¬A ∨ B
        a, b = s.parts
        if positive:
            return f"{_nnf(a, False)} or {_nnf(b, True)}"
        return f"{wrap(_nnf(a, True), 'and')} and {wrap(_nnf(b, False), 'and')}"
    if s.op in ("or", "and"):
        op = s.op if positive else ("and" if s.op == "or" else "or")
        return f" {op} ".join(wrap(_nnf(p, positive), op) for p in s.parts)
    n = s.count
    inner = "; ".join(_nnf(p, True) for p in s.parts)
    if positive:
        return f"{s.op} {n} of {{{inner}}}"
    if s.op == "at least":
        return f"at most {n - 1} of {{{inner}}}"
    if s.op == "at most":
        return f"at least {n + 1} of {{{inner}}}"
    return f"at most {n - 1} of {{{inner}}} or at least {n + 1} of {{{inner}}}"


@dataclass(frozen=True)
class CheckedRiddle:
    file: str
    source: Source | None
    unknowns: tuple[Unknown, ...]
    statements: tuple[Statement, ...]
    settings: dict                # only what the file sets; defaults belong to the solver
    diagnostics: tuple[Diagnostic, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    def unknown(self, name: str) -> Unknown:
        return next(u for u in self.unknowns if u.name == name)



"""The checked riddle: what the checker (`check.py`) makes of a riddle's syntax tree — its unknowns
bound to domains, its statements in normal forms with their kinds, its settings — and what every
later stage (graph, infer, report) reads. Plain frozen dataclasses, each statement with its span.

**One meaning per statement.** Each statement kind says here, in its own class, everything the later
stages ask of it, so that no stage branches on statement kinds and a new kind is one class (plus its
grammar rule and the checker's line that makes it):

  unknowns, text()     its unknowns (declaration names) and its canonical text
  holds(env)           its truth over rows of labels, predicates read through their truth tables
                       (the oracle, the report's check of an answer, a connective's dense parts)
  negation()           the statement that holds exactly when it does not, where one exists (normal forms)
  parts, predicates    the statements inside a formula, and the predicate readings at any depth
  label_level          can the oracle read it (labels and truth tables only)?
  reading              a lone predicate reading (NetworkRead), else None
  factors()            what the factor graph gets, as a few factor kinds (below): graph/build.py
                       turns each kind into its factors without knowing which statement made it
  placeholders         a template's `$name` numbers in it (docs/LEARNING.md), and with_givens(…) the
                       statement with each of them replaced by an expression over given variables
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from ..models.registry import Domain, Predicate
from . import ast
from .errors import Diagnostic, Source, Span
from .evaluate import compare, holds, linear_form

_FLIP = {"=": "!=", "!=": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}   # a relation's negation


@dataclass(frozen=True)
class Unknown:
    name: str
    domain: Domain
    span: Span
    index: int                    # position in declaration order: the order of every answer


# ── what a statement gives the factor graph (graph/build.py makes the factors) ─────────────────────

@dataclass(frozen=True)
class NetworkRead:
    """A predicate network's reading of one unknown: a predicate factor (σ(±logit)), or in a formula a
    switch weighed by the network."""
    unknown: str
    predicate: Predicate
    negated: bool


@dataclass(frozen=True)
class LabelRead:
    """The label classifier's reading of one unknown: its label is (or is not) `label`."""
    unknown: str
    label: int
    negated: bool


@dataclass(frozen=True)
class LabelLogic:
    """A truth over labels: `part.holds` as a dense tensor over part's unknowns — or, where `linear`,
    a relation that the compiler may split into partial-sum steps when dense is too large."""
    part: Statement
    linear: bool = False


@dataclass(frozen=True)
class PixelData:
    """Data seen of one unknown's image (a Gaussian likelihood): not label-level."""
    observation: ObservationStatement


@dataclass(frozen=True)
class Formula:
    """A count over its parts' truths (graph/build's switches): the parts are statements again."""
    statement: ConnectiveStatement


FactorSpec = NetworkRead | LabelRead | LabelLogic | PixelData | Formula


@dataclass(frozen=True, kw_only=True)
class Statement:
    span: Span
    strength: float = 1.0
    kind: str = ""                # "neural predicate" | "label" | "logic relation" | "distinct" | ...

    @property
    def unknowns(self) -> tuple[str, ...]:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError

    def holds(self, env: dict[str, np.ndarray]) -> np.ndarray:
        """bool rows: does it hold for each row of labels in env (name → label values [...], broadcast)?"""
        raise NotImplementedError(f"{type(self).__name__} is not label-level")

    def factors(self) -> tuple[FactorSpec, ...]:
        raise NotImplementedError

    def negation(self) -> Statement | None:
        return None

    @property
    def parts(self) -> tuple[Statement, ...]:
        return ()

    @property
    def predicates(self) -> tuple[PredicateStatement, ...]:
        """The predicate statements inside it at any depth (itself, for a predicate statement)."""
        return ()

    @property
    def reading(self) -> NetworkRead | None:
        return None

    @property
    def label_level(self) -> bool:
        """Can the oracle read it? Everything but seen pixels, and predicates without a truth table."""
        return all(p.predicate.truth_table is not None for p in self.predicates)

    def needs_parentheses(self, parent: str) -> bool:
        """Inside a connective `parent`, would the grammar read its text otherwise?"""
        return False

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The template numbers (`$sum`) it reads, each once."""
        return tuple(dict.fromkeys(q for p in self.parts for q in p.placeholders))

    def with_givens(self, values: dict[str, ast.Expr]) -> Statement:
        """The statement with each placeholder (by its text) replaced by an expression: how a template's
        numbers become variables of the logic whose values each data row gives (graph/build.py)."""
        return self

    def given_ranges(self, values: dict[str, np.ndarray]) -> dict[str, tuple[int, int]]:
        """Per placeholder, the values at which this statement's truth can differ (beyond them it reads
        every value as the nearest bound): where graph/build.py clamps a row's number."""
        out: dict[str, tuple[int, int]] = {}
        for p in self.parts:
            for name, (lo, hi) in p.given_ranges(values).items():
                a, b = out.get(name, (lo, hi))
                out[name] = (min(a, lo), max(b, hi))
        return out

    def normal_form(self, positive: bool = True) -> str:
        """Negation normal form: `not` only on single statements, `if` rewritten as `or`."""
        if positive:
            return self.text()
        negated = self.negation()
        return negated.text() if negated is not None else f"not {self.text()}"


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

    def holds(self, env):
        return np.isin(env[self.unknown], list(self.predicate.truth_table)) != self.negated

    def factors(self):
        return (self.reading,)

    def negation(self):
        return replace(self, negated=not self.negated)

    @property
    def predicates(self):
        return (self,)

    @property
    def reading(self):
        return NetworkRead(self.unknown, self.predicate, self.negated)


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

    def holds(self, env):
        return (env[self.unknown] == self.label) != self.negated

    def factors(self):
        return (LabelRead(self.unknown, self.label, self.negated),)

    def negation(self):
        return replace(self, negated=not self.negated)


@dataclass(frozen=True, kw_only=True)
class RelationStatement(Statement):
    left: ast.Expr
    op: str
    right: ast.Expr
    linear: bool                  # a sum of constant multiples of unknowns and numerals: decomposable
    kind: str = "logic relation"

    @cached_property                      # asked of every relation many times a check (a Sudoku has 405)
    def unknowns(self):
        return tuple(dict.fromkeys(n.text for n in ast.expr_names(self.left) + ast.expr_names(self.right)))

    def text(self):
        return f"{ast.expr_text(self.left)} {self.op} {ast.expr_text(self.right)}"

    @property
    def placeholders(self):
        found = ast.expr_placeholders(self.left) + ast.expr_placeholders(self.right)
        return tuple(dict.fromkeys(p.text for p in found))

    def with_givens(self, values):
        if not self.placeholders:
            return self
        return replace(self, left=ast.substitute(self.left, values), right=ast.substitute(self.right, values))

    def given_ranges(self, values):
        """p's coefficient e times p equals minus the rest (the checker allows one placeholder, linearly), so
        the values of p at which the relation can hold lie within −(the rest's bounds) / e."""
        out = {}
        for p in self.placeholders:
            (cl, kl), (cr, kr) = linear_form(self.left), linear_form(self.right)
            coeffs = dict(cl)
            for n, v in cr.items():
                coeffs[n] = coeffs.get(n, 0) - v
            e = coeffs.pop(p)
            lo = hi = kl - kr
            for n, c in coeffs.items():
                if c and n not in self.placeholders:
                    a, b = c * int(values[n].min()), c * int(values[n].max())
                    lo, hi = lo + min(a, b), hi + max(a, b)
            ends = sorted((-lo / e, -hi / e)) if e else (0, 0)
            out[p] = (int(np.floor(ends[0])), int(np.ceil(ends[1])))
        return out

    def holds(self, env):
        shape = np.broadcast_shapes(*(np.shape(env[n]) for n in self.unknowns + self.placeholders))
        return np.broadcast_to(holds(self.left, self.op, self.right, env), shape)

    def factors(self):
        return (LabelLogic(self, linear=self.linear),)

    def negation(self):
        return replace(self, op=_FLIP[self.op])


@dataclass(frozen=True, kw_only=True)
class DistinctStatement(Statement):
    names: tuple[str, ...]
    kind: str = "distinct"

    @property
    def unknowns(self):
        return self.names

    def text(self):
        return f"all different({', '.join(self.names)})"

    def holds(self, env):
        out = np.ones(np.broadcast_shapes(*(np.shape(env[n]) for n in self.names)), bool)
        for i, a in enumerate(self.names):
            for b in self.names[i + 1:]:
                out &= env[a] != env[b]
        return out

    def factors(self):
        # pairwise `!=`: n(n-1)/2 tables of |D|² entries instead of one of |D|ⁿ
        return tuple(LabelLogic(DistinctStatement(names=pair, span=self.span, strength=self.strength))
                     for pair in itertools.combinations(self.names, 2))


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
    read: bool = False                        # a sheet's cell with ink: the picture *is* the unknown's image, and
                                              # its label is read from it (graph/build.ReadFactor)
    puzzle: bool = False                      # the sheet says `with one solution`: its givens have one completion
    kind: str = "observation"

    @property
    def unknowns(self):
        return (self.unknown,)

    def text(self):
        if self.read:                             # a sheet's cell: its picture is the unknown's image, σ plays no part
            return f'read({self.unknown}, "{self.path}"{", one solution" if self.puzzle else ""})'
        chain = "".join(f" through {i.text()}" if k == 0 else f", {i.text()}" for k, i in enumerate(self.through))
        return f'looks like({self.unknown}, "{self.path}"{chain}, σ {self.noise:g})'

    def factors(self):
        return (PixelData(self),)

    @property
    def label_level(self):
        return False            # a read cell's labels are the oracle's once read (ReadFactor), not the text's

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
    parts: tuple[Statement, ...] = ()        # a default, so the field (not Statement.parts, a property) is what reads
    count: int | str | None = None            # the counting forms' N (a template's `$k`: its text)
    kind: str = "connective"

    @cached_property
    def unknowns(self):
        return tuple(dict.fromkeys(n for p in self.parts for n in p.unknowns))

    @property
    def predicates(self) -> tuple[PredicateStatement, ...]:
        return tuple(q for p in self.parts for q in p.predicates)

    @property
    def placeholders(self):
        own = (self.count,) if isinstance(self.count, str) else ()
        return tuple(dict.fromkeys(own + tuple(q for p in self.parts for q in p.placeholders)))

    def with_givens(self, values):
        return replace(self, parts=tuple(p.with_givens(values) for p in self.parts))

    def given_ranges(self, values):
        out = super().given_ranges(values)
        if isinstance(self.count, str):
            lo, hi = out.get(self.count, (0, len(self.parts)))
            out[self.count] = (min(lo, 0), max(hi, len(self.parts)))
        return out

    def holds(self, env):
        truths = [p.holds(env) for p in self.parts]
        if self.op == "if":
            return ~truths[0] | truths[1]
        count = np.sum(np.broadcast_arrays(*truths), axis=0)
        if self.op == "or":
            return count >= 1
        if self.op == "and":
            return count == len(truths)
        n = env[self.count] if isinstance(self.count, str) else self.count
        return compare({"exactly": "=", "at least": ">=", "at most": "<="}[self.op], count, n)

    def factors(self):
        return (Formula(self),)

    def needs_parentheses(self, parent):
        return self.op == "if" or (self.op == "or" and parent in ("and", "if")) or (self.op == "and" and parent == "if")

    def text(self):
        if self.op == "if":
            return f"if {_part_text(self.parts[0], self.op)} then {_part_text(self.parts[1], self.op)}"
        if self.op in COUNTING:
            return f"{self.op} {self.count} of {{{'; '.join(p.text() for p in self.parts)}}}"
        return f" {self.op} ".join(_part_text(p, self.op) for p in self.parts)

    def normal_form(self, positive: bool = True) -> str:
        wrap = lambda x, parent: f"({x})" if " or " in x and parent == "and" else x  # noqa: E731
        if self.op == "if":                                   # A → B  ≡  ¬A ∨ B
            a, b = self.parts
            if positive:
                return f"{a.normal_form(False)} or {b.normal_form(True)}"
            return f"{wrap(a.normal_form(True), 'and')} and {wrap(b.normal_form(False), 'and')}"
        if self.op in ("or", "and"):
            op = self.op if positive else ("and" if self.op == "or" else "or")
            return f" {op} ".join(wrap(p.normal_form(positive), op) for p in self.parts)
        n = self.count
        inner = "; ".join(p.normal_form(True) for p in self.parts)
        if positive:
            return f"{self.op} {n} of {{{inner}}}"
        if self.op == "at least":
            return f"at most {n - 1} of {{{inner}}}"
        if self.op == "at most":
            return f"at least {n + 1} of {{{inner}}}"
        return f"at most {n - 1} of {{{inner}}} or at least {n + 1} of {{{inner}}}"


@dataclass(frozen=True, kw_only=True)
class DataImageStatement(Statement):
    """`x looks like $a` in a template: while learning, x *is* the row's image in column `a` (its
    networks read it; the generator is not involved). No factor: the learner feeds the image."""
    unknown: str
    column: str
    kind: str = "data image"

    @property
    def unknowns(self):
        return (self.unknown,)

    def text(self):
        return f"{self.unknown} looks like ${self.column}"

    def factors(self):
        return ()

    @property
    def label_level(self):
        return False


def _part_text(p: Statement, parent: str) -> str:
    """A part's text, in parentheses where the grammar would read it otherwise."""
    return f"({p.text()})" if p.needs_parentheses(parent) else p.text()


@dataclass(frozen=True)
class CheckedRiddle:
    file: str
    source: Source | None
    unknowns: tuple[Unknown, ...]
    statements: tuple[Statement, ...]
    settings: dict                # only what the file sets; defaults belong to the solver
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    placeholders: dict = field(default_factory=dict)   # a template's `$name`s: column → "image" | "number"

    @property
    def template(self) -> bool:
        return bool(self.placeholders)

    @property
    def data_images(self) -> dict[str, str]:
        """A template's unknowns tied to table images: unknown → column."""
        return {s.unknown: s.column for s in self.statements if isinstance(s, DataImageStatement)}

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    def unknown(self, name: str) -> Unknown:
        return next(u for u in self.unknowns if u.name == name)

    @property
    def observations(self) -> tuple[ObservationStatement, ...]:
        """The statements that tie an unknown to seen data (`looks like`)."""
        return tuple(s for s in self.statements if isinstance(s, ObservationStatement))



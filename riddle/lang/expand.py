"""Arrays, slices, loops and sheets → the plain statements the checker reads.

The parser keeps what the author wrote (`digits cell[9][9]`, `for r in 1..9: all different cell[r][1..9]`,
`cell looks like "board.png" split 9 x 9`), so `riddle fmt` lays out the loop and not its 9 copies.
Before checking, this module writes every form out:

  declaration  `digits cell[9][9]` declares cell[1][1] … cell[9][9]; `cell[0..8]: digit` cell[0] … cell[8].
               Each unknown is an ordinary unknown named as it is written, `cell[3][4]`.
  reference    `cell[r][c]` is that unknown; an index is an integer expression of numbers and loop names.
               `lo..hi` takes a slice, and missing last indexes take the rest whole (`cell[r]` is row r).
  lists        in `all different …` and `num(…)` a slice stands for its unknowns in order (rows first).
  broadcast    a slice where one unknown is expected writes the statement once per element; several
               slices in one statement go together, element by element (`a[1..3] = b[1..3] + 1`).
               Inside a connective (`or`, `exactly N of { … }`) the copies are parts of that connective.
  loop         `for r in 1..9, c in 1..9: STATEMENT` writes the statement for every value, the last
               binding varying fastest; a bound may use the names of the bindings before it
               (`for i in 1..8, j in i+1..9`). Inside `{ … }` a loop writes parts of the list.
  sheet        `cell looks like "board.png" split 9 x 9`: one observation per cell, of that cell of the
               picture (lang/observe.py cuts it; a cell without ink is unseen).

Every form is bounded (MAX_EXPANDED statements and unknowns, MAX_DIMENSIONS, index values) before it is
written out, so no text can make the expander loop or take gigabytes; each mistake is one diagnostic
with its span: R080 index out of range, R081 not an array / wrong dimensions, R082 a bad index or bound,
R083 too large, R084 empty, R085 a slice of the wrong shape, R086 a loop name that clashes.
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import math

from . import ast
from .errors import ERROR, Diagnostic, Span, suggest

MAX_EXPANDED = 20_000            # statements, parts and unknowns one file may expand to
MAX_DIMENSIONS = 4
MAX_INDEX = 1_000_000            # an index or bound beyond this is refused before anything is counted


class ExpandError(Exception):
    def __init__(self, code: str, message: str, span: Span, label: str = "", help: str | None = None):
        super().__init__(message)
        self.diagnostic = Diagnostic(ERROR, code, message, span, label, help)


@dataclasses.dataclass(frozen=True)
class Array:
    name: str
    extents: tuple[tuple[int, int], ...]        # (low, high) per dimension, both included
    span: Span

    def describe(self) -> str:
        return self.name + "".join(f"[{lo}..{hi}]" for lo, hi in self.extents)


def needs_expansion(riddle: ast.Riddle) -> bool:
    """Whether any statement uses an array, a loop or a sheet (else the riddle is left as it is)."""
    return any(_uses_forms(s) for s in riddle.statements)


def _nodes(node):
    """Every AST node under `node` (itself included), without recursion: a sum of hundreds of terms is a
    tree hundreds deep."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (tuple, list)):
            stack.extend(n)
        elif isinstance(n, ast.Node):
            yield n
            stack.extend(getattr(n, f) for f in _child_fields(type(n)))


@functools.cache
def _child_fields(kind: type) -> tuple[str, ...]:
    """A node kind's fields that may hold nodes (all but its span), once per kind: `dataclasses.fields` per
    node was most of the walk's time (every check walks every statement)."""
    return tuple(f.name for f in dataclasses.fields(kind) if f.name != "span")


def _uses_forms(node) -> bool:
    return any(n.written_out for n in _nodes(node))


def expand(riddle: ast.Riddle) -> tuple[ast.Riddle, list[Diagnostic]]:
    """The riddle with every array, slice, loop and sheet written out, and a diagnostic per statement
    that could not be (that statement is left out, its words counted as mentioned)."""
    if riddle.plain or not needs_expansion(riddle):
        return riddle, []
    e = _Expander()
    diagnostics: list[Diagnostic] = []
    unread = list(riddle.unread)
    for s in riddle.statements:                 # arrays first: a statement may use one declared below it
        if s.declares:
            try:
                e.declare(s)
            except ExpandError as err:
                diagnostics.append(err.diagnostic)
                unread.append(" ".join(_words(s)))          # its names are not reported again as undeclared
    out: list[ast.Statement] = []
    for s in riddle.statements:
        try:
            written = e.statement(s)
            if e.count + len(written) > MAX_EXPANDED:
                raise ExpandError("R083", f"the riddle writes out to more than {MAX_EXPANDED:,} statements",
                                  s.span, "too many", help="use fewer or smaller loops and arrays")
            e.count += len(written)
            out += written
        except ExpandError as err:
            diagnostics.append(err.diagnostic)
            unread.append(" ".join(_words(s)))
    return dataclasses.replace(riddle, statements=tuple(out), unread=tuple(unread)), diagnostics


def _words(node) -> list[str]:
    """The names a statement mentions (so a statement left out does not make them 'unused')."""
    return [n.text for n in _nodes(node) if isinstance(n, ast.Name)]


class _Expander:
    def __init__(self):
        self.arrays: dict[str, Array] = {}
        self.scalars: set[str] = set()
        self.count = 0                                    # statements written so far
        self._slices: dict[tuple, tuple] = {}             # (reference, its loop names' values) → resolve()'s answer

    # ── declarations ──────────────────────────────────────────────────────────

    def declare(self, d: ast.Declaration) -> None:
        for n in d.names:
            if isinstance(n, ast.Name):
                self.scalars.add(n.text)
                continue
            if len(n.indexes) > MAX_DIMENSIONS:
                raise ExpandError("R081", f"an array has at most {MAX_DIMENSIONS} dimensions, not {len(n.indexes)}",
                                  n.span, "too many dimensions")
            extents = []
            for ix in n.indexes:
                if ix.high is None:
                    size = self.integer(ix.low, {})
                    if size < 1:
                        raise ExpandError("R084", f"an array's size must be at least 1, not {size}", ix.span,
                                          "empty", help="write the number of elements: `digits cell[9][9]`")
                    extents.append((1, size))
                else:
                    lo, hi = self.integer(ix.low, {}), self.integer(ix.high, {})
                    if lo < 0 or hi < lo:
                        raise ExpandError("R084", f"the index range {lo}..{hi} is empty or negative", ix.span,
                                          "empty", help="count up from 0 or 1: `cell[1..9]`")
                    extents.append((lo, hi))
            total = math.prod(hi - lo + 1 for lo, hi in extents)
            if total > MAX_EXPANDED:
                raise ExpandError("R083", f"the array `{n.name.text}` has {total:,} elements; riddle writes out "
                                  f"at most {MAX_EXPANDED:,}", n.span, "too large")
            if n.name.text in self.arrays or n.name.text in self.scalars:
                continue                                  # the checker reports the repeated declaration
            self.arrays[n.name.text] = Array(n.name.text, tuple(extents), n.span)

    # ── statements ────────────────────────────────────────────────────────────

    def statement(self, s: ast.Statement, env: dict[str, int] | None = None) -> list[ast.Statement]:
        """The statement written out: its kind's `write_<kind>` where it has one, else broadcast (a fact)."""
        return getattr(self, "write_" + s.kind, self.broadcast)(s, env or {})

    def write_declaration(self, s: ast.Declaration, env: dict[str, int]) -> list[ast.Statement]:
        if env:
            raise ExpandError("R086", "declare unknowns outside loops", s.span, "inside a loop",
                              help="declare an array once: `digits cell[9][9]`")
        names: list[ast.Name] = []
        for n in s.names:
            if isinstance(n, ast.Name):
                names.append(n)
            elif n.name.text in self.arrays:
                a = self.arrays[n.name.text]
                names += [ast.Name(text=_element(a.name, ix), span=n.span)
                          for ix in itertools.product(*(range(lo, hi + 1) for lo, hi in a.extents))]
        return [dataclasses.replace(s, names=tuple(names))]

    def write_loop(self, s: ast.Loop, env: dict[str, int]) -> list[ast.Statement]:
        return [x for e in self.loop(s, env) for x in self.statement(s.body, e)]

    def write_solve(self, s: ast.Solve, env: dict[str, int]) -> list[ast.Statement]:
        return [s]

    def write_observation(self, s: ast.Observation, env: dict[str, int]) -> list[ast.Statement]:
        return self.sheet(s, env) if s.sheet is not None else self.broadcast(s, env)

    def loop(self, s: ast.Loop, env: dict[str, int]):
        """Every environment the loop's bindings give, in order (the last binding fastest)."""
        for b in s.bindings:
            name = b.name.text
            if name in self.arrays or name in self.scalars:
                raise ExpandError("R086", f"`{name}` names an unknown; a loop needs a name of its own", b.name.span,
                                  "already an unknown", help="use another name: `for i in 1..9: …`")
            if name in env:
                raise ExpandError("R086", f"`{name}` is already a loop's name here", b.name.span, "used twice")
        envs = [dict(env)]
        for b in s.bindings:
            nxt = []
            for e in envs:
                lo, hi = self.integer(b.low, e), self.integer(b.high, e)
                if hi - lo + 1 > MAX_EXPANDED or len(nxt) + max(0, hi - lo + 1) > MAX_EXPANDED:
                    raise ExpandError("R083", f"this loop runs over {max(0, hi - lo + 1):,} values; riddle writes "
                                      f"out at most {MAX_EXPANDED:,} statements", b.span, "too many values",
                                      help="a riddle's loops run over its arrays' indexes: `for r in 1..9`")
                nxt += [{**e, b.name.text: v} for v in range(lo, hi + 1)]
            envs = nxt
        if not envs:
            b = s.bindings[0]
            raise ExpandError("R084", "this loop writes no statement: its range is empty", b.span, "empty range",
                              help="a range counts up, both ends included: `1..9`")
        return envs

    def broadcast(self, s: ast.Fact, env: dict[str, int]) -> list[ast.Fact]:
        """The fact with its loop names and references written out: one copy per element of its slices."""
        sizes = self._slice_sizes(s, env)
        if len(set(sizes)) > 1:
            raise ExpandError("R085", f"slices of different sizes ({', '.join(map(str, sorted(set(sizes))))}) in "
                              "one statement", s.span, "sizes differ",
                              help="slices in one statement go together element by element; use `for` instead")
        count = sizes[0] if sizes else 1
        return [self._write(s, env, k if sizes else None) for k in range(count)]

    def sheet(self, s: ast.Observation, env) -> list[ast.Statement]:
        sh = s.sheet
        rows, cols = self.count_of(sh.rows), self.count_of(sh.columns)
        if sh.by != "x":
            raise ExpandError("R082", f"write the sheet's size as `split {rows} x {cols}`", sh.span, "not understood")
        names, shape = self.resolve(s.subject, env)
        if shape != (rows, cols):
            have = " x ".join(map(str, shape)) if shape else "one unknown"
            raise ExpandError("R085", f"the sheet is cut into {rows} x {cols} cells, but `{s.subject.text}` is "
                              f"{have}", sh.span, "shape differs",
                              help=f"name a {rows} x {cols} array or slice: `cell looks like \"board.png\" split "
                                   f"{rows} x {cols}`")
        out = []
        for k, n in enumerate(names):
            out.append(dataclasses.replace(s, subject=n, sheet=None, cell=(k // cols, k % cols, rows, cols)))
        return out

    @staticmethod
    def count_of(n: ast.Number) -> int:
        if not n.is_integer or not 1 <= n.value <= 100:
            raise ExpandError("R082", f"a sheet is cut into 1 to 100 rows and columns, not {n.text}", n.span,
                              "not a count")
        return int(n.value)

    # ── references ────────────────────────────────────────────────────────────

    def resolve(self, ref, env) -> tuple[list[ast.Name], tuple[int, ...]]:
        """A reference → the unknowns it stands for (rows first) and the shape of its slice (() for one)."""
        if isinstance(ref, ast.Name):
            if ref.text in self.arrays:                   # the whole array
                a = self.arrays[ref.text]
                return self._elements(a, [(lo, hi, True) for lo, hi in a.extents], ref.span)
            return [ref], ()
        name = ref.name.text
        a = self.arrays.get(name)
        if a is None:
            if name in self.scalars:
                raise ExpandError("R081", f"`{name}` is one unknown, not an array", ref.span, "not an array",
                                  help=f"declare an array to index it: `digits {name}[9]`")
            near = suggest(name, list(self.arrays))
            raise ExpandError("R081", f"no array named `{name}`", ref.name.span, "not declared as an array",
                              help=f"did you mean `{near}`?" if near else f"declare it: `digits {name}[9]`")
        if len(ref.indexes) > len(a.extents):
            raise ExpandError("R081", f"`{name}` has {len(a.extents)} dimension{'s' * (len(a.extents) > 1)}, this "
                              f"reference gives {len(ref.indexes)} indexes", ref.span, "too many indexes",
                              help=f"`{a.describe()}`")
        picks = []
        for ix, (lo, hi) in zip(ref.indexes, a.extents):
            if ix.high is None:
                v = self.integer(ix.low, env)
                _in_range(v, lo, hi, a, ix.span)
                picks.append((v, v, False))
            else:
                a_, b_ = self.integer(ix.low, env), self.integer(ix.high, env)
                if b_ < a_:
                    raise ExpandError("R084", f"the slice {a_}..{b_} is empty", ix.span, "empty slice",
                                      help="a slice counts up, both ends included: `1..9`")
                _in_range(a_, lo, hi, a, ix.span)
                _in_range(b_, lo, hi, a, ix.span)
                picks.append((a_, b_, True))
        picks += [(lo, hi, True) for lo, hi in a.extents[len(ref.indexes):]]
        return self._elements(a, picks, ref.span)

    @staticmethod
    def _elements(a: Array, picks, span) -> tuple[list[ast.Name], tuple[int, ...]]:
        names = [ast.Name(text=_element(a.name, ix), span=span)
                 for ix in itertools.product(*(range(p, q + 1) for p, q, _ in picks))]
        return names, tuple(q - p + 1 for p, q, sliced in picks if sliced)

    def integer(self, e: ast.Expr, env: dict[str, int]) -> int:
        """An index or bound: a whole number, a loop's name, or arithmetic of them."""
        if isinstance(e, ast.Literal):
            if not e.number.is_integer:
                raise ExpandError("R082", f"an index is a whole number, not {e.number.text}", e.span, "not whole")
            v = int(e.number.text)
        elif isinstance(e, ast.Variable) and isinstance(e.name, ast.Name):
            if e.name.text not in env:
                near = suggest(e.name.text, list(env))
                what = ("an unknown's label cannot be an index" if e.name.text in self.scalars or
                        e.name.text in self.arrays else f"no loop here is named `{e.name.text}`")
                raise ExpandError("R082", f"an index or bound must be known before solving: {what}", e.span,
                                  "not a loop's name", help=(f"did you mean `{near}`?" if near else
                                                            "write a number, or a name from `for NAME in lo..hi`"))
            v = env[e.name.text]
        elif isinstance(e, ast.Negate):
            v = -self.integer(e.operand, env)
        elif isinstance(e, ast.BinOp):
            a, b = self.integer(e.left, env), self.integer(e.right, env)
            if e.op == "%" and b == 0:
                raise ExpandError("R082", "a remainder by 0", e.span, "by 0")
            v = {"+": a + b, "-": a - b, "*": a * b, "%": a % b if b else 0}[e.op]
        else:
            raise ExpandError("R082", "an index or bound is a whole number, a loop's name or arithmetic of them",
                              e.span, "not an index", help="for example `cell[r][c]`, `cell[3*b + 1]`")
        if abs(v) > MAX_INDEX:
            raise ExpandError("R083", f"the index {v:,} is out of any array's range", e.span, "too large")
        return v

    # ── writing a fact out ────────────────────────────────────────────────────

    def _slice_sizes(self, node, env) -> list[int]:
        """Sizes of the slices in the fact's one-unknown places (subjects, an expression's names; a connective
        has none: its parts broadcast inside it, see _write_connective)."""
        out = []
        for place in node.broadcast_places():
            names, shape = self.resolve(place, env)
            if shape:
                out.append(len(names))
        return out

    def _write(self, node, env, k: int | None):
        """A copy of the node with references resolved (element k of each slice) and loop names as numbers:
        the node's own `_write_<kind>` (statements by their kind, expressions by their class), else its fields."""
        kind = node.kind if isinstance(node, ast.Statement) else type(node).__name__.lower()
        return getattr(self, "_write_" + kind, self._write_fields)(node, env, k)

    def _write_connective(self, node: ast.Connective, env, k):
        parts = []
        for p in node.parts:
            written = self.statement(p, env) if p.kind == "loop" else self.broadcast(p, env)
            parts += written
            if len(parts) > MAX_EXPANDED:
                raise ExpandError("R083", f"a list of more than {MAX_EXPANDED:,} statements", node.span, "too many")
        if node.op == "if" and len(parts) != 2:
            raise ExpandError("R085", "a slice or loop inside `if … then …` would write several conditions",
                              node.span, "not one each side", help="put the `if` inside a `for` instead")
        return dataclasses.replace(node, parts=tuple(parts))

    def _write_variable(self, node: ast.Variable, env, k):
        if isinstance(node.name, ast.Name) and node.name.text in env:
            return _number(env[node.name.text], node.span)
        return dataclasses.replace(node, name=self._one(node.name, env, k))

    def _write_numeral(self, node: ast.Numeral, env, k):
        return dataclasses.replace(node, digits=self._row(node.digits, env, "num(…)"))

    def _write_distinct(self, node: ast.Distinct, env, k):
        return dataclasses.replace(node, names=tuple(n for r in node.names for n in self.resolve(r, env)[0]))

    def _write_fields(self, node, env, k):
        """Any other node: a field that is one of its one-unknown places (a subject) resolved to element k of
        its slice, its expressions written (a relation's places are inside them), the rest kept."""
        places = {id(p) for p in node.broadcast_places()} if isinstance(node, ast.Statement) else set()
        changes = {}
        for f in _child_fields(type(node)):
            v = getattr(node, f)
            if id(v) in places:
                changes[f] = self._one(v, env, k)
            elif isinstance(v, ast.Expr):
                changes[f] = self._write(v, env, k)
        return dataclasses.replace(node, **changes) if changes else node

    def _one(self, ref, env, k):
        # a broadcast asks once per element for the same slice: resolved once (`cell >= 1` over a 9 x 9 array
        # made 6,561 names where 81 do)
        key = (id(ref), tuple(env.items()))
        if key not in self._slices:
            self._slices[key] = (ref, self.resolve(ref, env))          # (ref kept: its id stays its own)
        names, shape = self._slices[key][1]
        if not shape:
            return names[0]
        return names[k if k is not None else 0]

    def _row(self, refs, env, where: str) -> tuple[ast.Name, ...]:
        out = []
        for r in refs:
            names, shape = self.resolve(r, env)
            if len(shape) > 1:
                raise ExpandError("R085", f"{where} takes a row of unknowns; `{r.text}` is "
                                  f"{' x '.join(map(str, shape))}", r.span, "not a row",
                                  help="take one row: `num(cell[r][1..4])`")
            out += names
        return tuple(out)


def _in_range(v: int, lo: int, hi: int, a: Array, span: Span) -> None:
    if not lo <= v <= hi:
        raise ExpandError("R080", f"index {v} is outside `{a.describe()}`", span, "out of range",
                          help=f"`{a.name}`'s indexes run {lo}..{hi} here (declared at line {a.span.line})")


def _element(name: str, index) -> str:
    return name + "".join(f"[{i}]" for i in index)


def _number(v: int, span: Span) -> ast.Expr:
    lit = ast.Literal(number=ast.Number(text=str(abs(v)), span=span), span=span)
    return lit if v >= 0 else ast.Negate(operand=lit, span=span)

"""The riddle's abstract syntax: frozen dataclasses, every node with the span it was read from.

The parser builds these from the text and nothing else; names are plain strings here and are
bound to unknowns, domains and predicates by the checker (`riddle.lang.check`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from .errors import Span


@dataclass(frozen=True, kw_only=True)
class Node:
    span: Span
    written_out: ClassVar[bool] = False     # a form lang/expand.py writes out: an array reference, a loop, a sheet


@dataclass(frozen=True, kw_only=True)
class Name(Node):
    text: str


@dataclass(frozen=True, kw_only=True)
class Number(Node):
    text: str                     # as written: "7", "0.5"

    @property
    def value(self) -> float:
        return float(self.text)

    @property
    def is_integer(self) -> bool:
        return "." not in self.text


# ── expressions (integer arithmetic over unknowns' labels) ──────────────────

@dataclass(frozen=True, kw_only=True)
class Expr(Node):
    pass


@dataclass(frozen=True, kw_only=True)
class Literal(Expr):
    number: Number


@dataclass(frozen=True, kw_only=True)
class Variable(Expr):
    name: Name


@dataclass(frozen=True, kw_only=True)
class Index(Node):
    """One index of an array reference: `[i]` (high None) or the slice `[lo..hi]`; integer expressions
    of numbers and loop names."""
    low: "Expr"
    high: "Expr | None" = None


@dataclass(frozen=True, kw_only=True)
class Ref(Node):
    """An array's unknowns as written, `cell[r][1..9]`: the expander (lang/expand.py) turns it into the
    Names of the unknowns it stands for (`cell[3][1]`, …) before the checker sees it."""
    name: Name
    indexes: tuple[Index, ...]
    written_out: ClassVar[bool] = True

    @property
    def text(self) -> str:                        # as written, for messages
        return self.name.text + "[…]" * len(self.indexes)


@dataclass(frozen=True, kw_only=True)
class Numeral(Expr):
    """num(s, e, n, d): the decimal number whose digits are the unknowns' labels."""
    digits: tuple[Name, ...]


@dataclass(frozen=True, kw_only=True)
class Placeholder(Expr):
    """`$sum`: a template's number, filled from a column of a data table (docs/LEARNING.md)."""
    text: str                     # as written, with its `$`

    @property
    def column(self) -> str:
        return self.text[1:]


@dataclass(frozen=True, kw_only=True)
class BinOp(Expr):
    op: str                       # "+" | "-" | "*" | "%"
    left: Expr
    right: Expr


@dataclass(frozen=True, kw_only=True)
class Negate(Expr):
    operand: Expr


# ── statements ───────────────────────────────────────────────────────────────

@dataclass(frozen=True, kw_only=True)
class Statement(Node):
    """A line of a riddle. Each kind says here what the stages ask of it — what it mentions, where a slice
    broadcasts it, which options it takes — and names itself (`kind`): a stage's handler for a kind is named
    after it (lang/check.py's `Checker.<kind>`, lang/expand.py's `write_<kind>`), so no stage keeps a list of
    the kinds, and a new kind is its class here, its grammar rule and its handlers."""
    kind: ClassVar[str]
    declares: ClassVar[bool] = False        # it declares unknowns (read before every other statement)
    is_fact: ClassVar[bool] = False         # it says something about the unknowns

    def mentions(self) -> list[Name]:
        """The unknowns' names a statement speaks of, in reading order (a declaration declares, it does not
        speak of them)."""
        return []

    def has_placeholders(self) -> bool:
        """Does it hold a template's `$name` (an image or a number a data table fills)?"""
        return False

    def broadcast_places(self) -> list:
        """The references that stand for one unknown each: a slice written in one of these places writes
        the statement out once per element (lang/expand.py)."""
        return []


@dataclass(frozen=True, kw_only=True)
class Declaration(Statement):
    """`digits a, b` (plural=True: the domain word comes first) or `a, b: digit`."""
    names: tuple[Name, ...]
    domain: Name
    plural: bool
    kind: ClassVar[str] = "declaration"
    declares: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True)
class Text(Node):
    """A string literal: the text between the quotes (a path)."""
    text: str


@dataclass(frozen=True, kw_only=True)
class Fact(Statement):
    """A statement about the unknowns; `strength` is its optional `with strength W`, `noise` an
    observation's `with noise S` (on any other fact the checker reports it)."""
    strength: Number | None = None
    noise: Number | None = None
    solutions: "Number | Name | None" = None   # a sheet's `with one solution` (the checker allows only that)
    repeated: tuple[Span, ...] = ()   # options given twice (`with strength 2 with strength 3`): reported
    is_fact: ClassVar[bool] = True
    takes_noise: ClassVar[bool] = False     # `with noise S` belongs to it

    def mentions(self) -> list[Name]:
        raise NotImplementedError(f"a fact of a new kind, {type(self).__name__}, says which names it mentions")

    def expressions(self) -> tuple[Expr, ...]:
        """Its arithmetic, where it has any (the checker reads an expression's numbers and names)."""
        return ()

    def from_sheet(self) -> bool:
        """Is it a cell of a sheet, written out (`with one solution` belongs to those)?"""
        return False


@dataclass(frozen=True, kw_only=True)
class Observation(Fact):
    """`x looks like "PATH" [through INSTRUMENT, …]`: an image (or part of one) seen of unknown x,
    maybe through instruments (blur, downsample) applied to x in order."""
    subject: Name
    path: "Text | Placeholder"    # a placeholder in a template: the image comes from a data table
    through: tuple["Instrument", ...] = ()
    sheet: "Sheet | None" = None  # `split R x C`: the picture is a grid of cells (before expansion)
    cell: tuple[int, int, int, int] | None = None   # after expansion: (row, column, rows, columns), from 0
    kind: ClassVar[str] = "observation"
    takes_noise: ClassVar[bool] = True

    def mentions(self) -> list[Name]:
        return [self.subject]

    def broadcast_places(self) -> list:
        return [self.subject]

    def from_sheet(self) -> bool:
        return self.cell is not None

    def has_placeholders(self) -> bool:
        return isinstance(self.path, Placeholder)


@dataclass(frozen=True, kw_only=True)
class Sheet(Node):
    """`split 9 x 9`: a picture of a whole grid, cut into rows × columns equal cells."""
    rows: Number
    columns: Number
    by: str = "x"                 # the word between them as written (the expander wants `x`)
    written_out: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True)
class Instrument(Node):
    """`blur 2.5`, `downsample 4`, `projection "A.npy"`: one step between an unknown's image and what
    was measured."""
    name: Name
    value: "Number | Text"


@dataclass(frozen=True, kw_only=True)
class PredicateFact(Fact):
    subject: Name
    verb: str                     # "is" | "has" | "contains"
    negated: bool                 # is not · has no · contains no
    words: tuple[Name, ...]       # the predicate's name as written, maybe with an article
    kind: ClassVar[str] = "predicate_fact"

    def mentions(self) -> list[Name]:
        return [self.subject]

    def broadcast_places(self) -> list:
        return [self.subject]


@dataclass(frozen=True, kw_only=True)
class LabelFact(Fact):
    subject: Name
    label: Number
    negated: bool
    kind: ClassVar[str] = "label_fact"

    def mentions(self) -> list[Name]:
        return [self.subject]

    def broadcast_places(self) -> list:
        return [self.subject]


@dataclass(frozen=True, kw_only=True)
class Relation(Fact):
    left: Expr
    op: str                       # "=" | "!=" | "<" | "<=" | ">" | ">="  ("==" is read as "=")
    op_span: Span
    right: Expr
    kind: ClassVar[str] = "relation"

    def mentions(self) -> list[Name]:
        return expr_names(self.left) + expr_names(self.right)

    def has_placeholders(self) -> bool:
        return bool(expr_placeholders(self.left) or expr_placeholders(self.right))

    def expressions(self) -> tuple[Expr, ...]:
        return self.left, self.right

    def broadcast_places(self) -> list:
        return expr_variables(self.left) + expr_variables(self.right)


@dataclass(frozen=True, kw_only=True)
class Distinct(Fact):
    names: tuple[Name, ...]
    kind: ClassVar[str] = "distinct"

    def mentions(self) -> list[Name]:
        return list(self.names)


@dataclass(frozen=True, kw_only=True)
class Connective(Fact):
    """A statement made of statements: `A or B`, `A and B`, `if A then B`,
    `exactly / at least / at most N of { A; B; … }`. Parts carry no strength of their own."""
    op: str                       # "or" | "and" | "if" | "exactly" | "at least" | "at most"
    parts: tuple[Fact, ...]       # `if`: (condition, consequence)
    count: Number | Name | None = None   # counting: N as written (`2` or `two`)
    kind: ClassVar[str] = "connective"

    def mentions(self) -> list[Name]:
        return [n for p in self.parts for n in p.mentions()]

    def has_placeholders(self) -> bool:
        return isinstance(self.count, Placeholder) or any(p.has_placeholders() for p in self.parts)


@dataclass(frozen=True, kw_only=True)
class Binding(Node):
    """`r in 1..9`: a loop's name and its bounds (integer expressions, both included)."""
    name: Name
    low: Expr
    high: Expr


@dataclass(frozen=True, kw_only=True)
class Loop(Statement):
    """`for r in 1..9, c in 1..9: STATEMENT`: the body once for every value of the bindings (the last
    varies fastest); expanded away before checking (lang/expand.py)."""
    bindings: tuple[Binding, ...]
    body: Statement
    kind: ClassVar[str] = "loop"
    written_out: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True)
class Setting(Node):
    key: Name
    values: tuple[Number | Name, ...]


@dataclass(frozen=True, kw_only=True)
class Solve(Statement):
    settings: tuple[Setting, ...]
    kind: ClassVar[str] = "solve"


@dataclass(frozen=True, kw_only=True)
class Riddle:
    file: str
    statements: tuple[Statement, ...]
    unread: tuple[str, ...] = ()  # statements that could not be parsed, as text (see parser.parse)
    plain: bool = False           # known to use no array, loop or sheet (the parser says so): nothing to expand


# ── helpers ──────────────────────────────────────────────────────────────────

_UNKNOWN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[-?[0-9]+\])*")


def is_unknown_name(name: str) -> bool:
    """Whether a variable of the logic is an unknown (`x`, an array's `cell[3][4]`), not a connective's
    switch (`odd(x)`, `f3.t2`) or a template's given (`$sum`)."""
    return _UNKNOWN_NAME.fullmatch(name) is not None

def expr_placeholders(expr: Expr) -> list[Placeholder]:
    """Every placeholder (`$sum`) in an expression, in reading order (with repeats)."""
    if isinstance(expr, Placeholder):
        return [expr]
    if isinstance(expr, BinOp):
        return expr_placeholders(expr.left) + expr_placeholders(expr.right)
    if isinstance(expr, Negate):
        return expr_placeholders(expr.operand)
    return []


def substitute(expr: Expr, values: dict[str, Expr]) -> Expr:
    """The expression with each placeholder named in `values` (by its text, `$sum`) replaced."""
    if isinstance(expr, Placeholder):
        return values.get(expr.text, expr)
    if isinstance(expr, BinOp):
        return BinOp(op=expr.op, left=substitute(expr.left, values), right=substitute(expr.right, values),
                     span=expr.span)
    if isinstance(expr, Negate):
        return Negate(operand=substitute(expr.operand, values), span=expr.span)
    return expr


def expr_variables(expr: Expr) -> list:
    """The names (or, before expansion, references) an expression uses as single unknowns: its variables,
    not a numeral's digits, in reading order."""
    out, todo = [], [expr]
    while todo:
        e = todo.pop()
        if isinstance(e, Variable):
            out.append(e.name)
        elif isinstance(e, BinOp):
            todo += (e.right, e.left)
        elif isinstance(e, Negate):
            todo.append(e.operand)
    return out


def expr_names(expr: Expr) -> list[Name]:
    """Every unknown's name used in an expression, in reading order (with repeats). One list filled on a walk:
    joining the lists of the two sides at each node copies a 199-term sum's names 200 times."""
    names: list[Name] = []
    todo = [expr]
    while todo:
        e = todo.pop()
        if isinstance(e, Variable):
            names.append(e.name)
        elif isinstance(e, Numeral):
            names.extend(e.digits)
        elif isinstance(e, BinOp):
            todo += (e.right, e.left)                 # the left side is read first
        elif isinstance(e, Negate):
            todo.append(e.operand)
    return names


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "%": 2}


def expr_text(expr: Expr, parent: int = 0) -> str:
    """The expression written back in the language with only the parentheses it needs."""
    if isinstance(expr, Literal):
        return expr.number.text
    if isinstance(expr, Variable):
        return expr.name.text
    if isinstance(expr, Placeholder):
        return expr.text
    if isinstance(expr, Numeral):
        return "num(" + ", ".join(d.text for d in expr.digits) + ")"
    if isinstance(expr, Negate):
        return "-" + expr_text(expr.operand, 3)
    if isinstance(expr, BinOp):
        p = _PRECEDENCE[expr.op]
        # left-associative: the right operand needs parentheses at equal precedence
        text = f"{expr_text(expr.left, p)} {expr.op} {expr_text(expr.right, p + 1)}"
        return f"({text})" if p < parent else text
    raise TypeError(f"not an expression: {expr!r}")

"""`riddle fmt`: one canonical layout for riddle files — and nothing else changes.

The layout, token by token (the language's own tokens; see grammar/riddle.lark):

- one space between words, around `+ - * %` and comparisons, after `,` `;` `:` and inside `{ … }`;
  none before `,` `;` `:` `)`, none inside `( … )`, none between `num` and its `(`, none after a
  unary minus;
- a statement starts at the line's beginning; the lines inside brackets that run over several lines
  (a `{ … }` list, a long sum in `( … )`) are indented four spaces per open bracket, the closing bracket
  at the depth of its opening line; an index is written tight (`cell[3*br+1..3*br+3]`);
- a relation longer than WIDTH on one line is laid out over lines: its longer sum in `( … )`, a line
  break after a `+` or `-` when the line is full (inside parentheses a line break is only a space);
- comments are kept as written; the trailing comments of consecutive lines start in one column, two
  spaces after the longest code among them; blank lines stay as groups (a run of blank lines becomes
  one; none at the start or end); no trailing spaces; one final newline.

It works on tokens, not on the syntax tree, so every comment and line break stays where its author
put it. It only changes spaces, so it cannot change what a riddle says: `format_text` refuses a text
that does not parse, and checks that the syntax tree before and after is the same (spans aside).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from ..vocabulary import keywords
from . import ast
from .errors import Diagnostic, Span
from .parser import parse
from .source import decode_source

INDENT = "    "
KEYWORDS = frozenset(keywords())                          # the grammar's keywords, read from its terminals
BINARY = frozenset("+ - * % = == != < <= > >=".split())
TOKEN = re.compile(r'"[^"\n]*"|\$?[A-Za-z_][A-Za-z0-9_]*|[0-9]+(?:\.[0-9]+)?|\.\.|==|!=|<=|>=|[-+*%=<>(){}\[\],:;]|\S')
WIDTH = 100                       # a one-line sum longer than this is laid out over lines inside `( … )`


class FormatError(ValueError):
    """The text is not a riddle the formatter may touch (it does not parse); `diagnostics` say why."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(diagnostics[0].message if diagnostics else "the text does not parse")
        self.diagnostics = diagnostics

    def __reduce__(self):                      # whole across a process boundary (the playground's checkers)
        return FormatError, (self.diagnostics,)


@dataclass(frozen=True)
class Line:
    tokens: tuple[str, ...]         # the code's tokens
    comment: str | None             # "# …" as written, or None


def format_text(text: str, file: str = "<riddle>") -> str:
    """The riddle's text in the canonical layout. Raises FormatError when it does not parse; raises
    AssertionError if the layout would change its syntax tree (a bug here, never the user's)."""
    before = _tree(text, file)
    out = _layout(text)
    if _tree(out, file) != before:                        # spaces only: the same riddle, or refuse
        raise AssertionError("riddle fmt would change the riddle's meaning; please report this file")
    return out


def _tree(text: str, file: str):
    source, diagnostics = decode_source(text.encode("utf-8", "surrogatepass"), file)
    if source is None or any(d.is_error for d in diagnostics):
        raise FormatError(diagnostics)
    riddle, syntax = parse(source)
    errors = [d for d in syntax if d.is_error]
    if errors:
        raise FormatError(errors)
    return _shape(riddle.statements)


def _shape(node):
    """A node without its spans (and the file it was read from): what the riddle says, not where."""
    if isinstance(node, Span):
        return None
    if isinstance(node, ast.Node) or dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (type(node).__name__,) + tuple((f.name, _shape(getattr(node, f.name)))
                                              for f in dataclasses.fields(node) if f.name not in ("span", "file"))
    if isinstance(node, (tuple, list)):
        return tuple(_shape(x) for x in node)
    return node


def _split(line: str) -> Line:
    """A physical line → its tokens and its comment (a `#` outside a string starts it)."""
    tokens, col = [], 0
    while col < len(line):
        if line[col] in " \t\f\r":
            col += 1
            continue
        if line[col] == "#":
            return Line(tuple(tokens), line[col:].rstrip())
        m = TOKEN.match(line, col)
        tokens.append(m.group())
        col = m.end()
    return Line(tuple(tokens), None)


def _space(prev: str | None, before_prev: str | None, tok: str, index: bool = False) -> str:
    if prev is None:
        return ""
    if index or tok in ("[", "]", "..") or prev in ("[", ".."):
        return ""                                          # an index is written tight: cell[3*br+1..3*br+3]
    if tok in (",", ";", ":", ")"):
        return ""
    if prev == "(":
        return ""
    if tok == "(" and prev == "num":
        return ""
    if prev == "-" and _unary(before_prev):
        return ""
    return " "


def _unary(before: str | None) -> bool:
    """Is a `-` after this token a negation (not a subtraction)?"""
    return before is None or before in BINARY or before in KEYWORDS or before in ("(", ",", "{", ";", ":")


def _code(tokens: tuple[str, ...]) -> str:
    out, prev, before, depth = [], None, None, 0
    for tok in tokens:
        out.append(_space(prev, before, tok, index=depth > 0 and tok != "[") + tok)
        depth += (tok == "[") - (tok == "]")
        before, prev = prev, tok
    return "".join(out)


COMPARISONS = frozenset("= == != < <= > >=".split())


def _wrapped(tokens: tuple[str, ...]) -> list[tuple[str, ...]] | None:
    """A relation too long for one line, as lines: its longer sum in `( … )`, broken after a `+` or `-`
    (inside parentheses a line break is only a space, so the riddle is the same). None: leave it."""
    depth, cut = 0, None
    for i, tok in enumerate(tokens):
        depth += (tok in "([{") - (tok in ")]}")
        if depth == 0 and tok in COMPARISONS:
            cut = i
    if cut is None or "{" in tokens or any(t in KEYWORDS and t != "num" for t in tokens):
        return None                                        # only a plain relation (no connective, loop, option)
    sides = [(0, cut), (cut + 1, len(tokens))]

    def terms(a, b):
        d, n = 0, 0
        for tok in tokens[a:b]:
            d += (tok in "([") - (tok in ")]")
            n += d == 0 and tok in "+-"
        return n
    a, b = max(sides, key=lambda ab: terms(*ab))
    if terms(a, b) < 2:
        return None
    inner = tokens[a:b]
    body = inner[1:-1] if inner[0] == "(" and inner[-1] == ")" and _closes_at_end(inner) else inner
    head, tail = tokens[:a] + ("(",), (")",) + tokens[b:]
    pieces, current, d = [], [], 0                         # the terms, each with the `+`/`-` after it
    for tok in body:
        current.append(tok)
        d += (tok in "([") - (tok in ")]")
        if d == 0 and tok in "+-" and len(current) > 1:
            pieces.append(current)
            current = []
    pieces.append(current)
    lines, line = [head], []
    for piece in pieces:                                   # as many terms on a line as fit in WIDTH
        if line and len(INDENT + _code(tuple(line + piece))) > WIDTH:
            lines.append(tuple(line))
            line = []
        line += piece
    lines += [tuple(line), tail]
    return lines


def _closes_at_end(tokens) -> bool:
    """Whether the `(` that opens `tokens` is closed by its last token (and not before)."""
    d = 0
    for i, tok in enumerate(tokens):
        d += (tok == "(") - (tok == ")")
        if d == 0:
            return i == len(tokens) - 1
    return False


def _layout(text: str) -> str:
    lines = [_split(raw) for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    rows: list[tuple[str, str | None] | None] = []         # (indented code, comment); None: a blank line
    depth = 0                                              # `{` open at the start of the line
    for line in lines:
        if not line.tokens and line.comment is None:
            if rows and rows[-1] is not None:
                rows.append(None)                          # a run of blank lines becomes one
            continue
        closes_first = bool(line.tokens) and line.tokens[0] in ")]}"
        indent = INDENT * max(0, depth - closes_first)
        code = _code(line.tokens)
        wrapped = _wrapped(line.tokens) if depth == 0 and len(code) > WIDTH else None
        if wrapped:                                        # a long sum, laid out over lines
            rows.append((_code(wrapped[0]), None))
            rows += [(INDENT + _code(t), None) for t in wrapped[1:-1]]
            rows.append((_code(wrapped[-1]), line.comment))
            continue
        rows.append((indent + code if code else indent, line.comment))
        depth = max(0, depth + sum(t in "({[" for t in line.tokens) - sum(t in ")}]" for t in line.tokens))
    while rows and rows[-1] is None:
        rows.pop()
    return "".join(line + "\n" for line in _aligned(rows))


def _aligned(rows) -> list[str]:
    """Trailing comments of consecutive lines start in one column: two spaces after the longest code
    of the run (a line without code or without a comment ends the run)."""
    out: list[str] = []
    i = 0
    while i < len(rows):
        row = rows[i]
        if row is None:
            out.append("")
            i += 1
            continue
        code, comment = row
        if comment is None or not code.strip():
            out.append(code + comment if comment is not None else code)
            i += 1
            continue
        j = i
        while j < len(rows) and rows[j] is not None and rows[j][1] is not None and rows[j][0].strip():
            j += 1
        width = max(len(rows[k][0]) for k in range(i, j))
        out += [f"{rows[k][0]:<{width}}  {rows[k][1]}" for k in range(i, j)]
        i = j
    return out

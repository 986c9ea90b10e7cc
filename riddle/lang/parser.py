"""Text → AST. The grammar lives in `grammar/riddle.lark`; this module builds the LALR
parser once, turns its tree into `riddle.lang.ast` nodes, and turns every way a text can fail to be
a riddle into a `Diagnostic` said in the language's own words.

Reading never raises for bad input: `read_source` and `parse` return diagnostics instead. Inputs
are bounded (file size, line length, operators per statement) so no input can hang the parser or
exhaust Python's recursion limit.
"""
from __future__ import annotations

import re

from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from . import ast
from .errors import ERROR, Diagnostic, Source, Span
from .grammar import lark_parser
from .syntax import syntax_diagnostic, unclosed_bracket

MAX_LINE_CHARS = 2000
MAX_OPERATORS = 600               # per statement (a sum of 199 numerals has ~400); bounds the tree's depth
MAX_DIAGNOSTICS = 50              # per file; a binary file must not print a thousand errors


# ── text → AST ───────────────────────────────────────────────────────────────

def parse(source: Source) -> tuple[ast.Riddle, list[Diagnostic]]:
    """Parse a whole riddle. Returns the statements that could be read and a diagnostic for each
    that could not: a mistake in one statement does not hide the mistakes in the others."""
    diagnostics = _check_bounds(source)
    if not diagnostics:
        try:
            tree = lark_parser().parse(source.text + "\n", start="start")
            return ast.Riddle(file=source.file, statements=tuple(_to_ast(tree, source.file))), []
        except UnexpectedInput:
            pass                                          # read statement by statement to find every mistake
    statements: list[ast.Statement] = []
    unread: list[str] = [source.line_text(d.span.line) for d in diagnostics if d.span]
    bad_lines = {d.span.line for d in diagnostics if d.span}
    for line, column, text, unclosed in split_statements(source.text):
        if line in bad_lines or not text.strip():
            continue
        if unclosed is not None:
            diagnostics.append(unclosed_bracket(source.file, *unclosed, source.line_text(unclosed[0])))
            unread.append(text)
            continue
        padded = " " * (column - 1) + text                # keep columns as in the file
        try:
            tree = lark_parser().parse(padded, start="statement")
            statements.extend(_to_ast(tree, source.file, line - 1))
        except UnexpectedInput as e:
            diagnostics.append(syntax_diagnostic(e, padded, source.file, line))
            unread.append(text)
        if len(diagnostics) >= MAX_DIAGNOSTICS:
            break
    return ast.Riddle(file=source.file, statements=tuple(statements), unread=tuple(unread)), diagnostics


_CLOSER = {"(": ")", "[": "]", "{": "}"}
_CONNECTIVES = re.compile(r"\b(?:or|and)\b")          # each nests the tree one level, as an operator does


def split_statements(text: str):
    """Yield (line, column, text, unclosed) for each statement: cut at `;` and at line ends, except
    inside brackets — `( … )` and `[ … ]` join lines as in Python, a `{ … }` list runs over several
    lines. Comments become spaces (columns stay as in the file). Inside a string (`"…"`, one line) `;`,
    `#` and brackets are text, so this split is exact.

    `unclosed` is the (line, column) of a bracket that the file never closes; that statement is cut at
    the end of the bracket's line, and reading goes on from the next line."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        start_line, start_col, buf = i, 1, []
        stack: list[tuple[str, int, int]] = []            # open brackets: (bracket, line, column)
        j, col = i, 0
        while True:
            code = _without_comment(lines[j])
            code = code + " " * (len(lines[j]) - len(code))
            quoted = False
            while col < len(code):
                ch = code[col]
                if ch == '"':
                    quoted = not quoted                   # a string never spans lines
                elif quoted:
                    pass                                  # `;`, `#`, brackets inside a path are the path's
                elif ch in _CLOSER:
                    stack.append((ch, j + 1, col + 1))
                elif stack and ch == _CLOSER[stack[-1][0]]:
                    stack.pop()
                elif ch == ";" and not stack:
                    yield start_line + 1, start_col, "".join(buf), None
                    buf, start_line, start_col = [], j, col + 2
                    col += 1
                    continue
                buf.append(ch)
                col += 1
            if not stack or j + 1 >= len(lines):
                break
            buf.append("\n")
            j, col = j + 1, 0
        if stack:                                         # unclosed: cut at the end of the bracket's line
            opened = stack[0][1:]
            first = "".join(buf).split("\n", 1)[0]
            yield start_line + 1, start_col, first, opened
            i = opened[0]                                 # the bracket's line was read; go on after it
            continue
        yield start_line + 1, start_col, "".join(buf), None
        i = j + 1


def _check_bounds(source: Source) -> list[Diagnostic]:
    """The line-length guard per physical line; the complexity guard per statement (which may run over
    several lines inside brackets)."""
    out = []
    for number, line in enumerate(source.text.split("\n"), start=1):
        if len(line) > MAX_LINE_CHARS:
            out.append(
                Diagnostic(
                    ERROR,
                    "R006",
                    f"line {number} is {len(line)} characters long; riddle reads at most {MAX_LINE_CHARS}",
                    Span(source.file, number, MAX_LINE_CHARS + 1, number, MAX_LINE_CHARS + 2),
                    "line too long",
                    help="break it inside parentheses: a line break inside `( … )` is only a space",
                )
            )
            if len(out) >= MAX_DIAGNOSTICS:
                return out
    if out:
        return out
    for number, column, piece, _ in split_statements(source.text):
        operators = sum(piece.count(ch) for ch in "+-*%([") + len(_CONNECTIVES.findall(piece))
        depth = _max_depth(piece)
        if operators > MAX_OPERATORS or depth > 32:
            what = (f"{depth} nested parentheses (at most 32)" if depth > 32
                    else f"{operators} operators (at most {MAX_OPERATORS})")
            rows = piece.split("\n")
            end_line, end_col = number + len(rows) - 1, (column if len(rows) == 1 else 1) + len(rows[-1])
            out.append(Diagnostic(ERROR, "R006", f"statement too complex: {what}",
                                  Span(source.file, number, column, end_line, end_col), "too complex",
                                  help="split it into several shorter relations"))
            if len(out) >= MAX_DIAGNOSTICS:
                break
    return out


def _without_comment(line: str) -> str:
    """The line up to its `#` comment; a `#` inside a string is part of the string."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == "#" and not quoted:
            return line[:i]
    return line


def _max_depth(text: str) -> int:
    depth = best = 0
    for ch in text:
        if ch in "([":
            depth += 1
            best = max(best, depth)
        elif ch in ")]":
            depth -= 1
    return best


def _to_ast(tree, file: str, line_offset: int = 0) -> list[ast.Statement]:
    result = _ToAst(file, line_offset).convert(tree)
    return list(result) if isinstance(result, list) else [result]


class _ToAst:
    """Lark tree → ast nodes, bottom up: a rule's method gets its meta (positions) and its children converted.
    Kept apart from the parser so that positions survive (Lark's own recommendation); `line_offset` places a
    statement parsed on its own back in its file. Its own walk rather than a lark.Transformer: that one
    wraps each method afresh for every node (meta=True), a third of the parse's time on a 199-term sum."""

    def __init__(self, file: str, line_offset: int = 0):
        self.file, self.dl = file, line_offset
        self._rules: dict[str, object] = {}

    def convert(self, tree: Tree):
        children = [self.convert(c) if isinstance(c, Tree) else c for c in tree.children]
        rule = self._rules.get(tree.data)
        if rule is None:
            rule = self._rules[tree.data] = getattr(self, tree.data, None) or (
                lambda meta, children, data=tree.data: Tree(data, children, meta))   # as Transformer's default
        return rule(tree.meta, children)

    def _span(self, meta) -> Span:
        return Span(self.file, meta.line + self.dl, meta.column, meta.end_line + self.dl, meta.end_column)

    def _tok(self, tok: Token) -> Span:
        return Span(self.file, tok.line + self.dl, tok.column, tok.end_line + self.dl, tok.end_column)

    def _name(self, tok: Token) -> ast.Name:
        return ast.Name(text=str(tok), span=self._tok(tok))

    def _number(self, tok: Token) -> ast.Number:
        return ast.Number(text=str(tok), span=self._tok(tok))

    def start(self, meta, children):
        return [c for c in children if isinstance(c, ast.Statement)]

    def statement(self, meta, children):
        return children[0]

    def names(self, meta, children):
        return tuple(children)

    def ref(self, meta, children):
        name, *indexes = children
        if not indexes:
            return self._name(name)
        return ast.Ref(name=self._name(name), indexes=tuple(indexes), span=self._span(meta))

    def at(self, meta, children):
        return ast.Index(low=children[0], span=self._span(meta))

    def slice(self, meta, children):
        return ast.Index(low=children[0], high=children[1], span=self._span(meta))

    def loop(self, meta, children):
        *bindings, body = children
        return ast.Loop(bindings=tuple(bindings), body=body, span=self._span(meta))

    def binding(self, meta, children):
        name, low, high = children
        return ast.Binding(name=self._name(name), low=low, high=high, span=self._span(meta))

    def sheet(self, meta, children):
        rows, by, columns = children
        return ast.Sheet(rows=self._number(rows), columns=self._number(columns), by=str(by), span=self._span(meta))

    def words(self, meta, children):
        return tuple(self._name(t) for t in children)

    def plural_declaration(self, meta, children):
        domain, names = children
        return ast.Declaration(names=names, domain=self._name(domain), plural=True, span=self._span(meta))

    def typed_declaration(self, meta, children):
        names, domain = children
        return ast.Declaration(names=names, domain=self._name(domain), plural=False, span=self._span(meta))

    def fact(self, meta, children):
        claim, *options = children
        given: dict[str, ast.Number] = {}
        repeated = []
        for key, number in options:                        # ("strength", 2), ("noise", 0.1)
            if key in given:
                repeated.append(number.span)
            given[key] = number
        return type(claim)(**{**claim.__dict__, "strength": given.get("strength"), "noise": given.get("noise"),
                              "solutions": given.get("solutions"), "repeated": tuple(repeated),
                              "span": self._span(meta)})

    def strength(self, meta, children):
        return "strength", self._number(children[0])

    def noise(self, meta, children):
        return "noise", self._number(children[0])

    def solutions(self, meta, children):
        return "solutions", self._count(children[0])

    def observation(self, meta, children):
        subject, path, *through = children
        sheet = through.pop() if through and isinstance(through[-1], ast.Sheet) else None
        where = (ast.Placeholder(text=str(path), span=self._tok(path)) if path.type == "PLACEHOLDER"
                 else ast.Text(text=str(path)[1:-1], span=self._tok(path)))
        return ast.Observation(subject=subject, path=where, through=tuple(through), sheet=sheet, span=self._span(meta))

    def instrument(self, meta, children):
        name, value = children
        value = (ast.Text(text=str(value)[1:-1], span=self._tok(value)) if value.type == "STRING"
                 else self._number(value))
        return ast.Instrument(name=self._name(name), value=value, span=self._span(meta))

    def _predicate(self, meta, children, verb, negated):
        subject, words = children
        return ast.PredicateFact(
            subject=subject, verb=verb, negated=negated, words=words, span=self._span(meta)
        )

    def is_predicate(self, meta, c): return self._predicate(meta, c, "is", False)
    def is_not_predicate(self, meta, c): return self._predicate(meta, c, "is", True)
    def has_predicate(self, meta, c): return self._predicate(meta, c, "has", False)
    def has_no_predicate(self, meta, c): return self._predicate(meta, c, "has", True)
    def contains_predicate(self, meta, c): return self._predicate(meta, c, "contains", False)
    def contains_no_predicate(self, meta, c): return self._predicate(meta, c, "contains", True)

    def is_label(self, meta, c):
        return ast.LabelFact(subject=c[0], label=self._number(c[1]), negated=False, span=self._span(meta))

    def is_not_label(self, meta, c):
        return ast.LabelFact(subject=c[0], label=self._number(c[1]), negated=True, span=self._span(meta))

    def relation(self, meta, children):
        left, op, right = children
        return ast.Relation(left=left, op="=" if op == "==" else str(op), op_span=self._tok(op), right=right,
                            span=self._span(meta))

    def distinct(self, meta, children):
        return ast.Distinct(names=children[0], span=self._span(meta))

    def _connective(self, meta, op, parts, count=None):
        flat = []
        for p in parts:                                   # `a or b or c` is one `or` of three parts
            if op in ("or", "and") and isinstance(p, ast.Connective) and p.op == op:
                flat.extend(p.parts)
            else:
                flat.append(p)
        return ast.Connective(op=op, parts=tuple(flat), count=count, span=self._span(meta))

    def any_of(self, meta, children): return self._connective(meta, "or", children)
    def all_of(self, meta, children): return self._connective(meta, "and", children)
    def conditional(self, meta, children): return self._connective(meta, "if", children)

    def counting(self, meta, children):
        (op, count), *parts = children
        return self._connective(meta, op, parts, count)

    def exactly(self, meta, c): return "exactly", self._count(c[0])
    def at_least(self, meta, c): return "at least", self._count(c[0])
    def at_most(self, meta, c): return "at most", self._count(c[0])

    def _count(self, tok: Token):
        if tok.type == "PLACEHOLDER":
            return ast.Placeholder(text=str(tok), span=self._tok(tok))
        return self._number(tok) if tok.type == "NUMBER" else self._name(tok)

    def _binop(self, meta, children, op):
        left, right = children
        return ast.BinOp(op=op, left=left, right=right, span=self._span(meta))

    def add(self, meta, c): return self._binop(meta, c, "+")
    def sub(self, meta, c): return self._binop(meta, c, "-")
    def mul(self, meta, c): return self._binop(meta, c, "*")
    def mod(self, meta, c): return self._binop(meta, c, "%")

    def neg(self, meta, children):
        return ast.Negate(operand=children[0], span=self._span(meta))

    def number(self, meta, children):
        return ast.Literal(number=self._number(children[0]), span=self._span(meta))

    def variable(self, meta, children):
        return ast.Variable(name=children[0], span=self._span(meta))

    def placeholder(self, meta, children):
        return ast.Placeholder(text=str(children[0]), span=self._span(meta))

    def numeral(self, meta, children):
        return ast.Numeral(digits=children[0], span=self._span(meta))

    def solve(self, meta, children):
        return ast.Solve(settings=tuple(children), span=self._span(meta))

    def counted_setting(self, meta, children):
        count, key = children                             # "100 restarts"
        return ast.Setting(key=self._name(key), values=(self._number(count),), span=self._span(meta))

    def named_setting(self, meta, children):
        key, *values = children                           # "anneal 0.5 1 3 10"
        vals = tuple(self._number(v) if v.type == "NUMBER" else self._name(v) for v in values)
        return ast.Setting(key=self._name(key), values=vals, span=self._span(meta))



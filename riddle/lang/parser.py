"""Text → AST. The grammar lives in `grammar/riddle.lark`; this module builds the LALR
parser once, turns its tree into `riddle.lang.ast` nodes, and turns every way a text can fail to be
a riddle into a `Diagnostic` said in the language's own words.

Reading never raises for bad input: `read_source` and `parse` return diagnostics instead. Inputs
are bounded (file size, line length, operators per statement) so no input can hang the parser or
exhaust Python's recursion limit.
"""
from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass

from lark import Token
from lark.exceptions import UnexpectedInput

from . import ast
from .errors import ERROR, Diagnostic, Source, Span
from .grammar import lark_parser
from .lalr import Driver, NotParsed
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
            statements, forms = _parse_to_ast(source.text + "\n", "start", source.file, explain=False)
            return ast.Riddle(file=source.file, statements=tuple(statements), plain=not forms), []
        except (UnexpectedInput, NotParsed):
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
            statements.extend(_parse_to_ast(padded, "statement", source.file, line - 1)[0])
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
    text = source.text
    if sum(text.count(ch) for ch in "+-*%([") + len(_CONNECTIVES.findall(text)) <= MAX_OPERATORS \
            and _max_depth(text) <= 32:
        return out                        # the whole text is within both bounds, so is each statement
    for number, column, piece, _ in split_statements(text):
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


_BRACKET = re.compile(r"[()\[\]]")


def _max_depth(text: str) -> int:
    """How deep `( … )` and `[ … ]` nest. A closer with nothing open counts as nothing, so a whole text is
    never shallower than any of its statements."""
    depth = best = 0
    for m in _BRACKET.finditer(text):
        if m.group() in "([":
            depth += 1
            best = max(best, depth)
        else:
            depth = max(depth - 1, 0)
    return best


def _parse_to_ast(text: str, start: str, file: str, line_offset: int = 0,
                  explain: bool = True) -> tuple[list[ast.Statement], bool]:
    """Parse `text` from rule `start` into AST nodes, built as Lark reduces each rule (its inline transformer:
    no parse tree, no second walk), and whether any is an array reference, a loop or a sheet (else the
    expander need not walk them). One parse at a time in a process: the builder holds the file and line
    offset of the parse under way (the GIL runs one anyway). A text that does not parse raises Lark's
    UnexpectedInput, which says why (`explain=False`: lalr.NotParsed, where the caller needs no why)."""
    with _BUILDING:
        driver = _driver()
        _BUILDER.begin(file, line_offset)
        try:
            if driver is None:
                raise NotParsed
            result = driver.parse(text, start)
        except NotParsed:
            if driver is not None and not explain:
                raise
            _BUILDER.begin(file, line_offset)           # Lark's own loop, whose UnexpectedInput says why
            result = lark_parser(_BUILDER).parse(text, start=start)
        forms = _BUILDER.forms
    return (list(result) if isinstance(result, list) else [result]), forms


_BUILDING = threading.Lock()


@functools.cache
def _driver() -> Driver | None:
    """lalr.py's loop over the parser's tables (None: Lark's loop parses everything)."""
    return Driver.of(lark_parser(_BUILDER))


@dataclass(frozen=True)
class _Part:
    """A piece of a statement that is no node of its own (`with strength 2`, `exactly 2`), with its span."""
    key: str
    value: object
    span: Span


class _ToAst:
    """Lark's inline transformer: each rule's method gets its children, already converted, as the parser
    reduces it. A node's span runs from its first child's start to its last child's end (the grammar keeps
    the tokens that begin or end a node, such as `for`, `num(` … `)` and `[` … `]`), so the parser needs no
    propagate_positions. `begin` sets the file and the line offset (a statement parsed on its own is placed
    back in its file) before each parse."""

    def begin(self, file: str, line_offset: int = 0) -> None:
        self.file, self.dl = file, line_offset
        self.forms = False                      # an array reference, a loop or a sheet was built
        self._grouped: dict[int, tuple] = {}    # id(node) → (node, its span with the parentheses around it), which
                                                # a node that begins or ends with it covers (`(a + b) * 2`); the
                                                # node is held so that no other takes its id during the parse

    def _tok(self, tok: Token) -> Span:
        return Span(self.file, tok.line + self.dl, tok.column, tok.end_line + self.dl, tok.end_column)

    def _edge(self, x, end: bool) -> Span:
        """The span of a child: a token, a node, a _Part, or a tuple of them (its first or last element's)."""
        while isinstance(x, tuple):
            x = x[-1 if end else 0]
        if isinstance(x, Token):
            return self._tok(x)
        grouped = self._grouped.get(id(x))
        return grouped[1] if grouped is not None else x.span

    def _cover(self, first, last) -> Span:
        """From the start of `first` to the end of `last` (children, as _edge takes them)."""
        a, b = self._edge(first, False), self._edge(last, True)
        return Span(self.file, a.line, a.column, b.end_line, b.end_column)

    def _name(self, tok: Token) -> ast.Name:
        return ast.Name(text=str(tok), span=self._tok(tok))

    def _number(self, tok: Token) -> ast.Number:
        return ast.Number(text=str(tok), span=self._tok(tok))

    def start(self, children):
        return [c for c in children if isinstance(c, ast.Statement)]

    def statement(self, children):
        return children[0]

    def group(self, children):
        """`( … )`: the node inside, as it is; the parentheses count where it begins or ends another."""
        opening, node, closing = children
        self._grouped[id(node)] = (node, self._cover(opening, closing))
        return node

    def names(self, children):
        return tuple(children)

    def ref(self, children):
        name, *indexes = children
        if not indexes:
            return self._name(name)
        self.forms = True
        return ast.Ref(name=self._name(name), indexes=tuple(indexes), span=self._cover(name, indexes[-1]))

    def at(self, children):
        opening, low, closing = children
        return ast.Index(low=low, span=self._cover(opening, closing))

    def slice(self, children):
        opening, low, high, closing = children
        return ast.Index(low=low, high=high, span=self._cover(opening, closing))

    def loop(self, children):
        word, *bindings, body = children
        self.forms = True
        return ast.Loop(bindings=tuple(bindings), body=body, span=self._cover(word, body))

    def binding(self, children):
        name, low, high = children
        return ast.Binding(name=self._name(name), low=low, high=high, span=self._cover(name, high))

    def sheet(self, children):
        word, rows, by, columns = children
        self.forms = True
        return ast.Sheet(rows=self._number(rows), columns=self._number(columns), by=str(by),
                         span=self._cover(word, columns))

    def words(self, children):
        return tuple(self._name(t) for t in children)

    def plural_declaration(self, children):
        domain, names = children
        return ast.Declaration(names=names, domain=self._name(domain), plural=True, span=self._cover(domain, names))

    def typed_declaration(self, children):
        names, domain = children
        return ast.Declaration(names=names, domain=self._name(domain), plural=False, span=self._cover(names, domain))

    def fact(self, children):
        claim, *options = children
        given: dict[str, ast.Number] = {}
        repeated = []
        for option in options:                             # _Part("strength", 2), _Part("noise", 0.1)
            if option.key in given:
                repeated.append(option.value.span)
            given[option.key] = option.value
        return type(claim)(**{**claim.__dict__, "strength": given.get("strength"), "noise": given.get("noise"),
                              "solutions": given.get("solutions"), "repeated": tuple(repeated),
                              "span": self._cover(claim, options[-1] if options else claim)})

    def strength(self, children):
        number = self._number(children[0])
        return _Part("strength", number, number.span)

    def noise(self, children):
        number = self._number(children[0])
        return _Part("noise", number, number.span)

    def solutions(self, children):
        count, word = children
        return _Part("solutions", self._count(count), self._cover(count, word))

    def observation(self, children):
        subject, path, *through = children
        sheet = through.pop() if through and isinstance(through[-1], ast.Sheet) else None
        where = (ast.Placeholder(text=str(path), span=self._tok(path)) if path.type == "PLACEHOLDER"
                 else ast.Text(text=str(path)[1:-1], span=self._tok(path)))
        return ast.Observation(subject=subject, path=where, through=tuple(through), sheet=sheet,
                               span=self._cover(subject, sheet or (through[-1] if through else path)))

    def instrument(self, children):
        name, value = children
        value_node = (ast.Text(text=str(value)[1:-1], span=self._tok(value)) if value.type == "STRING"
                      else self._number(value))
        return ast.Instrument(name=self._name(name), value=value_node, span=self._cover(name, value))

    def _predicate(self, children, verb, negated):
        subject, words = children
        return ast.PredicateFact(subject=subject, verb=verb, negated=negated, words=words,
                                 span=self._cover(subject, words))

    def is_predicate(self, c): return self._predicate(c, "is", False)
    def is_not_predicate(self, c): return self._predicate(c, "is", True)
    def has_predicate(self, c): return self._predicate(c, "has", False)
    def has_no_predicate(self, c): return self._predicate(c, "has", True)
    def contains_predicate(self, c): return self._predicate(c, "contains", False)
    def contains_no_predicate(self, c): return self._predicate(c, "contains", True)

    def is_label(self, c):
        return ast.LabelFact(subject=c[0], label=self._number(c[1]), negated=False, span=self._cover(c[0], c[1]))

    def is_not_label(self, c):
        return ast.LabelFact(subject=c[0], label=self._number(c[1]), negated=True, span=self._cover(c[0], c[1]))

    def relation(self, children):
        left, op, right = children
        return ast.Relation(left=left, op="=" if op == "==" else str(op), op_span=self._tok(op), right=right,
                            span=self._cover(left, right))

    def distinct(self, children):
        word, names = children
        return ast.Distinct(names=names, span=self._cover(word, names))

    def _connective(self, op, parts, span, count=None):
        flat = []
        for p in parts:                                   # `a or b or c` is one `or` of three parts
            if op in ("or", "and") and isinstance(p, ast.Connective) and p.op == op:
                flat.extend(p.parts)
            else:
                flat.append(p)
        return ast.Connective(op=op, parts=tuple(flat), count=count, span=span)

    def any_of(self, c): return self._connective("or", c, self._cover(c[0], c[-1]))
    def all_of(self, c): return self._connective("and", c, self._cover(c[0], c[-1]))

    def conditional(self, children):
        word, *parts = children
        return self._connective("if", parts, self._cover(word, parts[-1]))

    def counting(self, children):
        quantity, *parts, closing = children
        return self._connective(quantity.key, parts, self._cover(quantity, closing), quantity.value)

    def exactly(self, c): return _Part("exactly", self._count(c[-1]), self._cover(c[0], c[-1]))
    def at_least(self, c): return _Part("at least", self._count(c[-1]), self._cover(c[0], c[-1]))
    def at_most(self, c): return _Part("at most", self._count(c[-1]), self._cover(c[0], c[-1]))

    def _count(self, tok: Token):
        if tok.type == "PLACEHOLDER":
            return ast.Placeholder(text=str(tok), span=self._tok(tok))
        return self._number(tok) if tok.type == "NUMBER" else self._name(tok)

    def _binop(self, children, op):
        left, right = children
        return ast.BinOp(op=op, left=left, right=right, span=self._cover(left, right))

    def add(self, c): return self._binop(c, "+")
    def sub(self, c): return self._binop(c, "-")
    def mul(self, c): return self._binop(c, "*")
    def mod(self, c): return self._binop(c, "%")

    def neg(self, children):
        sign, operand = children
        return ast.Negate(operand=operand, span=self._cover(sign, operand))

    def number(self, children):
        number = self._number(children[0])
        return ast.Literal(number=number, span=number.span)

    def variable(self, children):
        return ast.Variable(name=children[0], span=children[0].span)

    def placeholder(self, children):
        return ast.Placeholder(text=str(children[0]), span=self._tok(children[0]))

    def numeral(self, children):
        word, digits, closing = children
        return ast.Numeral(digits=digits, span=self._cover(word, closing))

    def solve(self, children):
        word, *settings = children
        return ast.Solve(settings=tuple(settings), span=self._cover(word, settings[-1]))

    def counted_setting(self, children):
        count, key = children                             # "100 restarts"
        return ast.Setting(key=self._name(key), values=(self._number(count),), span=self._cover(count, key))

    def named_setting(self, children):
        key, *values = children                           # "anneal 0.5 1 3 10"
        vals = tuple(self._number(v) if v.type == "NUMBER" else self._name(v) for v in values)
        return ast.Setting(key=self._name(key), values=vals, span=self._cover(key, values[-1]))


_BUILDER = _ToAst()

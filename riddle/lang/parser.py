"""Text → AST. The grammar lives in `grammar/riddle.lark`; this module builds the LALR
parser once, turns its tree into `riddle.lang.ast` nodes, and turns every way a text can fail to be
a riddle into a `Diagnostic` said in the language's own words.

Reading never raises for bad input: `read_source` and `parse` return diagnostics instead. Inputs
are bounded (file size, line length, operators per statement) so no input can hang the parser or
exhaust Python's recursion limit.
"""
from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from . import ast
from .errors import ERROR, Diagnostic, Source, Span, suggest

MAX_FILE_BYTES = 1 << 20          # 1 MiB: a riddle is a page, not a data set
MAX_LINE_CHARS = 2000
MAX_OPERATORS = 100               # per statement; bounds the expression tree's depth
MAX_DIAGNOSTICS = 50              # per file; a binary file must not print a thousand errors

VERBS = ("is", "has", "contains")

# Operators people type from maths or other languages, and what riddle spells them as.
FOREIGN_OPERATORS = {
    "≠": "!=", "≤": "<=", "≥": ">=", "×": "*", "·": "*", "−": "-", "–": "-", "—": "-", "＝": "=",
    "＋": "+", "÷": None, "/": None, "&": None, "|": None, "^": None, "≡": "=", "⩽": "<=", "⩾": ">=",
}


GRAMMAR_FILE = "riddle.lark"


@functools.cache
def grammar_path():
    """The grammar's one source, `grammar/riddle.lark` at the repository's top level. A wheel packages
    that folder as `riddle.grammar` (pyproject.toml's package-dir); a checkout reads it in place."""
    try:
        packaged = resources.files("riddle.grammar").joinpath(GRAMMAR_FILE)
        if packaged.is_file():
            return packaged
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "grammar" / GRAMMAR_FILE


@functools.cache
def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")


@functools.cache
def lark_parser() -> Lark:
    """The LALR parser, built once per process (strict: conflicts and collisions are errors)."""
    # lexer="basic": keywords are reserved everywhere, not only where the parser expects them
    # cache=True: Lark keeps the analysed tables in a temporary file keyed by the grammar's hash, so
    # `riddle check` starts in milliseconds; tests build it uncached to keep strict mode honest.
    return Lark(grammar_text(), parser="lalr", lexer="basic", strict=True, propagate_positions=True,
                maybe_placeholders=False, start=["start", "statement"], cache=True)


# ── reading bytes ────────────────────────────────────────────────────────────

def read_source(path: str | Path) -> tuple[Source | None, list[Diagnostic]]:
    """Read a riddle file. Anything that is not a readable UTF-8 text becomes a diagnostic."""
    name = str(path)
    p = Path(path)
    try:
        if p.is_dir():
            return None, [_file_error("R005", f"`{name}` is a directory, not a riddle file",
                                      "give the path of a `.rdl` file, for example `puzzles/134.rdl`")]
        with open(p, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        near = suggest(p.name, [q.name for q in p.parent.glob("*.rdl")]) if p.parent.is_dir() else None
        return None, [_file_error("R005", f"no such file: `{name}`",
                                  f"did you mean `{p.parent / near}`?" if near else None)]
    except OSError as e:
        return None, [_file_error("R005", f"cannot read `{name}`: {e.strerror or e}")]
    if len(data) > MAX_FILE_BYTES:
        return None, [
            _file_error(
                "R006",
                f"`{name}` is larger than {MAX_FILE_BYTES >> 20} MiB; a riddle is a short text",
                "is this the right file?",
            )
        ]
    return decode_source(data, name)


def decode_source(data: bytes, name: str = "<riddle>") -> tuple[Source | None, list[Diagnostic]]:
    if b"\x00" in data:
        return None, [_file_error("R004", f"`{name}` looks like a binary file, not a riddle (it holds NUL bytes)")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        column = len(data[:e.start].rsplit(b"\n", 1)[-1].decode("utf-8", "replace")) + 1
        span = Span(name, line, column, line, column + 1)
        shown = data.decode("utf-8", "replace")
        return Source(name, shown.replace("\r\n", "\n")), [Diagnostic(
            ERROR, "R004", f"`{name}` is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})",
            span, "not UTF-8", help="save the file as UTF-8")]
    if text.startswith("\ufeff"):
        text = text[1:]                                   # a byte-order mark is harmless
    return Source(name, text.replace("\r\n", "\n").replace("\r", "\n")), []


def _file_error(code: str, message: str, help: str | None = None) -> Diagnostic:
    return Diagnostic(ERROR, code, message, None, help=help)


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
            diagnostics.append(_unclosed_brace(source.file, *unclosed))
            unread.append(text)
            continue
        padded = " " * (column - 1) + text                # keep columns as in the file
        try:
            tree = lark_parser().parse(padded, start="statement")
            statements.extend(_to_ast(tree, source.file, line - 1))
        except UnexpectedInput as e:
            diagnostics.append(_syntax_diagnostic(e, padded, source.file, line))
            unread.append(text)
        if len(diagnostics) >= MAX_DIAGNOSTICS:
            break
    return ast.Riddle(file=source.file, statements=tuple(statements), unread=tuple(unread)), diagnostics


def split_statements(text: str):
    """Yield (line, column, text, unclosed) for each statement: cut at `;` and at line ends, except
    inside a `{ … }` list, which may run over several lines. Comments become spaces (columns stay
    as in the file). Inside a string (`"…"`, one line) `;` and `#` are text, so this split is exact.

    `unclosed` is the (line, column) of a `{` that the file never closes; that statement is cut at
    the end of the brace's line, and reading goes on from the next line."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        start_line, start_col, depth, opened, buf = i, 1, 0, None, []
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
                    pass                                  # `;`, `#`, braces inside a path are the path's
                elif ch == "{":
                    depth += 1
                    opened = opened or (j + 1, col + 1)
                elif ch == "}" and depth > 0:
                    depth -= 1
                    if depth == 0:
                        opened = None
                elif ch == ";" and depth == 0:
                    yield start_line + 1, start_col, "".join(buf), None
                    buf, start_line, start_col = [], j, col + 2
                    col += 1
                    continue
                buf.append(ch)
                col += 1
            if depth == 0 or j + 1 >= len(lines):
                break
            buf.append("\n")
            j, col = j + 1, 0
        if depth > 0:                                     # unclosed: cut at the end of the brace's line
            first = "".join(buf).split("\n", 1)[0]
            yield start_line + 1, start_col, first, opened
            i = opened[0]                                 # the brace's line was read; go on after it
            continue
        yield start_line + 1, start_col, "".join(buf), None
        i = j + 1


def _check_bounds(source: Source) -> list[Diagnostic]:
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
                    help="put one statement on each line",
                )
            )
            continue
        code = _without_comment(line)
        for column, piece in _pieces(code):
            operators = sum(piece.count(ch) for ch in "+-*%(")
            depth = _max_depth(piece)
            if operators > MAX_OPERATORS or depth > 32:
                what = (f"{depth} nested parentheses (at most 32)" if depth > 32
                        else f"{operators} operators (at most {MAX_OPERATORS})")
                out.append(Diagnostic(ERROR, "R006", f"statement too complex: {what}",
                                      Span(source.file, number, column, number, column + len(piece)), "too complex",
                                      help="split it into several shorter relations"))
        if len(out) >= MAX_DIAGNOSTICS:
            break
    return out


def _pieces(code: str):
    """(column, piece) for the `;`-separated pieces of a line's code, strings left whole."""
    column, start, quoted = 1, 0, False
    for i, ch in enumerate(code):
        if ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            yield column, code[start:i]
            column, start = column + i - start + 1, i + 1
    yield column, code[start:]


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
        if ch == "(":
            depth += 1
            best = max(best, depth)
        elif ch == ")":
            depth -= 1
    return best


def _to_ast(tree, file: str, line_offset: int = 0) -> list[ast.Statement]:
    try:
        result = _ToAst(file, line_offset).transform(tree)
    except VisitError as e:                               # only a bug in this module can land here
        raise e.orig_exc from None
    return list(result) if isinstance(result, list) else [result]


@v_args(meta=True)
class _ToAst(Transformer):
    """Lark tree → ast nodes. Kept apart from the parser so that positions survive (Lark's own
    recommendation); `line_offset` places a statement parsed on its own back in its file."""

    def __init__(self, file: str, line_offset: int = 0):
        super().__init__()
        self.file, self.dl = file, line_offset

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
        return tuple(self._name(t) for t in children)

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
                              "repeated": tuple(repeated), "span": self._span(meta)})

    def strength(self, meta, children):
        return "strength", self._number(children[0])

    def noise(self, meta, children):
        return "noise", self._number(children[0])

    def observation(self, meta, children):
        subject, path = children
        return ast.Observation(subject=self._name(subject), path=ast.Text(text=str(path)[1:-1], span=self._tok(path)),
                               span=self._span(meta))

    def _predicate(self, meta, children, verb, negated):
        subject, words = children
        return ast.PredicateFact(
            subject=self._name(subject), verb=verb, negated=negated, words=words, span=self._span(meta)
        )

    def is_predicate(self, meta, c): return self._predicate(meta, c, "is", False)
    def is_not_predicate(self, meta, c): return self._predicate(meta, c, "is", True)
    def has_predicate(self, meta, c): return self._predicate(meta, c, "has", False)
    def has_no_predicate(self, meta, c): return self._predicate(meta, c, "has", True)
    def contains_predicate(self, meta, c): return self._predicate(meta, c, "contains", False)
    def contains_no_predicate(self, meta, c): return self._predicate(meta, c, "contains", True)

    def is_label(self, meta, c):
        return ast.LabelFact(subject=self._name(c[0]), label=self._number(c[1]), negated=False, span=self._span(meta))

    def is_not_label(self, meta, c):
        return ast.LabelFact(subject=self._name(c[0]), label=self._number(c[1]), negated=True, span=self._span(meta))

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
        return ast.Variable(name=self._name(children[0]), span=self._span(meta))

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


# ── syntax errors in the language's words ────────────────────────────────────

_TERMINAL_WORDS = {
    "NAME": "a name", "NUMBER": "a number", "COMPARISON": "a comparison (`=`, `!=`, `<`, `<=`, `>`, `>=`)",
    "PLUS": "`+`", "MINUS": "`-`", "STAR": "`*`", "PERCENT": "`%`", "LPAR": "`(`", "RPAR": "`)`",
    "COMMA": "`,`", "COLON": "`:`", "_SEP": "the end of the statement", "$END": "the end of the statement",
    "_IS": "`is`", "_NOT": "`not`", "_HAS": "`has`", "_NO": "`no`", "_CONTAINS": "`contains`",
    "_ALL": "`all`", "_DIFFERENT": "`different`", "_NUM": "`num(`", "_WITH": "`with strength`",
    "_STRENGTH": "`strength`", "_SOLVE": "`solve`", "_OR": "`or`", "_AND": "`and`", "_IF": "`if`",
    "_THEN": "`then`", "_EXACTLY": "`exactly`", "_AT": "`at`", "_LEAST": "`least`", "_MOST": "`most`",
    "_OF": "`of`", "LBRACE": "`{`", "RBRACE": "`}`", "_LOOKS": "`looks`", "_LIKE": "`like`",
    "_NOISE": "`noise`", "STRING": "a path in quotes",
}
_EXPRESSION_START = {"NAME", "NUMBER", "LPAR", "MINUS", "_NUM"}
_OPERATORS = {"PLUS", "MINUS", "STAR", "PERCENT"}
# what can begin a statement inside a connective
STATEMENT_START = _EXPRESSION_START | {"_ALL", "_EXACTLY", "_AT"}


def _describe_expected(expected: set[str], after_verb: bool = False) -> str:
    expected = set(expected) - {"_SEP"} | ({"$END"} if "_SEP" in expected else set())
    parts = []
    if expected & STATEMENT_START >= {"_EXACTLY", "_AT", "_ALL"}:
        parts.append("a statement")
        expected -= STATEMENT_START
    if _EXPRESSION_START <= expected or {"NAME", "NUMBER", "LPAR"} <= expected:
        parts.append("an expression (a name, a number or `(`)")
        expected -= _EXPRESSION_START
    if _OPERATORS <= expected:
        parts.append("an operator (`+`, `-`, `*`, `%`)")
        expected -= _OPERATORS
    order = ["NAME", "NUMBER", "_NOT", "_NO", "COMMA", "COLON", "COMPARISON", "PLUS", "MINUS", "STAR", "PERCENT",
             "RPAR", "_THEN", "_OF", "LBRACE", "RBRACE", "_AND", "_OR", "_WITH", "_STRENGTH", "_DIFFERENT", "LPAR",
             "$END"]
    rest = sorted(expected, key=lambda t: (order.index(t) if t in order else len(order), t))
    words = dict(_TERMINAL_WORDS, **(after_verb and {"NAME": "a predicate's name", "NUMBER": "a label"} or {}))
    parts += [words.get(t, t.lower()) for t in rest]
    if not parts:
        return "something else"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _shown(tok: Token | None) -> str:
    if tok is None or tok.type in ("$END", "_SEP") and tok.value in ("", "\n"):
        return "the end of the line"
    return f"`{tok.value}`"


def _tokens(text: str) -> list[Token]:
    """The tokens of one statement, as far as they can be read."""
    out = []
    try:
        for tok in lark_parser().lex(text):
            out.append(tok)
    except UnexpectedInput:
        pass
    return out


def _context(tokens: list[Token]) -> str:
    types = [t.type for t in tokens]
    if not types:
        return "a statement"
    if types[0] == "_SOLVE":
        return "the solve settings"
    if "_IF" in types:
        return "an `if … then …`"
    if types[0] in ("_EXACTLY", "_AT") or "LBRACE" in types:
        return "a counted list (`exactly N of { … }`)"
    if "_OR" in types or "_AND" in types:
        return "a connective (`or`, `and`)"
    if types[0] == "_ALL":
        return "an `all different` list"
    if "_WITH" in types:
        return "a strength (`with strength W`)"
    if types[0] == "NAME" and len(types) > 1:
        if types[1] in ("_IS", "_HAS", "_CONTAINS"):
            return f"`{tokens[0].value} {tokens[1].value} …`"
        if types[1] in ("NAME", "COLON") or (types[1] == "COMMA" and "COMPARISON" not in types):
            return "a declaration"
    return "a relation" if len(types) > 1 or types[0] != "NAME" else "a statement"


def _syntax_diagnostic(e: UnexpectedInput, text: str, file: str, line: int) -> Diagnostic:
    if isinstance(e, UnexpectedCharacters):
        return _bad_character(text, e.pos_in_stream, file, line)
    assert isinstance(e, UnexpectedToken)
    tok: Token = e.token
    all_tokens = _tokens(text)
    at_end = tok.type == "$END"
    before = all_tokens if at_end else [t for t in all_tokens if t.start_pos < tok.start_pos]
    prev = before[-1] if before else None
    try:
        expected = set(e.interactive_parser.accepts())
    except Exception:                                     # accepts() replays the parser; fall back to Lark's set
        expected = set(e.expected)
    context = _context(before)
    where = f"after {_shown(prev)}" if prev else "at the start of the statement"
    after_verb = bool(before) and before[-1].type in ("_IS", "_NOT", "_HAS", "_NO", "_CONTAINS")
    message = f"while reading {context} I expected {_describe_expected(expected, after_verb)} {where}"
    if at_end:
        column = (prev.end_column if prev else len(text) + 1)
        span = Span(file, line, column, line, column + 1)
        label = "the statement ends here"
    else:
        span = Span(file, line, tok.column, line, tok.end_column)
        label = f"unexpected {_shown(tok)}"
    return Diagnostic(ERROR, "R002", message, span, label, help=_syntax_help(before, tok, expected))


def _syntax_help(before: list[Token], tok: Token, expected: set[str]) -> str | None:
    types = [t.type for t in before]
    last = types[-1] if types else None
    if tok.type == "STRING" and last != "_LIKE":
        return ("names and predicates are written without quotes: `first is odd`; a string in quotes is a path, "
                'after `looks like`: `x looks like "seen.png"`')
    if last == "STRING" and tok.type in ("_OR", "_AND"):
        return "an observation stands alone: it cannot be part of `or` / `and`; put the rest on its own line"
    if tok.type == "COMMA" and "_IF" in types and "_THEN" not in types:
        return "write `if A then B` without a comma"
    if tok.type == "COMMA" and types.count("LBRACE") > types.count("RBRACE"):
        return "separate the statements of a list with `;` or new lines: `exactly 1 of { a is odd; b is odd }`"
    if before and before[0].value.lower() == "either":
        return ("riddle writes `A or B` without `either` (it means one or both); "
                "for one but not both, `exactly 1 of { A; B }`")
    if last in ("_OR", "_AND") and tok.type in ("$END", "_SEP", "RPAR", "RBRACE"):
        return f"`{before[-1].value}` needs a statement on each side: `a is odd {before[-1].value} b is even`"
    if "_THEN" in expected and "_IF" in types and "_THEN" not in types:
        return "an `if` needs its `then`: `if a is odd then b is even`"
    if last == "_THEN" and tok.type in ("$END", "_SEP"):
        return "say what follows: `if a is odd then b is even`"
    if "_OF" in expected and tok.type == "LBRACE":
        start = max(i for i, ty in enumerate(types) if ty in ("_EXACTLY", "_AT"))
        return f"write `{' '.join(t.value for t in before[start:])} of {{ … }}`"
    if last in ("_EXACTLY", "_LEAST", "_MOST") and tok.type != "NUMBER":
        return "say how many: `exactly 1 of { … }`, `at least two of { … }`"
    if last == "_AT" and tok.type != "_LEAST" and tok.type != "_MOST":
        return "write `at least N of { … }` or `at most N of { … }`"
    if last == "_OF" and tok.type != "LBRACE":
        return "put the statements in braces: `exactly 1 of { a is odd; b is odd }`"
    if "RBRACE" in expected and tok.type in ("$END",):
        return "end the list with `}`"
    if last == "_IS" and tok.type == "_NO":
        return f"write `{before[0].value} is not …`"
    if last in ("_HAS", "_CONTAINS") and tok.type == "_NOT":
        return f"write `{before[0].value} {before[-1].value} no …`"
    # a keyword where a name was meant: `digits is, b`
    if tok.type in ("COMMA", "COLON") and last and last.startswith("_") and last != "_SEP":
        return f"`{before[-1].value}` is a keyword of riddle and cannot name an unknown"
    if tok.type.startswith("_") and tok.type != "_SEP" and "NAME" in expected:
        return f"`{tok.value}` is a keyword of riddle and cannot be used as a name"
    if types[:1] == ["_SOLVE"] and "COMMA" in expected:
        return "separate settings with `,`: `solve with 100 restarts, 5 pairs`"
    # `first iss odd` reads as a declaration of domain `first`: the second word was meant as a verb
    if len(before) >= 2 and types[:2] == ["NAME", "NAME"]:
        verb = suggest(before[1].value, VERBS, cutoff=0.6) if len(before[1].value) > 1 else None
        if verb:
            return f"did you mean `{before[0].value} {verb} …`?"
        if tok.type == "NAME" and "COMMA" in expected:
            return "separate the names with `,`: `digits a, b`"
    if tok.type == "NUMBER" and (last == "COMMA" or types[-2:] == ["_NUM", "LPAR"]) and "_NUM" in types:
        return "`num(…)` takes unknowns only; write the constant part as a number: `10 * a + 3`"
    if tok.type == "COMPARISON" and "COMPARISON" in types:
        return "a relation compares two expressions once; write `a < b` and `b < c` as two statements"
    if "RPAR" in expected and (tok.type in ("$END", "_SEP", "COMPARISON")):
        return "close the parenthesis with `)`"
    if tok.type == "NAME" and expected & _OPERATORS:
        return ("write an operator between two terms, for example `a + b`; a statement ends at the end of the line "
                "or at `;`")
    return None


def _unclosed_brace(file: str, line: int, column: int) -> Diagnostic:
    return Diagnostic(ERROR, "R002", "this `{` is never closed", Span(file, line, column, line, column + 1),
                      "opened here", help="end the list with `}`: `exactly 1 of { a is odd; b is odd }`")


def _bad_character(text: str, pos: int, file: str, line: int) -> Diagnostic:
    ch = text[pos]
    # A run of foreign characters (a unicode word, an emoji sequence) gets one caret span.
    end = pos + 1
    while end < len(text) and not text[end].isascii() and not text[end].isspace():
        end += 1
    span = Span(file, line, pos + 1, line, end + 1)
    if ch in FOREIGN_OPERATORS:
        spelled = FOREIGN_OPERATORS[ch]
        if spelled:
            return Diagnostic(ERROR, "R003", f"`{ch}` is not an operator of riddle", span, f"write `{spelled}`",
                              help=f"riddle's operators are ASCII: replace `{ch}` with `{spelled}`")
        helps = {
            "/": "riddle has no division: multiply the other side instead (`a = 2 * b`), or use `%` for remainders",
            "÷": "riddle has no division: multiply the other side instead (`a = 2 * b`)",
            "&": "write `and`: `a is odd and b is even` (or put each fact on its own line: every statement must hold)",
            "|": "write `or`: `a is odd or b is even`",
            "^": "riddle has no powers: write `a * a`",
        }
        return Diagnostic(
            ERROR, "R003", f"`{ch}` is not an operator of riddle", span, "not understood", help=helps.get(ch)
        )
    if ch == '"' and '"' not in text[pos + 1:]:
        return Diagnostic(ERROR, "R001", "this string is never closed", Span(file, line, pos + 1, line, len(text) + 1),
                          "no closing `\"`", help='close the path on the same line: `x looks like "seen.png"`')
    if ch in "\"'`":
        return Diagnostic(ERROR, "R001", f"unexpected quote `{ch}`", span, "not understood",
                          help="names and predicates are written without quotes: `first is odd`")
    if ch.isalpha():
        return Diagnostic(ERROR, "R001", f"unexpected character `{ch}`: names use only ASCII letters, digits and `_`",
                          span, "not an ASCII letter")
    if not ch.isprintable():
        return Diagnostic(ERROR, "R001", f"unexpected control character U+{ord(ch):04X}", span, "not understood",
                          help="is this a text file?")
    return Diagnostic(ERROR, "R001", f"unexpected character `{ch}`", span, "riddle does not use this character",
                      help="statements are made of names, numbers, `+ - * % ( )`, comparisons, `,`, `:` and `;`")

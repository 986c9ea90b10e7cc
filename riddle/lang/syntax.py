"""Syntax errors in the language's words: which terminals Lark would have accepted, named as a person
would ("an expression", "a comparison"); the construct being read; and help for the mistakes people
make, chosen from the tokens before the error (a comma in `if … then`, `either … or`, a keyword used
as a name). The help reads the whole prefix of the statement — how many braces are open, whether an
`if` came earlier — which the parser's state alone does not tell apart, so it is a table of rules
over that prefix rather than Lark's `match_examples` over parser states.
"""
from __future__ import annotations

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from .errors import ERROR, Diagnostic, Span, suggest
from .grammar import lark_parser

VERBS = ("is", "has", "contains")

# Operators people type from maths or other languages, and what riddle spells them as.
FOREIGN_OPERATORS = {
    "≠": "!=", "≤": "<=", "≥": ">=", "×": "*", "·": "*", "−": "-", "–": "-", "—": "-", "＝": "=",
    "＋": "+", "÷": None, "/": None, "&": None, "|": None, "^": None, "≡": "=", "⩽": "<=", "⩾": ">=",
}


_TERMINAL_WORDS = {
    "NAME": "a name", "NUMBER": "a number", "COMPARISON": "a comparison (`=`, `!=`, `<`, `<=`, `>`, `>=`)",
    "PLUS": "`+`", "MINUS": "`-`", "STAR": "`*`", "PERCENT": "`%`", "LPAR": "`(`", "RPAR": "`)`",
    "COMMA": "`,`", "COLON": "`:`", "_SEP": "the end of the statement", "$END": "the end of the statement",
    "_IS": "`is`", "_NOT": "`not`", "_HAS": "`has`", "_NO": "`no`", "_CONTAINS": "`contains`",
    "ALL": "`all`", "_DIFFERENT": "`different`", "NUM": "`num(`", "_WITH": "`with strength`",
    "_STRENGTH": "`strength`", "SOLVE": "`solve`", "_OR": "`or`", "_AND": "`and`", "IF": "`if`",
    "_THEN": "`then`", "EXACTLY": "`exactly`", "AT": "`at`", "_LEAST": "`least`", "_MOST": "`most`",
    "_OF": "`of`", "LBRACE": "`{`", "RBRACE": "`}`", "_LOOKS": "`looks`", "_LIKE": "`like`",
    "_NOISE": "`noise`", "STRING": "a path in quotes", "LSQB": "`[`", "RSQB": "`]`", "_DOTDOT": "`..`",
    "FOR": "`for`", "_IN": "`in`", "SPLIT": "`split`", "SOLUTION": "`solution`", "_THROUGH": "`through`",
}
_EXPRESSION_START = {"NAME", "NUMBER", "LPAR", "MINUS", "NUM"}
_OPERATORS = {"PLUS", "MINUS", "STAR", "PERCENT"}
# what can begin a statement inside a connective
STATEMENT_START = _EXPRESSION_START | {"ALL", "EXACTLY", "AT"}


def _describe_expected(expected: set[str], after_verb: bool = False) -> str:
    # a template's `$name` may stand wherever a number, a name or a path does: naming it too is only noise
    expected = set(expected) - {"_SEP", "PLACEHOLDER"} | ({"$END"} if "_SEP" in expected else set())
    if len(expected) > 1:                     # an index may follow any name: naming `[` there is noise too
        expected -= {"LSQB"}
    parts = []
    if expected & STATEMENT_START >= {"EXACTLY", "AT", "ALL"}:
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
    if types[0] == "SOLVE":
        return "the solve settings"
    if "IF" in types:
        return "an `if … then …`"
    if types[0] in ("EXACTLY", "AT") or "LBRACE" in types:
        return "a counted list (`exactly N of { … }`)"
    if "_OR" in types or "_AND" in types:
        return "a connective (`or`, `and`)"
    if types[0] == "ALL":
        return "an `all different` list"
    if "_WITH" in types:
        return "a strength (`with strength W`)"
    if types[0] == "NAME" and len(types) > 1:
        if types[1] in ("_IS", "_HAS", "_CONTAINS"):
            return f"`{tokens[0].value} {tokens[1].value} …`"
        if types[1] in ("NAME", "COLON") or (types[1] == "COMMA" and "COMPARISON" not in types):
            return "a declaration"
    return "a relation" if len(types) > 1 or types[0] != "NAME" else "a statement"


def syntax_diagnostic(e: UnexpectedInput, text: str, file: str, line: int) -> Diagnostic:
    if isinstance(e, UnexpectedCharacters):
        return bad_character(text, e.pos_in_stream, file, line)
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
    if tok.type == "COMMA" and "IF" in types and "_THEN" not in types:
        return "write `if A then B` without a comma"
    if tok.type == "COMMA" and types.count("LBRACE") > types.count("RBRACE"):
        return "separate the statements of a list with `;` or new lines: `exactly 1 of { a is odd; b is odd }`"
    if before and before[0].value.lower() == "either":
        return ("riddle writes `A or B` without `either` (it means one or both); "
                "for one but not both, `exactly 1 of { A; B }`")
    if last in ("_OR", "_AND") and tok.type in ("$END", "_SEP", "RPAR", "RBRACE"):
        return f"`{before[-1].value}` needs a statement on each side: `a is odd {before[-1].value} b is even`"
    if "_THEN" in expected and "IF" in types and "_THEN" not in types:
        return "an `if` needs its `then`: `if a is odd then b is even`"
    if last == "_THEN" and tok.type in ("$END", "_SEP"):
        return "say what follows: `if a is odd then b is even`"
    if "_OF" in expected and tok.type == "LBRACE":
        start = max(i for i, ty in enumerate(types) if ty in ("EXACTLY", "AT"))
        return f"write `{' '.join(t.value for t in before[start:])} of {{ … }}`"
    if last in ("EXACTLY", "_LEAST", "_MOST") and tok.type != "NUMBER":
        return "say how many: `exactly 1 of { … }`, `at least two of { … }`"
    if last == "AT" and tok.type != "_LEAST" and tok.type != "_MOST":
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
    if types[:1] == ["SOLVE"] and "COMMA" in expected:
        return "separate settings with `,`: `solve with 100 restarts, 5 pairs`"
    # `first iss odd` reads as a declaration of domain `first`: the second word was meant as a verb
    if len(before) >= 2 and types[:2] == ["NAME", "NAME"]:
        verb = suggest(before[1].value, VERBS, cutoff=0.6) if len(before[1].value) > 1 else None
        if verb:
            return f"did you mean `{before[0].value} {verb} …`?"
        if tok.type == "NAME" and "COMMA" in expected:
            return "separate the names with `,`: `digits a, b`"
    if tok.type == "NUMBER" and (last == "COMMA" or types[-2:] == ["NUM", "LPAR"]) and "NUM" in types:
        return "`num(…)` takes unknowns only; write the constant part as a number: `10 * a + 3`"
    if tok.type == "COMPARISON" and "COMPARISON" in types:
        return "a relation compares two expressions once; write `a < b` and `b < c` as two statements"
    if "RPAR" in expected and (tok.type in ("$END", "_SEP", "COMPARISON")):
        return "close the parenthesis with `)`"
    if tok.type == "NAME" and expected & _OPERATORS:
        return ("write an operator between two terms, for example `a + b`; a statement ends at the end of the line "
                "or at `;`")
    return None


def unclosed_bracket(file: str, line: int, column: int, text: str = "{") -> Diagnostic:
    """A bracket the file never closes (`text`: the bracket's line; its character at `column`)."""
    bracket = text[column - 1] if 0 < column <= len(text) else "{"
    helps = {"{": "end the list with `}`: `exactly 1 of { a is odd; b is odd }`",
             "(": "close it with `)`; inside `( … )` a statement may run over several lines",
             "[": "close the index with `]`: `cell[3][4]`"}
    return Diagnostic(ERROR, "R002", f"this `{bracket}` is never closed", Span(file, line, column, line, column + 1),
                      "opened here", help=helps.get(bracket))


def bad_character(text: str, pos: int, file: str, line: int) -> Diagnostic:
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

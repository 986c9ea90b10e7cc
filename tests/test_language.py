"""The parser and checker on riddles that are right: what they read, with which spans."""
import json
import re
from pathlib import Path

import pytest
from lark import Lark
from lark.exceptions import UnexpectedInput

from riddle.cli import main
from riddle.lang import ast, load, load_text, parser
from riddle.lang.checked import DistinctStatement, LabelStatement, PredicateStatement, RelationStatement
from riddle.lang.errors import Span
from riddle.lang.grammar import grammar_text, lark_parser
from riddle.lang.lalr import NotParsed
from riddle.vocabulary import keywords

from .conftest import ROOT

OK = sorted((ROOT / "tests" / "ok").glob("*.rdl"))
PUZZLES = sorted((ROOT / "puzzles").glob("*.rdl"))


def test_grammar_builds_in_strict_mode():
    # strict: any shift/reduce conflict or terminal collision raises
    Lark(grammar_text(), parser="lalr", lexer="basic", strict=True, start=["start", "statement"])
    assert lark_parser() is lark_parser()  # built once


def test_grammar_has_one_source_at_the_top_level():
    from riddle.lang.grammar import grammar_path
    assert (ROOT / "grammar" / "riddle.lark").is_file()
    assert not (ROOT / "riddle" / "grammar").exists()                # no second copy in the package's folder
    assert Path(str(grammar_path())).read_text() == (ROOT / "grammar" / "riddle.lark").read_text()


@pytest.mark.slow
def test_grammar_loads_from_an_installed_wheel(tmp_path):
    """Not editable: build the wheel, install it alone into a folder, parse a riddle from there."""
    import subprocess
    import sys
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels),
                    str(ROOT)], check=True, capture_output=True)
    (wheel,) = wheels.glob("riddle-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    code = ("import riddle, riddle.lang.grammar as p; from riddle.lang import load_text; "
            "print(riddle.__file__); print(p.grammar_path()); "
            "print(load_text('digits a, b\\nexactly 1 of { a is odd; b = 2 }\\n').ok)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(target), "PATH": ""},
                         check=True, capture_output=True, text=True).stdout.split("\n")
    assert out[0].startswith(str(target)) and out[1].startswith(str(target)) and out[1].endswith("riddle.lark")
    assert out[2] == "True"


def test_the_keywords_are_the_grammars_word_terminals_and_the_editor_grammar_knows_each():
    """One list of words: read from the grammar's terminals (Lark), used by the registry, the formatter and
    the LSP; the VS Code grammar (a regex file it cannot import) is checked against it here."""
    import json
    written = re.findall(r'^_?[A-Z]+: "([a-z]+)"$', grammar_text(), flags=re.M)    # `_FOR` or, kept, `FOR`
    assert list(keywords()) == written and "through" in keywords()
    tm = json.loads((ROOT / "editors" / "vscode" / "syntaxes" / "riddle.tmLanguage.json").read_text())
    patterns = " ".join(json.dumps(rule) for rule in tm["repository"].values())
    words = set(re.findall(r"[a-z]+", patterns))
    assert [k for k in keywords() if k not in words] == []


def test_every_kind_of_statement_names_itself_and_a_fact_its_checker_method_and_what_it_mentions():
    """A new kind of fact is its class (what it mentions, which checker method reads it) and that method: no
    list of the kinds elsewhere to extend."""
    from riddle.lang.check import _Checker
    kinds = ast.Fact.__subclasses__()
    assert {k.__name__ for k in kinds} >= {"Observation", "PredicateFact", "LabelFact", "Relation", "Distinct",
                                           "Connective"}
    for kind in kinds:
        assert callable(getattr(_Checker, kind.kind)), kind
        assert kind.mentions is not ast.Fact.mentions, kind
    statements, todo = [], [ast.Statement]
    while todo:
        todo += todo[0].__subclasses__()
        statements.append(todo.pop(0))
    assert {k.kind for k in statements if k not in (ast.Statement, ast.Fact)} >= {"declaration", "loop", "solve",
                                                                              "relation", "connective"}


def _lark_or_none(text, start):
    """Lark's own parse of `text` into riddle's AST (None where Lark finds it is no riddle)."""
    parser._BUILDER.begin("f.rdl")
    try:
        return lark_parser(parser._BUILDER).parse(text, start=start)
    except UnexpectedInput:
        return None


def _fields(token):
    return token.type, str(token), token.start_pos, token.end_pos, token.line, token.column, token.end_line, \
        token.end_column


def _fast_or_none(text, start):
    parser._BUILDER.begin("f.rdl")
    try:
        return parser._driver().parse(text, start)
    except NotParsed:
        return None


def test_the_fast_loop_reads_every_riddle_file_exactly_as_lark_does():
    """lang/lalr.py drives Lark's tables with a loop of its own: for every riddle file in the repository (the
    puzzles, the benches' riddles, the error cases), whole and statement by statement, its tokens and its AST,
    spans and all, are Lark's, and it refuses exactly what Lark refuses. A Lark release that reads these
    internals differently fails here."""
    assert parser._driver() is not None                  # else every parse quietly takes Lark's slower loop
    lark = lark_parser(parser._BUILDER)
    files = sorted(p for p in ROOT.rglob("*.rdl") if ".git" not in p.parts)
    assert len(files) > 100
    pieces = 0
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")    # one error case is not UTF-8 on purpose
        cases = [(text + "\n", "start")] + [(" " * (column - 1) + piece, "statement")
                                            for _, column, piece, _ in parser.split_statements(text) if piece.strip()]
        for piece, start in cases:
            expected = _lark_or_none(piece, start)
            assert _fast_or_none(piece, start) == expected, (path, piece)
            if expected is not None:
                fast = lark.parser.lexer.postlexer.process(parser._driver().tokens(piece))
                assert [_fields(t) for t in fast] == [_fields(t) for t in lark.lex(piece)], (path, piece)
            pieces += 1
    assert pieces > 1000


def test_a_riddle_that_does_not_parse_is_explained_by_lark():
    """The fast loop cannot say why; the syntax diagnostics still come from Lark's UnexpectedInput."""
    r = load_text("digits x\nx is odd\nx + = 3\n", "f.rdl")
    assert [(d.code, str(d.span), d.message, d.label) for d in r.diagnostics] == [
        ("R002", "f.rdl:3:5", "while reading a relation I expected an expression (a name, a number or `(`) after `+`",
         "unexpected `=`")]
    with pytest.raises(NotParsed):
        parser._driver().parse("x + = 3\n", "statement")
    with pytest.raises(UnexpectedInput):
        parser._parse_to_ast("x + = 3\n", "statement", "f.rdl")


@pytest.mark.parametrize("path", OK + PUZZLES, ids=lambda p: p.name)
def test_valid_riddles_check_clean(path):
    r = load(path)
    assert [d for d in r.diagnostics if d.severity != "note"] == []
    assert r.unknowns and r.statements


def test_the_134_riddle_reads_as_written():
    r = load(ROOT / "puzzles" / "134.rdl")
    assert [u.name for u in r.unknowns] == ["first", "second", "third"]
    assert all(u.domain.name == "digit" for u in r.unknowns)
    assert [(s.kind, s.text(), s.unknowns) for s in r.statements] == [
        ("neural predicate", "odd(first)", ("first",)),
        ("logic relation", "second = first + 2", ("second", "first")),
        ("logic relation", "first + second = third", ("first", "second", "third")),
        ("label", "label(third) != 7", ("third",)),
        ("neural predicate", "not closed circle(third)", ("third",)),
    ]
    assert r.settings == {"restarts": 100}


def test_spans_point_at_the_text():
    text = "digits first, second\nfirst is odd; second = first + 2 with strength 3\n"
    r = load_text(text, file="x.rdl")
    pred, rel = r.statements
    assert pred.span == Span("x.rdl", 2, 1, 2, 13)
    assert rel.span == Span("x.rdl", 2, 15, 2, 49)
    assert rel.strength == 3.0
    assert r.unknowns[1].span == Span("x.rdl", 1, 15, 1, 21)


def test_every_predicate_form():
    r = load(ROOT / "tests" / "ok" / "every-predicate-form.rdl")
    got = [(s.predicate.name, s.negated, s.strength) for s in r.statements]
    assert got == [("odd", False, 1), ("even", True, 1), ("closed circle", False, 1),
                   ("closed circle", True, 0.5), ("closed circle", False, 1), ("closed circle", True, 1)]
    assert all(isinstance(s, PredicateStatement) for s in r.statements)


def test_labels_in_both_spellings():
    r = load(ROOT / "tests" / "ok" / "labels.rdl")
    assert [(s.label, s.negated) for s in r.statements] == [(7, False), (3, True), (7, False), (2, True), (7, False)]
    assert all(isinstance(s, LabelStatement) for s in r.statements)


def test_arithmetic_precedence_and_normal_form():
    r = load_text("digits a, b, c\n-(a - b) * 2 % 5 >= 1\na - (b - c) = a - b + c\n(a * b) + c == 3\n")
    assert [s.text() for s in r.statements] == ["-(a - b) * 2 % 5 >= 1", "a - (b - c) = a - b + c", "a * b + c = 3"]
    rel = r.statements[0]
    assert isinstance(rel, RelationStatement) and not rel.linear
    assert r.statements[1].linear


def test_numerals_and_distinct():
    r = load(ROOT / "puzzles" / "send-more-money.rdl")
    rel, distinct, *_ = r.statements
    assert isinstance(rel.left, ast.BinOp) and isinstance(rel.left.left, ast.Numeral)
    assert [d.text for d in rel.right.digits] == ["m", "o", "n", "e", "y"]
    assert rel.linear
    assert isinstance(distinct, DistinctStatement) and len(distinct.names) == 8
    assert [d.code for d in r.diagnostics] == ["R015"]      # a note: decomposed, not refused


def test_solve_settings():
    r = load(ROOT / "tests" / "ok" / "solve-settings.rdl")
    assert r.settings == {"restarts": 100, "pairs": 5, "steps": 400, "anneal": [0.5, 1, 3, 10], "method": "advi",
                          "seed": 7, "lr": 0.05, "device": "cpu", "rounds": 3}


def test_article_before_a_predicate_is_optional():
    r = load_text("digits x\nx has a closed circle\nx has closed circle\n")
    assert r.ok and r.statements[0].predicate == r.statements[1].predicate


def test_check_json(in_repo, capsys):
    assert main(["check", "--json", "puzzles/134.rdl", "tests/errors/unknown-name.rdl"]) == 2
    good, bad = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert good["ok"] and good["unknowns"] == ["first", "second", "third"]
    assert good["statements"][0] == {
        "line": 5,
        "kind": "neural predicate",
        "text": "odd(first)",
        "unknowns": ["first"],
        "strength": 1.0,
        "source": "first is odd                # I.   the first number is odd",
    }
    assert good["diagnostics"] == []
    d = bad["diagnostics"][0]
    assert (d["severity"], d["code"], d["line"], d["column"], d["end"]) == (
        "error",
        "R010",
        2,
        1,
        {"line": 2, "column": 6},
    )
    assert d["help"] == "did you mean `first`?"


def test_check_prints_what_it_understood(in_repo, capsys):
    assert main(["check", "puzzles/134.rdl"]) == 0
    out = capsys.readouterr().out
    assert "3 unknowns · 5 statements" in out
    assert "neural predicate  odd(first)" in out
    assert "ties first, second, third" in out
    assert "restarts 100" in out

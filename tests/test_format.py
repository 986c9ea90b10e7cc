"""`riddle fmt`: canonical, idempotent, and never a change of meaning — over every riddle file in the
repository and a generated corpus with random spacing, blank lines and comments."""
import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riddle.cli import main
from riddle.lang import load_text
from riddle.lang.format import FormatError, format_text

from .conftest import ROOT
from .test_graph import riddles

FILES = sorted((ROOT / "puzzles").glob("*.rdl")) + sorted((ROOT / "tests" / "ok").glob("*.rdl")) + sorted(
    (ROOT / "tests" / "errors").glob("*.rdl"))


def parses(text: str) -> bool:
    try:
        format_text(text)
        return True
    except FormatError:
        return False


def meaning(text: str):
    """What the checker makes of a text: its unknowns, statements (normal forms), settings, and the
    diagnostics' codes and messages (their columns may move)."""
    r = load_text(text)
    return ([(u.name, u.domain.name) for u in r.unknowns], [(type(s).__name__, s.text(), s.strength)
                                                            for s in r.statements],
            r.settings, [(d.code, d.message) for d in r.diagnostics])


def comments(text: str) -> list[str]:
    return [m.group().rstrip() for m in re.finditer(r'#[^\n]*', re.sub(r'"[^"\n]*"', '""', text))]


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_riddle_file_formats_idempotently_with_the_same_meaning_and_comments(path):
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    if not parses(text):
        return                                               # a syntax error: fmt refuses it (tested below)
    out = format_text(text)
    assert format_text(out) == out
    assert meaning(out) == meaning(text)
    assert comments(out) == comments(text)
    assert not any(line != line.rstrip() for line in out.split("\n")) and (out == "" or out.endswith("\n"))
    assert "\n\n\n" not in out


def test_the_puzzles_and_the_ok_files_are_formatted(capsys):
    assert main(["fmt", "--check", str(ROOT / "puzzles"), str(ROOT / "tests" / "ok")]) == 0, capsys.readouterr().err


def test_a_windows_file_keeps_its_line_endings(tmp_path):
    f = tmp_path / "w.rdl"
    f.write_bytes(b"digits a,b\r\na<b\r\n")
    assert main(["fmt", str(f)]) == 0 and f.read_bytes() == b"digits a, b\r\na < b\r\n"
    assert main(["fmt", "--check", str(f)]) == 0


def test_the_layout():
    messy = ("# a riddle\n\n\n   digits a,b ,c\n\na+b=c ;c>-1\nexactly  1 of {a is odd;b is odd}   # one\n"
             "at least 2 of {\n  a =1\n        b= num( a,b )   # two\n c != 2 # three\n}\n"
             "x looks like \"f # g.png\"\nsolve with 50 restarts,anneal 0.5 1\n\n\n")
    assert format_text(messy) == (
        "# a riddle\n\ndigits a, b, c\n\na + b = c; c > -1\nexactly 1 of { a is odd; b is odd }  # one\n"
        "at least 2 of {\n    a = 1\n    b = num(a, b)  # two\n    c != 2         # three\n}\n"
        "x looks like \"f # g.png\"\nsolve with 50 restarts, anneal 0.5 1\n")


def test_a_text_that_does_not_parse_is_refused_with_its_diagnostics():
    with pytest.raises(FormatError) as e:
        format_text("digits a\na is odd or\n")
    assert e.value.diagnostics and e.value.diagnostics[0].code == "R002"


# ── a generated corpus: the same riddle, spaced and commented at random ──

@st.composite
def respaced(draw):
    text = draw(riddles)
    tokens_by_line = [re.findall(r'num\(|[A-Za-z_][A-Za-z0-9_]*|[0-9]+|==|!=|<=|>=|[-+*%=<>(),]', line)
                      for line in text.strip().split("\n")]
    out = []
    for tokens in tokens_by_line:
        gaps = draw(st.lists(st.sampled_from(["", " ", "  ", "\t"]), min_size=len(tokens) + 1,
                             max_size=len(tokens) + 1))
        line = gaps[0]
        for tok, gap in zip(tokens, gaps[1:]):
            line += tok + (gap or (" " if re.match(r"\w", tok) else ""))   # words keep a space between them
        if draw(st.booleans()):
            line += draw(st.sampled_from(["", " ", "   "])) + "# " + draw(st.text("abc xyz", max_size=8))
        out.append(line)
        out += [""] * draw(st.integers(0, 2))
    return text, "\n".join(out) + draw(st.sampled_from(["", "\n", "\n\n"]))


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=respaced())
def test_spacing_never_matters_and_formatting_is_idempotent(pair):
    plain, spaced = pair
    if not parses(spaced):                              # `a<-1` style tokens can merge; not this test's subject
        return
    out = format_text(spaced)
    assert format_text(out) == out
    assert meaning(out) == meaning(spaced)
    assert comments(out) == comments(spaced)
    assert [line.split("#")[0].strip() for line in out.split("\n") if line.split("#")[0].strip()] == \
        [line.split("#")[0].strip() for line in format_text(plain).split("\n") if line.split("#")[0].strip()]


# ── the command ──

def test_riddle_fmt_rewrites_checks_diffs_and_reads_stdin(tmp_path, capsys, monkeypatch):
    f = tmp_path / "r.rdl"
    f.write_text("digits a,b\na+b=9\n")
    assert main(["fmt", "--check", str(f)]) == 1 and f.read_text() == "digits a,b\na+b=9\n"
    assert "would reformat" in capsys.readouterr().err
    assert main(["fmt", "--diff", str(f)]) == 1
    assert "+a + b = 9" in capsys.readouterr().out
    assert main(["fmt", str(f)]) == 0 and f.read_text() == "digits a, b\na + b = 9\n"
    assert main(["fmt", "--check", str(f)]) == 0
    assert not list(tmp_path.glob(".*"))                    # no temporary file left behind
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"digits a\na>1\n")))
    assert main(["fmt", "-"]) == 0 and capsys.readouterr().out == "digits a\na > 1\n"


def test_riddle_fmt_leaves_a_file_that_does_not_parse_alone(tmp_path, capsys):
    f = tmp_path / "bad.rdl"
    f.write_text("digits a\na is odd or\n")
    assert main(["fmt", str(f)]) == 2 and f.read_text() == "digits a\na is odd or\n"
    err = capsys.readouterr().err
    assert "R002" in err and "bad.rdl:2:" in err and "not formatted" in err

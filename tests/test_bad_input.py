"""Whatever bytes are given as a riddle end in a diagnostic and exit status 2: never a traceback,
never a hang. Explicit cases first, then hypothesis mutating valid riddles and feeding random bytes."""
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riddle.cli import main
from riddle.lang.source import MAX_FILE_BYTES, decode_source

from .conftest import ROOT

SEEDS = [
    p.read_bytes() for p in sorted((ROOT / "puzzles").glob("*.rdl")) + sorted((ROOT / "tests" / "ok").glob("*.rdl"))
]


def run_check(tmp_path, data: bytes, capsys):
    path = tmp_path / "riddle.rdl"
    path.write_bytes(data)
    start = time.perf_counter()
    status = main(["check", str(path)])
    elapsed = time.perf_counter() - start
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "internal error" not in out.err, out.err
    return status, out.err, elapsed


@pytest.mark.parametrize("name, data, fragment", [
    ("empty", b"", "declares no unknowns"),
    ("binary", bytes(range(256)) * 4, "binary file"),
    ("not utf-8", b"digits a\na is \xc3\x28 odd\n", "not UTF-8"),
    ("latin-1", "digits a\na is éodd\n".encode("latin-1"), "not UTF-8"),
    ("unicode operator", "digits a, b\na ≤ b\n".encode(), "write `<=`"),
    ("nested parentheses", b"digits a\n" + b"(" * 10_000 + b"a" + b")" * 10_000 + b" = 1\n", "line"),
    ("deep but short", b"digits a\n" + b"(" * 40 + b"a" + b")" * 40 + b" = 1\n", "nested parentheses"),
    ("deep after stray closers", b"digits a\n" + b")" * 40 + b"\n" + b"(" * 40 + b"a" + b")" * 40 + b" = 1\n",
     "nested parentheses"),
    ("long sum", b"digits a\n1 = (" + b"a +\n" * 700 + b"a)\n", "too complex"),
    ("unclosed parenthesis", b"digits a\na = (1 +\n" + b"a\n" * 50_000, "never closed"),
    ("1 MB line", b"digits a\n" + b"a" * 1_000_000 + b"\n", "characters long"),
    ("too large", b"# " + b"x" * MAX_FILE_BYTES + b"\n", "larger than"),
    ("only comments", b"# nothing here\n", "declares no unknowns"),
    ("emoji", "digits a\na is 🙂\n".encode(), "unexpected character"),
    ("nul in text", b"digits a\x00\n", "binary"),
])
def test_bad_bytes_end_in_a_diagnostic(tmp_path, capsys, name, data, fragment):
    status, err, elapsed = run_check(tmp_path, data, capsys)
    assert status == 2
    assert fragment in err
    assert elapsed < 10


def test_a_directory(tmp_path, capsys):
    assert main(["check", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_a_missing_file_suggests_a_near_name(in_repo, capsys):
    assert main(["check", "puzzles/314.rdl"]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "did you mean `puzzles/134.rdl`?" in err


def test_one_bad_file_among_good_ones(in_repo, capsys):
    assert main(["check", "puzzles/134.rdl", "no/such.rdl", "puzzles/358.rdl"]) == 2
    out = capsys.readouterr().out
    assert "134.rdl" in out and "358.rdl" in out


def _mutate(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for kind, pos, value in ops:
        if not b:
            b.extend(value)
            continue
        i = pos % (len(b) + 1)
        if kind == 0:
            b[i:i] = value                      # insert
        elif kind == 1:
            del b[i:i + len(value)]             # delete
        else:
            b[i:i + len(value)] = value         # overwrite
    return bytes(b)


TOKENS = st.sampled_from([b"is", b"not", b"no", b"has", b"+", b"=", b"(", b")", b",", b";", b"\n", b"#", b"num(",
                          b"all different", b"with strength", b"solve with", b"7", b"0.5", b"x", b"first", b"\xff",
                          "≠".encode(), b"\t", b" ", b"-", b"%", b":", b"digits", b"closed circle", b"or", b"and",
                          b"if", b"then", b"exactly 2 of {", b"at least", b"at most", b"{", b"}", b"one"])
OPS = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10_000), st.one_of(TOKENS, st.binary(max_size=8))),
               min_size=1, max_size=6)


@pytest.mark.slow
@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), ops=OPS)
def test_mutated_riddles_never_crash(seed, ops):
    data = _mutate(seed, ops)
    source, diags = decode_source(data, "fuzz.rdl")
    from riddle.lang import _load
    r = _load(source, diags, "fuzz.rdl", None)
    for d in r.diagnostics:                      # every diagnostic renders and points inside the file
        if d.span and r.source:
            assert 1 <= d.span.line <= len(r.source.lines)
    from riddle.lang.errors import render_all
    render_all(r.diagnostics, r.source)


CONNECTIVE_SEEDS = [(ROOT / "tests" / "ok" / "connectives.rdl").read_bytes(),
                    b"digits a, b\nexactly 1 of { a is odd; if a = 2 then b = 3\n (a < b or b = 1) and b is even }\n"]


@pytest.mark.slow
@settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(CONNECTIVE_SEEDS), ops=OPS)
def test_mutated_connectives_through_check_graph_and_oracle(tmp_path_factory, seed, ops):
    """Nested connectives, mutated: `riddle check` (parse, check, build, oracle) answers 0 or 2,
    never an internal error, in bounded time."""
    import contextlib
    import io
    path = tmp_path_factory.mktemp("fuzz") / "t.rdl"
    path.write_bytes(_mutate(seed, ops))
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(["check", str(path)])
    assert status in (0, 2) and "internal error" not in err.getvalue(), err.getvalue()


@settings(max_examples=200, deadline=2000)
@given(data=st.binary(max_size=512))
def test_random_bytes_never_crash(data):
    source, diags = decode_source(data, "fuzz.rdl")
    from riddle.lang import _load
    r = _load(source, diags, "fuzz.rdl", None)
    assert r.ok or r.diagnostics


@pytest.mark.slow
@settings(max_examples=100, deadline=2000)
@given(text=st.text(max_size=200))
def test_random_text_through_the_cli(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "t.rdl"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    import contextlib
    import io
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(["check", str(path)])
    assert status in (0, 2), err.getvalue()
    assert "internal error" not in err.getvalue()


# the language's own tokens in random order reach deeper into the grammar than random characters do
TOKENS = ["digits", "digit", "a", "b", "c", "x", ",", ":", ";", "\n", "is", "not", "has", "no", "odd", "even",
          "closed", "circle", "contains", "all", "different", "num", "(", ")", "{", "}", "with", "strength", "solve",
          "or", "and", "if", "then", "exactly", "at", "least", "most", "of", "one", "looks", "like", '"x.png"',
          "noise", "restarts", "steps", "method", "advi", "+", "-", "*", "/", "%", "=", "!=", "<", ">", "<=", ">=",
          "0", "1", "7", "12", "0.5", "1e3", "#", "-1"]


@settings(max_examples=300, deadline=3000, suppress_health_check=[HealthCheck.too_slow])
@given(soup=st.lists(st.sampled_from(TOKENS), max_size=60), header=st.booleans())
def test_token_soup_ends_in_diagnostics_never_a_traceback(soup, header):
    """Random sequences of the language's tokens (after a declaration, or not): the checker answers
    with diagnostics or a checked riddle, within the deadline, and never raises."""
    text = ("digits a, b, c\n" if header else "") + " ".join(soup) + "\n"
    source, diags = decode_source(text.encode(), "soup.rdl")
    from riddle.lang import _load
    r = _load(source, diags, "soup.rdl", None)
    assert r.ok or r.diagnostics
    assert all(d.span is None or d.span.line >= 1 for d in r.diagnostics)


def test_too_many_unknowns_is_one_error_not_one_per_name():
    """400 unknowns over 20 lines, each then used: one R032 that counts them, not an error for every
    name past the limit and every use of each (689 before)."""
    from riddle.lang import load_text
    names = [f"u{i}" for i in range(400)]
    text = "\n".join("digits " + ", ".join(names[i:i + 20]) for i in range(0, 400, 20)) + "\n"
    text += "\n".join(f"{n} is odd" for n in names) + "\n"
    r = load_text(text)
    assert [d.code for d in r.diagnostics if d.is_error] == ["R032"]
    assert "declares 400" in r.diagnostics[0].message and r.diagnostics[0].span.line == 7   # the 129th name

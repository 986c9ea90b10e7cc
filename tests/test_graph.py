"""The factor graph, its logic tensors and the symbolic oracle, against plain-Python brute force."""
import itertools
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riddle.cli import main
from riddle.graph import build, satisfies, solve_symbolic, symbolic
from riddle.graph.logic import LinearChain, dense_truth, linear_chain
from riddle.lang import ast, load, load_text
from riddle.lang.checked import DistinctStatement, LabelStatement, PredicateStatement

from .conftest import ROOT

PUZZLES = sorted((ROOT / "puzzles").glob("*.rdl"))


# ── a brute-force oracle in plain Python, sharing nothing with riddle.graph ──

def py_eval(e, env):
    if isinstance(e, ast.Literal):
        return int(e.number.text)
    if isinstance(e, ast.Variable):
        return env[e.name.text]
    if isinstance(e, ast.Numeral):
        return int("".join(str(env[d.text]) for d in e.digits))
    if isinstance(e, ast.Negate):
        v = py_eval(e.operand, env)
        return None if v is None else -v
    a, b = py_eval(e.left, env), py_eval(e.right, env)
    if a is None or b is None:
        return None
    if e.op == "%":
        return None if b == 0 else a % b
    return {"+": a + b, "-": a - b, "*": a * b}[e.op]


def py_holds(s, env):
    if isinstance(s, PredicateStatement):
        return (env[s.unknown] in s.predicate.truth_table) != s.negated
    if isinstance(s, LabelStatement):
        return (env[s.unknown] == s.label) != s.negated
    if isinstance(s, DistinctStatement):
        return len({env[n] for n in s.names}) == len(s.names)
    a, b = py_eval(s.left, env), py_eval(s.right, env)
    if a is None or b is None:
        return False
    return {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[s.op]


def brute_force(riddle):
    names = [u.name for u in riddle.unknowns]
    return [combo for combo in itertools.product(range(10), repeat=len(names))
            if all(py_holds(s, dict(zip(names, combo))) for s in riddle.statements)]


# ── random riddles ──

NAMES = ["a", "b", "c", "d"]
term = st.one_of(st.sampled_from(NAMES), st.integers(0, 12).map(str),
                 st.lists(st.sampled_from(NAMES), min_size=2, max_size=3).map(lambda ds: f"num({', '.join(ds)})"))


@st.composite
def expression(draw, depth=2):
    if depth == 0 or draw(st.booleans()):
        return draw(term)
    op = draw(st.sampled_from(["+", "-", "*", "%", "+", "-"]))
    left, right = draw(expression(depth - 1)), draw(expression(depth - 1))
    return f"({left} {op} {right})" if draw(st.booleans()) else f"{left} {op} {right}"


@st.composite
def statement(draw):
    kind = draw(st.sampled_from(["pred", "label", "rel", "rel", "rel", "distinct"]))
    x = draw(st.sampled_from(NAMES))
    if kind == "pred":
        verb = draw(st.sampled_from(["is odd", "is not odd", "is even", "has closed circle", "has no closed circle"]))
        return f"{x} {verb}"
    if kind == "label":
        return f"{x} is {'not ' if draw(st.booleans()) else ''}{draw(st.integers(0, 9))}"
    if kind == "distinct":
        names = draw(st.lists(st.sampled_from(NAMES), min_size=2, max_size=4, unique=True))
        return "all different " + ", ".join(names)
    cmp = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
    left = draw(expression())
    # make sure at least one unknown is involved
    return f"{left} {cmp} {draw(st.sampled_from(NAMES))} + {draw(st.integers(-5, 20))}"


riddles = st.lists(statement(), min_size=1, max_size=5).map(lambda ss: "digits a, b, c, d\n" + "\n".join(ss) + "\n")


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(text=riddles)
def test_oracle_matches_brute_force(text):
    riddle = load_text(text)
    if not riddle.ok:          # e.g. a label beyond the domain: not this test's subject
        return
    expected = brute_force(riddle)
    result = solve_symbolic(build(riddle))
    assert result.count == len(expected)
    assert [tuple(r) for r in result.solutions.tolist()] == sorted(expected)
    if expected:
        assert satisfies(build(riddle), expected[0]) == []


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(text=riddles)
def test_counting_by_contraction_matches_enumeration(text):
    riddle = load_text(text)
    if not riddle.ok:
        return
    graph = build(riddle)
    factors = [f for f in graph.factors if symbolic.readable(f)]
    assert symbolic.count_by_contraction(graph, factors) == len(brute_force(riddle))


def test_conflicts_are_minimal():
    text = "digits a, b, c\na is odd\nb = a + 2\na + b = c\nc has no closed circle\nc is not 4\nb > 0\na < 9\n"
    riddle = load_text(text)
    result = solve_symbolic(build(riddle))
    assert result.count == 0
    conflict = result.conflict
    assert [s.span.line for s in conflict] == [2, 3, 4, 5, 6]
    for s in conflict:                                   # without any one of them, the rest can hold
        rest = [t for t in conflict if t is not s]
        names = [u.name for u in riddle.unknowns]
        assert any(all(py_holds(t, dict(zip(names, combo))) for t in rest)
                   for combo in itertools.product(range(10), repeat=3))


@settings(max_examples=30, deadline=None)
@given(text=riddles)
def test_random_conflicts_are_minimal_and_unsatisfiable(text):
    riddle = load_text(text)
    if not riddle.ok:
        return
    result = solve_symbolic(build(riddle))
    if result.count != 0:
        return
    names = [u.name for u in riddle.unknowns]
    combos = list(itertools.product(range(10), repeat=len(names)))
    sat = lambda ss: any(all(py_holds(t, dict(zip(names, c))) for t in ss) for c in combos)  # noqa: E731
    assert not sat(result.conflict)
    for s in result.conflict:
        assert sat([t for t in result.conflict if t is not s])


def wide_riddle(*extra: str) -> str:
    """60 digits, a chain of `or` connectives along them and a count connective over half (issue 27)."""
    names = [f"x{i}" for i in range(60)]
    lines = ["digits " + ", ".join(names[i:i + 15]) for i in range(0, 60, 15)]
    lines += [f"x{i} is odd or x{i + 1} > x{i}" for i in range(59)]
    lines.append("at least 2 of { " + "; ".join(f"x{i} = 3" for i in range(30)) + " }")
    return "\n".join(lines + list(extra)) + "\n"


def reference_join_order(names, factors, domain_sizes):
    """The join's order rule written directly (O(n² · factors)): what the incremental one must equal."""
    chosen, left = [], list(names)
    while left:
        def score(n):
            done = set(chosen) | {n}
            completes = sum(1 for f in factors if n in f.scope and set(f.scope) <= done)
            tied = sum(1 for f in factors if n in f.scope and set(f.scope) & set(chosen))
            coeff = max((abs(c) for f in factors if isinstance(getattr(f, "logic", None), LinearChain)
                         for c, m in zip(f.logic.coeffs, f.logic.scope) if m == n), default=0)
            return (completes, tied, coeff, -domain_sizes[n], -names.index(n))
        best = max(left, key=score)
        chosen.append(best)
        left.remove(best)
    return chosen


@pytest.mark.slow
@pytest.mark.parametrize("path", PUZZLES + ["wide"], ids=[p.stem for p in PUZZLES] + ["wide"])
def test_incremental_join_order_follows_the_rule(path):
    graph = build(load_text(wide_riddle()) if path == "wide" else load(path))
    multi = [f for f in graph.factors if isinstance(f, symbolic.LogicFactor)]
    sizes = {n: len(v) for n, v in graph.values().items()}
    for part in (multi,) if path == "wide" else (multi, multi[::2], multi[1::3]):   # (the reference is slow)
        names = list(graph.variables)
        assert symbolic._choose_order(names, part, sizes) == reference_join_order(names, part, sizes)


def test_a_count_past_2_to_the_53_is_an_estimate_not_a_rounded_integer():
    riddle = load_text("digits " + ", ".join(f"d{i}" for i in range(20)) + "\nd0 is odd\n")
    result = solve_symbolic(build(riddle))
    assert result.count is None and result.solutions is None
    assert result.estimate == pytest.approx(5 * 10 ** 19)
    assert result.describe().startswith("about 5.0 × 10^19 solutions")
    assert result.to_json()["solution_estimate"] == pytest.approx(5e19)


def test_the_oracle_says_when_its_budget_ran_out(monkeypatch):
    graph = build(load_text(wide_riddle()))
    monkeypatch.setattr(symbolic, "CONTRACTION_LIMIT", 1)      # no contraction either: only the join
    result = solve_symbolic(graph, budget=0)
    assert result.count is None and result.budget == 0
    assert result.describe() == "not counted within 0 s (the oracle's time budget)"


@pytest.mark.slow
def test_a_wide_conflict_is_narrowed_to_the_two_statements_that_clash():
    at_most = "at most 1 of { " + "; ".join(f"x{i} = 3" for i in range(30)) + " }"
    result = solve_symbolic(build(load_text(wide_riddle(at_most))))
    assert result.count == 0 and result.minimal
    assert [s.span.line for s in result.conflict] == [64, 65]


def test_a_conflict_not_narrowed_in_time_is_every_statement_and_says_so():
    graph = build(load_text("digits a, b\na is odd\nb = a + 2\na + b = 9\na < 9\n"))
    factors = [f for f in graph.factors if symbolic.readable(f)]
    conflict, minimal = symbolic.minimal_conflict(graph, factors, deadline=0.0)    # long past
    assert not minimal and [s.span.line for s in conflict] == [2, 3, 4, 5]
    result = symbolic.SymbolicResult(graph.names, None, 0, (), conflict, minimal=False)
    assert "not narrowed to a minimal set" in symbolic.conflict_diagnostic(result).message


@pytest.mark.parametrize("relation", [
    "a + b + c + d = 17", "num(a, b) - num(c, d) < 12", "3 * a - 2 * (b + c) >= d", "a - b != 0",
    "num(a, b, c) + d = num(d, c, a)", "-(a + b) <= -9", "2 * num(a, b) = num(c, d) + 7",
])
def test_split_relation_equals_dense_tensor(relation):
    riddle = load_text("digits a, b, c, d\n" + relation + "\n")
    stmt = riddle.statements[0]
    values = {n: np.arange(10) for n in "abcd"}
    chain = linear_chain(stmt, values)
    dense = dense_truth(stmt, values)
    got = chain.dense()
    # axes of got follow chain order; unknowns with coefficient 0 are absent from it
    perm = [chain.scope.index(n) for n in dense.scope if n in chain.scope]
    table = np.transpose(got.table, perm) if perm else got.table
    missing = [i for i, n in enumerate(dense.scope) if n not in chain.scope]
    for axis in missing:
        table = np.expand_dims(table, axis)
    assert np.array_equal(np.broadcast_to(table, dense.table.shape), dense.table)


def test_send_more_money_is_split_and_solved():
    graph = build(load(ROOT / "puzzles" / "send-more-money.rdl"))
    chain = graph.factors[0].logic
    assert isinstance(chain, LinearChain)
    assert max(len(s) for s in chain.states) < 1000       # instead of a 10^8-entry dense tensor
    result = solve_symbolic(graph)
    assert result.unique and result.solutions.tolist() == [[9, 5, 6, 7, 1, 0, 8, 2]]


def test_twelve_digit_sum_builds_and_counts():
    graph = build(load(ROOT / "tests" / "ok" / "twelve-digit-sum.rdl"))
    assert isinstance(graph.factors[0].logic, LinearChain)
    result = solve_symbolic(graph)
    # compositions of 100 into 12 parts 0..9, counted independently by dynamic programming
    ways = np.zeros(109, dtype=object)
    ways[0] = 1
    for _ in range(12):
        ways = np.array([sum(ways[s - v] for v in range(10) if 0 <= s - v) for s in range(109)], dtype=object)
    assert result.count == ways[100]


def test_too_many_rows_falls_back_to_contraction(monkeypatch):
    monkeypatch.setattr(symbolic, "ROW_LIMIT", 50)
    monkeypatch.setattr(symbolic, "SEARCH_LIMIT", 50)           # CP-SAT, too, gives up past 50 solutions
    result = solve_symbolic(build(load_text("digits a, b, c\na + b = c\n")))
    assert result.solutions is None and result.count == 55
    assert "55 solutions" in result.describe()


def test_graph_nodes_and_edges():
    graph = build(load(ROOT / "puzzles" / "134.rdl"))
    g = graph.graph
    kinds = {n: d["kind"] for n, d in g.nodes(data=True)}
    assert kinds["generator:digit"] == "generator" and kinds["first"] == "unknown"
    assert g.has_edge("generator:digit", "first")
    assert g.has_edge("first", "network:odd") and g.has_edge("network:odd", "f1")
    assert g.has_edge("third", "classifier:digit") and g.has_edge("classifier:digit", "f3")
    assert [f.kind for f in graph.factors] == ["predicate", "logic", "logic", "label", "predicate"]
    assert graph.factors[2].logic.table.sum() == 55


@pytest.mark.parametrize("path", PUZZLES, ids=lambda p: p.name)
def test_puzzles_have_the_answer_in_their_header(path):
    header = re.search(r"^# answer: (.*)$", path.read_text(encoding="utf-8"), flags=re.M)
    assert header, f"{path.name} needs a '# answer: a=1 b=2' line"
    answer = dict(pair.split("=") for pair in header.group(1).split())
    riddle = load(path)
    graph = build(riddle)
    if graph.reads:            # a sheet: read before the oracle, whose readings allow more boards than it lists
        from riddle.graph import satisfies
        from riddle.infer.cells import read_cells
        graph = read_cells(graph)
        assert satisfies(graph, [int(answer[u.name]) for u in riddle.unknowns]) == []
        return
    result = solve_symbolic(graph)
    expected = [int(answer[u.name]) for u in riddle.unknowns]
    if any(s.kind == "observation" for s in riddle.statements):     # pixels pick it among the oracle's solutions
        assert result.accepts(expected) and result.count > 1
        return
    assert result.unique
    assert result.solutions[0].tolist() == expected


def test_check_reports_solutions_and_conflicts(in_repo, capsys, tmp_path):
    assert main(["check", "--json", "puzzles/134.rdl"]) == 0
    import json
    out = json.loads(capsys.readouterr().out)
    assert out["solution_count"] == 1 and out["solutions"] == [[1, 3, 4]]
    bad = tmp_path / "bad.rdl"
    bad.write_text("digits a, b\na is odd\nb = a + 2\nb is even\na < 9\n")
    assert main(["check", "--json", str(bad)]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["solution_count"] == 0 and out["conflict"] == [2, 3, 4]
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "error[R050]: no solution: these 3 statements cannot all hold" in err


def test_graph_command(in_repo, capsys):
    assert main(["graph", "puzzles/send-more-money.rdl"]) == 0
    out = capsys.readouterr().out
    assert "split into 8 steps" in out and "28 pairwise" in out
    assert main(["graph", "--dot", "puzzles/134.rdl"]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith("digraph riddle {") and '"generator:digit" -> "first";' in dot

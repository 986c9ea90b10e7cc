"""Connectives and counting: `or`, `and`, `if … then`, `exactly / at least / at most N of { … }`.

Parsing (precedence, grouping, lists over lines), checking (counts, empty lists, normal forms), the
oracle against plain-Python brute force (also on random nested formulas), the joint weighted model
count with predicate switches against brute force (values and gradients), and every mistake of a
malformed file reported."""
import itertools
import json

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riddle.graph import build, joint, solve_symbolic
from riddle.graph.joint import LogicGroup
from riddle.infer.objective import Networks, Objective
from riddle.lang import ast, load_text
from riddle.lang.checked import ConnectiveStatement, PredicateStatement
from riddle.lang.errors import Source
from riddle.lang.parser import parse
from riddle.models.registry import Predicate

from .test_graph import py_holds
from .test_infer import D, FakeNet, fake_registry


def statements(text):
    riddle, diags = parse(Source("t.rdl", text))
    assert not diags, diags
    return [s for s in riddle.statements if isinstance(s, ast.Fact)]


# ── parsing ──────────────────────────────────────────────────────────────────

def test_and_binds_tighter_than_or_and_parentheses_group():
    (s,) = statements("a is odd or b is odd and c = 3")
    assert s.op == "or" and [type(p).__name__ for p in s.parts] == ["PredicateFact", "Connective"]
    assert s.parts[1].op == "and"
    (g,) = statements("(a is odd or b is odd) and c = 3")
    assert g.op == "and" and g.parts[0].op == "or"
    (flat,) = statements("a = 1 or b = 2 or c = 3 or (a = 4 or b = 5)")
    assert flat.op == "or" and len(flat.parts) == 5                     # one `or` of five parts
    (rel,) = statements("(a + b) * 2 = c")                               # parentheses in expressions still work
    assert isinstance(rel, ast.Relation)


def test_if_then_takes_a_disjunction_on_each_side():
    (s,) = statements("if a is odd or b = 2 then c = 1 or c = 3 with strength 2")
    assert s.op == "if" and [p.op for p in s.parts] == ["or", "or"] and s.strength.text == "2"
    (nested,) = statements("(if a = 1 then b = 2) or c = 3")
    assert nested.op == "or" and nested.parts[0].op == "if"


def test_counting_lists_run_over_lines_and_nest():
    text = ("exactly two of {\n  a is odd   # a comment inside\n  b = 3; c > a\n  at most 1 of { a = 1; b = 1 }\n"
            "}\nc != 9\n")
    facts = statements(text)
    s = facts[0]
    assert s.op == "exactly" and s.count.text == "two" and len(s.parts) == 4 and s.parts[3].op == "at most"
    assert s.span.line == 1 and s.span.end_line == 5
    assert facts[1].span.line == 6 and facts[1].span.column == 1
    (empty,) = statements("at least 1 of { }")
    assert empty.parts == ()


# ── checking ─────────────────────────────────────────────────────────────────

def test_connective_statements_are_checked_and_printed_in_normal_form():
    r = load_text("digits a, b, c\nif a is odd then b = 2 or c < 3\nexactly one of { a is odd; b is even; c = 1 }\n"
                  "(a = 1 or b = 2) and c != 3\n")
    assert r.ok, r.diagnostics
    s1, s2, s3 = r.statements
    assert s1.kind == "connective" and s1.unknowns == ("a", "b", "c")
    assert s1.text() == "if odd(a) then (label(b) = 2 or c < 3)"
    assert s1.normal_form() == "not odd(a) or label(b) = 2 or c < 3"
    assert s2.count == 1 and s2.text() == "exactly 1 of {odd(a); even(b); label(c) = 1}"
    assert s3.text() == "(label(a) = 1 or label(b) = 2) and label(c) != 3"
    # `not` pushed inward through an `if`'s condition: De Morgan, flipped comparisons, complementary counts
    r = load_text("digits a, b, c\nif a = 1 or b < 2 then c = 3\nif exactly 1 of { a is odd; b = 2 } then c is even\n"
                  "if at least 2 of { a = 1; b = 1; c = 1 } and c is odd then a > b\n")
    assert [s.normal_form() for s in r.statements] == [
        "label(a) != 1 and b >= 2 or label(c) = 3",
        "at most 0 of {odd(a); label(b) = 2} or at least 2 of {odd(a); label(b) = 2} or even(c)",
        "at most 1 of {label(a) = 1; label(b) = 1; label(c) = 1} or not odd(c) or a > b",
    ]


@pytest.mark.parametrize("text, code, words", [
    ("digits a, b\nexactly 3 of { a = 1; b = 2 }\n", "R023", "can never hold"),
    ("digits a, b\nat least 1 of { }\n", "R023", "empty list"),
    ("digits a, b\nexactly fiv of { a = 1; b = 2 }\n", "R023", "not a count"),
    ("digits a, b\na = 1 or 2 = 2\n", "R023", "must involve an unknown"),
    ("digits a, b\na is od or b = 1\n", "R011", "unknown predicate"),
    ("digits a, b\na is odd or x = 1\n", "R010", "unknown name"),
])
def test_connective_mistakes_are_diagnosed(text, code, words):
    r = load_text(text)
    assert not r.ok
    assert any(d.code == code and words in d.message for d in r.diagnostics), r.diagnostics


def test_counts_that_always_hold_are_warnings():
    r = load_text("digits a, b\nat most 2 of { a = 1; b = 2 }\nat least 0 of { a = 3 }\na = 1\n")
    assert r.ok and [d.code for d in r.diagnostics if d.severity == "warning"] == ["R023", "R023"]


# ── the oracle against brute force ───────────────────────────────────────────

def py_formula(s, env, reading=None):
    """Plain Python: does statement s hold? Predicates through `reading` ((name, unknown) → bool) or
    their truth tables. Shares nothing with riddle.graph."""
    if isinstance(s, ConnectiveStatement):
        parts = [py_formula(p, env, reading) for p in s.parts]
        if s.op == "if":
            return (not parts[0]) or parts[1]
        k = sum(parts)
        return {"or": k >= 1, "and": k == len(parts), "exactly": k == s.count, "at least": k >= (s.count or 0),
                "at most": k <= (s.count or 0)}[s.op]
    if isinstance(s, PredicateStatement) and reading is not None:
        return reading[(s.predicate.name, s.unknown)] != s.negated
    return py_holds(s, env)


def brute_solutions(riddle):
    names = [u.name for u in riddle.unknowns]
    return [list(c) for c in itertools.product(range(10), repeat=len(names))
            if all(py_formula(s, dict(zip(names, c))) for s in riddle.statements)]


ORACLE_RIDDLES = [
    "digits a, b, c\na is odd or b is odd and c = 3\nif a > 5 then b < 2\nexactly 1 of "
    "{ a has a closed circle; b = 4; c is not odd }\na + b + c = 12\n",
    "digits a, b, c\n(a < b or b < c) and all different a, b, c\nat most one of "
    "{ a is odd; b is odd; c is odd }\nc > 6\n",
    "digits x, y\nat least two of { x + y = 9; x is even\n if x is odd then y is odd }\nx * y > 10\n",
    "digits p, q, r\nexactly 2 of { p = q; q = r; p = r + 1; all different p, q, r }\np + q + r = 7\n",
]


@pytest.mark.parametrize("text", ORACLE_RIDDLES)
def test_oracle_solutions_equal_brute_force(text):
    riddle = load_text(text)
    assert riddle.ok, riddle.diagnostics
    result = solve_symbolic(build(riddle))
    expected = brute_solutions(riddle)
    assert result.count == len(expected) and result.solutions.tolist() == expected


def test_check_json_lists_the_exact_solution_set_and_normal_forms(tmp_path, capsys):
    from riddle.cli import main
    path = tmp_path / "c.rdl"
    path.write_text(ORACLE_RIDDLES[0])
    assert main(["check", "--json", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["solutions"] == brute_solutions(load_text(ORACLE_RIDDLES[0]))
    kinds = [s["kind"] for s in doc["statements"]]
    assert kinds.count("connective") == 3
    assert doc["statements"][1]["normal_form"] == "not a > 5 or b < 2".replace("not a > 5", "a <= 5")


def test_an_unsatisfiable_riddle_names_whole_statements_in_its_conflict(tmp_path, capsys):
    from riddle.cli import main
    path = tmp_path / "u.rdl"
    path.write_text("digits a, b\na is odd or a = 2\nif a is odd then a = 2\nb = 1\na != 2\n")
    riddle = load_text(path.read_text())
    result = solve_symbolic(build(riddle))
    assert result.count == 0
    assert sorted(s.span.line for s in result.conflict) == [2, 3, 5]
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "no solution: these 3 statements cannot all hold" in err and "u.rdl:2:1" in err


# random nested formulas over two digits: the oracle equals brute force, and nothing raises
ATOMS = ["a is odd", "b is even", "a has a closed circle", "b is not odd", "a = 3", "b != 4", "a < b",
         "a + b = 9", "a * b > 20", "all different a, b", "b % 3 = 1"]


@st.composite
def formula(draw, depth=3):
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(st.sampled_from(ATOMS))
    kind = draw(st.sampled_from(["or", "and", "if", "count"]))
    if kind == "if":
        return f"(if {draw(formula(depth - 1))} then {draw(formula(depth - 1))})"
    if kind == "count":
        parts = draw(st.lists(formula(depth - 1), min_size=1, max_size=4))
        n = draw(st.integers(0, len(parts)))
        q = draw(st.sampled_from(["exactly", "at least", "at most"]))
        sep = draw(st.sampled_from(["; ", "\n"]))
        return f"{q} {n} of {{ {sep.join(parts)} }}"
    return "(" + f" {kind} ".join(draw(st.lists(formula(depth - 1), min_size=2, max_size=3))) + ")"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.lists(formula(), min_size=1, max_size=3))
def test_random_nested_connectives_oracle_equals_brute_force(body):
    text = "digits a, b\n" + "\n".join(body) + "\n"
    riddle = load_text(text)
    if not riddle.ok:                      # e.g. `at least 0 of` is only a warning; errors must be diagnostics
        assert all(d.span is not None for d in riddle.diagnostics)
        return
    result = solve_symbolic(build(riddle))
    assert result.solutions.tolist() == brute_solutions(riddle)


# ── the joint weighted model count with predicate switches ───────────────────

WMC_RIDDLES = [
    "digits a, b, c\na is odd or b is odd and c = 3\nif a > 5 then b < 2\nexactly 1 of "
    "{ a has a closed circle; b = 4; c is not odd }\n",
    # `pretty` has no truth table: its switch is free, weighed by its network alone
    "digits a, b\nat least 2 of { a + b = 9; a is pretty; b > a\n if a is odd then b is not pretty }\n",
    "digits a, b, c\n(a < b or b < c) and all different a, b, c\nat most one of { a is odd; b is odd; c is odd }\n",
]


def registry_with_pretty():
    registry, nets = fake_registry()
    pretty = FakeNet(1)
    registry.register_predicate(Predicate("pretty", "digit", None, load_network=lambda: pretty))
    return registry, nets + (pretty,)


def brute_log_wmc(riddle, p, logits):
    """log Σ_{labels, readings} Π p[v, l_v] · Π σ(±logit_r) over the assignments where every
    connective holds and each reading with a truth table agrees with it: [B]."""
    names = [u.name for u in riddle.unknowns]
    readings = list(dict.fromkeys((q.predicate.name, q.unknown) for s in riddle.statements
                                  if isinstance(s, ConnectiveStatement) for q in s.predicates))
    tables = {(q.predicate.name, q.unknown): q.predicate.truth_table for s in riddle.statements
              if isinstance(s, ConnectiveStatement) for q in s.predicates}
    total = torch.zeros(p.shape[0], dtype=torch.float64)
    for labels in itertools.product(range(10), repeat=len(names)):
        env = dict(zip(names, labels))
        for bits in itertools.product([False, True], repeat=len(readings)):
            reading = dict(zip(readings, bits))
            if any(tables[r] is not None and reading[r] != (env[r[1]] in tables[r]) for r in readings):
                continue
            if not all(py_formula(s, env, reading) for s in riddle.statements):
                continue
            w = torch.ones(p.shape[0], dtype=torch.float64)
            for i, label in enumerate(labels):
                w = w * p[:, i, label]
            for (pred, u), b in reading.items():
                prob = torch.sigmoid(logits[pred][:, names.index(u)])
                w = w * (prob if b else 1 - prob)
            total = total + w
    return torch.log(total)


@pytest.mark.parametrize("force", ["enumerate", "contract"])
@pytest.mark.parametrize("text", WMC_RIDDLES)
def test_joint_wmc_with_switches_equals_brute_force(text, force, monkeypatch):
    if force == "contract":
        monkeypatch.setattr(joint, "ENUMERATE_LIMIT", -1)
    registry, (gen, cls, odd, circle, pretty) = registry_with_pretty()
    riddle = load_text(text, registry=registry)
    assert riddle.ok, riddle.diagnostics
    graph = build(riddle)
    objective = Objective(graph, Networks.load(graph))
    assert {g.plan for g in objective.program.groups} == {force} and objective.program.exact
    cols = [k for k, t in enumerate(objective.terms) if isinstance(t, LogicGroup)]
    n = len(riddle.unknowns)
    xi = torch.randn(2, 2, n, D, generator=torch.Generator().manual_seed(5)).requires_grad_(True)
    got = objective.log_probs(xi)[..., cols].sum(-1)                         # [2, 2]
    (grad_got,) = torch.autograd.grad(got.sum(), xi)
    images = gen(xi.reshape(-1, D)).reshape(4 * n, 28, 28)
    p = torch.softmax(cls(images).double() / objective.label_temperature, -1).reshape(4, n, 10)
    logits = {name: net(images).double().reshape(4, n) for name, net in
              (("odd", odd), ("closed circle", circle), ("pretty", pretty))}
    expected = brute_log_wmc(riddle, p, logits).reshape(2, 2)
    (grad_expected,) = torch.autograd.grad(expected.sum(), xi)
    assert torch.allclose(got.double(), expected, rtol=1e-4, atol=1e-4)
    assert torch.allclose(grad_got, grad_expected.float(), rtol=1e-3, atol=1e-4)


def test_factored_mode_compiles_connectives_too():
    registry, _ = registry_with_pretty()
    graph = build(load_text(WMC_RIDDLES[1], registry=registry))
    objective = Objective(graph, Networks.load(graph), logic="factored")
    lp = objective.log_probs(torch.randn(2, 2, 2, D))
    assert torch.isfinite(lp).all() and lp.shape[-1] == len(graph.factors)


def test_a_predicate_without_truth_table_inside_a_connective_is_left_to_the_networks():
    registry, _ = registry_with_pretty()
    riddle = load_text("digits a, b\na is pretty or b = 1\na + b = 3\n", registry=registry)
    result = solve_symbolic(build(riddle))
    assert [s.span.line for s in result.ignored] == [2] and result.count == 4


# ── every mistake of a malformed file ────────────────────────────────────────

def test_three_mistakes_in_one_file_are_all_reported_with_positions():
    from riddle.lang.errors import render_all
    text = ("digits a, b, c\n"
            "a is odd or\n"                         # dangling `or`
            "if a = 1 b = 2\n"                       # `if` without `then`
            "exactly 1 of { a = 1; b = 2\n"          # unclosed `{`
            "c = 4\n")
    source = Source("bad.rdl", text)
    riddle, diags = parse(source)
    assert [(d.span.line, d.code) for d in diags] == [(2, "R002"), (3, "R002"), (4, "R002")]
    out = render_all(diags, source)
    assert "bad.rdl:2:12" in out and "bad.rdl:3:10" in out and "bad.rdl:4:14" in out
    assert "`or` needs a statement on each side" in out and "`then`" in out and "never closed" in out
    assert [s.span.line for s in riddle.statements if isinstance(s, ast.Fact)] == [5]   # line 5 still read

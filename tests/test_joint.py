"""Exact joint logic: the compiled groups against a brute-force weighted model count — values and
gradients — for every plan; plan choice, components, the split fallback, NaN-freedom."""
import itertools

import numpy as np
import pytest
import torch

from riddle.graph import build, joint
from riddle.graph.joint import LogicGroup, compile_logic
from riddle.infer.objective import Networks, Objective
from riddle.lang import load, load_text

from .conftest import ROOT
from .test_graph import py_holds
from .test_infer import D, fake_registry

SMALL_RIDDLES = [
    # sums, a label, a truth table, a one-unknown relation, all different: one component
    "digits a, b, c\na is odd\na + b = c\nc is not 7\nall different a, b, c\nb % 3 = 1\n",
    # two components ({a, b} and {c, d}) and an unknown (e) no label-level statement reads
    "digits a, b, c, d, e\na < b\nb has no closed circle\nc + d = 9\nd is not 4\ne is odd\n",
    # a split linear relation (a chain) tied to a dense one
    "digits a, b, c, d\nnum(a, b) + num(c, d) = 101\na > c\n",
    # several solutions, a negated label and a product
    "digits p, q\np * q = 12\np != 2\n",
]


def brute_log_wmc(riddle, p: torch.Tensor) -> torch.Tensor:
    """p [B, n, 10] (float64) → log Σ over label tuples satisfying every statement with a truth table
    (predicates read through it) of Π_v p[v, l_v]: [B]. Plain itertools, sharing nothing with riddle.graph."""
    names = [u.name for u in riddle.unknowns]
    combos = [c for c in itertools.product(range(10), repeat=len(names))
              if all(py_holds(s, dict(zip(names, c))) for s in riddle.statements
                     if getattr(getattr(s, "predicate", None), "truth_table", 0) is not None)]
    idx = torch.tensor(combos)                                               # [C, n]
    terms = p[:, torch.arange(len(names)), idx]                              # [B, C, n]
    return torch.log(terms.prod(-1).sum(-1))


def objective_and_probs(text, registry, logic="joint"):
    riddle = load_text(text, registry=registry)
    assert riddle.ok, riddle.diagnostics
    graph = build(riddle)
    return riddle, graph, Objective(graph, Networks.load(graph), logic=logic)


def group_columns(objective):
    return [k for k, t in enumerate(objective.terms) if isinstance(t, LogicGroup)]


@pytest.mark.slow
@pytest.mark.parametrize("force", ["enumerate", "contract"])
@pytest.mark.parametrize("text", SMALL_RIDDLES)
def test_joint_logic_equals_brute_force_wmc_values_and_gradients(text, force, monkeypatch):
    if force == "contract":
        monkeypatch.setattr(joint, "ENUMERATE_LIMIT", -1)
    registry, (gen, cls, *_) = fake_registry()
    riddle, graph, objective = objective_and_probs(text, registry)
    plans = {g.plan for g in objective.program.groups}
    assert plans == {force} and objective.program.exact
    n = len(riddle.unknowns)
    xi = torch.randn(2, 3, n, D, generator=torch.Generator().manual_seed(4), dtype=torch.float32).requires_grad_(True)
    got = objective.log_probs(xi)[..., group_columns(objective)].sum(-1)     # [2, 3]: Π over components
    (grad_got,) = torch.autograd.grad(got.sum(), xi)
    images = gen(xi.reshape(-1, D)).reshape(6, n, 28, 28)
    p = torch.softmax(cls(images.reshape(-1, 28, 28)).double() / objective.label_temperature, -1).reshape(6, n, 10)
    expected = brute_log_wmc(riddle, p).reshape(2, 3)
    (grad_expected,) = torch.autograd.grad(expected.sum(), xi)
    assert torch.allclose(got.double(), expected, rtol=1e-4, atol=1e-4)
    assert torch.allclose(grad_got, grad_expected.float(), rtol=1e-3, atol=1e-4)


def test_components_are_separate_exact_groups_and_networks_stay_terms():
    registry, _ = fake_registry()
    _, graph, objective = objective_and_probs(SMALL_RIDDLES[1], registry)
    program = objective.program
    assert [g.scope for g in program.groups] == [("a", "b"), ("c", "d"), ("e",)]
    # the predicates' networks are terms of their own, beside their truth tables in the groups
    networks = [t for t in program.terms if not isinstance(t, LogicGroup)]
    assert [t.predicate.name for t in networks] == ["closed circle", "odd"]
    assert any(f.kind == "predicate" for f in program.groups[0].factors)
    assert program.to_json()["groups"][0]["lines"] == [2, 3]


def test_plan_choice_follows_the_bounds():
    """Few satisfying tuples: enumerate. The twelve-digit sum's tuples cannot be listed, but its
    chain contracts within the bound. Below every bound: split into parts, approximately."""
    send = compile_logic(build(load(ROOT / "puzzles" / "send-more-money.rdl")))
    assert [(g.plan, g.size) for g in send.groups] == [("enumerate", 1)]
    twelve = compile_logic(build(load(ROOT / "tests" / "ok" / "twelve-digit-sum.rdl")))
    assert [g.plan for g in twelve.groups] == ["contract"] and twelve.exact
    assert twelve.groups[0].size <= joint.CONTRACT_LIMIT


def test_a_component_too_large_for_every_plan_is_split_into_parts_that_fit(monkeypatch):
    text = "digits a, b, c, d, e\nall different a, b, c, d, e\na is odd\ne is not 3\n"
    graph = build(load_text(text))
    whole = compile_logic(graph)
    assert [g.plan for g in whole.groups] == ["contract"] and whole.exact   # 13,776 tuples: too many to list
    monkeypatch.setattr(joint, "ENUMERATE_LIMIT", 1000)
    monkeypatch.setattr(joint, "CONTRACT_LIMIT", 1000)
    split = compile_logic(graph)
    assert len(split.groups) > 1 and not split.exact and not any(g.exact for g in split.groups)
    covered = [f for g in split.groups for f in g.factors]
    assert sorted(f.id for f in covered) == sorted(f.id for f in graph.factors)   # every factor exactly once
    for g in split.groups:
        assert g.size * len(g.scope) <= 1000 if g.plan == "enumerate" else g.size <= 1000
    # nothing fits at all: the factored product of the component (each pair alone, unary masks per unknown)
    monkeypatch.setattr(joint, "ENUMERATE_LIMIT", -1)
    monkeypatch.setattr(joint, "CONTRACT_LIMIT", -1)
    degenerate = compile_logic(graph)
    pairs = [g for g in degenerate.groups if len(g.scope) == 2]
    assert len(pairs) == 10 and all(len(g.factors) == 1 for g in pairs)
    assert sorted(g.scope for g in degenerate.groups if len(g.scope) == 1) == [("a",), ("e",)]


def test_factored_mode_keeps_one_term_per_factor_in_the_graphs_order():
    graph = build(load(ROOT / "puzzles" / "134.rdl"))
    program = compile_logic(graph, "factored")
    assert len(program.terms) == len(graph.factors)
    assert [t.kind for t in program.terms] == [f.kind if f.kind == "predicate" else "logic" for f in graph.factors]
    assert not program.exact and program.to_json()["mode"] == "factored"
    with pytest.raises(ValueError):
        compile_logic(graph, "fuzzy")


@pytest.mark.parametrize("force", ["enumerate", "contract"])
def test_joint_logic_is_nan_free_at_alpha_100(force, monkeypatch):
    if force == "contract":
        monkeypatch.setattr(joint, "ENUMERATE_LIMIT", -1)
    registry, (gen, cls, odd, circle) = fake_registry()
    with torch.no_grad():                              # make the networks extremely confident
        cls.lin.weight.mul_(200)
        odd.lin.weight.mul_(200)
    text = ("digits a, b, c, d, e, f, g\na is odd\nnum(a, b) + num(c, d) = num(e, f, g)\n"
            "all different a, b, c, d, e, f, g\n")
    _, graph, objective = objective_and_probs(text, registry)
    assert {g.plan for g in objective.program.groups} == {force}
    xi = (5 * torch.randn(4, 2, 7, D)).requires_grad_(True)
    h, lp = objective.energy(xi, 100.0)
    h.sum().backward()
    assert torch.isfinite(h).all() and torch.isfinite(xi.grad).all() and torch.isfinite(lp).all()


def test_logic_mode_is_a_setting_flag_and_json_field(in_repo, capsys):
    import json

    from riddle.cli import main
    assert main(["check", "--json", "puzzles/send-more-money.rdl"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["logic"]["mode"] == "joint" and doc["logic"]["groups"][0]["plan"] == "enumerate"
    riddle = load_text("digits a, b\na + b = 3\nsolve with logic factored\n")
    assert riddle.ok and riddle.settings["logic"] == "factored"
    bad = load_text("digits a, b\na + b = 3\nsolve with logic fuzzy\n")
    assert not bad.ok and "did you mean" in str([d.help for d in bad.diagnostics]) or not bad.ok
    assert main(["check", "tests/ok/twelve-digit-sum.rdl"]) == 0
    out = capsys.readouterr().out
    assert "logic (joint)" in out and "contract" in out
    assert main(["graph", "puzzles/134.rdl"]) == 0
    assert "enumerate 1 satisfying tuple of 3 unknowns" in capsys.readouterr().out


def test_pairwise_rms_measures_how_different_drawings_are():
    from riddle.infer.stats import pairwise_rms
    same = np.ones((5, 28, 28)) * 0.3
    assert pairwise_rms(same) == pytest.approx(0.0, abs=1e-6)
    two = np.stack([np.zeros((28, 28)), np.ones((28, 28))])
    assert pairwise_rms(two) == pytest.approx(1.0)
    three = np.stack([np.zeros(4), np.ones(4), np.full(4, 0.5)])     # pairs: 1, 0.5, 0.5
    assert pairwise_rms(three) == pytest.approx(2 / 3)
    assert pairwise_rms(two[:1]) is None

"""The compiled objective and the batched solver, with tiny fake networks (no weights needed)."""
import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from riddle.graph import build
from riddle.graph.logic import dense_truth
from riddle.infer import advi, base
from riddle.infer.objective import Networks, Objective, scatter_logsumexp
from riddle.infer.stats import answer_table, reported_answer, wilson
from riddle.lang import load_text
from riddle.models.registry import Domain, Predicate, Registry

from .test_graph import py_holds

D = 3


class FakeGenerator(nn.Module):
    def __init__(self):
        super().__init__()
        self.latent = D
        self.lin = nn.Linear(D, 28 * 28)

    def forward(self, xi):
        return torch.sigmoid(self.lin(xi)).reshape(-1, 28, 28)


class FakeNet(nn.Module):
    def __init__(self, out):
        super().__init__()
        self.lin = nn.Linear(28 * 28, out)
        self.out = out

    def forward(self, x):
        y = 3 * self.lin(x.reshape(x.shape[0], -1))
        return y.squeeze(-1) if self.out == 1 else y


def fake_registry(seed=0):
    torch.manual_seed(seed)
    gen, cls, odd, circle = FakeGenerator(), FakeNet(10), FakeNet(1), FakeNet(1)
    r = Registry()
    r.register_domain(Domain("digit", "digits", tuple(range(10)), load_generator=lambda: gen,
                             load_classifier=lambda: cls, load_judge=lambda: cls))
    r.register_predicate(Predicate("odd", "digit", frozenset({1, 3, 5, 7, 9}), load_network=lambda: odd))
    r.register_predicate(Predicate("closed circle", "digit", frozenset({0, 6, 8, 9}), load_network=lambda: circle))
    return r, (gen, cls, odd, circle)


RIDDLE = """digits a, b, c, d, e, f, g
a is odd
b has no closed circle with strength 2
c is not 7
a + b = c
all different a, b, c
num(a, b, c) % 7 = 3
num(d, e, f, g) + num(a, b) = num(c, d, e, f) + 2
"""


@pytest.mark.slow
def test_factored_log_probs_match_a_direct_computation():
    """`--logic factored`: one term per factor, in the graph's order, each the papers' P_k."""
    registry, (gen, cls, odd, circle) = fake_registry()
    riddle = load_text(RIDDLE, registry=registry)
    assert riddle.ok, riddle.diagnostics
    graph = build(riddle)
    objective = Objective(graph, Networks.load(graph), logic="factored")
    xi = torch.randn(2, 3, 7, D, generator=torch.Generator().manual_seed(1))
    got = objective.log_probs(xi)                                           # [R, S, K]
    assert got.shape == (2, 3, len(graph.factors))
    names = [u.name for u in riddle.unknowns]
    with torch.no_grad():
        images = gen(xi.reshape(-1, D)).reshape(2, 3, 7, 28, 28)
        p = (
            torch.softmax(cls(images.reshape(-1, 28, 28)) / objective.label_temperature, -1)
            .reshape(2, 3, 7, 10)
            .double()
        )
        p_odd = torch.sigmoid(odd(images.reshape(-1, 28, 28))).reshape(2, 3, 7).double()
        p_circle = torch.sigmoid(circle(images.reshape(-1, 28, 28))).reshape(2, 3, 7).double()
    for k, f in enumerate(graph.factors):
        s = f.statement
        for r, si in itertools.product(range(2), range(3)):
            if f.kind == "predicate":
                i = names.index(f.scope[0])
                q = (p_odd if s.predicate.name == "odd" else p_circle)[r, si, i]
                expected = 1 - q if s.negated else q
            elif len(f.scope) > 3:
                # a split relation: against the dense tensor, contracted in float64 by einsum
                table = dense_truth(s, {n: np.arange(10) for n in names}, limit=None)
                operands = [table.table.astype(float)] + [p[r, si, names.index(n)].numpy() for n in table.scope]
                letters = "abcdefghij"[:len(table.scope)]
                expected = np.einsum(letters + "," + ",".join(letters) + "->", *operands)
            else:
                # brute force over the factor's scope: Σ over label tuples where it holds of Π p
                scope = f.scope
                expected = 0.0
                for combo in itertools.product(range(10), repeat=len(scope)):
                    env = dict(zip(scope, combo))
                    if f.kind == "label":
                        holds = (combo[0] == s.label) != s.negated
                    elif len(scope) == 2 and s.kind == "distinct":
                        holds = combo[0] != combo[1]
                    else:
                        full = {n: env.get(n, 0) for n in names}
                        holds = py_holds(s, full)
                    if holds:
                        expected += math.prod(float(p[r, si, names.index(n), v]) for n, v in env.items())
            assert math.isclose(float(got[r, si, k].exp()), float(expected), rel_tol=2e-4, abs_tol=1e-9), (
                f.id,
                s.text(),
            )


def test_readouts_share_one_classifier_call_per_step():
    """odd (a label set) and closed circle (a head) read off one LabelNet: one call serves all three
    uses, and each factor equals the readout computed directly."""
    from riddle.models.zoo import HeadReadout, LabelNet, LabelReadout, Negated
    torch.manual_seed(0)
    gen, cls = FakeGenerator(), LabelNet(width=4, heads=("closed circle",)).eval()
    r = Registry()
    r.register_domain(Domain("digit", "digits", tuple(range(10)), load_generator=lambda: gen,
                             load_classifier=lambda: cls, load_judge=lambda: cls))
    r.register_predicate(Predicate("odd", "digit", frozenset({1, 3, 5, 7, 9}),
                                   load_network=lambda: LabelReadout(cls, (1, 3, 5, 7, 9))))
    r.register_predicate(Predicate("closed circle", "digit", frozenset({0, 6, 8, 9}),
                                   load_network=lambda: Negated(Negated(HeadReadout(cls, "closed circle")))))
    graph = build(load_text("digits a, b\na is odd\nb has no closed circle\na + b = 9\n", registry=r))
    objective = Objective(graph, Networks.load(graph))
    calls = []
    cls.head.register_forward_hook(lambda *_: calls.append(1))
    xi = torch.randn(2, 3, 2, D, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = objective.log_probs(xi)                                                # [2, 3, K]
    assert len(calls) == 1
    with torch.no_grad():
        images = gen(xi.reshape(-1, D)).reshape(6, 2, 28, 28)
        odd = LabelReadout(cls, (1, 3, 5, 7, 9))(images[:, 0])
        circle = cls.outputs(images[:, 1])[:, 10]
    kinds = [(f.kind, f.statement.text()) for f in graph.factors]
    k_odd = next(i for i, (kind, t) in enumerate(kinds) if "odd" in t)
    k_circle = next(i for i, (kind, t) in enumerate(kinds) if "circle" in t)
    assert torch.allclose(got[..., k_odd].reshape(-1), torch.nn.functional.logsigmoid(odd), atol=1e-5)
    assert torch.allclose(got[..., k_circle].reshape(-1), torch.nn.functional.logsigmoid(-circle), atol=1e-5)
    assert torch.allclose(cls(images[:, 0]), cls.outputs(images[:, 0])[:, :10])
    # the same call's label logits, heads left out, for callers that want the networks' reading
    assert objective.label_logits.shape == (6, 2, 10)
    assert torch.allclose(objective.label_logits, torch.stack([cls(images[:, i]) for i in range(2)], 1), atol=1e-5)


def test_readings_of_tuples_mixed_from_two_batches_equal_their_log_probs():
    """A tuple assembled from images of different batches is scored from their readings alone
    (what the start's coordinate search relies on): the same log P_k as the networks on the tuple."""
    registry, _ = fake_registry()
    graph = build(load_text(RIDDLE, registry=registry))
    objective = Objective(graph, Networks.load(graph))
    g = torch.Generator().manual_seed(4)
    xi = torch.randn(5, 7, D, generator=g)  # 5 tuples of 7 latents
    index = torch.randint(5, (6, 7), generator=g)  # [6, 7]: tuple j takes image index[j, u] for u
    with torch.no_grad():
        readings = objective.read(objective.images(xi))
        got = objective.terms_of(readings.take(index))                           # [6, K]
        mixed = xi[index, torch.arange(7)]                                       # [6, 7, D]
        want = objective.log_probs(mixed[:, None])[:, 0]
        halves = base.Readings.cat([objective.read(objective.images(xi[:2])), objective.read(objective.images(xi[2:]))])
        again = objective.terms_of(halves.take(index))
    assert torch.allclose(got, want, atol=1e-5)
    assert torch.allclose(again, want, atol=1e-5)


def test_start_search_lowers_the_energy_within_each_restarts_own_draws():
    """best_start with 0 sweeps: the whole draw of lowest energy; with sweeps: per unknown, one of the
    restart's own draws for that unknown, at an energy no higher; each restart's start depends on its
    draws alone."""
    registry, _ = fake_registry()
    graph = build(load_text(RIDDLE, registry=registry))
    objective = Objective(graph, Networks.load(graph))
    R, C, n = 6, 16, 7
    candidates = torch.randn(R, C, n, D, generator=torch.Generator().manual_seed(5))
    alpha = 0.5
    with torch.no_grad():
        whole = objective.energy(candidates.reshape(R * C, 1, n, D), alpha)[0].reshape(R, C)
        plain = base.best_start(objective, candidates, alpha, sweeps=0)
        assert torch.equal(plain, candidates[torch.arange(R), whole.argmin(1)])
        searched = base.best_start(objective, candidates, alpha, sweeps=2)
        e_plain = objective.energy(plain[:, None], alpha)[0][:, 0]
        e_searched = objective.energy(searched[:, None], alpha)[0][:, 0]
        assert (e_searched <= e_plain + 1e-4).all() and (e_searched < e_plain - 1e-3).any()
        for r in range(R):
            for u in range(n):
                assert any(torch.equal(searched[r, u], candidates[r, c, u]) for c in range(C))
        alone = base.best_start(objective, candidates[2:3], alpha, sweeps=2)
        assert torch.equal(alone[0], searched[2])


def test_split_chain_factor_is_used_for_the_large_relation():
    registry, _ = fake_registry()
    graph = build(load_text(RIDDLE, registry=registry))
    from riddle.graph.logic import LinearChain
    assert any(isinstance(getattr(f, "logic", None), LinearChain) for f in graph.factors)


def test_scatter_logsumexp():
    values = torch.tensor([[0.0, 1.0, -2.0, 3.0], [-1000.0, -1001.0, 5.0, -float("inf")]])
    index = torch.tensor([0, 0, 2, 2])
    got = scatter_logsumexp(values, index, 3)
    assert torch.allclose(got[:, 0], torch.logsumexp(values[:, :2], 1))
    assert torch.isneginf(got[:, 1]).all()
    assert torch.allclose(got[:, 2], torch.logsumexp(values[:, 2:], 1))


def test_nan_free_at_strength_100():
    registry, (gen, cls, odd, circle) = fake_registry()
    with torch.no_grad():                              # make the networks extremely confident
        cls.lin.weight.mul_(200)
        odd.lin.weight.mul_(200)
    graph = build(load_text(RIDDLE, registry=registry))
    objective = Objective(graph, Networks.load(graph))
    xi = (5 * torch.randn(4, 2, 7, D)).requires_grad_(True)
    h, lp = objective.energy(xi, 100.0)
    h.sum().backward()
    assert torch.isfinite(h).all() and torch.isfinite(xi.grad).all()


class Quadratic(nn.Module):
    """A stand-in objective with H(ξ) = α/2 |ξ − c|², whose posterior is known exactly."""
    names = ("x",)
    d = 2

    def __init__(self, c):
        super().__init__()
        self.c = c

    def energy(self, xi, alpha):
        h = 0.5 * alpha * ((xi - self.c) ** 2).sum(dim=(-1, -2)) + 0.5 * (xi ** 2).sum(dim=(-1, -2))
        return h, h[..., None]


@pytest.mark.slow
def test_antithetic_advi_finds_the_gaussian_posterior():
    # prior N(0, 1) × likelihood exp(-α/2 |ξ - c|²) → posterior N(α c / (1 + α), 1 / (1 + α))
    c = torch.tensor([[2.0, -1.0]])
    cfg = base.RunConfig(restarts=3, pairs=2, steps=1500, anneal=(3.0,), lr=0.02, init_candidates=1, init_sigma=1.0)
    result = advi.run(Quadratic(c), cfg)
    assert torch.allclose(result.mu, (0.75 * c).expand(3, 1, 2), atol=0.05)
    assert torch.allclose(result.sigma, torch.full((3, 1, 2), 0.5), atol=0.05)


def test_batched_restarts_equal_looped_restarts():
    registry, _ = fake_registry()
    graph = build(load_text("digits a, b, c\na is odd\na + b = c\nc has no closed circle\n", registry=registry))
    objective = Objective(graph, Networks.load(graph))
    cfg = base.RunConfig(restarts=4, pairs=1, steps=25, init_candidates=4, seed=3, clone=0.0)
    candidates, noise = base.draw_noise(cfg, 3, D, "cpu")
    batched = advi.run(objective, cfg, noise=(candidates, noise))
    for r in range(4):
        one = advi.run(objective, base.RunConfig(**{**cfg.__dict__, "restarts": 1}),
                       noise=(candidates[r:r + 1], noise[:, r:r + 1]))
        assert torch.allclose(one.mu[0], batched.mu[r], atol=1e-4)
        assert torch.allclose(one.elbo_trace[:, 0], batched.elbo_trace[:, r], atol=1e-3)


def test_wilson_interval():
    lo, hi = wilson(93, 100)
    assert math.isclose(lo, 0.8626, abs_tol=1e-3) and math.isclose(hi, 0.9657, abs_tol=1e-3)
    assert wilson(0, 10)[0] == 0 and math.isclose(wilson(10, 10)[1], 1)


def test_answer_table_and_rules():
    answers = np.array([[1, 3, 4]] * 5 + [[2, 4, 6]] * 2 + [[3, 5, 8]])
    elbo = np.array([-10, -11, -12, -10, -10, -20, -21, -5.0])
    rows = answer_table(answers, elbo, lambda a: (a == (1, 3, 4), [] if a == (1, 3, 4) else ["odd(first)"]))
    assert [r.answer for r in rows] == [(1, 3, 4), (2, 4, 6), (3, 5, 8)]
    assert rows[0].restarts == 5 and math.isclose(rows[0].mean_elbo, -10.6)
    assert reported_answer(rows, "vote").answer == (1, 3, 4)
    assert reported_answer(rows, "elbo").answer == (1, 3, 4)         # (3, 5, 8) has the best ELBO but breaks one
    # a verified answer beats a more popular broken one, by either rule
    verified = lambda a: (a == (3, 5, 8), [] if a == (3, 5, 8) else ["x"])  # noqa: E731
    rows = answer_table(answers, elbo, verified)
    assert reported_answer(rows, "vote").answer == (3, 5, 8) and reported_answer(rows, "elbo").answer == (3, 5, 8)
    # nothing verified: an answer the oracle cannot check beats ones it knows are broken; else plain vote
    unknown = lambda a: (None, []) if a == (2, 4, 6) else (False, ["x"])  # noqa: E731
    assert reported_answer(answer_table(answers, elbo, unknown), "vote").answer == (2, 4, 6)
    broken = answer_table(answers, elbo, lambda a: (False, ["x"]))
    assert reported_answer(broken, "vote").answer == (1, 3, 4) and reported_answer(broken, "elbo").answer == (3, 5, 8)

    # a known weight (a sheet's readings) picks the most probable verified answer, however few reached it
    both = lambda a: (a != (2, 4, 6), [] if a != (2, 4, 6) else ["x"])  # noqa: E731
    rows = answer_table(answers, elbo, both)
    weight = {(1, 3, 4): -3.4, (2, 4, 6): 0.0, (3, 5, 8): -3.0}.get
    assert reported_answer(rows, "vote").answer == (1, 3, 4)
    assert reported_answer(rows, "vote", weight).answer == (3, 5, 8)      # (2, 4, 6) weighs most but breaks one


def test_cloning_copies_the_best_restarts_with_their_adam_state():
    cfg = base.RunConfig(restarts=8, steps=40, anneal=(1.0, 2.0), clone=0.25, clone_per_stage=2, seed=0)
    assert base.clone_points(cfg) == [10, 20, 30]                    # none at the run's end
    mu = torch.arange(8.0).reshape(8, 1, 1).repeat(1, 2, 3).requires_grad_(True)
    opt = torch.optim.Adam([mu], lr=0.1)
    mu.sum().backward()
    opt.step()
    opt.state[mu]["exp_avg"].copy_(torch.arange(8.0).reshape(8, 1, 1).expand(8, 2, 3))
    trace = torch.zeros(40, 8)
    trace[:10] = torch.tensor([5.0, 1, 7, 3, 0, 2, 6, 4])            # restart 2 best, then 6, … restart 4 worst
    with torch.no_grad():
        before = mu.clone()
    ancestors = base.clone_best(trace, 0, 10, cfg, [mu], opt, torch.arange(8))
    # k = 2: the worst (4, then 1) become the best (2, then 6)
    assert ancestors.tolist() == [0, 6, 2, 3, 2, 5, 6, 7]
    assert torch.equal(mu[4], before[2]) and torch.equal(mu[1], before[6])
    assert torch.equal(opt.state[mu]["exp_avg"][4], torch.full((2, 3), 2.0))
    assert torch.equal(mu[[0, 2, 3, 5, 6, 7]], before[[0, 2, 3, 5, 6, 7]])


class DoubleWell:
    """A stand-in objective over one 1-d unknown: two basins, at ξ = +2 (deep) and ξ = −2 (shallow),
    separated by a barrier that gradient steps do not cross."""
    names, d, factors = ["x"], 1, [None]

    def energy(self, xi, alpha):                                    # xi [R, S, 1, 1]
        x = xi[..., 0, 0]
        lp = torch.logsumexp(torch.stack([-8 * (x - 2) ** 2, -8 * (x + 2) ** 2 - 6]), 0)   # log P [R, S]
        return -alpha * lp + 0.5 * x ** 2, lp[..., None]


def test_cloning_moves_restarts_out_of_the_shallow_basin():
    plain_cfg = base.RunConfig(restarts=40, pairs=1, steps=80, init_candidates=1, init_sigma=0.05, lr=0.05,
                               anneal=(1.0, 2.0), seed=3, clone=0.0)
    candidates, noise = base.draw_noise(plain_cfg, 1, 1, "cpu")
    candidates = candidates.sign() * 2.0                                # half start in each basin
    plain = advi.run(DoubleWell(), plain_cfg, noise=(candidates, noise))
    cloned = advi.run(DoubleWell(), base.RunConfig(**{**plain_cfg.__dict__, "clone": 0.5, "clone_per_stage": 2}),
                      noise=(candidates, noise))
    deep_plain, deep_cloned = (plain.mu[:, 0, 0] > 0).float().mean(), (cloned.mu[:, 0, 0] > 0).float().mean()
    assert 0.3 < deep_plain < 0.7                                       # independent restarts stay where they start
    assert deep_cloned == 1.0                                           # three cloning points: all in the deep basin
    assert len(set(cloned.ancestors.tolist())) < 40 and len(set(plain.ancestors.tolist())) == 40
    assert all(plain.mu[a, 0, 0] > 0 for a in cloned.ancestors.tolist())   # every lineage began in the deep basin


def test_sequential_equals_batched_without_cloning_and_rejection_keeps_accepted_tuples():
    from riddle.infer import rejection
    from riddle.infer.solve import solve
    registry, _ = fake_registry()
    riddle = load_text("digits a, b\na is odd\na + b = 9\n", registry=registry)
    cfg = base.RunConfig(restarts=3, pairs=1, steps=12, init_candidates=4, seed=2, clone=0.0, rounds=1,
                          precision="float32")
    batched = solve(riddle, cfg, device="cpu", method="advi")
    one_by_one = solve(riddle, cfg, device="cpu", method="sequential")
    assert np.allclose(batched.elbo_trace, one_by_one.elbo_trace, atol=1e-3)
    assert np.allclose(batched.images, one_by_one.images, atol=1e-4)
    easy = load_text("digits a, b\na is odd\nb has a closed circle\n", registry=registry)   # the fake nets accept most
    graph = build(easy)
    objective = Objective(graph, Networks.load(graph), logic="factored")   # (the fake classifier ignores truth tables)
    res = rejection.sample(objective, rejection.RejectionConfig(accepted=5, batch=256, max_samples=4096, seed=1))
    assert res.drawn % 256 == 0 and 0 < res.accepted_total <= res.drawn and len(res.latents) <= 5
    assert (res.log_probs > math.log(0.5)).all()
    again = objective.log_probs(res.latents[:, None])[:, 0]
    assert torch.allclose(again, res.log_probs, atol=1e-5)
    sol = solve(easy, base.RunConfig(restarts=5, seed=1, logic="factored"), device="cpu", method="rejection",
                options={"sampling": rejection.RejectionConfig(accepted=5, batch=256, max_samples=4096, seed=1)})
    assert sol.restarts == len(sol.answers) == 5 and sol.diagnostics["drawn"] >= 256
    starved = solve(riddle, base.RunConfig(restarts=5, seed=1), device="cpu", method="rejection",
                    options={"sampling": rejection.RejectionConfig(accepted=5, batch=4, max_samples=4, seed=1)})
    assert starved.restarts == len(starved.answers) and starved.success_rate <= 1


def test_auto_picks_amortised_where_it_samples_exactly_and_says_why():
    from riddle.infer.solve import solve
    from riddle.report.output import solution_text
    registry, _ = fake_registry()
    easy = load_text("digits a, b\na is odd\nb has a closed circle\n", registry=registry)
    sol = solve(easy, base.RunConfig(restarts=4, steps=50, seed=0), device="cpu", method="auto")
    assert sol.method == sol.auto["choice"] == "amortised" and "exactly" in sol.auto["reason"]
    assert "method   auto → amortised" in solution_text(sol)


def test_auto_picks_rejection_when_nearly_everything_is_accepted(monkeypatch):
    from riddle.infer import auto
    from riddle.infer.solve import solve
    monkeypatch.setattr(auto, "prefer", lambda graph: None)          # as for a riddle amortised cannot sample
    registry, _ = fake_registry()
    easy = load_text("digits a, b\na is odd\nb has a closed circle\n", registry=registry)   # fake nets accept ~all
    sol = solve(easy, base.RunConfig(restarts=4, steps=50, seed=0, logic="factored"), device="cpu", method="auto")
    assert sol.method == sol.auto["choice"] == "rejection"
    assert sol.auto["pilot_acceptance"] > 0.5 and sol.auto["projected_rejection_s"] < sol.auto["projected_advi_s"]
    assert sol.restarts == 4


def test_rounds_run_again_with_fresh_seeds_until_an_answer_is_verified():
    from riddle.infer.solve import _rounds, round_seed, solve
    from riddle.report.output import solution_json, solution_text
    registry, _ = fake_registry()
    riddle = load_text("digits a, b\na is odd\na + b = 9\n", registry=registry)
    graph = build(riddle)
    objective = Objective(graph, Networks.load(graph))
    cfg = base.RunConfig(restarts=3, steps=6, init_candidates=2, clone=0.0, rounds=3, seed=5, precision="float32")
    steps, checked = [], []
    never = _rounds(objective, cfg, "cpu", lambda e: steps.append(e.step), lambda mu: checked.append(mu) or False)
    assert len(never) == 3 and len(checked) == 2                   # no check after the last round
    assert steps == list(range(18))                                 # the bar counts steps across rounds
    assert not torch.allclose(never[0].mu, never[1].mu)             # each round its own seed
    assert len({round_seed(5, k) for k in range(3)}) == 3 and round_seed(5, 0) == 5
    first = _rounds(objective, cfg, "cpu", None, lambda mu: True)
    assert len(first) == 1 and torch.allclose(first[0].mu, never[0].mu)   # round 1 is the plain solve

    easy = load_text("digits a, b\na is odd\n", registry=registry)     # the fake judge reads "odd" now and then
    R, stopped_early = cfg.restarts, 0
    for seed in range(6):
        # whole draws as starts: the fake judge is unrelated to the fake networks the start search
        # follows, so the search would only change which seeds the judge happens to accept
        sol = solve(easy, replace(cfg, seed=seed, search=0), device="cpu", method="advi")
        assert sol.restarts == sol.rounds * R == len(sol.answers) == len(sol.elbo) == sol.elbo_trace.shape[1]
        assert not sol.correct[:-R].any()                           # earlier rounds found nothing verified
        assert sol.rounds == 3 or sol.correct[-R:].any()            # it stopped because the last one did
        assert set(sol.ancestors[-R:]) <= set(range((sol.rounds - 1) * R, sol.rounds * R))
        stopped_early += sol.rounds < 3
        text = solution_text(sol)
        assert ("ran all restarts again" in text) == (sol.rounds > 1)
        assert f"solved   {sol.rounds * R} restarts" in text and solution_json(sol)["rounds"] == sol.rounds
    assert stopped_early


def test_search_is_a_setting_a_flag_and_reaches_the_start(capsys):
    """`solve with search 0` / `--search` / `riddle.solve(search=…)`: validated like every setting,
    carried into the solver's config and its JSON."""
    from riddle.api import setting_problem
    from riddle.cli import main
    from riddle.infer.solve import DEFAULTS, with_settings
    riddle = load_text("digits a, b\na + b = 3\nsolve with search 0, 5 restarts\n")
    assert riddle.ok and riddle.settings["search"] == 0
    assert with_settings(DEFAULTS, riddle.settings).search == 0 and DEFAULTS.search == 1
    bad = load_text("digits a\na is 3\nsolve with search 1000\n")
    assert not bad.ok
    assert "`search` must lie between 0 and 100" in setting_problem({"search": 101})
    assert main(["solve", "--search", "-1", "puzzles/134.rdl"]) == 2
    assert "`--search` must lie between 0 and 100" in capsys.readouterr().err


def test_variety_counts_only_the_restarts_of_the_answers_row():
    """solve.diversity: the restarts with the answer's labels that also keep every observation's
    pixels (the answer's own row), not every restart with those labels."""
    from riddle.infer.solve import diversity
    registry, (gen, cls, *_) = fake_registry()
    graph = build(load_text("digits a\na is 3\n", registry=registry))
    objective = Objective(graph, Networks.load(graph))
    rng = np.random.default_rng(0)
    images = rng.random((4, 1, 28, 28)).astype(np.float32)
    images[2:] = images[0]                                       # restarts 2, 3: copies of restart 0
    labels = np.full((4, 1), 3)
    judges = {"digit": cls}
    every = diversity(objective, judges, graph, images, labels, (3,))
    kept = np.array([[True], [True], [False], [False]])
    own = diversity(objective, judges, graph, images, labels, (3,), kept)
    assert every["restarts"] == 4 and own["restarts"] == 2
    from riddle.infer.stats import pairwise_rms
    assert own["per_unknown"]["a"] == pytest.approx(pairwise_rms(images[:2, 0]))
    assert own["per_unknown"]["a"] != pytest.approx(every["per_unknown"]["a"])


def test_auto_is_decided_once_and_samples_at_amortiseds_alpha_whichever_face_calls():
    """issue 37: riddle.solve resolved `auto` by name and built amortised's settings (α 80), while
    infer.solve(method="auto") chose amortised later and sampled at the caller's cfg.anneal[-1] (α 10).
    Both now ask infer.auto.resolve first, and the solver adopts the chosen method's own defaults."""
    from riddle.infer import amortised, collapsed
    from riddle.infer.auto import EXACT, resolve
    from riddle.infer.solve import solve
    text = "digits a, b\na + b = 3\na < b\n"
    registry, _ = fake_registry()
    riddle = load_text(text, registry=registry)
    graph = build(riddle)
    assert resolve("auto", graph) == ("amortised", {"choice": "amortised", "reason": EXACT})
    assert resolve("advi", graph) == ("advi", None)
    assert amortised.METHOD.adopt(base.RunConfig()).anneal == (collapsed.DEFAULT_ALPHA,)
    given = base.RunConfig(anneal=(5.0,))
    assert amortised.METHOD.adopt(given) is given                         # a caller's own α stays
    direct = solve(riddle, base.RunConfig(restarts=4, seed=0), device="cpu", networks=Networks.load(graph),
                   method="auto")
    assert direct.method == "amortised" and direct.auto["choice"] == "amortised"
    assert direct.config.anneal == (collapsed.DEFAULT_ALPHA,)
    assert amortised.METHOD.config({}, {}).anneal == direct.config.anneal       # what riddle.solve builds


def test_start_strategies_are_a_registry_like_methods():
    """`start NAME` is an init strategy: prior_start in base, any other the START of riddle/infer/NAME.py,
    so base imports no sampler (it imported collapsed for `start amortised` before)."""
    import ast as pyast
    from pathlib import Path

    from riddle import vocabulary
    from riddle.infer import amortised
    assert base.start_strategy("prior") is base.prior_start
    assert base.start_strategy("amortised") is amortised.START
    assert all(callable(base.start_strategy(s)) for s in vocabulary.STARTS)
    with pytest.raises(ValueError, match="unknown start"):
        base.start_strategy("random")
    tree = pyast.parse(Path(base.__file__).read_text())
    imported = {a.name for n in pyast.walk(tree) if isinstance(n, pyast.ImportFrom) for a in n.names}
    assert "collapsed" not in imported

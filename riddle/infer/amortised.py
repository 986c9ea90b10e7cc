"""`--method amortised`: independent posterior samples from the collapsed sampler (collapsed.py) —
label tuples exactly from the joint logic, each digit by rejection from the prior — as the rows of
the answer table. No optimisation: each row is one exact draw of the tempered posterior at the
method's own α (80 unless `anneal` is given), so the success interval is honest and the drawings vary
as the generator's own digits do.
"""
from __future__ import annotations

import torch

from . import collapsed
from .base import Method, MethodError, Run, RunConfig, prior_start
from .objective import Objective

DRAWINGS = 1_600          # drawings a default solve makes: 100 samples of up to 16 drawn unknowns
FEWEST = 24               # samples, however wide the riddle


def default_samples(graph) -> int:
    """Samples a solve draws where no one said how many: 100, or fewer for a riddle of more than 16 drawn
    unknowns (a Sudoku's 51 blank cells: 31), so that the drawings stay ~DRAWINGS — the judge reads every one
    of them at ~0.8 ms on two cores, and a 100-sample Sudoku spent 4 s there alone."""
    drawn = len(graph.unknowns) - len(graph.reads)
    return max(FEWEST, min(100, DRAWINGS // max(drawn, 1)))


def run(objective: Objective, cfg: RunConfig, device="cpu", progress=None, inspect=None,
        config: collapsed.CollapsedConfig | None = None) -> Run:
    """cfg.restarts independent posterior samples at α = cfg.anneal[-1]. → Run with mu [N, n, d] the
    samples' latents (spread 0; each its own draw), final_elbo their log target density up to a
    constant, and in extra the prior draws and acceptance per kind of unknown. progress(Drawn(drawn, done))."""
    if objective.program.mode != "joint":          # the exact logic is what the labels are drawn from
        objective = Objective(objective.graph, objective.nets, objective.precision, "joint").to(device)
    problem = collapsed.unsupported(objective)
    if problem:
        raise MethodError(problem)
    config = config or collapsed.CollapsedConfig(proposal=cfg.proposal)
    s = collapsed.sample(objective, cfg.restarts, cfg.anneal[-1], cfg.seed, device, config, cfg.max_seconds, progress)
    mu = s.xi.to(device)
    N = len(mu)
    return Run(mu, torch.zeros_like(mu), torch.zeros(0, N), s.log_target, torch.zeros(N, 0), s.seconds, s.images,
               draws=mu[:, None], extra=s.info, labels=s.labels)


def finish(objective: Objective, judge, run: Run) -> tuple[torch.Tensor, dict]:
    return run.mu, dict(run.extra)


def solved(sol) -> str:
    dg = sol.diagnostics
    acc = ", ".join(f"{k} {v:.1%}" for k, v in dg["acceptance"].items())
    given_up = dg.get("given_up", 0)
    short = "" if dg["samples"] >= dg["requested"] else (
        f" (of {dg['requested']} asked: {given_up} wanted labels whose digits the networks accept too rarely to "
        f"draw{'' if dg['samples'] + given_up >= dg['requested'] else ', and the time budget ran out'})"
        if given_up else f" (of {dg['requested']} asked: the time budget ran out)")
    learned = [k for k, v in dg["proposal"].items() if v == "learned"]
    source = ("the learned per-label sampler, weighed by the networks" if len(learned) == len(dg["proposal"]) else
              "the prior" if not learned else f"the learned sampler ({', '.join(learned)}) and the prior")
    ess = (" · weights' effective sample size per draw " +
           ", ".join(f"{k} {v:.1%}" for k, v in dg["ess_per_draw"].items()) if dg.get("ess_per_draw") else "")
    seen = dg.get("seen") or {}
    refined = [k for k, v in seen.items() if v == "refined"]
    weighed = [k for k, v in seen.items() if v == "weighed"]
    looks = ((f" · seen images: {', '.join(weighed)} weighed (exact)" if weighed else "")
             + (f" · seen images: {', '.join(refined)} too sharp to weigh, refined from the weighted draws by "
                f"{dg.get('refine_steps', 0)} Adam steps (not exact samples)" if refined else ""))
    return (f"sampled  {dg['samples']} {'' if refined else 'independent '}posterior samples{short} at α "
            f"{dg['alpha']:g} · labels exactly from the {'' if dg['exact_logic'] else _approximate(sol)}logic, "
            f"digits by rejection from {dg['draws']:,} draws of {source} (acceptance {acc}){ess}{looks} · "
            f"{sol.solve_seconds:.1f} s")


def _approximate(sol) -> str:
    """The logic's shortfall as an adjective: what the labels were drawn from instead of the exact logic."""
    if sol.logic is not None and sol.logic.shortfall.startswith("the most probable"):
        return "most probable boards' (approximate) "
    return "split (approximate) "


# its own α, 80 unless `anneal` is given: where the label classifier and the independent judge agree
# on nearly every accepted drawing, and the drawings stay as varied (docs/BENCHMARKS.md, "Amortised")
METHOD = Method("amortised", run, unit="samples", per_row="per sample", rounds=False,
                preview=False, solved=solved, finish=finish, defaults={"anneal": (collapsed.DEFAULT_ALPHA,)})


def amortised_start(objective: Objective, cfg: RunConfig, candidates: torch.Tensor, device) -> torch.Tensor:
    """`start amortised`: each restart starts from its own independent posterior sample (collapsed.py,
    at the sampler's α), so the run refines drawings that already solve the riddle rather than searching
    for one. Restarts the time budget left without a sample start as `start prior` would."""
    joint = objective if objective.program.mode == "joint" else \
        Objective(objective.graph, objective.nets, objective.precision, "joint").to(device)
    problem = collapsed.unsupported(joint)
    if problem:
        raise MethodError(problem.replace("method amortised", "start amortised"))
    s = collapsed.sample(joint, cfg.restarts, collapsed.DEFAULT_ALPHA, cfg.seed + 17, device,
                         collapsed.CollapsedConfig(proposal=cfg.proposal), budget=cfg.max_seconds)
    mu0 = prior_start(objective, cfg, candidates, device) if len(s.xi) < cfg.restarts else candidates[:, 0]
    mu0 = mu0.clone()
    mu0[:len(s.xi)] = s.xi.to(mu0.device)
    return mu0


START = amortised_start          # `start amortised` (base.start_strategy)

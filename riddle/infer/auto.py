"""`--method auto` (the default): amortised wherever the riddle can be sampled exactly, else
rejection when it is projected to be faster, else advi.

Amortised first: where every statement weighs labels or reads one image (all riddles but those with
`looks like` or a table-less predicate inside a connective), its samples are independent draws of the
posterior, right as often as advi's restarts and as varied as real handwriting, in a few seconds
(docs/BENCHMARKS.md, "Amortised"). The faces ask `prefer` before they load anything, so the progress
bar and the method's own settings are amortised's. Otherwise one batch of `pilot` prior draws gives
rejection's acceptance and time per draw; two timed steps of
the batched objective give advi's time per step. Rejection wins on small riddles whose acceptance is
high (two unknowns: docs/history/BENCHMARKS.md, "Scaling"), advi everywhere else.
"""
from __future__ import annotations

import time

import torch

from ..graph.build import FactorGraph, ObservationFactor
from . import collapsed, rejection
from .base import Method, RunConfig
from .objective import Objective

EXACT = "every statement weighs labels or reads one image, so the posterior is sampled exactly"


def prefer(graph: FactorGraph) -> dict | None:
    """auto's first question, from the graph alone: amortised, with the reason, or None to ask the pilot.
    A seen image (`looks like`) is left to the pilot: amortised refines its unknown rather than
    sampling it exactly (infer/collapsed.refine)."""
    if collapsed.unsupported_graph(graph) or any(isinstance(f, ObservationFactor) for f in graph.factors):
        return None
    return {"choice": "amortised", "reason": EXACT}


def resolve(name: str, graph: FactorGraph) -> tuple[str, dict | None]:
    """The one place `auto` is decided before anything is loaded, whichever face asks (riddle.solve, the
    CLI, the playground, sweep and infer.solve alike): (the method to run, auto's figures for the report).
    A method other than auto is itself; auto is amortised where `prefer` says so, and stays auto (the
    pilot decides, `choose`) otherwise. The caller then builds or adopts the chosen method's settings, so
    its α is amortised's own whichever face called."""
    if name != "auto":
        return name, None
    first = prefer(graph)
    return (first["choice"], first) if first else ("auto", None)


def choose(objective: Objective, cfg: RunConfig, device, pilot: int = 4096) -> tuple[str, dict]:
    """→ (the method to run, the figures for the report): the pilot, for riddles `resolve` left to it.
    (A caller that has not resolved yet gets `prefer`'s answer here too; the solver adopts the method's
    own settings for it.)"""
    first = prefer(objective.graph)
    if first:
        return first["choice"], first
    res = rejection.sample(objective, rejection.RejectionConfig(accepted=pilot, batch=pilot, max_samples=pilot,
                                                                seed=cfg.seed + 3), device)
    n, d = len(objective.names), objective.d
    xi = torch.zeros(cfg.restarts, 2 * cfg.pairs, n, d, device=device, requires_grad=True)
    objective.energy(xi, 1.0)[0].sum().backward()                     # warm-up
    started = time.perf_counter()
    for _ in range(2):
        objective.energy(xi, 1.0)[0].sum().backward()
    if device == "cuda":
        torch.cuda.synchronize()
    advi_seconds = (time.perf_counter() - started) / 2 * cfg.steps
    rejection_seconds = (res.seconds / res.drawn * cfg.restarts / res.acceptance if res.acceptance > 0
                         else float("inf"))
    choice = "rejection" if rejection_seconds < advi_seconds else "advi"
    return choice, {"choice": choice, "pilot_draws": res.drawn, "pilot_acceptance": res.acceptance,
                    "projected_rejection_s": rejection_seconds, "projected_advi_s": advi_seconds}


def _not_run(*args, **kwargs):
    raise RuntimeError("auto chooses another method (base.Method.choose); it has no run of its own")


METHOD = Method("auto", _not_run, choose=choose)

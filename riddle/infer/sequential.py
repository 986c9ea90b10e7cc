"""The papers' way, as a baseline: advi's variational inference one restart after another (a Python
loop on purpose), each restart with its own slice of the same noise the batched solver would use, no
cloning. Batched and sequential runs follow the same trajectories (tested): the difference is time.
"""
from __future__ import annotations

from dataclasses import replace

import torch

from . import advi
from .base import Method, Run, RunConfig, draw_noise
from .objective import Objective


def run(objective: Objective, cfg: RunConfig, device="cpu", progress=None, inspect=None) -> Run:
    """progress(Annealed(t, α, restart=r)) after step t of restart r."""
    n, d = len(objective.names), objective.d
    candidates, noise = draw_noise(cfg, n, d, device, objective)
    one = replace(cfg, restarts=1, clone=0.0)
    runs = []
    for r in range(cfg.restarts):
        step = (lambda e, r=r: progress(replace(e, restart=r))) if progress else None
        runs.append(advi.run(objective, one, device, noise=(candidates[r:r + 1], noise[:, r:r + 1]), progress=step))
    return Run(torch.cat([x.mu for x in runs]), torch.cat([x.sigma for x in runs]),
               torch.cat([x.elbo_trace for x in runs], 1), torch.cat([x.final_elbo for x in runs]),
               torch.cat([x.final_log_probs for x in runs]), sum(x.seconds for x in runs),
               sum(x.images for x in runs))


METHOD = Method("sequential", run, title=lambda c: f"restarts one at a time × {2 * c.pairs} samples", rounds=False,
                preview=False)

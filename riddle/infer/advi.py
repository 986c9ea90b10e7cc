"""Mean-field Gaussian variational inference over the generators' latents, all restarts at once.

Each restart r has its own q_r(ξ) = N(μ_r, diag σ_r²) over ξ [n, d]. One step draws P antithetic
pairs ξ = μ ± σ ⊙ ε for every restart (S = 2P samples), evaluates the energy of all R·S·n images in
one batched call, and ascends the ELBO

    ELBO_r = E_q[−H(ξ; α)] + Σ log σ_r        (+ const)

with Adam (`base.fit`, the loop every variational family shares). The noise for the whole run is
drawn up front as one tensor [steps, R, P, n, d] from the seed.

Cloning (`clone` > 0, off by default): at `clone_per_stage` evenly spaced points of every annealing
stage, the worst `clone` share of the restarts, ranked by their mean ELBO over the last steps, are
overwritten by copies of the best (μ, σ and Adam's moments), which then go on with their own noise.
The price: restarts are no longer independent; `ancestors` records which initial restart each
descends from (docs/BENCHMARKS.md, "Cloning").
"""
from __future__ import annotations

import torch

from .base import Family, Method, Run, RunConfig, fit
from .objective import Objective


class MeanField(Family):
    """q_r = N(μ_r, diag σ_r²), one per restart: μ, log σ [R, n, d]."""

    def __init__(self, mu0: torch.Tensor, init_sigma: float):
        self.mu = mu0.clone().requires_grad_(True)                                        # [R, n, d]
        self.log_sigma = torch.full_like(mu0, float(torch.log(torch.tensor(init_sigma)))).requires_grad_(True)

    def param_groups(self, lr):
        return [{"params": [self.mu, self.log_sigma]}]

    def sample(self, eps):                                                                # eps [R, P, n, d]
        sigma = self.log_sigma.exp()
        return torch.cat([self.mu[:, None] + sigma[:, None] * eps, self.mu[:, None] - sigma[:, None] * eps], 1), 0.0

    def entropy(self):
        return self.log_sigma.sum(dim=(1, 2))

    def centre(self):
        return self.mu

    def spread(self):
        return self.log_sigma.exp()


def run(objective: Objective, cfg: RunConfig, device="cpu", noise=None, progress=None, inspect=None) -> Run:
    """progress(Annealed(t, α)) after every step; inspect(t, α, μ [R, n, d]) before it, to look at the means.
    `noise`: (candidates [R, C, n, d], step noise [T, R, P, n, d]) instead of drawing them from cfg.seed."""
    return fit(objective, cfg, lambda mu0: MeanField(mu0, cfg.init_sigma), device, progress, inspect, noise)


METHOD = Method("advi", run, title=lambda c: f"restarts × {2 * c.pairs} samples")

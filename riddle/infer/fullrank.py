"""Full-rank Gaussian variational inference over the generators' latents, all restarts at once.

Each restart r has q_r(ξ) = N(μ_r, L_r L_rᵀ) over its flattened latents ξ ∈ R^D (D = n·d), L_r lower
triangular with a positive diagonal — the "Gaussian VI with a fully parametrised covariance" the
workshop paper (Knollmüller & Enßlin, Sec. 4.1) sets against mean-field, and the GVI of the
cross-coding paper (Sec. 3), here without its linear-map shortcut. It captures correlations between
the latents of different unknowns (a sum ties them) that the mean-field q of advi.py cannot.

One step draws P antithetic pairs ξ = μ ± L ε and ascends ELBO_r = E_q[−H(ξ; α)] + Σ_i log L_r,ii
(+ const) with Adam, α annealed (`base.fit`). D² parameters per restart: 2,304 for three digits,
20,736 for nine — cheap beside the networks.
"""
from __future__ import annotations

import torch

from .base import Family, Method, Run, RunConfig, fit
from .objective import Objective


class FullRank(Family):
    """q_r = N(μ_r, L_r L_rᵀ): μ, log diag L [R, D], the strictly lower part of L [R, D, D]."""

    def __init__(self, mu0: torch.Tensor, init_sigma: float, off_lr: float):
        R, n, d = mu0.shape
        self.shape, D = (n, d), n * d
        self.mu = mu0.reshape(R, D).clone().requires_grad_(True)                          # [R, D]
        self.log_diag = torch.full((R, D), float(torch.log(torch.tensor(init_sigma))), device=mu0.device,
                                   requires_grad=True)
        self.off = torch.zeros(R, D, D, device=mu0.device, requires_grad=True)            # strictly lower part used
        self.mask = torch.tril(torch.ones(D, D, device=mu0.device), -1)
        self.off_lr = off_lr

    def param_groups(self, lr):
        return [{"params": [self.mu, self.log_diag]}, {"params": [self.off], "lr": lr * self.off_lr}]

    def scale_tril(self) -> torch.Tensor:
        return self.off * self.mask + torch.diag_embed(self.log_diag.exp())  # [R, D, D]

    def _shift(self, eps):  # eps [R, P, n, d] → L ε [R, P, D]
        return torch.einsum("rij,rpj->rpi", self.scale_tril(), eps.reshape(*eps.shape[:2], -1))

    def sample(self, eps):
        shift = self._shift(eps)
        xi = torch.cat([self.mu[:, None] + shift, self.mu[:, None] - shift], 1)
        return xi.reshape(xi.shape[0], xi.shape[1], *self.shape), 0.0

    def entropy(self):
        return self.log_diag.sum(1)

    def centre(self):
        return self.mu.reshape(-1, *self.shape)

    def spread(self):
        return (self.scale_tril() ** 2).sum(-1).sqrt().reshape(-1, *self.shape)

    def draws(self, eps):
        return (self.mu[:, None] + self._shift(eps)).reshape(*eps.shape)

    def leaves(self):
        return [self.mu, self.log_diag, self.off]

    def figures(self):
        return {"scale_tril": self.scale_tril()}


def run(objective: Objective, cfg: RunConfig, device="cpu", progress=None, inspect=None,
        draws: int = 8, off_lr: float = 0.1) -> Run:
    """→ Run with mu [R, n, d], sigma [R, n, d] (the marginal standard deviations), `draws` [R, draws,
    n, d] from the final q, and extra["scale_tril"] [R, D, D]."""
    return fit(objective, cfg, lambda mu0: FullRank(mu0, cfg.init_sigma, off_lr), device, progress, inspect,
               final_draws=draws)


METHOD = Method("fullrank", run, title=lambda c: f"restarts of full-rank Gaussian VI × {2 * c.pairs} samples")

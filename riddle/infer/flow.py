"""Normalizing-flow variational inference: a mean-field Gaussian pushed through K planar flows per
restart, all restarts at once.

q_r is the law of ξ = f_K ∘ … ∘ f_1(z), z ~ N(μ_r, diag σ_r²), with planar layers (Rezende & Mohamed
2015; the cross-coding paper, Sec. 3, uses them for conditional inference in a pretrained VAE)

    f(z) = z + û h(wᵀz + b),   h = tanh,   log |det ∂f/∂z| = log |1 + h'(wᵀz + b) ûᵀw|,

û = u + (m(wᵀu) − wᵀu) w/‖w‖², m(x) = −1 + softplus(x), which keeps every layer invertible. Each
restart owns its w, u [K, D] and b [K] (D = n·d); the ELBO is

    E_z[−H(f(z); α) + Σ_k log |det ∂f_k|] + Σ log σ_r   (+ const),

ascended with Adam along the anneal schedule (`base.fit`), P antithetic base pairs per step. Pyro's `Planar`
holds one set of parameters, not one per restart, so the layers are written here, batched.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .base import Family, Method, Run, RunConfig, fit
from .objective import Objective


@dataclass(frozen=True)
class FlowConfig:
    layers: int = 8                # planar layers per restart
    lr_scale: float = 0.1          # the layers' learning rate, relative to μ's and σ's
    init_scale: float = 0.01       # w, u start as small random vectors: the flow starts near the identity


class PlanarFlows(torch.nn.Module):
    """K planar layers for each of R restarts: z [R, S, D] → (f(z) [R, S, D], Σ log|det| [R, S])."""

    def __init__(self, R: int, D: int, layers: int, init_scale: float, generator: torch.Generator, device):
        super().__init__()
        self.w = torch.nn.Parameter((init_scale * torch.randn(R, layers, D, generator=generator)).to(device))
        self.u = torch.nn.Parameter((init_scale * torch.randn(R, layers, D, generator=generator)).to(device))
        self.b = torch.nn.Parameter(torch.zeros(R, layers, device=device))

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_det = torch.zeros(z.shape[:2], device=z.device)
        for k in range(self.w.shape[1]):
            w, u, b = self.w[:, k], self.u[:, k], self.b[:, k]                 # [R, D], [R, D], [R]
            wu = (w * u).sum(-1, keepdim=True)                                 # [R, 1]
            u_hat = u + (F.softplus(wu) - 1 - wu) * w / (w * w).sum(-1, keepdim=True).clamp_min(1e-12)
            a = torch.einsum("rsd,rd->rs", z, w) + b[:, None]                  # [R, S]
            h = torch.tanh(a)
            z = z + h[..., None] * u_hat[:, None]
            psi_u = (1 - h ** 2) * (w * u_hat).sum(-1)[:, None]                # h'(a) ûᵀw, [R, S]
            log_det = log_det + torch.log((1 + psi_u).abs().clamp_min(1e-12))
        return z, log_det


class PlanarFamily(Family):
    """A mean-field base N(μ_r, diag σ_r²) over ξ ∈ R^D pushed through restart r's planar layers."""

    def __init__(self, mu0: torch.Tensor, init_sigma: float, flow: FlowConfig, seed: int):
        R, n, d = mu0.shape
        self.shape, D = (n, d), n * d
        g = torch.Generator().manual_seed(seed + 11)
        self.mu = mu0.reshape(R, D).clone().requires_grad_(True)
        self.log_sigma = torch.full((R, D), float(torch.log(torch.tensor(init_sigma))), device=mu0.device,
                                    requires_grad=True)
        self.flows = PlanarFlows(R, D, flow.layers, flow.init_scale, g, mu0.device)
        self.lr_scale = flow.lr_scale

    def param_groups(self, lr):
        return [
            {"params": [self.mu, self.log_sigma]},
            {"params": list(self.flows.parameters()), "lr": lr * self.lr_scale},
        ]

    def sample(self, eps):                                                     # eps [R, P, n, d]
        eps = eps.reshape(*eps.shape[:2], -1)
        sigma = self.log_sigma.exp()[:, None]
        z = torch.cat([self.mu[:, None] + sigma * eps, self.mu[:, None] - sigma * eps], 1)
        xi, log_det = self.flows(z)
        return xi.reshape(xi.shape[0], xi.shape[1], *self.shape), log_det

    def entropy(self):
        return self.log_sigma.sum(1)

    def centre(self):
        return self.flows(self.mu[:, None])[0].reshape(-1, *self.shape)

    def spread(self):
        return self.log_sigma.exp().reshape(-1, *self.shape)

    def draws(self, eps):
        z = self.mu[:, None] + self.log_sigma.exp()[:, None] * eps.reshape(*eps.shape[:2], -1)
        return self.flows(z)[0].reshape(*eps.shape)


def run(objective: Objective, cfg: RunConfig, device="cpu", progress=None, inspect=None,
        flow: FlowConfig = FlowConfig(), draws: int = 8) -> Run:
    """→ Run: mu [R, n, d] = f(μ) (the base mean pushed through the flow), sigma the base σ, and
    `draws` [R, draws, n, d] from the final q."""
    return fit(objective, cfg, lambda mu0: PlanarFamily(mu0, cfg.init_sigma, flow, cfg.seed), device, progress,
               inspect, final_draws=draws)


METHOD = Method("flow", run, title=lambda c: f"restarts of planar-flow VI × {2 * c.pairs} samples")

"""Normalizing-flow variational inference: a mean-field Gaussian pushed through K planar flows per
restart, all restarts at once.

q_r is the law of ξ = f_K ∘ … ∘ f_1(z), z ~ N(μ_r, diag σ_r²), with planar layers (Rezende & Mohamed
2015; the cross-coding paper, Sec. 3, uses them for conditional inference in a pretrained VAE)

    f(z) = z + û h(wᵀz + b),   h = tanh,   log |det ∂f/∂z| = log |1 + h'(wᵀz + b) ûᵀw|,

û = u + (m(wᵀu) − wᵀu) w/‖w‖², m(x) = −1 + softplus(x), which keeps every layer invertible. Each
restart owns its w, u [K, D] and b [K] (D = n·d); the ELBO is

    E_z[−H(f(z); α) + Σ_k log |det ∂f_k|] + Σ log σ_r   (+ const),

ascended with Adam along the anneal schedule, P antithetic base pairs per step. Pyro's `Planar`
holds one set of parameters, not one per restart, so the layers are written here, batched.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .advi import ADVIConfig, ADVIResult, starts
from .objective import Objective
from .schedule import alpha_at


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


def run(objective: Objective, cfg: ADVIConfig, device="cpu", progress=None, inspect=None,
        flow: FlowConfig = FlowConfig(), draws: int = 8) -> ADVIResult:
    """→ ADVIResult: mu [R, n, d] = f(μ) (the base mean pushed through the flow), sigma the base σ, and
    in extra `draws` [R, draws, n, d] from the final q."""
    n, d = len(objective.names), objective.d
    D = n * d
    started = time.perf_counter()
    mu0, step_noise = starts(objective, cfg, device)
    R = mu0.shape[0]
    g = torch.Generator().manual_seed(cfg.seed + 11)
    mu = mu0.reshape(R, D).clone().requires_grad_(True)
    log_sigma = torch.full((R, D), float(torch.log(torch.tensor(cfg.init_sigma))), device=mu.device,
                           requires_grad=True)
    flows = PlanarFlows(R, D, flow.layers, flow.init_scale, g, mu.device)
    opt = torch.optim.Adam([{"params": [mu, log_sigma]}, {"params": list(flows.parameters()), "lr": cfg.lr * flow.lr_scale}],
                           lr=cfg.lr)
    trace = torch.empty(cfg.steps, R)

    def push(eps):                                                             # eps [R, P, D] → ξ, log det
        sigma = log_sigma.exp()[:, None]
        z = torch.cat([mu[:, None] + sigma * eps, mu[:, None] - sigma * eps], 1)
        return flows(z)

    for t in range(cfg.steps):
        alpha = alpha_at(t, cfg.steps, cfg.anneal)
        xi, log_det = push(step_noise[t].reshape(R, cfg.pairs, D))
        h, _ = objective.energy(xi.reshape(R, -1, n, d), alpha)
        elbo = (-h + log_det).mean(1) + log_sigma.sum(1)
        opt.zero_grad()
        (-elbo.sum()).backward()
        opt.step()
        trace[t] = elbo.detach().cpu()
        if inspect or progress:
            with torch.no_grad():
                centre = flows(mu[:, None])[0].reshape(R, n, d)
            if inspect:
                inspect(t, alpha, centre)
            if progress:
                progress(t, alpha)
    with torch.no_grad():
        gen = torch.Generator().manual_seed(cfg.seed + 1)
        xi, log_det = push(torch.randn(R, 4, D, generator=gen).to(mu.device))
        h, lp = objective.energy(xi.reshape(R, 8, n, d), cfg.anneal[-1])
        final_elbo = ((-h + log_det).mean(1) + log_sigma.sum(1)).cpu()
        z = mu[:, None] + log_sigma.exp()[:, None] * torch.randn(R, draws, D, generator=gen).to(mu.device)
        samples = flows(z)[0].reshape(R, draws, n, d)
        centre = flows(mu[:, None])[0].reshape(R, n, d)
    return ADVIResult(centre, log_sigma.detach().exp().reshape(R, n, d), trace, final_elbo, lp.mean(1).cpu(),
                      time.perf_counter() - started, R * 2 * cfg.pairs * n, torch.arange(R),
                      extra={"draws": samples})

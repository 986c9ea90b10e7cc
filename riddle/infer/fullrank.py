"""Full-rank Gaussian variational inference over the generators' latents, all restarts at once.

Each restart r has q_r(ξ) = N(μ_r, L_r L_rᵀ) over its flattened latents ξ ∈ R^D (D = n·d), L_r lower
triangular with a positive diagonal — the "Gaussian VI with a fully parametrised covariance" the
workshop paper (Knollmüller & Enßlin, Sec. 4.1) sets against mean-field, and the GVI of the
cross-coding paper (Sec. 3), here without its linear-map shortcut. It captures correlations between
the latents of different unknowns (a sum ties them) that the mean-field q of advi.py cannot.

One step draws P antithetic pairs ξ = μ ± L ε and ascends ELBO_r = E_q[−H(ξ; α)] + Σ_i log L_r,ii
(+ const) with Adam, α annealed as in advi.py. D² parameters per restart: 2,304 for three digits,
20,736 for nine — cheap beside the networks.
"""
from __future__ import annotations

import time

import torch

from .advi import ADVIConfig, ADVIResult, starts
from .objective import Objective
from .schedule import alpha_at


def run(objective: Objective, cfg: ADVIConfig, device="cpu", progress=None, inspect=None,
        draws: int = 8, off_lr: float = 0.1) -> ADVIResult:
    """→ ADVIResult with mu [R, n, d], sigma [R, n, d] (the marginal standard deviations) and, in
    extra, `scale_tril` [R, D, D] and `draws` [R, draws, n, d] from the final q."""
    n, d = len(objective.names), objective.d
    D = n * d
    started = time.perf_counter()
    mu0, step_noise = starts(objective, cfg, device)
    R = mu0.shape[0]
    mu = mu0.reshape(R, D).clone().requires_grad_(True)                                   # [R, D]
    log_diag = torch.full((R, D), float(torch.log(torch.tensor(cfg.init_sigma))), device=mu.device,
                          requires_grad=True)
    off = torch.zeros(R, D, D, device=mu.device, requires_grad=True)                      # strictly lower part used
    mask = torch.tril(torch.ones(D, D, device=mu.device), -1)
    opt = torch.optim.Adam([{"params": [mu, log_diag]}, {"params": [off], "lr": cfg.lr * off_lr}], lr=cfg.lr)
    trace = torch.empty(cfg.steps, R)

    def scale_tril():
        return off * mask + torch.diag_embed(log_diag.exp())                             # [R, D, D]

    for t in range(cfg.steps):
        alpha = alpha_at(t, cfg.steps, cfg.anneal)
        eps = step_noise[t].reshape(R, cfg.pairs, D)                                      # [R, P, D]
        shift = torch.einsum("rij,rpj->rpi", scale_tril(), eps)                           # L ε
        xi = torch.cat([mu[:, None] + shift, mu[:, None] - shift], 1).reshape(R, 2 * cfg.pairs, n, d)
        h, _ = objective.energy(xi, alpha)                                                # [R, S]
        elbo = -h.mean(1) + log_diag.sum(1)
        opt.zero_grad()
        (-elbo.sum()).backward()
        opt.step()
        trace[t] = elbo.detach().cpu()
        if inspect:
            inspect(t, alpha, mu.detach().reshape(R, n, d))
        if progress:
            progress(t, alpha)
    with torch.no_grad():
        L = scale_tril()
        g = torch.Generator().manual_seed(cfg.seed + 1)
        eps = torch.randn(R, 4, D, generator=g).to(mu.device)
        shift = torch.einsum("rij,rpj->rpi", L, eps)
        xi = torch.cat([mu[:, None] + shift, mu[:, None] - shift], 1).reshape(R, 8, n, d)
        h, lp = objective.energy(xi, cfg.anneal[-1])
        final_elbo = (-h.mean(1) + log_diag.sum(1)).cpu()
        eps = torch.randn(R, draws, D, generator=g).to(mu.device)
        samples = (mu[:, None] + torch.einsum("rij,rpj->rpi", L, eps)).reshape(R, draws, n, d)
        sigma = (L ** 2).sum(-1).sqrt().reshape(R, n, d)
    return ADVIResult(mu.detach().reshape(R, n, d), sigma, trace, final_elbo, lp.mean(1).cpu(),
                      time.perf_counter() - started, R * 2 * cfg.pairs * n, torch.arange(R),
                      extra={"scale_tril": L.detach(), "draws": samples})

"""Hamiltonian Monte Carlo over the generators' latents: R chains as one batched tensor program.

The target is the tempered posterior p_α(ξ) ∝ exp(−H(ξ; α)), H = −α Σ_k s_k log P_k(ξ) + ½‖ξ‖² (the
energy the variational methods use). As in the full paper (Knollmüller & Enßlin, *Bayesian Reasoning
with Trained Neural Networks*, Sec. 5.1: 8 chains, 10 leapfrog steps, a diagonal mass matrix, R-hat
and ESS), each iteration draws a momentum p ~ N(0, M), takes L leapfrog steps of size ε_r and
accepts by Metropolis on the total energy; every chain r has its own ε_r and M_r.

Warm-up (`steps` iterations, as many as a variational method's optimisation steps): α follows the anneal schedule
(tempering, so
chains first move where the networks' answers are soft); ε_r is adapted by dual averaging towards
an acceptance of `target_accept` (Hoffman & Gelman 2014, Alg. 5); the inverse mass matrix is set
once, from the regularised variance of each chain's draws in the middle of warm-up (Stan's scheme),
and dual averaging restarts. Sampling: α fixed at the schedule's last value, ε_r at its averaged
value, for `sampling` × `steps` more iterations; every `thin`-th draw is kept.

Chains start, like advi's restarts, from the lowest-energy of `init_candidates` prior draws.
R-hat and ESS come from ArviZ (`diagnostics`), never hand-rolled.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from .base import Annealed, Method, Run, RunConfig, starts
from .objective import Objective
from .schedule import alpha_at


@dataclass(frozen=True)
class HMCConfig:
    leapfrog: int = 10             # the paper's 10 leapfrog steps
    sampling: float = 0.5          # sampling iterations after the warm-up, as a share of the warm-up's
    # lower than the usual 0.8: longer steps cross between the networks' basins (docs/BENCHMARKS.md,
    # "Method settings")
    target_accept: float = 0.65
    init_step: float = 0.05
    thin: int = 1
    jitter: float = 0.5            # each iteration's step is ε·U(1 − jitter, 1 + jitter): no resonant trajectories


def _potential(objective: Objective, xi: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """ξ [R, n, d] → (U [R], ∇U [R, n, d])."""
    xi = xi.detach().requires_grad_(True)
    u = objective.energy(xi[:, None], alpha)[0][:, 0]
    grad, = torch.autograd.grad(u.sum(), xi)
    return u.detach(), grad


class DualAveraging:
    """Per-chain step sizes tuned towards a target acceptance (Hoffman & Gelman 2014, Alg. 5)."""

    def __init__(self, step: torch.Tensor, target: float, gamma=0.05, t0=10.0, kappa=0.75):
        self.target, self.gamma, self.t0, self.kappa = target, gamma, t0, kappa
        self.reset(step)

    def reset(self, step: torch.Tensor) -> None:
        self.mu = torch.log(10 * step)
        self.h_bar = torch.zeros_like(step)
        self.log_bar = torch.zeros_like(step)
        self.t = 0

    def update(self, accept: torch.Tensor) -> torch.Tensor:
        self.t += 1
        w = 1 / (self.t + self.t0)
        self.h_bar = (1 - w) * self.h_bar + w * (self.target - accept)
        log_step = self.mu - math.sqrt(self.t) / self.gamma * self.h_bar
        eta = self.t ** -self.kappa
        self.log_bar = eta * log_step + (1 - eta) * self.log_bar
        return log_step.exp()

    @property
    def final(self) -> torch.Tensor:
        return self.log_bar.exp()


def run(objective: Objective, cfg: RunConfig, device="cpu", progress=None, inspect=None,
        hmc: HMCConfig = HMCConfig()) -> Run:
    """cfg.steps warm-up iterations, then cfg.steps × hmc.sampling sampling ones, for cfg.restarts
    chains (progress and inspect count in warm-up steps, so a bar made for cfg.steps fits). → Run with mu = each
    chain's last
    draw, sigma = the spread of its kept draws, `draws` [R, M, n, d], and in extra: `energy` [R, M]
    (the potential at the final α), `accept_rate` [R] and `step_size` [R] in sampling."""
    n, d = len(objective.names), objective.d
    started = time.perf_counter()
    xi, _ = starts(objective, cfg, device, step_noise=False)        # its momenta are its own noise
    R = xi.shape[0]
    dev = xi.device
    g = torch.Generator().manual_seed(cfg.seed + 5)
    warm = cfg.steps
    total = warm + max(1, round(cfg.steps * hmc.sampling))
    window = (warm // 4, 3 * warm // 4)                  # draws whose variance sets the mass matrix
    step = torch.full((R,), hmc.init_step, device=dev)
    inv_mass = torch.ones(R, n, d, device=dev)
    adapt = DualAveraging(step, hmc.target_accept)
    collected: list[torch.Tensor] = []
    kept, energies, accepts = [], [], []
    trace = torch.empty(total, R)
    final_alpha = cfg.anneal[-1]
    u, grad, last_alpha = None, None, None
    for t in range(total):
        alpha = alpha_at(t, warm, cfg.anneal) if t < warm else final_alpha
        if alpha != last_alpha:                          # a new temperature: the energy changed
            u, grad = _potential(objective, xi, alpha)
            last_alpha = alpha
        p = torch.randn(R, n, d, generator=g).to(dev) / inv_mass.sqrt()
        h0 = u + 0.5 * (p * p * inv_mass).sum((1, 2))
        x_new, p_new, grad_new = xi, p, grad
        eps = (step * (1 + hmc.jitter * (2 * torch.rand(R, generator=g) - 1)).to(dev))[:, None, None]
        for _ in range(hmc.leapfrog):
            p_new = p_new - 0.5 * eps * grad_new
            x_new = x_new + eps * inv_mass * p_new
            u_new, grad_new = _potential(objective, x_new, alpha)
            p_new = p_new - 0.5 * eps * grad_new
        h1 = u_new + 0.5 * (p_new * p_new * inv_mass).sum((1, 2))
        log_accept = torch.nan_to_num(h0 - h1, nan=-math.inf).clamp(max=0)
        accept = log_accept.exp()
        take = torch.rand(R, generator=g).to(dev) < accept
        xi = torch.where(take[:, None, None], x_new, xi)
        u = torch.where(take, u_new, u)
        grad = torch.where(take[:, None, None], grad_new, grad)
        trace[t] = -u.cpu()
        if t < warm:
            step = adapt.update(accept)
            if window[0] <= t < window[1]:
                collected.append(xi)
            if t == window[1] - 1 and len(collected) > 2:
                draws = torch.stack(collected)                        # [T, R, n, d]
                m = len(collected)
                var = draws.var(0)
                inv_mass = (m / (m + 5)) * var + 1e-3 * 5 / (m + 5)    # Stan's regularised estimate
                adapt.reset(step)
            if t == warm - 1:
                step = adapt.final
        else:
            accepts.append(accept)
            if (t - warm) % hmc.thin == 0:
                kept.append(xi)
                energies.append(u)
        shown = (t + 1) * cfg.steps // total - 1                          # in warm-up steps
        if shown != (t * cfg.steps // total - 1 if t else -1):
            if inspect:
                inspect(shown, alpha, xi)
            if progress:
                progress(Annealed(shown, alpha))
    if not kept:                                                      # a budget with no sampling phase
        kept, energies, accepts = [xi], [u], [torch.ones(R, device=dev)]
    draws = torch.stack(kept, 1)                                       # [R, M, n, d]
    energy = torch.stack(energies, 1)                                  # [R, M]
    sigma = draws.std(1) if draws.shape[1] > 1 else torch.zeros_like(xi)
    return Run(xi, sigma, trace, -energy[:, -1].cpu(), torch.zeros(R, 0), time.perf_counter() - started,
               R * n * hmc.leapfrog * total, torch.arange(R), draws,
               extra={"energy": energy.cpu(), "accept_rate": torch.stack(accepts, 1).mean(1).cpu(),
                      "step_size": step.cpu()})


def diagnostics(energy: np.ndarray, label_probs: np.ndarray, accept_rate: np.ndarray,
                step_size: np.ndarray) -> dict:
    """ArviZ's split R-hat (rank-normalised) and bulk / tail ESS over the chains, for the potential
    energy [R, M] and each unknown's label probabilities [R, M, n, L] (a variable per unknown and
    label; constant ones, where R-hat is undefined, are left out). The worst of each."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                                # ArviZ announces its refactor on import
        import arviz as az
    variables = [energy] + [label_probs[:, :, i, k] for i in range(label_probs.shape[2])
                            for k in range(label_probs.shape[3])]
    rhat, bulk, tail = [], [], []
    labels = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                                # ArviZ warns on short chains
        for k, v in enumerate(variables):
            v = np.asarray(v, dtype=np.float64)
            if v.shape[1] < 4 or np.ptp(v) < 1e-9:
                continue
            labels += k > 0
            rhat.append(float(az.rhat(v, method="rank")))
            bulk.append(float(az.ess(v, method="bulk")))
            tail.append(float(az.ess(v, method="tail")))

    def worst(xs, f):
        xs = [x for x in xs if np.isfinite(x)]
        return f(xs) if xs else None
    return {
        "rhat_max": worst(rhat, max),
        "ess_bulk_min": worst(bulk, min),
        "ess_tail_min": worst(tail, min),
        "accept_rate": float(np.mean(accept_rate)),
        "step_size": float(np.median(step_size)),
        "chains": int(energy.shape[0]),
        "draws_per_chain": int(energy.shape[1]),
        "variables": len(rhat),
        "label_variables": labels,
    }


@torch.no_grad()
def chain_answers(objective: Objective, judge, draws: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
    """draws [R, M, n, d] → (each chain's representative latent [R, n, d]: its last draw whose judged
    answer is the chain's most common one; the judge's label probabilities [R, M, n, L])."""
    R, M = draws.shape[:2]
    images = torch.cat([objective.images(draws[i:i + 16]) for i in range(0, R, 16)])   # [R, M, n, H, W]
    flat = images.reshape(R * M, *images.shape[2:])
    labels, _ = judge.read(flat)
    labels = labels.reshape(R, M, -1)
    probs = judge.probs(flat)                                                           # [R·M, n, L]
    codes = torch.from_numpy(np.unique(labels.reshape(R * M, -1), axis=0, return_inverse=True)[1].reshape(R, M))
    same = codes[:, :, None] == codes[:, None, :]                                      # [R, M, M]
    position = torch.arange(M)
    # the most common answer of each chain; of its draws, the last
    score = same.sum(-1) * M + position                                                 # ties: the later draw
    mode = codes.gather(1, score.argmax(1, keepdim=True))                               # [R, 1]
    pick = torch.where(codes == mode, position, -1).max(1).values                        # [R]
    mu = draws[torch.arange(R), pick.to(draws.device)]
    return mu, probs.reshape(R, M, *probs.shape[1:])


def finish(objective: Objective, judge, run: Run) -> tuple[torch.Tensor, dict]:
    """A chain's answer is the judge's reading of its draws, not its last point; the ArviZ figures."""
    mu, draw_probs = chain_answers(objective, judge, run.draws)
    x = run.extra
    return mu, diagnostics(x["energy"].numpy(), draw_probs, x["accept_rate"].numpy(), x["step_size"].numpy())


def report(dg: dict) -> list[str]:
    def fmt(x, spec):
        return "–" if x is None else format(x, spec)
    return [f"chains   {dg['chains']} × {dg['draws_per_chain']} draws · R-hat ≤ {fmt(dg['rhat_max'], '.3f')} · "
            f"ESS bulk ≥ {fmt(dg['ess_bulk_min'], '.0f')}, tail ≥ {fmt(dg['ess_tail_min'], '.0f')} (ArviZ, over "
            f"the energy and {dg['label_variables']} label probabilities) · acceptance {dg['accept_rate']:.0%} · "
            f"step {dg['step_size']:.3g}"
            + (" · R-hat > 1.1: the chains stay in different regions (drawings) and have not mixed; "
               "each chain's answer is its draws' most common one"
               if dg["rhat_max"] is not None and dg["rhat_max"] > 1.1 else "")]


def solved(sol) -> str:
    c = sol.config
    rounds = f" in {sol.rounds} rounds of {c.restarts}" if sol.rounds > 1 else ""
    return (f"solved   {sol.restarts} chains · {c.steps} warm-up iterations + {len(sol.elbo_trace) - c.steps} "
            f"sampling{rounds} · α {c.anneal[0]:g} → {c.anneal[-1]:g} · {sol.solve_seconds:.1f} s · "
            f"{sol.images_per_second:,.0f} images/s")


METHOD = Method("hmc", run, unit="restarts", solved=solved, finish=finish, report=report)

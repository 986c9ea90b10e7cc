"""Metric Gaussian variational inference (MGVI; Knollmüller & Enßlin 2019), the workshop paper's
method (*Bayesian Reasoning with Deep-Learned Knowledge*, Sec. 4.1), batched over restarts.

Each restart r approximates the posterior by a Gaussian N(μ_r, Ξ_r) whose covariance is the inverse
of the metric at its mean,

    Ξ_r = (I + Jᵀ F J)⁻¹,

J = ∂ log P(ξ)/∂ξ at μ_r (the Jacobian of the K likelihood terms through generator and networks) and
F the terms' Fisher metric. A term k is the probability P_k that statement k holds, observed true
with weight c_k = α s_k (the power α of the categorical likelihood, paper Eq. 4, is a count): the
Fisher metric of that Bernoulli, in log P coordinates, is c_k P_k / (1 − P_k). An observation term
(`looks like`, a Gaussian over pixels) is given the weight c_k of its gradient's outer product.

Ξ is never stored: a sample δ ~ N(0, Ξ) solves (I + Jᵀ F J) δ = ε₀ + Jᵀ F^½ ε₁ (ε₀ ~ N(0, I_D),
ε₁ ~ N(0, I_K), so the right side ~ N(0, I + Jᵀ F J)) by conjugate gradients, each product with the
metric one Jacobian-vector product and one vector-Jacobian product (torch.func.jvp / vjp). Samples
come in antithetic pairs μ ± δ (the paper: five pairs). Then μ is updated with the samples held
fixed — Adam steps on the sampled KL, E_δ[H(μ ± δ; α)] — and the next approximation draws new
samples at the new μ; α follows the anneal schedule across the approximations (the full paper:
20 approximations, the last with more samples).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from functools import cache

import torch
from torch.func import jvp, vjp

from ..graph.build import ObservationFactor
from .base import Annealed, Method, Run, RunConfig, starts
from .objective import Objective
from .schedule import alpha_at


@dataclass(frozen=True)
class MGVIConfig:
    iterations: int = 20           # Gaussian approximations, the steps shared among them (the full paper: 20)
    min_pairs: int = 3             # antithetic sample pairs at least (the paper: 5)
                                   # (docs/BENCHMARKS.md, "Method settings")
    cg_steps: int = 20             # conjugate-gradient iterations per sample
    cg_tol: float = 1e-4           # stop early when every residual is this small, relative to the right side
    max_odds: float = 1e6          # P/(1−P) is capped here: a term already certain adds no more than this


def _terms(objective: Objective) -> torch.Tensor:
    """[K] bool: which terms are probabilities (not observation log-densities)."""
    return torch.tensor([not isinstance(t, ObservationFactor) for t in objective.terms])


def metric_weights(objective: Objective, log_p: torch.Tensor, alpha: float, max_odds: float) -> torch.Tensor:
    """log P [R, S, K] → the Fisher weights F [R, S, K] in log P coordinates."""
    c = alpha * objective.strength                                                   # [K]
    p = log_p.exp().clamp(max=1.0)
    odds = (p / (1 - p).clamp_min(1e-12)).clamp(max=max_odds)
    is_prob = _terms(objective).to(log_p.device)
    return c * torch.where(is_prob, odds, torch.ones_like(odds))


@cache
def _load_forward_ad() -> None:
    """torch's forward-mode AD registers its decompositions through `torch.jit.script` on first use, and
    torch 2.13 deprecates its own call (one DeprecationWarning per decomposition, 18 in all). riddle cannot
    change that code, so it loads the module once with that one warning silenced; any other warning shows."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=DeprecationWarning)
        import torch._decomp.decompositions_for_jvp  # noqa: F401


def metric_product(objective: Objective, mu: torch.Tensor, weights: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """(I + Jᵀ F J) v, matrix-free. mu [R, n, d] (the point), v [R, S, n, d] (S vectors per restart),
    weights [R, S, K] → [R, S, n, d]."""
    _load_forward_ad()
    point = mu[:, None].expand_as(v).contiguous()
    _, jv = jvp(objective.log_probs, (point,), (v,))                                 # J v: [R, S, K]
    _, pullback = vjp(objective.log_probs, point)
    jt_f_jv, = pullback(weights * jv)                                                # Jᵀ F J v
    return v + jt_f_jv


def sample(objective: Objective, mu: torch.Tensor, alpha: float, pairs: int, generator: torch.Generator,
           cfg: MGVIConfig = MGVIConfig()) -> tuple[torch.Tensor, dict]:
    """δ [R, pairs, n, d] ~ N(0, (I + Jᵀ F J)⁻¹) at μ [R, n, d], by batched conjugate gradients."""
    R, n, d = mu.shape
    dev = mu.device
    point = mu[:, None].expand(R, pairs, n, d).contiguous()
    log_p, pullback = vjp(objective.log_probs, point)                                # [R, P, K]
    log_p = log_p.detach()
    weights = metric_weights(objective, log_p, alpha, cfg.max_odds)
    eps0 = torch.randn(R, pairs, n, d, generator=generator).to(dev)
    eps1 = torch.randn(log_p.shape, generator=generator).to(dev)
    rhs = eps0 + pullback(weights.sqrt() * eps1)[0]                                  # ~ N(0, I + Jᵀ F J)
    x = torch.zeros_like(rhs)
    r = rhs.clone()
    p = r.clone()

    def dot(a, b):
        return (a * b).sum((-1, -2))                                                 # [R, P]
    rr = dot(r, r)
    target = cfg.cg_tol ** 2 * dot(rhs, rhs)
    steps = 0
    for steps in range(1, cfg.cg_steps + 1):  # noqa: B007 (steps is read after the loop: the CG iterations taken)
        ap = metric_product(objective, mu, weights, p)
        step = rr / dot(p, ap).clamp_min(1e-30)
        x = x + step[..., None, None] * p
        r = r - step[..., None, None] * ap
        rr_new = dot(r, r)
        if bool((rr_new <= target).all()):
            break
        p = r + (rr_new / rr.clamp_min(1e-30))[..., None, None] * p
        rr = rr_new
    residual = (dot(r, r) / dot(rhs, rhs).clamp_min(1e-30)).sqrt()
    return x.detach(), {"cg_steps": steps, "cg_residual": float(residual.max())}


def run(objective: Objective, cfg: RunConfig, device="cpu", progress=None, inspect=None,
        mgvi: MGVIConfig = MGVIConfig(), draws: int = 8) -> Run:
    """cfg.steps Adam steps on μ in `mgvi.iterations` approximations, max(cfg.pairs, mgvi.min_pairs)
    antithetic sample pairs each. → Run with mu [R, n, d], sigma the spread of the last samples, `draws`
    [R, 2·max(pairs, draws/2), n, d] (the last approximation's samples μ ± δ), and the CG figures in extra."""
    n = len(objective.names)
    started = time.perf_counter()
    mu0, _ = starts(objective, cfg, device)
    R = mu0.shape[0]
    mu = mu0.clone().requires_grad_(True)
    opt = torch.optim.Adam([mu], lr=cfg.lr)
    g = torch.Generator().manual_seed(cfg.seed + 13)
    iterations = max(1, min(mgvi.iterations, cfg.steps))
    trace = torch.empty(cfg.steps, R)
    cg = []
    t = 0
    pairs = max(cfg.pairs, mgvi.min_pairs)
    for k in range(iterations):
        alpha = alpha_at(k, iterations, cfg.anneal)
        delta, info = sample(objective, mu.detach(), alpha, pairs, g, mgvi)
        cg.append(info)
        inner = (k + 1) * cfg.steps // iterations - k * cfg.steps // iterations
        for _ in range(inner):
            xi = torch.cat([mu[:, None] + delta, mu[:, None] - delta], 1)            # [R, 2P, n, d]
            h, _ = objective.energy(xi, alpha)
            loss = h.mean(1)
            opt.zero_grad()
            loss.sum().backward()
            opt.step()
            trace[t] = -loss.detach().cpu()             # −E[H]: the ELBO without the Gaussian's entropy
            if inspect:
                inspect(t, alpha, mu.detach())
            if progress:
                progress(Annealed(t, alpha))
            t += 1
    final_alpha = cfg.anneal[-1]
    delta, info = sample(objective, mu.detach(), final_alpha, max(pairs, draws // 2), g, mgvi)
    cg.append(info)
    with torch.no_grad():
        samples = torch.cat([mu[:, None] + delta, mu[:, None] - delta], 1)
        h, lp = objective.energy(samples, final_alpha)
    return Run(mu.detach(), samples.std(1), trace, -h.mean(1).cpu(), lp.mean(1).cpu(),
               time.perf_counter() - started, R * 2 * pairs * n * cfg.steps, torch.arange(R), samples,
               extra={"cg_steps_max": max(c["cg_steps"] for c in cg),
                      "cg_residual_max": max(c["cg_residual"] for c in cg)})


def finish(objective: Objective, judge, run: Run) -> tuple[torch.Tensor, dict]:
    return run.mu, {k: run.extra[k] for k in ("cg_steps_max", "cg_residual_max")}


def report(dg: dict) -> list[str]:
    return [f"mgvi     samples by conjugate gradients: at most {dg['cg_steps_max']} steps, relative residual "
            f"≤ {dg['cg_residual_max']:.1e}"]


METHOD = Method("mgvi", run, finish=finish, report=report,
                title=lambda c: f"restarts of metric Gaussian VI × {2 * max(c.pairs, MGVIConfig().min_pairs)} samples")

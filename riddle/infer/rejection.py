"""The baseline a user would try first: draw digits from the generator's prior and keep those the
networks accept. Batched: each round decodes `batch` latent tuples ξ [batch, n, d] at once and
evaluates every factor with the same compiled objective the variational solver uses.

A tuple is *accepted* when every statement's probability under the networks exceeds one half
(log P_k > log ½ for every k) — the networks' verdict, as a user of the same models would take it.
Whether an accepted tuple really solves the riddle is decided afterwards by the independent judge,
exactly as for the variational solver's restarts.

Acceptance falls roughly tenfold with every further unknown (a digit matches a given label about
one time in ten), so sampling stops at `max_samples` or `max_seconds`; the measured acceptance rate
then gives the expected time per accepted answer (docs/BENCHMARKS.md).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from .base import Drawn, Method, Run, RunConfig
from .objective import Objective


@dataclass(frozen=True)
class RejectionConfig:
    accepted: int = 100                # stop after this many accepted tuples (the "restarts" of the report)
    batch: int = 4096                  # latent tuples per round
    max_samples: int = 2_000_000
    max_seconds: float = 120.0
    seed: int = 0

    @classmethod
    def of(cls, cfg: RunConfig) -> RejectionConfig:
        """A run's settings as rejection reads them: restarts = the samples to accept."""
        return cls(accepted=cfg.restarts, seed=cfg.seed,
                   **({"max_seconds": cfg.max_seconds} if cfg.max_seconds else {}))


@dataclass
class RejectionResult:
    latents: torch.Tensor              # [A, n, d] the accepted tuples (at most cfg.accepted)
    log_probs: torch.Tensor            # [A, K]
    drawn: int                         # tuples drawn in all
    accepted_total: int                # tuples accepted in all (may exceed A in the last round)
    seconds: float
    images_per_step: int = 0

    @property
    def acceptance(self) -> float:
        return self.accepted_total / max(1, self.drawn)


@torch.no_grad()
def sample(objective: Objective, cfg: RejectionConfig, device="cpu", progress=None) -> RejectionResult:
    """Prior draws in batches until cfg.accepted are accepted, or a budget runs out.
    progress(Drawn(drawn, accepted)) after each batch."""
    n, d = len(objective.names), objective.d
    g = torch.Generator().manual_seed(cfg.seed)
    threshold = math.log(0.5)
    kept_xi, kept_lp = [], []
    drawn = accepted = 0
    started = time.perf_counter()
    while accepted < cfg.accepted and drawn < cfg.max_samples and time.perf_counter() - started < cfg.max_seconds:
        xi = torch.randn(cfg.batch, 1, n, d, generator=g).to(device)                    # [B, 1, n, d]
        lp = objective.log_probs(xi)[:, 0]                                             # [B, K]
        ok = (lp > threshold).all(dim=1)
        drawn += cfg.batch
        accepted += int(ok.sum())
        if ok.any():
            kept_xi.append(xi[ok, 0].cpu())
            kept_lp.append(lp[ok].cpu())
        if progress:
            progress(Drawn(drawn, accepted))
    latents = torch.cat(kept_xi)[:cfg.accepted] if kept_xi else torch.empty(0, n, d)
    log_probs = torch.cat(kept_lp)[:cfg.accepted] if kept_lp else torch.empty(0, len(objective.terms))
    return RejectionResult(latents, log_probs, drawn, accepted, time.perf_counter() - started, n)


def run(objective: Objective, cfg: RunConfig, device="cpu", progress=None, inspect=None,
        sampling: RejectionConfig | None = None) -> Run:
    """The method's face: → Run whose rows are the accepted samples (mu [A, n, d]; spread 0), ranked
    by their log joint at α = 1 as the ELBO ranks restarts; the sampling figures in extra."""
    rcfg = sampling or RejectionConfig.of(cfg)
    res = sample(objective, rcfg, device, progress)
    mu = res.latents.to(device)
    log_joint = (res.log_probs * objective.strength.cpu()).sum(-1) - 0.5 * (res.latents ** 2).sum((1, 2))
    return Run(mu, torch.zeros_like(mu), torch.zeros(0, len(mu)), log_joint, res.log_probs, res.seconds,
               res.drawn * res.images_per_step,
               extra={"drawn": res.drawn, "accepted": res.accepted_total, "acceptance": res.acceptance,
                      "batch": rcfg.batch, "max_samples": rcfg.max_samples, "max_seconds": rcfg.max_seconds})


def finish(objective: Objective, judge, run: Run) -> tuple[torch.Tensor, dict]:
    return run.mu, dict(run.extra)


def solved(sol) -> str:
    dg = sol.diagnostics
    return (f"sampled  {dg['drawn']:,} prior draws · {dg['accepted']:,} accepted by the networks "
            f"({dg['acceptance']:.3%}) · {sol.solve_seconds:.1f} s · {sol.images_per_second:,.0f} images/s")


METHOD = Method("rejection", run, unit="samples", per_row="of accepted samples", rounds=False,
                preview=False, solved=solved, finish=finish)

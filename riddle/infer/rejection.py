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

from .objective import Objective


@dataclass(frozen=True)
class RejectionConfig:
    accepted: int = 100                # stop after this many accepted tuples (the "restarts" of the report)
    batch: int = 4096                  # latent tuples per round
    max_samples: int = 2_000_000
    max_seconds: float = 120.0
    seed: int = 0


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
def run(objective: Objective, cfg: RejectionConfig, device="cpu", progress=None) -> RejectionResult:
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
            progress(drawn, accepted)
    latents = torch.cat(kept_xi)[:cfg.accepted] if kept_xi else torch.empty(0, n, d)
    log_probs = torch.cat(kept_lp)[:cfg.accepted] if kept_lp else torch.empty(0, len(objective.terms))
    return RejectionResult(latents, log_probs, drawn, accepted, time.perf_counter() - started, n)

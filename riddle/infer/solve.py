"""A solve, end to end: factor graph → objective → batched ADVI → judged answers → statistics.

The answer of one restart is the *judge's* reading of its decoded mean image G(μ): the judge is an
independent network that never served as a likelihood, so a restart that fooled the predicates
is not counted as a success.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..graph import FactorGraph, SymbolicResult, build, satisfies, solve_symbolic
from ..lang.check import CheckedRiddle
from . import advi
from .objective import Networks, Objective
from .stats import AnswerRow, answer_table, reported_answer, wilson

DEFAULTS = advi.ADVIConfig()
ANSWER_RULE = "vote"


@dataclass
class Solution:
    riddle: CheckedRiddle
    graph: FactorGraph
    symbolic: SymbolicResult
    config: advi.ADVIConfig
    device: str
    latent: int = 0                            # latent dimensions per unknown
    answers: np.ndarray | None = None          # [R, n] judged labels of G(μ)
    confidence: np.ndarray | None = None       # [R, n] the judge's probability of those labels
    images: np.ndarray | None = None           # [R, n, 28, 28] G(μ)
    sample_share: np.ndarray | None = None     # [R] share of q's samples whose judged labels solve the riddle
    elbo: np.ndarray | None = None             # [R] final ELBO
    elbo_trace: np.ndarray | None = None       # [steps, R]
    rows: list[AnswerRow] = field(default_factory=list)
    answer: AnswerRow | None = None
    successes: int = 0
    seconds: float = 0.0
    solve_seconds: float = 0.0
    images_per_second: float = 0.0

    @property
    def unsatisfiable(self) -> bool:
        return self.symbolic.count == 0

    @property
    def success_rate(self) -> float:
        return self.successes / self.config.restarts if self.answers is not None else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.successes, self.config.restarts)


def pick_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda, but torch sees no CUDA device")
    return name


def solve(riddle: CheckedRiddle, cfg: advi.ADVIConfig = DEFAULTS, device: str = "auto", progress=None,
          networks: Networks | None = None, rule: str = ANSWER_RULE, samples_per_restart: int = 8) -> Solution:
    started = time.perf_counter()
    device = pick_device(device)
    torch.manual_seed(cfg.seed)
    graph = build(riddle)
    symbolic = solve_symbolic(graph)
    sol = Solution(riddle, graph, symbolic, cfg, device)
    if symbolic.count == 0:
        sol.seconds = time.perf_counter() - started
        return sol
    nets = networks or Networks.load(graph)
    objective = Objective(graph, nets).to(device)
    sol.latent = objective.d
    judges = {u.domain.name: u.domain.load_judge() for u in graph.unknowns}
    for j in judges.values():
        j.to(device).eval()
    result = advi.run(objective, cfg, device, progress=progress)
    sol.solve_seconds = result.seconds
    sol.images_per_second = result.images_per_step * cfg.steps / max(result.seconds, 1e-9)
    with torch.no_grad():
        images = objective.images(result.mu[:, None])[:, 0]                            # [R, n, H, W]
        labels, conf = _judge(judges, graph, images)
        # the share of each restart's posterior samples that solve the riddle, as judged
        g = torch.Generator().manual_seed(cfg.seed + 2)
        eps = torch.randn(cfg.restarts, samples_per_restart, *result.mu.shape[1:], generator=g).to(device)
        draws = objective.images(result.mu[:, None] + result.sigma[:, None] * eps)     # [R, M, n, H, W]
        draw_labels, _ = _judge(judges, graph, draws.reshape(-1, *draws.shape[2:]))
    ok = _accepts(graph, symbolic, draw_labels.reshape(cfg.restarts, samples_per_restart, -1))
    sol.sample_share = ok.mean(axis=1)
    sol.answers, sol.confidence = labels, conf
    sol.images = images.cpu().numpy()
    sol.elbo, sol.elbo_trace = result.final_elbo.numpy(), result.elbo_trace.numpy()
    correct = _accepts(graph, symbolic, labels[:, None])[:, 0]
    sol.successes = int(correct.sum())

    def judge_answer(answer):
        broken = satisfies(graph, answer)
        return (not broken), [s.text() for s in broken]
    sol.rows = answer_table(labels, sol.elbo, judge_answer)
    sol.answer = reported_answer(sol.rows, rule)
    sol.seconds = time.perf_counter() - started
    return sol


def _judge(judges, graph: FactorGraph, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """images [B, n, H, W] → judged labels [B, n] (label values) and their probabilities."""
    labels, conf = [], []
    for i, u in enumerate(graph.unknowns):
        p = judges[u.domain.name](images[:, i]).softmax(-1)
        c, k = p.max(-1)
        labels.append(np.asarray(u.domain.labels)[k.cpu().numpy()])
        conf.append(c.cpu().numpy())
    return np.stack(labels, 1), np.stack(conf, 1)


def _accepts(graph: FactorGraph, symbolic: SymbolicResult, labels: np.ndarray) -> np.ndarray:
    """labels [A, B, n] → bool [A, B]: is each tuple a solution under the truth tables?"""
    flat = labels.reshape(-1, labels.shape[-1])
    if symbolic.solutions is not None:
        sols = symbolic.solutions
        hit = np.zeros(len(flat), bool)
        for i in range(0, len(sols), 4096):                   # chunked: [rows, solutions, n] stays small
            hit |= (flat[:, None, :] == sols[None, i:i + 4096, :]).all(-1).any(1)
    else:
        uniq, inv = np.unique(flat, axis=0, return_inverse=True)
        ok = np.array([not satisfies(graph, tuple(u)) for u in uniq])
        hit = ok[inv.reshape(-1)]
    return hit.reshape(labels.shape[:-1])

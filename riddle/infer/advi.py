"""Mean-field Gaussian variational inference over the generators' latents, all restarts at once.

Each restart r has its own q_r(ξ) = N(μ_r, diag σ_r²) over ξ [n, d]. One step draws P antithetic
pairs ξ = μ ± σ ⊙ ε for every restart (S = 2P samples), evaluates the energy of all R·S·n images in
one batched call, and ascends the ELBO

    ELBO_r = E_q[−H(ξ; α)] + Σ log σ_r        (+ const)

with Adam. Adam's update is element-wise, so without cloning restart r's trajectory is the one it
would follow alone given the same noise (tested: batched = looped). The noise for the whole run is
drawn up front as one tensor [steps, R, P, n, d] from the seed.

Cloning (`clone` > 0): at `clone_per_stage` evenly spaced points of every annealing stage (none at
the run's end), the restarts are ranked by their mean ELBO over the last steps before the point and
the worst `clone` share are overwritten by copies of the best (μ, σ and Adam's moments), which then go on with their own noise. The failures of this
method are restarts caught early in a wrong basin, whose ELBO is far below the right ones' (see
docs/BENCHMARKS.md), so the budget they would waste goes to promising basins instead. The price:
restarts are no longer independent; `ancestors` records which initial restart each descends from.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .objective import Objective, Readings
from .schedule import alpha_at, stage_starts


@dataclass(frozen=True)
class ADVIConfig:
    restarts: int = 100
    pairs: int = 1
    steps: int = 200
    anneal: tuple[float, ...] = (0.5, 1.0, 3.0, 10.0)
    lr: float = 0.05
    init_sigma: float = 0.1            # measured: 0.5 → 4 %, 0.1 → 25 % per-restart success on 134 (24 restarts, 150 steps)
    init_candidates: int = 64          # prior draws per restart, the best (by energy at the first α) starts
    search: int = 1                    # coordinate sweeps over those draws, unknown by unknown (best_start); 0: the best whole draw
    clone: float = 0.0                 # share of restarts replaced by copies of the best at each cloning point;
                                       # 0 since joint logic: independent restarts do as well (docs/BENCHMARKS.md)
    clone_window: float = 0.25         # the share of a stage's last steps whose mean ELBO ranks restarts
    clone_per_stage: int = 2           # cloning points per stage, evenly spaced (none at the run's end)
    rounds: int = 3                    # at most this many runs of all restarts, until one reaches a verified answer (solve.py)
    precision: str = "auto"            # the networks' arithmetic: auto, float32 or bfloat16 (objective.pick_precision)
    logic: str = "joint"               # joint: one exact weighted model count per component; factored: one term per statement
    seed: int = 0


@dataclass
class ADVIResult:
    mu: torch.Tensor                   # [R, n, d]
    sigma: torch.Tensor                # [R, n, d]
    elbo_trace: torch.Tensor           # [steps, R]
    final_elbo: torch.Tensor           # [R]: at the last α, with more samples
    final_log_probs: torch.Tensor      # [R, K]: mean log P_k over those samples
    seconds: float = 0.0
    images_per_step: int = 0
    ancestors: torch.Tensor | None = None   # [R]: the initial restart each final restart descends from
    extra: dict = field(default_factory=dict)


def draw_noise(cfg: ADVIConfig, n: int, d: int, device, objective: Objective | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """All the run's randomness from one seed: initial candidates [R, C, n, d], step noise [T, R, P, n, d].
    With an objective whose unknowns are observed, their candidates come from `observed_starts`."""
    g = torch.Generator().manual_seed(cfg.seed)
    candidates = torch.randn(cfg.restarts, cfg.init_candidates, n, d, generator=g)
    noise = torch.randn(cfg.steps, cfg.restarts, cfg.pairs, n, d, generator=g)
    candidates = candidates.to(device)
    if objective is not None and getattr(objective, "observed", None):
        candidates = observed_starts(objective, candidates, cfg.seed)
    return candidates, noise.to(device)


OBSERVED_POOL = 4096               # prior draws scored against an unknown's seen pixels (the generator alone)
OBSERVED_TOP = 64                  # each restart starts from one of the best-fitting of them, drawn at random


@torch.no_grad()
def observed_starts(objective: Objective, candidates: torch.Tensor, seed: int) -> torch.Tensor:
    """candidates [R, C, n, d] → the same, with each observed unknown's latent drawn, per restart, from
    the OBSERVED_TOP of OBSERVED_POOL prior draws that best fit its seen pixels (one draw per restart:
    restarts start near different drawings that keep the pixels, and `best_start` still chooses among
    the candidates for the other unknowns).

    Why: a seen image pins its unknown's drawing; gradient descent from a random latent often settles
    in a drawing of another digit that keeps the pixels only roughly (two fully seen digits and their
    sum: 16–98 % of restarts right from random starts; docs/BENCHMARKS.md, "Observations")."""
    R, C, n, d = candidates.shape
    g = torch.Generator().manual_seed(seed + 7919)
    out = candidates.clone()
    for i in sorted(objective.observed):
        pool = torch.randn(OBSERVED_POOL, d, generator=g).to(candidates.device)
        fit = torch.cat([objective.pixel_fit(pool[k:k + 1024], i) for k in range(0, OBSERVED_POOL, 1024)])
        top = fit.topk(min(OBSERVED_TOP, OBSERVED_POOL)).indices                          # [K]
        pick = top[torch.randint(len(top), (R,), generator=g).to(top.device)]             # [R]
        out[:, :, i] = pool[pick][:, None, :]
    return out


def starts(objective: Objective, cfg: ADVIConfig, device) -> tuple[torch.Tensor, torch.Tensor]:
    """What every batched method starts from: each restart's lowest-energy candidate at the first α
    (mean [R, n, d]) and the run's step noise [T, R, P, n, d]."""
    candidates, step_noise = draw_noise(cfg, len(objective.names), objective.d, device, objective)
    mu0 = best_start(objective, candidates, cfg.anneal[0], cfg.search) if cfg.init_candidates > 1 else candidates[:, 0]
    return mu0, step_noise


@torch.no_grad()
def best_start(objective: Objective, candidates: torch.Tensor, alpha: float, sweeps: int = 1,
               chunk: int = 4096) -> torch.Tensor:
    """candidates [R, C, n, d] → each restart's start [R, n, d]: the candidate of lowest energy, then
    `sweeps` coordinate sweeps over the restart's own pool — for each unknown in turn, the latent (of
    its C candidates' latents for that unknown) that lowers the tuple's energy most.

    Why: with many unknowns no single prior draw has every digit near the answer, and a restart that
    starts with one digit drawn as another even digit (the riddle's `is even` network content) stays
    there: a mixed riddle of seven digits, 77 % of restarts right from the best whole candidate, 95 %
    after one sweep (docs/BENCHMARKS.md, "Starts"). Restarts stay independent (each searches its own
    draws). The networks run once per candidate image; the sweep scores new tuples from those
    readings (`Readings.take`), so it costs the logic terms only."""
    R, C, n, d = candidates.shape
    if not hasattr(objective, "read"):                  # an energy without per-image readings: whole draws only
        flat = candidates.reshape(R * C, 1, n, d)
        energies = torch.cat([objective.energy(flat[i:i + chunk], alpha)[0] for i in range(0, R * C, chunk)])
        return candidates[torch.arange(R), energies.reshape(R, C).argmin(dim=1)]
    flat = candidates.reshape(R * C, n, d)
    readings = Readings.cat([objective.read(objective.images(flat[i:i + chunk]))
                             for i in range(0, R * C, chunk)])                            # R·C tuples
    prior = 0.5 * (flat ** 2).sum(-1)                                                     # [R·C, n]
    base = (torch.arange(R, device=flat.device) * C)[:, None]                              # [R, 1]
    cols = torch.arange(n, device=flat.device)

    def energies(index: torch.Tensor) -> torch.Tensor:                  # [R, T, n] candidate per unknown → [R, T]
        rows = (index + base[:, :, None]).reshape(-1, n)                                  # [R·T, n]
        out = []
        for i in range(0, rows.shape[0], chunk):
            part = rows[i:i + chunk]
            lp = objective.terms_of(readings.take(part))                                  # [b, K]
            out.append(-alpha * (lp * objective.strength).sum(-1) + prior[part, cols].sum(-1))
        return torch.cat(out).reshape(index.shape[:2])

    whole = torch.arange(C, device=flat.device)[None, :, None].expand(R, C, n)           # tuple c = candidate c
    best = energies(whole).argmin(1)                                                      # [R]
    pick = best[:, None].repeat(1, n)                                                     # [R, n]
    for _ in range(sweeps):
        for v in range(n):
            trial = pick[:, None, :].repeat(1, C, 1)                                      # [R, C, n]
            trial[:, :, v] = torch.arange(C, device=flat.device)                          # the current one among them
            pick[:, v] = energies(trial).argmin(1)
    return candidates[torch.arange(R, device=flat.device)[:, None], pick, cols]         # [R, n, d]


def run(objective: Objective, cfg: ADVIConfig, device="cpu", noise=None, progress=None, inspect=None) -> ADVIResult:
    """progress(t, α) after every step; inspect(t, α, μ [R, n, d]) before it, to look at the means."""
    import time
    n, d = len(objective.names), objective.d
    candidates, step_noise = noise if noise is not None else draw_noise(cfg, n, d, device, objective)
    started = time.perf_counter()
    mu0 = best_start(objective, candidates, cfg.anneal[0], cfg.search) if cfg.init_candidates > 1 else candidates[:, 0]
    mu = mu0.clone().requires_grad_(True)                                               # [R, n, d]
    log_sigma = torch.full_like(mu0, float(torch.log(torch.tensor(cfg.init_sigma)))).requires_grad_(True)
    opt = torch.optim.Adam([mu, log_sigma], lr=cfg.lr)
    trace = torch.empty(cfg.steps, cfg.restarts)
    ancestors = torch.arange(cfg.restarts)
    points = set(clone_points(cfg)) if cfg.clone > 0 else set()
    last_point = 0
    for t in range(cfg.steps):
        if t in points:
            ancestors = clone_best(trace, last_point, t, cfg, [mu, log_sigma], opt, ancestors)
            last_point = t
        alpha = alpha_at(t, cfg.steps, cfg.anneal)
        eps = step_noise[t]                                                               # [R, P, n, d]
        sigma = log_sigma.exp()
        xi = torch.cat([mu[:, None] + sigma[:, None] * eps, mu[:, None] - sigma[:, None] * eps], dim=1)  # [R, 2P, n, d]
        h, _ = objective.energy(xi, alpha)                                                # [R, S]
        elbo = -h.mean(dim=1) + log_sigma.sum(dim=(1, 2))                                 # [R]
        opt.zero_grad()
        (-elbo.sum()).backward()
        opt.step()
        trace[t] = elbo.detach().cpu()
        if inspect:
            inspect(t, alpha, mu.detach())
        if progress:
            progress(t, alpha)
    final_elbo, final_lp = evaluate(objective, mu.detach(), log_sigma.detach().exp(), cfg.anneal[-1], cfg.seed + 1)
    return ADVIResult(mu.detach(), log_sigma.detach().exp(), trace, final_elbo, final_lp,
                      time.perf_counter() - started, cfg.restarts * 2 * cfg.pairs * n, ancestors)


def clone_points(cfg: ADVIConfig, min_gap: int = 10) -> list[int]:
    """The steps before which restarts are cloned: `clone_per_stage` evenly spaced points per stage,
    the last at the stage's end (none at the very end of the run). Points closer than `min_gap`
    steps to the previous one are dropped: on a tiny budget restarts have not yet found their basin,
    and cloning them repeatedly would only collapse the population onto a few lineages."""
    starts = stage_starts(cfg.steps, cfg.anneal) + [cfg.steps]
    points = []
    for a, b in zip(starts, starts[1:]):
        points += [a + (b - a) * (j + 1) // cfg.clone_per_stage for j in range(cfg.clone_per_stage)]
    kept, last = [], 0
    for p in sorted(set(points)):
        if min_gap <= p - last and p < cfg.steps:
            kept.append(p)
            last = p
    return kept


@torch.no_grad()
def clone_best(trace: torch.Tensor, since: int, t: int, cfg: ADVIConfig, params: list[torch.Tensor],
               opt: torch.optim.Optimizer, ancestors: torch.Tensor) -> torch.Tensor:
    """Overwrite the worst restarts with the best ones, ranked by mean ELBO over the last
    `clone_window` share of the steps since the previous cloning point (`since`) before t.
    params are [R, ...] leaves of opt; their Adam moments move with them. Returns the new ancestors [R]."""
    window = max(1, int((t - since) * cfg.clone_window))
    score = trace[t - window:t].mean(0)                                    # [R]
    k = min(int(cfg.clone * cfg.restarts), cfg.restarts // 2)
    if k == 0:
        return ancestors
    order = score.argsort(descending=True)
    best, worst = order[:k], order[-k:].flip(0)                            # the very worst gets the very best
    source = torch.arange(cfg.restarts)
    source[worst] = best
    dev = params[0].device
    for p in params:
        p.copy_(p[source.to(dev)])
        for moment in opt.state[p].values():
            if moment.dim() and moment.shape[0] == cfg.restarts:
                moment.copy_(moment[source.to(dev)])
    return ancestors[source]


@torch.no_grad()
def evaluate(objective: Objective, mu, sigma, alpha: float, seed: int, pairs: int = 4):
    """ELBO and mean log P_k per restart, with more antithetic pairs than a step uses."""
    g = torch.Generator().manual_seed(seed)
    eps = torch.randn(mu.shape[0], pairs, *mu.shape[1:], generator=g).to(mu.device)
    xi = torch.cat([mu[:, None] + sigma[:, None] * eps, mu[:, None] - sigma[:, None] * eps], dim=1)
    h, lp = objective.energy(xi, alpha)
    return (-h.mean(1) + sigma.log().sum(dim=(1, 2))).cpu(), lp.mean(1).cpu()

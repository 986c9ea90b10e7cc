"""The run contract every inference method shares, whichever method it is.

- `RunConfig`: the settings of one run of R restarts (chains, samples), the vocabulary's run settings.
- `Run`: what a method returns — each restart's representative point, spread, trace and final ELBO,
  its own draws where it has them, and method-specific figures in `extra`.
- `starts`: where every batched method starts, with the run's step noise, by the init strategy the run's
  `start` names (`start_strategy`: `prior_start` here — the best of each restart's prior draws, then a
  coordinate search, `best_start`; an observed unknown's draws fit its pixels, `observed_starts` — and
  amortised.py's posterior samples for `start amortised`).
- `fit`: one annealed Adam loop over a variational family (`Family`): advi, fullrank and flow supply
  only their family, as Pyro's SVI takes a guide.
- `Method`: how a method describes itself to the solver and the report (what a row is, whether it runs
  in rounds, its report lines, its diagnostics), and `method(name)`, the registry: the vocabulary's
  method names, each the module `riddle/infer/NAME.py` with a `METHOD` (docs/ARCHITECTURE.md).
"""
from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch

from .. import vocabulary
from .events import Annealed, Drawn, Progress  # noqa: F401 (the methods' progress, re-exported)
from .objective import Objective, Readings
from .schedule import alpha_at, stage_starts


class MethodError(ValueError):
    """A riddle the chosen method cannot solve as it promises (the message says which method can)."""


@dataclass(frozen=True)
class RunConfig:
    restarts: int = 100
    pairs: int = 1
    steps: int = 200
    anneal: tuple[float, ...] = (0.5, 1.0, 3.0, 10.0)
    lr: float = 0.05
    init_sigma: float = 0.1  # a small starting σ: the start is already a good draw
                             # (docs/history/BENCHMARKS.md, "Starts")
    init_candidates: int = 64  # prior draws per restart, the best (by energy at the first α) starts
    search: int = 1  # coordinate sweeps over those draws, unknown by unknown (best_start); 0: the best whole draw
    clone: float = 0.0                 # share of restarts replaced by copies of the best at each cloning point;
                                       # 0 since joint logic: independent restarts do as well (docs/BENCHMARKS.md)
    clone_window: float = 0.25         # the share of a stage's last steps whose mean ELBO ranks restarts
    clone_per_stage: int = 2  # cloning points per stage, evenly spaced (none at the run's end)
    rounds: int = 3  # at most this many runs of all restarts, until one reaches a verified answer (solve.py)
    precision: str = "auto"  # the networks' arithmetic: auto, float32 or bfloat16 (objective.pick_precision)
    logic: str = "joint"  # joint: one exact weighted model count per component; factored: one term per statement
    seed: int = 0
    max_seconds: float | None = None   # a time budget, for the methods that sample until they have enough (rejection)
    start: str = "prior"               # prior: the best of each restart's prior draws; amortised: a posterior sample
    proposal: str = "prior"            # the collapsed sampler's: prior, or learned (the domain's LabelSampler)


def with_settings(cfg: RunConfig, settings: dict) -> RunConfig:
    """Settings (a riddle's `solve with` line, or flags, as a dict; None: not given) applied over cfg;
    `method` and `device` are not run settings and are left to the caller."""
    given = {k: (tuple(v) if k == "anneal" else v) for k, v in settings.items()
             if k in vocabulary.RUN_SETTINGS + ("max_seconds",) and v is not None}
    return replace(cfg, **given)


@dataclass
class Run:
    mu: torch.Tensor                   # [R, n, d] each restart's representative point (the answer is G(mu) judged)
    sigma: torch.Tensor                # [R, n, d] its spread
    elbo_trace: torch.Tensor           # [steps, R]
    final_elbo: torch.Tensor           # [R]: at the last α, with more samples (a sampler: the log joint)
    final_log_probs: torch.Tensor      # [R, K]: mean log P_k over those samples
    seconds: float = 0.0
    images: int = 0                    # images decoded in all (for images per second)
    ancestors: torch.Tensor | None = None   # [R]: the initial restart each final restart descends from
    draws: torch.Tensor | None = None  # [R, M, n, d]: the method's own samples per restart, where it has them
    extra: dict = field(default_factory=dict)   # method-specific tensors [R, …] and figures
    labels: torch.Tensor | None = None # [R, n] label positions, where the method drew labels (the samplers)

    def __post_init__(self):
        if self.ancestors is None:
            self.ancestors = torch.arange(self.mu.shape[0])


# ── where every method starts ────────────────────────────────────────────────

def draw_noise(cfg: RunConfig, n: int, d: int, device, objective: Objective | None = None, step_noise: bool = True
               ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """All the run's randomness from one seed: initial candidates [R, C, n, d], step noise [T, R, P, n, d]
    (None with `step_noise` False: a method that draws its own, hmc; the candidates are the same either way).
    With an objective whose unknowns are observed, their candidates come from `observed_starts`."""
    g = torch.Generator().manual_seed(cfg.seed)
    candidates = torch.randn(cfg.restarts, cfg.init_candidates, n, d, generator=g)
    noise = torch.randn(cfg.steps, cfg.restarts, cfg.pairs, n, d, generator=g).to(device) if step_noise else None
    candidates = candidates.to(device)
    if objective is not None and getattr(objective, "observed", None):
        candidates = observed_starts(objective, candidates, cfg.seed)
    return candidates, noise


OBSERVED_POOL = 4096               # prior draws scored against an unknown's seen pixels (the generator alone)
OBSERVED_TOP = 64                  # each restart starts from one of the best-fitting of them, drawn at random


@torch.no_grad()
def observed_starts(objective: Objective, candidates: torch.Tensor, seed: int) -> torch.Tensor:
    """candidates [R, C, n, d] → the same, with each observed unknown's latent drawn, per restart, from
    the OBSERVED_TOP of OBSERVED_POOL prior draws that best fit its seen pixels (one draw per restart:
    restarts start near different drawings that keep the pixels, and `best_start` still chooses among
    the candidates for the other unknowns).

    Why: a seen image pins its unknown's drawing; gradient descent from a random latent often settles
    in a drawing of another digit that keeps the pixels only roughly (docs/BENCHMARKS.md, "Observations")."""
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


def starts(objective: Objective, cfg: RunConfig, device, noise=None, step_noise: bool = True
           ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """What every batched method starts from: each restart's best candidate at the first α (mean
    [R, n, d]) and the run's step noise [T, R, P, n, d] (None without `step_noise`). `noise`: (candidates,
    step noise) given, as the sequential baseline gives each restart its slice of the batched run's."""
    candidates, step_noise = noise if noise is not None else draw_noise(cfg, len(objective.names), objective.d,
                                                                         device, objective, step_noise)
    return start_strategy(cfg.start)(objective, cfg, candidates, device), step_noise


def prior_start(objective: Objective, cfg: RunConfig, candidates: torch.Tensor, device) -> torch.Tensor:
    """`start prior` (the default): each restart's best candidate at the first α, after `search` coordinate
    sweeps over its own draws (best_start); an observed unknown's candidates already fit its pixels
    (observed_starts)."""
    return best_start(objective, candidates, cfg.anneal[0], cfg.search) if cfg.init_candidates > 1 else candidates[:, 0]


def start_strategy(name: str) -> Callable:
    """The init strategy `start NAME` names (vocabulary.STARTS): (objective, cfg, candidates [R, C, n, d],
    device) → each restart's start [R, n, d]. `prior` is here; any other is the START of the module
    riddle/infer/NAME.py (amortised.py's: a posterior sample), so base imports no sampler."""
    if name not in vocabulary.STARTS:
        raise ValueError(f"unknown start {name!r}; one of {', '.join(vocabulary.STARTS)}")
    return prior_start if name == "prior" else importlib.import_module(f"{__package__}.{name}").START


@torch.no_grad()
def best_start(objective: Objective, candidates: torch.Tensor, alpha: float, sweeps: int = 1,
               chunk: int = 4096) -> torch.Tensor:
    """candidates [R, C, n, d] → each restart's start [R, n, d]: the candidate of lowest energy, then
    `sweeps` coordinate sweeps over the restart's own pool — for each unknown in turn, the latent (of
    its C candidates' latents for that unknown) that lowers the tuple's energy most.

    Why: with many unknowns no single prior draw has every digit near the answer, and a restart that
    starts with one digit drawn as another stays there (docs/history/BENCHMARKS.md, "Starts"). Restarts stay
    independent (each searches its own draws). The networks run once per candidate image; the sweep
    scores new tuples from those readings (`Readings.take`), so it costs the logic terms only."""
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


# ── one annealed fitting loop for the variational families ───────────────────

class Family:
    """A variational family with one member per restart, for `fit`. A subclass holds its parameters
    (leaves whose first dimension is the restart) and says how it draws antithetic samples."""

    def param_groups(self, lr: float) -> list[dict]:
        """Adam's parameter groups (a group may scale the learning rate)."""
        raise NotImplementedError

    def sample(self, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | float]:
        """eps [R, P, n, d] standard normal → (ξ [R, 2P, n, d] in antithetic pairs, log|det| [R, 2P] or 0)."""
        raise NotImplementedError

    def entropy(self) -> torch.Tensor:
        """[R]: the base distribution's entropy, up to a constant (Σ log σ)."""
        raise NotImplementedError

    def centre(self) -> torch.Tensor:
        """[R, n, d]: the member's representative point (its mean, pushed through any flow)."""
        raise NotImplementedError

    def spread(self) -> torch.Tensor:
        """[R, n, d]: its marginal standard deviations (or the base's)."""
        raise NotImplementedError

    def draws(self, eps: torch.Tensor) -> torch.Tensor | None:
        """eps [R, M, n, d] → M plain samples [R, M, n, d] from the final member; None: the solver
        draws N(centre, spread²) itself (mean-field)."""
        return None

    def leaves(self) -> list[torch.Tensor]:
        """The parameters cloning copies between restarts (first dimension R)."""
        return [p for group in self.param_groups(1.0) for p in group["params"]]

    def figures(self) -> dict:
        """What the final member adds to `Run.extra` (tensors [R, …])."""
        return {}


def fit(objective: Objective, cfg: RunConfig, family_for: Callable[[torch.Tensor], Family], device="cpu",
        progress=None, inspect=None, noise=None, final_draws: int = 8) -> Run:
    """The annealed variational loop: start (`starts`), build the family at the start's means
    (`family_for(mu0 [R, n, d])`), then cfg.steps Adam steps on the ELBO

        ELBO_r = E_q[−H(ξ; α) + log|det|] + entropy_r       (+ const)

    with P antithetic pairs per step from the run's step noise, α along the anneal schedule, cloning
    at its points when cfg.clone > 0; last, the ELBO at the final α with four pairs, and the family's
    own draws. progress(Annealed(t, α)) after every step; inspect(t, α, centre [R, n, d]) before it.

    Adam's update is element-wise, so without cloning restart r follows the trajectory it would
    follow alone given the same noise (tested: batched = looped)."""
    mu0, step_noise = starts(objective, cfg, device, noise)
    started = time.perf_counter()
    family = family_for(mu0)
    opt = torch.optim.Adam(family.param_groups(cfg.lr), lr=cfg.lr)
    trace = torch.empty(cfg.steps, cfg.restarts)
    ancestors = torch.arange(cfg.restarts)
    points = set(clone_points(cfg)) if cfg.clone > 0 else set()
    last_point = 0
    for t in range(cfg.steps):
        if t in points:
            ancestors = clone_best(trace, last_point, t, cfg, family.leaves(), opt, ancestors)
            last_point = t
        alpha = alpha_at(t, cfg.steps, cfg.anneal)
        xi, log_det = family.sample(step_noise[t])                                       # [R, 2P, n, d]
        h, _ = objective.energy(xi, alpha)                                                # [R, S]
        elbo = (-h + log_det).mean(dim=1) + family.entropy()                              # [R]
        opt.zero_grad()
        (-elbo.sum()).backward()
        opt.step()
        trace[t] = elbo.detach().cpu()
        if inspect:
            with torch.no_grad():
                inspect(t, alpha, family.centre().detach())
        if progress:
            progress(Annealed(t, alpha))
    with torch.no_grad():
        g = torch.Generator().manual_seed(cfg.seed + 1)
        n, d = mu0.shape[1:]
        eps = torch.randn(cfg.restarts, 4, n, d, generator=g).to(mu0.device)
        xi, log_det = family.sample(eps)
        h, lp = objective.energy(xi, cfg.anneal[-1])
        final_elbo = ((-h + log_det).mean(1) + family.entropy()).cpu()
        draws = family.draws(torch.randn(cfg.restarts, final_draws, n, d, generator=g).to(mu0.device))
        centre, spread = family.centre().detach(), family.spread().detach()
        figures = {k: v.detach() for k, v in family.figures().items()}
    return Run(centre, spread, trace, final_elbo, lp.mean(1).cpu(), time.perf_counter() - started,
               cfg.restarts * 2 * cfg.pairs * n * cfg.steps, ancestors, draws, figures)


def clone_points(cfg: RunConfig, min_gap: int = 10) -> list[int]:
    """The steps before which restarts are cloned: `clone_per_stage` evenly spaced points per stage,
    the last at the stage's end (none at the very end of the run). Points closer than `min_gap`
    steps to the previous one are dropped: on a tiny budget restarts have not yet found their basin,
    and cloning them repeatedly would only collapse the population onto a few lineages."""
    begins = stage_starts(cfg.steps, cfg.anneal) + [cfg.steps]
    points = []
    for a, b in zip(begins, begins[1:]):
        points += [a + (b - a) * (j + 1) // cfg.clone_per_stage for j in range(cfg.clone_per_stage)]
    kept, last = [], 0
    for p in sorted(set(points)):
        if min_gap <= p - last and p < cfg.steps:
            kept.append(p)
            last = p
    return kept


@torch.no_grad()
def clone_best(trace: torch.Tensor, since: int, t: int, cfg: RunConfig, params: list[torch.Tensor],
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


# ── how a method describes itself, and the registry ──────────────────────────

def _solved_line(title: str) -> Callable:
    def line(sol) -> str:
        c = sol.config
        rounds = f" in {sol.rounds} rounds of {c.restarts}" if sol.rounds > 1 else ""
        return (f"solved   {sol.restarts} {title(c) if callable(title) else title}{rounds} · "
                f"α {c.anneal[0]:g} → {c.anneal[-1]:g} · {c.steps} steps · {sol.solve_seconds:.1f} s · "
                f"{sol.images_per_second:,.0f} images/s")
    return line


@dataclass(frozen=True)
class Method:
    """An inference method as the solver, the report and the faces see it.

    run(objective, cfg, device, progress=None, inspect=None) → Run; `progress` receives typed events
    (infer/events.py: Annealed per step, Drawn per batch of a sampler's draws). The solver judges G(Run.mu) per
    restart; `Run.draws`, where given, are the samples whose judged share is each restart's `share`."""
    name: str
    run: Callable[..., Run]
    title: str | Callable = "restarts"      # the report's "solved" line: what the R rows are (a callable takes cfg)
    unit: str = "restarts"                  # a row of the answer table: restarts, chains or samples
    per_row: str = "per restart"            # how the success rate reads: per restart, of accepted samples
    rounds: bool = True                     # run all restarts again (fresh seed) while no answer is verified
    preview: bool = True                    # inspect(t, α, μ) is called, so the playground can show drawings
    solved: Callable | None = None          # sol → the report's line about the run (default: from `title`)
    finish: Callable | None = None          # (objective, judge, run) → (points [R, n, d], diagnostics dict):
                                            # a method whose answer is not its run's mu (hmc)
    report: Callable[[dict], list[str]] | None = None   # diagnostics → the report's lines about them
    choose: Callable | None = None          # (objective, cfg, device) → (method name, figures): a chooser (auto)
    defaults: dict = field(default_factory=dict)   # run settings of its own, under the riddle's and the caller's

    @property
    def reads(self) -> tuple[str, ...] | None:
        """The run settings it reads besides those every method reads (vocabulary.METHOD_READS, where the
        faces read it without loading a method); None: it chooses a method that reads them (auto)."""
        return vocabulary.METHOD_READS.get(self.name)

    def config(self, *given: dict) -> RunConfig:
        """The run's settings: RunConfig's defaults, then the method's own, then each of `given` in turn
        (the riddle's `solve with` line, then the caller's flags or keywords; None means not given)."""
        cfg = RunConfig()
        for settings in (self.defaults, *given):
            cfg = with_settings(cfg, settings)
        return cfg

    def adopt(self, cfg: RunConfig) -> RunConfig:
        """cfg with this method's own defaults where cfg still holds RunConfig's: how a run configured before
        its method was known (`auto` chooses after the settings were read) gets the settings `config` would
        have given it. A caller's value that happens to equal RunConfig's default is taken as not given."""
        plain = RunConfig()
        own = {k: v for k, v in self.defaults.items() if getattr(cfg, k) == getattr(plain, k)}
        return with_settings(cfg, own) if own else cfg

    def unread(self, *given: dict) -> tuple[str, ...]:
        """The run settings in `given` (the riddle's `solve with` line, the caller's; None: not given) that this
        method does not read: `steps 50` means nothing to a sampler, and a user who gave it should hear so."""
        if self.reads is None:
            return ()
        known = set(self.reads) | set(vocabulary.EVERY_METHOD_READS)
        return tuple(dict.fromkeys(k for settings in given for k, v in settings.items()
                                   if v is not None and k in vocabulary.RUN_SETTINGS and k not in known))

    def solved_line(self, sol) -> str:
        return (self.solved or _solved_line(self.title))(sol)

    def report_lines(self, diagnostics: dict | None) -> list[str]:
        return self.report(diagnostics) if self.report and diagnostics else []


def method(name: str) -> Method:
    """The registered method `name`: the module riddle/infer/NAME.py's METHOD, for each name the
    vocabulary lists (the one registration)."""
    if name not in vocabulary.METHODS:
        raise ValueError(f"unknown method {name!r}; one of {', '.join(vocabulary.METHODS)}")
    found = importlib.import_module(f"{__package__}.{name}").METHOD
    if found.name != name:
        raise RuntimeError(f"riddle/infer/{name}.py registers method {found.name!r}, not {name!r}")
    return found

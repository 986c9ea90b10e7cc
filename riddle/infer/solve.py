"""A solve, end to end: factor graph → objective → batched ADVI → judged answers → statistics.

The answer of one restart is the *judge's* reading of its decoded mean image G(μ): the judge is an
independent network that never served as a likelihood, so a restart that fooled the predicates
is not counted as a success.

Three methods (`--method`): `advi` — all restarts in one batched program, independent unless cloning is asked for (advi.py);
`sequential` — the same variational inference one restart at a time, independent restarts (the
papers' way; a baseline); `rejection` — prior samples the networks accept (rejection.py; a
baseline). For `rejection` a "restart" is one accepted sample.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..graph import FactorGraph, SymbolicResult, build, satisfies, solve_symbolic
from ..graph.joint import LogicProgram
from ..lang.check import MATCH_SIGMAS, CheckedRiddle, ObservationStatement
from ..models.zoo import for_inference
from . import advi, flow, fullrank, hmc, mgvi, rejection
from .objective import Networks, Objective, pick_precision
from .stats import AnswerRow, answer_table, pairwise_rms, reported_answer, wilson

DEFAULTS = advi.ADVIConfig()
ANSWER_RULE = "vote"
METHODS = ("advi", "sequential", "rejection", "auto", "hmc", "mgvi", "fullrank", "flow")
# the methods that run in rounds of all restarts at once, each a module with the same `run`
BATCHED = {"advi": advi.run, "hmc": hmc.run, "mgvi": mgvi.run, "fullrank": fullrank.run, "flow": flow.run}


@dataclass
class Solution:
    riddle: CheckedRiddle
    graph: FactorGraph
    symbolic: SymbolicResult
    config: advi.ADVIConfig
    device: str
    method: str = "advi"
    rounds: int = 1                            # advi runs made (a new one while no restart's answer was verified)
    precision: str = "float32"                 # the networks' arithmetic (the config's `auto` resolved)
    restarts: int = 0                          # restarts run (rejection: samples accepted)
    latent: int = 0                            # latent dimensions per unknown
    answers: np.ndarray | None = None          # [R, n] judged labels of G(μ)
    confidence: np.ndarray | None = None       # [R, n] the judge's probability of those labels
    images: np.ndarray | None = None           # [R, n, 28, 28] G(μ)
    sample_share: np.ndarray | None = None     # [R] share of q's samples whose judged labels solve the riddle
    elbo: np.ndarray | None = None             # [R] final ELBO
    elbo_trace: np.ndarray | None = None       # [steps, R]
    ancestors: np.ndarray | None = None        # [R] the initial restart each restart descends from (cloning)
    rows: list[AnswerRow] = field(default_factory=list)
    answer: AnswerRow | None = None
    successes: int = 0
    correct: np.ndarray | None = None          # [R] bool: the judged answer solves the riddle
    self_judged: list[str] = field(default_factory=list)   # domains whose classifier doubled as judge
    seconds: float = 0.0
    solve_seconds: float = 0.0
    images_per_second: float = 0.0
    rejection: dict | None = None              # rejection only: drawn, accepted, acceptance
    auto: dict | None = None                   # --method auto: the pilot's figures and the choice
    logic: LogicProgram | None = None          # the logic terms the objective computed (graph/joint.py)
    diversity: dict | None = None              # how different the right restarts' drawings are (solve.diversity)
    observations: list[dict] = field(default_factory=list)   # per `looks like`: how the restarts kept the pixels
    kept: np.ndarray | None = None             # [R, m] bool: each restart's image keeps each observation's pixels
    diagnostics: dict | None = None            # hmc: R-hat, ESS (ArviZ), acceptance, step size; mgvi: CG figures

    @property
    def unsatisfiable(self) -> bool:
        return self.symbolic.count == 0

    @property
    def success_rate(self) -> float:
        return self.successes / self.restarts if self.restarts else 0.0

    @property
    def lineages(self) -> int:
        """How many initial restarts the final ones descend from (all of them without cloning)."""
        return len(set(self.ancestors.tolist())) if self.ancestors is not None else self.restarts

    @property
    def successful_lineages(self) -> int:
        if self.correct is None or self.ancestors is None:
            return 0
        return len(set(self.ancestors[self.correct].tolist()))

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.successes, self.restarts)


SOLVER_SETTINGS = ("restarts", "pairs", "steps", "anneal", "lr", "seed", "clone", "rounds", "search", "precision", "logic")


def with_settings(cfg: advi.ADVIConfig, settings: dict) -> advi.ADVIConfig:
    """A riddle's `solve with` settings (or flags, as a dict) applied over cfg; `method` and
    `device` are not solver settings and are left to the caller."""
    given = {k: (tuple(v) if k == "anneal" else v) for k, v in settings.items()
             if k in SOLVER_SETTINGS and v is not None}
    return replace(cfg, **given)


def pick_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda, but torch sees no CUDA device")
    return name


def solve(riddle: CheckedRiddle, cfg: advi.ADVIConfig = DEFAULTS, device: str = "auto", progress=None,
          networks: Networks | None = None, rule: str = ANSWER_RULE, samples_per_restart: int = 8,
          method: str = "advi", rejection_cfg: rejection.RejectionConfig | None = None,
          preview=None, preview_restarts: int = 4) -> Solution:
    """progress is called as the work advances: advi progress(step, α) once per step, sequential
    progress(step, α, restart), rejection progress(drawn, accepted) once per batch. advi only:
    preview(step, α, images) before each progress call, `images()` decoding the current means of the
    first `preview_restarts` restarts ([k, n, H, W] numpy) when the caller wants them."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; one of {', '.join(METHODS)}")
    started = time.perf_counter()
    device = pick_device(device)
    torch.manual_seed(cfg.seed)
    graph = build(riddle)
    symbolic = solve_symbolic(graph)
    sol = Solution(riddle, graph, symbolic, cfg, device, method)
    if symbolic.count == 0:
        sol.seconds = time.perf_counter() - started
        return sol
    nets = networks or Networks.load(graph)
    # every method alike: with the flow kept in float32, bf16 is no slower for one restart at a time
    # and 1.9x faster at 100 (bench/throughput.py: 820 vs 825 images/s, 10,579 vs 5,441)
    sol.precision = pick_precision(cfg.precision, device)
    objective = Objective(graph, nets, sol.precision, cfg.logic).to(device)
    sol.logic = objective.program
    sol.latent = objective.d
    # the judge reads in float32, from an inference copy (batch norm folded, channels-last): a
    # sixth of a solve went to the judge before
    judges = {d: for_inference(j).to(device) for d, j in
              {u.domain.name: u.domain.load_judge() for u in graph.unknowns}.items()}
    sol.self_judged = sorted({u.domain.name for u in graph.unknowns if not u.domain.has_judge})

    if method == "auto":
        method, sol.auto = choose_method(objective, cfg, device)
        sol.method = method
    extra: dict = {}
    if method == "rejection":
        rcfg = rejection_cfg or rejection.RejectionConfig(accepted=cfg.restarts, seed=cfg.seed)
        res = rejection.run(objective, rcfg, device, progress=progress)
        mu = res.latents.to(device)
        sigma = torch.zeros_like(mu)
        # the log joint at α = 1 ranks accepted samples as the ELBO ranks restarts
        elbo = ((res.log_probs * objective.strength.cpu()).sum(-1) - 0.5 * (res.latents ** 2).sum((1, 2))).numpy()
        sol.solve_seconds = res.seconds
        sol.images_per_second = res.drawn * res.images_per_step / max(res.seconds, 1e-9)
        sol.rejection = {"drawn": res.drawn, "accepted": res.accepted_total, "acceptance": res.acceptance,
                         "batch": rcfg.batch, "max_samples": rcfg.max_samples, "max_seconds": rcfg.max_seconds}
        trace, ancestors = np.zeros((0, len(mu))), np.arange(len(mu))
    elif method == "sequential":
        result = _sequential(objective, cfg, device, progress)
        mu, sigma = result.mu, result.sigma
        elbo, trace, ancestors = result.final_elbo.numpy(), result.elbo_trace.numpy(), result.ancestors.numpy()
        sol.solve_seconds = result.seconds
        sol.images_per_second = result.images_per_step * cfg.steps / max(result.seconds, 1e-9)
    else:
        def verified(mu: torch.Tensor) -> bool:        # does any restart's judged answer solve the riddle?
            imgs = objective.images(mu[:, None])[:, 0]
            labels, _ = _judge(judges, graph, imgs)
            return bool((_accepts(graph, symbolic, labels[:, None])[:, 0] & _observed(graph, imgs).all(-1)).any())
        runs = _rounds(objective, cfg, device, progress, verified, _watcher(objective, preview, preview_restarts),
                       BATCHED[method])
        mu, sigma = torch.cat([r.mu for r in runs]), torch.cat([r.sigma for r in runs])
        elbo = torch.cat([r.final_elbo for r in runs]).numpy()
        trace = torch.cat([r.elbo_trace for r in runs], 1).numpy()                  # [steps, rounds·R]
        ancestors = torch.cat([r.ancestors + k * cfg.restarts for k, r in enumerate(runs)]).numpy()
        sol.rounds = len(runs)
        sol.solve_seconds = sum(r.seconds for r in runs)
        sol.images_per_second = runs[0].images_per_step * cfg.steps * len(runs) / max(sol.solve_seconds, 1e-9)
        extra = _joined_extras(runs)
        if method == "hmc":                           # a chain's answer: the judge's reading of its draws
            mu, draw_probs = _chain_answers(objective, judges, graph, extra["draws"])
            sol.diagnostics = hmc.diagnostics(extra["energy"].numpy(), draw_probs, extra["accept_rate"].numpy(),
                                              extra["step_size"].numpy())
        elif method == "mgvi":
            sol.diagnostics = {k: extra[k] for k in ("cg_steps_max", "cg_residual_max")}
    sol.restarts = R = len(mu)
    sol.elbo, sol.elbo_trace, sol.ancestors = elbo, trace, ancestors
    if R == 0:                                                         # rejection accepted nothing
        sol.answers = np.zeros((0, len(graph.unknowns)), dtype=np.int64)
        sol.confidence = np.zeros((0, len(graph.unknowns)))
        sol.images = np.zeros((0, len(graph.unknowns), *objective.image_shape), dtype=np.float32)
        sol.sample_share, sol.correct = np.zeros(0), np.zeros(0, bool)
        sol.seconds = time.perf_counter() - started
        return sol
    with torch.no_grad():
        images = objective.images(mu[:, None])[:, 0]                                  # [R, n, H, W]
        labels, conf = _judge(judges, graph, images)
        # the share of each restart's posterior samples that solve the riddle, as judged
        if "draws" in extra:                         # the method's own samples of q (or the chain's draws)
            latents = extra["draws"][:, -samples_per_restart:].to(device)              # [R, M, n, d]
        else:
            g = torch.Generator().manual_seed(cfg.seed + 2)
            eps = torch.randn(R, samples_per_restart, *mu.shape[1:], generator=g).to(device)
            latents = mu[:, None] + sigma[:, None] * eps
        draws = objective.images(latents)                                               # [R, M, n, H, W]
        draw_labels, _ = _judge(judges, graph, draws.reshape(-1, *draws.shape[2:]))
        draws_kept = _observed(graph, draws).all(-1)                                   # [R, M]
    ok = _accepts(graph, symbolic, draw_labels.reshape(R, latents.shape[1], -1)) & draws_kept
    sol.sample_share = ok.mean(axis=1)
    sol.answers, sol.confidence = labels, conf
    sol.images = images.cpu().numpy()
    kept = _observed(graph, images)                                                     # [R, m]
    correct = _accepts(graph, symbolic, labels[:, None])[:, 0] & kept.all(-1)
    sol.successes = int(correct.sum())
    sol.correct = correct
    sol.observations, sol.kept = _observation_report(graph, sol.images, kept), kept
    seen = observations(graph)

    def judge_answer(answer, checks):
        broken = [s.text() for s in satisfies(graph, answer)]
        broken += [f"looks like({s.unknown}, \"{s.path}\"): pixels differ" for s, ok in zip(seen, checks) if not ok]
        return (not broken), broken
    sol.rows = answer_table(labels, sol.elbo, judge_answer, kept)
    sol.answer = reported_answer(sol.rows, rule)
    if sol.answer is not None and sol.answer.correct:
        sol.diversity = diversity(objective, judges, graph, sol.images, labels, sol.answer.answer, device, cfg.seed,
                                  kept)
    sol.seconds = time.perf_counter() - started
    return sol


PRIOR_DRAWS = 512                  # ~50 drawings per digit: enough for a mean pairwise distance, 0.5 s of the judge


@torch.no_grad()
def diversity(objective: Objective, judges, graph: FactorGraph, images: np.ndarray, labels: np.ndarray,
              answer: tuple, device, seed: int, kept: np.ndarray | None = None) -> dict:
    """How different the drawings of the restarts that reached the reported answer are: per unknown,
    the mean pairwise RMS pixel distance of their images, against the same figure for the prior's
    own drawings of that label (PRIOR_DRAWS draws of G(ξ), ξ ~ N(0, I), read by the judge). A ratio
    near 1: the answers are as varied as the generator's digits; near 0: one picture, copied. With
    observations (kept [R, m]), only the restarts that also keep every seen pixel count: the answer's
    own row of the table."""
    hit = (labels == np.asarray(answer)[None, :]).all(axis=1)                  # [R]
    if kept is not None and kept.size:
        hit &= kept.all(axis=1)
    g = torch.Generator().manual_seed(seed + 7)
    xi = torch.randn(PRIOR_DRAWS, 1, objective.d, generator=g).to(device)
    prior_cache: dict = {}
    per, prior = {}, {}
    for i, u in enumerate(graph.unknowns):
        dom = u.domain.name
        if dom not in prior_cache:
            gen = objective.nets.generators[dom]
            imgs = objective._generate(gen, xi[:, 0]).float()                   # [P, H, W]
            read = judges[dom](imgs).argmax(-1).cpu().numpy()
            prior_cache[dom] = (imgs.cpu().numpy(), np.asarray(u.domain.labels)[read])
        prior_images, prior_labels = prior_cache[dom]
        per[u.name] = pairwise_rms(images[hit, i])
        prior[u.name] = pairwise_rms(prior_images[prior_labels == answer[i]][:256])
    ratios = [per[n] / prior[n] for n in per if per[n] is not None and prior[n]]
    return {"restarts": int(hit.sum()), "per_unknown": per, "prior": prior,
            "ratio": float(np.mean(ratios)) if ratios else None}


def choose_method(objective: Objective, cfg: advi.ADVIConfig, device, pilot: int = 4096) -> tuple[str, dict]:
    """`--method auto`: rejection when it is projected to be faster, else advi. One batch of `pilot`
    prior draws gives rejection's acceptance and time per draw; two timed steps of the batched
    objective give advi's time per step. Rejection wins on small riddles whose acceptance is high
    (two unknowns: docs/BENCHMARKS.md, "Scaling"), advi everywhere else."""
    res = rejection.run(objective, rejection.RejectionConfig(accepted=pilot, batch=pilot, max_samples=pilot,
                                                             seed=cfg.seed + 3), device)
    n, d = len(objective.names), objective.d
    xi = torch.zeros(cfg.restarts, 2 * cfg.pairs, n, d, device=device, requires_grad=True)
    objective.energy(xi, 1.0)[0].sum().backward()                     # warm-up
    started = time.perf_counter()
    for _ in range(2):
        objective.energy(xi, 1.0)[0].sum().backward()
    if device == "cuda":
        torch.cuda.synchronize()
    advi_seconds = (time.perf_counter() - started) / 2 * cfg.steps
    rejection_seconds = (res.seconds / res.drawn * cfg.restarts / res.acceptance if res.acceptance > 0
                         else float("inf"))
    choice = "rejection" if rejection_seconds < advi_seconds else "advi"
    return choice, {"choice": choice, "pilot_draws": res.drawn, "pilot_acceptance": res.acceptance,
                    "projected_rejection_s": rejection_seconds, "projected_advi_s": advi_seconds}


def round_seed(seed: int, k: int) -> int:
    """Round k's seed: the solve's own for the first, then far from the seeds a user steps through."""
    return seed if k == 0 else (seed + 1_000_003 * k) % 2 ** 63


def _rounds(objective: Objective, cfg: advi.ADVIConfig, device, progress, verified, inspect=None,
            run=advi.run) -> list[advi.ADVIResult]:
    """Batched ADVI, run again with a fresh seed while no restart's judged answer is one the oracle
    accepts (`verified(mu [R, n, d]) → bool`), at most `cfg.rounds` runs in all.

    Why: with cloning, a solve's restarts descend from a few lineages, so on a hard riddle one
    population either reaches the solution or, often together, misses it (SEND + MORE = MONEY:
    docs/BENCHMARKS.md). A fresh population is a fresh chance; the oracle only says that no answer
    found so far satisfies the riddle, never what would. Riddles solved in the first run pay nothing.
    progress(step, α) counts steps across rounds (the CLI's bar grows when a round starts)."""
    runs = []
    for k in range(max(1, cfg.rounds)):
        step = progress if progress is None or k == 0 else (lambda t, a, k=k: progress(k * cfg.steps + t, a))
        look = inspect if inspect is None or k == 0 else (lambda t, a, mu, k=k: inspect(k * cfg.steps + t, a, mu))
        runs.append(run(objective, replace(cfg, seed=round_seed(cfg.seed, k)), device, progress=step, inspect=look))
        if k + 1 < cfg.rounds:
            with torch.no_grad():
                if verified(runs[-1].mu):
                    break
    return runs


def _watcher(objective: Objective, preview, k: int):
    """advi's inspect(t, α, μ) → preview(t, α, images), the images decoded only when asked for."""
    if preview is None:
        return None

    def inspect(t, alpha, mu):
        def images():
            with torch.no_grad():
                return objective.images(mu[:k, None])[:, 0].float().cpu().numpy()
        preview(t, alpha, images)
    return inspect


def _sequential(objective: Objective, cfg: advi.ADVIConfig, device, progress) -> advi.ADVIResult:
    """The papers' way, as a baseline: one restart after another (a Python loop on purpose), each
    with its own slice of the same noise the batched solver would use, no cloning."""
    n, d = len(objective.names), objective.d
    candidates, noise = advi.draw_noise(cfg, n, d, device, objective)
    one = replace(cfg, restarts=1, clone=0.0)
    runs = []
    for r in range(cfg.restarts):
        step = (lambda t, alpha, r=r: progress(t, alpha, r)) if progress else None
        runs.append(advi.run(objective, one, device, noise=(candidates[r:r + 1], noise[:, r:r + 1]), progress=step))
    return advi.ADVIResult(torch.cat([x.mu for x in runs]), torch.cat([x.sigma for x in runs]),
                           torch.cat([x.elbo_trace for x in runs], 1), torch.cat([x.final_elbo for x in runs]),
                           torch.cat([x.final_log_probs for x in runs]), sum(x.seconds for x in runs),
                           runs[0].images_per_step * cfg.restarts, torch.arange(cfg.restarts))


def _joined_extras(runs: list[advi.ADVIResult]) -> dict:
    """The rounds' extras as one: per-restart tensors concatenated, figures the worst of the rounds."""
    out = {}
    for key, value in runs[0].extra.items():
        values = [r.extra[key] for r in runs]
        out[key] = torch.cat(values) if isinstance(value, torch.Tensor) else max(values)
    return out


@torch.no_grad()
def _chain_answers(objective: Objective, judges, graph: FactorGraph, draws: torch.Tensor
                   ) -> tuple[torch.Tensor, np.ndarray]:
    """HMC: draws [R, M, n, d] → (each chain's representative latent [R, n, d]: its last draw whose
    judged answer is the chain's most common one; the judge's label probabilities [R, M, n, L])."""
    R, M = draws.shape[:2]
    images = torch.cat([objective.images(draws[i:i + 16]) for i in range(0, R, 16)])   # [R, M, n, H, W]
    flat = images.reshape(R * M, *images.shape[2:])
    labels, _ = _judge(judges, graph, flat)
    labels = labels.reshape(R, M, -1)
    probs = []
    L = max(len(u.domain.labels) for u in graph.unknowns)
    for i, u in enumerate(graph.unknowns):
        p = judges[u.domain.name](flat[:, i]).softmax(-1)
        probs.append(torch.nn.functional.pad(p, (0, L - p.shape[-1])).cpu().numpy())
    codes = torch.from_numpy(np.unique(labels.reshape(R * M, -1), axis=0, return_inverse=True)[1].reshape(R, M))
    same = codes[:, :, None] == codes[:, None, :]                                      # [R, M, M]
    position = torch.arange(M)
    # the most common answer of each chain; of its draws, the last
    score = same.sum(-1) * M + position                                                 # ties: the later draw
    mode = codes.gather(1, score.argmax(1, keepdim=True))                               # [R, 1]
    pick = torch.where(codes == mode, position, -1).max(1).values                        # [R]
    mu = draws[torch.arange(R), pick.to(draws.device)]
    return mu, np.stack(probs, 1).reshape(R, M, len(graph.unknowns), L)


def _judge(judges, graph: FactorGraph, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """images [B, n, H, W] → judged labels [B, n] (label values) and their probabilities."""
    labels, conf = [], []
    for i, u in enumerate(graph.unknowns):
        p = judges[u.domain.name](images[:, i]).softmax(-1)
        c, k = p.max(-1)
        labels.append(np.asarray(u.domain.labels)[k.cpu().numpy()])
        conf.append(c.cpu().numpy())
    return np.stack(labels, 1), np.stack(conf, 1)


def observations(graph: FactorGraph) -> list[ObservationStatement]:
    return [s for s in graph.riddle.statements if isinstance(s, ObservationStatement)]


def _observed(graph: FactorGraph, images) -> np.ndarray:
    """images [..., n, H, W] (torch or numpy) → bool [..., m]: does each image keep the seen pixels of
    each of the riddle's m observations, within their noise (ObservationStatement.matches)?"""
    seen = observations(graph)
    arr = images.detach().float().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if not seen:
        return np.ones(arr.shape[:-3] + (0,), bool)
    index = {n: i for i, n in enumerate(graph.names)}
    return np.stack([s.matches(arr[..., index[s.unknown], :, :]) for s in seen], -1)


def _observation_report(graph: FactorGraph, images: np.ndarray, kept: np.ndarray) -> list[dict]:
    """Per observation: what was seen and how the restarts' images kept it."""
    index = {n: i for i, n in enumerate(graph.names)}
    out = []
    for k, s in enumerate(observations(graph)):
        rms = s.rms(images[:, index[s.unknown]])
        out.append({"line": s.span.line, "unknown": s.unknown, "path": s.path, "noise": s.noise,
                    "seen_pixels": int(s.seen.sum()), "threshold_rms": MATCH_SIGMAS * s.noise,
                    "rms_median": float(np.median(rms)), "mse_median": float(np.median(rms ** 2)),
                    "kept": int(kept[:, k].sum()), "restarts": int(len(rms))})
    return out


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

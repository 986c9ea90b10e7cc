"""A solve, end to end: factor graph → objective → the chosen method's run → judged answers → statistics.

The answer of one restart is the *judge's* reading of its representative drawing G(μ) (judge.py):
the judge is an independent network that never served as a likelihood, so a restart that fooled
the predicates is not counted as a success.

Every method (the vocabulary's list; `base.method(name)` finds its module) runs through the same
path: methods that run in rounds (`Method.rounds`) run again with a fresh seed while no restart's
answer is verified; a method's `finish` may replace the points that are judged (HMC: each chain's
most common answer among its draws) and gives its diagnostics; the report asks the method for its
own lines. For `rejection` a "restart" is one accepted sample.
"""
from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from .. import vocabulary
from ..graph import FactorGraph, SymbolicResult, build, satisfies, solve_symbolic
from ..graph.joint import LogicProgram
from ..lang.checked import CheckedRiddle
from ..models.variety import reference_spreads
from . import advi
from .auto import resolve
from .base import Run, RunConfig, with_settings  # noqa: F401 (solve.with_settings: the face-neutral settings merge)
from .base import method as find_method
from .cells import read_cells
from .judge import Judge, accepts, observation_report, observations, observed
from .objective import Networks, Objective, pick_precision
from .stats import AnswerRow, answer_table, pairwise_rms, reported_answer, wilson

DEFAULTS = RunConfig()
ANSWER_RULE = "vote"
METHODS = tuple(vocabulary.METHODS)


@dataclass
class Solution:
    riddle: CheckedRiddle
    graph: FactorGraph
    symbolic: SymbolicResult
    config: RunConfig
    device: str
    method: str = "advi"
    models: str = vocabulary.DEFAULT_MODELS    # the model family that drew and read the digits (models/families.py)
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
    auto: dict | None = None                   # --method auto: the pilot's figures and the choice
    unread: tuple[str, ...] = ()               # settings given that the method does not read (Method.unread)
    logic: LogicProgram | None = None          # the logic terms the objective computed (graph/joint.py)
    diversity: dict | None = None              # how different the right restarts' drawings are (solve.diversity)
    observations: list[dict] = field(default_factory=list)   # per `looks like`: how the restarts kept the pixels
    kept: np.ndarray | None = None  # [R, m] bool: each restart's image keeps each observation's pixels
    diagnostics: dict | None = (
        None  # the method's own figures (Method.finish): hmc R-hat, ESS; mgvi CG; rejection acceptance
    )

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


def pick_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda, but torch sees no CUDA device")
    return name


def solve(riddle: CheckedRiddle, cfg: RunConfig = DEFAULTS, device: str = "auto", progress=None,
          networks: Networks | None = None, rule: str = ANSWER_RULE, samples_per_restart: int = 8,
          method: str = vocabulary.DEFAULT_METHOD, options: dict | None = None,
          preview=None, preview_restarts: int = 4, graph: FactorGraph | None = None,
          auto: dict | None = None, models: str = vocabulary.DEFAULT_MODELS, symbolic: SymbolicResult | None = None,
          program: LogicProgram | None = None) -> Solution:
    """progress receives the method's typed events as the work advances (infer/events.py): Annealed(step,
    α) per step, with `restart` set where one restart runs at a time, steps numbered across rounds;
    Drawn(drawn, accepted) once per batch of a sampler's draws. Where the method has a preview
    (`Method.preview`): preview(step, α, images) before each progress call, `images()` decoding the
    current means of the first `preview_restarts` restarts ([k, n, H, W] numpy) when the caller wants
    them. `options`: keyword arguments for the method's run (e.g. rejection's `sampling`). `graph`: the
    riddle's factor graph where the caller built it already; `auto`: where the caller resolved `auto`
    itself (auto.resolve), its figures for the report. `models`: the family the riddle was checked
    against, for the report (the networks come from the riddle's domains and predicates). `symbolic` and
    `program`: the oracle's reading and the logic plan of this `graph` where the caller has them (a check's):
    the plan is used where its mode is the run's."""
    find_method(method)                                   # ValueError for a name the vocabulary lacks
    started = time.perf_counter()
    device = pick_device(device)
    torch.manual_seed(cfg.seed)
    graph = graph or build(riddle)
    if graph.unread:              # a sheet's cells, read before the oracle: their readings narrow its logic
        networks = networks or Networks.load(graph)
        graph = read_cells(graph, networks.classifiers)
    if auto is None:                                      # auto's first question, as every face asks it
        method, auto = resolve(method, graph)
    chosen = find_method(method)
    cfg = chosen.adopt(cfg)                               # e.g. amortised's own α where cfg left it
    symbolic = symbolic if symbolic is not None and symbolic.names == graph.names else solve_symbolic(graph)
    sol = Solution(riddle, graph, symbolic, cfg, device, method, models)
    sol.auto = auto
    if symbolic.count == 0:
        sol.seconds = time.perf_counter() - started
        return sol
    nets = networks or Networks.load(graph)
    # every method alike: bf16 where the CPU has it (docs/BENCHMARKS.md, "Throughput")
    sol.precision = pick_precision(cfg.precision, device)
    plan = program if program is not None and program.mode == cfg.logic else cfg.logic
    objective = Objective(graph, nets, sol.precision, plan).to(device)
    sol.logic = objective.program
    sol.latent = objective.d
    judge = Judge(graph, device)
    sol.self_judged = judge.self_judged

    if chosen.choose:
        method, sol.auto = chosen.choose(objective, cfg, device)
        chosen, sol.method = find_method(method), method
        cfg = sol.config = chosen.adopt(cfg)
    options = options or {}
    if chosen.rounds:
        def verified(mu: torch.Tensor) -> bool:        # does any restart's judged answer solve the riddle?
            imgs = objective.images(mu[:, None])[:, 0]
            labels, _ = read_answers(graph, None, *judge.read(imgs))
            return bool((accepts(graph, symbolic, labels[:, None])[:, 0] & observed(graph, imgs).all(-1)).any())
        look = _watcher(objective, preview, preview_restarts) if chosen.preview else None
        runs = _rounds(objective, cfg, device, progress, verified, look,
                       lambda *a, **k: chosen.run(*a, **k, **options))
        result = _joined(runs, cfg.restarts)
        sol.rounds = len(runs)
    else:
        result = chosen.run(objective, cfg, device, progress=progress, **options)
    mu = result.mu
    if chosen.finish:
        mu, sol.diagnostics = chosen.finish(objective, judge, result)
    sol.solve_seconds = result.seconds
    sol.images_per_second = result.images / max(result.seconds, 1e-9)
    elbo, trace, ancestors = result.final_elbo.numpy(), result.elbo_trace.numpy(), result.ancestors.numpy()
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
        labels, conf = read_answers(graph, result, *judge.read(images))
        # the share of each restart's posterior samples that solve the riddle, as judged
        if result.draws is not None:                 # the method's own samples of q (or the chain's draws)
            latents = result.draws[:, -samples_per_restart:].to(device)                # [R, M, n, d]
        else:
            g = torch.Generator().manual_seed(cfg.seed + 2)
            eps = torch.randn(R, samples_per_restart, *mu.shape[1:], generator=g).to(device)
            latents = mu[:, None] + result.sigma[:, None] * eps
        if latents.shape[1] == 1 and torch.equal(latents[:, 0], mu.to(device)):
            draws, draw_labels = images[:, None], labels           # a sampler's one draw is its sample: read once
        else:
            draws = objective.images(latents)                                           # [R, M, n, H, W]
            draw_labels, _ = read_answers(graph, None, *judge.read(draws.reshape(-1, *draws.shape[2:])))
        draws_kept = observed(graph, draws).all(-1)                                    # [R, M]
    ok = accepts(graph, symbolic, draw_labels.reshape(R, latents.shape[1], -1)) & draws_kept
    sol.sample_share = ok.mean(axis=1)
    sol.answers, sol.confidence = labels, conf
    sol.images = images.cpu().numpy()
    kept = observed(graph, images)                                                      # [R, m]
    correct = accepts(graph, symbolic, labels[:, None])[:, 0] & kept.all(-1)
    sol.successes = int(correct.sum())
    sol.correct = correct
    sol.observations, sol.kept = observation_report(graph, sol.images, kept), kept
    seen = observations(graph)

    def judge_answer(answer, checks):
        broken = [s.text() for s in satisfies(graph, answer)]
        broken += [f"looks like({s.unknown}, \"{s.path}\"): {'measurements' if s.through else 'pixels'} differ"
                   for s, ok in zip(seen, checks) if not ok]
        return (not broken), broken
    sol.rows = answer_table(labels, sol.elbo, judge_answer, kept)
    sol.answer = reported_answer(sol.rows, rule, reading_weight(graph) if graph.reads else None)
    if sol.answer is not None and sol.answer.correct:
        sol.diversity = diversity(objective, judge, graph, sol.images, labels, sol.answer.answer, kept)
    sol.seconds = time.perf_counter() - started
    return sol


def reading_weight(graph: FactorGraph):
    """labels [n] → log Π over a sheet's read cells of P(label | picture). Among the valid boards the samples
    reached, the reported one is the most probable by it — exactly the board posterior's order, since
    every board the rules allow is a priori as likely (collapsed.py; where no other network reads a blank
    cell) — rather than the most sampled: a Sudoku draws only ~31 samples, and two boards the readings put
    at 59 : 41 would swap places by vote about one time in six."""
    index = {n: i for i, n in enumerate(graph.names)}
    cells = [(index[f.scope[0]], np.asarray(graph.unknowns[index[f.scope[0]]].domain.labels), f.evidence)
             for f in graph.reads if f.evidence is not None]

    def weight(labels) -> float:
        return float(sum(np.log(max(e[int(np.searchsorted(domain, labels[i]))], 1e-300)) for i, domain, e in cells))
    return weight


def read_answers(graph: FactorGraph, result: Run | None, labels: np.ndarray, conf: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The judge's labels [R, n] and confidences, with each read cell's label the one the method drew
    with the rest of the board (a sampler's row), else its reading's most probable: a user's own
    handwriting is not the method's drawing, so the independent judge's reading of it proves nothing,
    and where it misreads a given, every sample would be judged wrong alike. The confidence there is
    the reading's probability of that label."""
    index = {n: i for i, n in enumerate(graph.names)}
    labels, conf = labels.copy(), conf.copy()
    for f in graph.reads:
        i = index[f.scope[0]]
        domain = np.asarray(graph.unknowns[i].domain.labels)
        drawn = result.labels[:, i].cpu().numpy() if result is not None and result.labels is not None else \
            np.full(len(labels), int(np.argmax(f.evidence)))
        labels[:, i], conf[:, i] = domain[drawn], f.evidence[drawn]
    return labels, conf


# the variety yardsticks measured in this process, by generator (a model without them in its card is
# measured once, not on every solve); weak, so a server does not keep an old family's generator alive
_REFERENCES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def variety_reference(domain, generator, judge) -> dict:
    """The domain's per-label yardsticks for the variety line (models/variety.reference_spreads): from the
    generator's card where training stored them, else measured here once per generator."""
    stored = domain.load_variety() if domain.load_variety else None
    if stored:
        return stored
    if generator not in _REFERENCES:
        examples = domain.load_examples() if domain.load_examples else None
        _REFERENCES[generator] = reference_spreads(generator, judge, domain.labels, examples)
    return _REFERENCES[generator]


@torch.no_grad()
def diversity(objective: Objective, judges, graph: FactorGraph, images: np.ndarray, labels: np.ndarray,
              answer: tuple, kept: np.ndarray | None = None) -> dict:
    """How different the drawings of the restarts that reached the reported answer are: per unknown,
    the mean pairwise RMS pixel distance of their images, against the same figure for the generator's
    own drawings of that label and for real images of that label where the domain has them (the
    bundled digits no network trained on): `variety_reference`. A ratio near 1: the answers are as
    varied as the generator's digits (or as real handwriting); near 0: one picture, copied. With
    observations (kept [R, m]), only the restarts that also keep every seen pixel count: the answer's
    own row of the table."""
    hit = (labels == np.asarray(answer)[None, :]).all(axis=1)                  # [R]
    if kept is not None and kept.size:
        hit &= kept.all(axis=1)
    per, prior, real = {}, {}, {}
    read = {f.scope[0] for f in graph.reads}                     # a read cell is the user's picture, not a drawing
    for i, u in enumerate(graph.unknowns):
        if u.name in read:
            continue
        dom = u.domain.name
        ref = variety_reference(u.domain, objective.nets.generators[dom], judges[dom])
        per[u.name] = pairwise_rms(images[hit, i])
        prior[u.name] = ref["prior"].get(str(answer[i]))
        if ref.get("real") is not None:
            real[u.name] = ref["real"].get(str(answer[i]))
    ratios = [per[n] / prior[n] for n in per if per[n] is not None and prior[n]]
    real_ratios = {n: per[n] / real[n] for n in real if per[n] is not None and real[n]}
    return {"restarts": int(hit.sum()), "per_unknown": per, "prior": prior,
            "ratio": float(np.mean(ratios)) if ratios else None,
            # against real handwriting of the same labels (the domain's held-out examples), per unknown
            "real": real, "real_ratio": real_ratios,
            "real_ratio_min": min(real_ratios.values()) if real_ratios else None}


def round_seed(seed: int, k: int) -> int:
    """Round k's seed: the solve's own for the first, then far from the seeds a user steps through."""
    return seed if k == 0 else (seed + 1_000_003 * k) % 2 ** 63


def _rounds(objective: Objective, cfg: RunConfig, device, progress, verified, inspect=None,
            run=advi.run) -> list[Run]:
    """A batched method's run, again with a fresh seed while no restart's judged answer is one the
    oracle accepts (`verified(mu [R, n, d]) → bool`), at most `cfg.rounds` runs in all.

    Why: a hard riddle can leave a whole population of restarts in wrong answers (with cloning, one
    population often misses together: docs/BENCHMARKS.md, "Rounds"). A fresh population is a fresh
    chance; the oracle only says that no answer found so far satisfies the riddle, never what would.
    Riddles solved in the first run pay nothing.
    progress(Annealed) counts steps across rounds (the CLI's bar grows when a round starts)."""
    runs = []
    for k in range(max(1, cfg.rounds)):
        step = progress if progress is None or k == 0 else (
            lambda e, k=k: progress(replace(e, step=k * cfg.steps + e.step)))
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


def _joined(runs: list[Run], restarts: int) -> Run:
    """The rounds' runs as one: per-restart tensors concatenated (ancestors renumbered per round),
    figures the worst of the rounds."""
    extra = {}
    for key, value in runs[0].extra.items():
        values = [r.extra[key] for r in runs]
        extra[key] = torch.cat(values) if isinstance(value, torch.Tensor) else max(values)
    cat = lambda name: torch.cat([getattr(r, name) for r in runs])            # noqa: E731
    return Run(cat("mu"), cat("sigma"), torch.cat([r.elbo_trace for r in runs], 1), cat("final_elbo"),
               cat("final_log_probs"), sum(r.seconds for r in runs), sum(r.images for r in runs),
               torch.cat([r.ancestors + k * restarts for k, r in enumerate(runs)]),
               None if runs[0].draws is None else cat("draws"), extra,
               None if runs[0].labels is None else cat("labels"))

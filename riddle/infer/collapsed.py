"""Collapsed sampling: exact logic draws the labels, each unknown's own evidence draws its digit
(the sampler behind `--method amortised` and `--start amortised`).

Every statement riddle knows is either label-level (labels, relations, `all different`, connectives,
truth tables) or reads one image (a predicate's network). So the tempered posterior this method samples,

    p(ξ, l) ∝ 1[l ⊨ logic] · Π_v p(ξ_v) · E_v(l_v, ξ_v),
    E_v(k, ξ) = [ p_T(k | G(ξ)) · Π_{networks reading v} P(G(ξ)) ]^α          (α: the schedule's last value)

is a mixture over the satisfying label tuples of products of per-unknown conditionals. Its label
marginal is p(l) ∝ 1[l ⊨ logic] · Π_v Z_v(l_v), with Z_v(k) = E_{p(ξ)}[E_v(k, ξ)] the evidence v's own
factors give label k; given its label, each unknown's latent is independent of the others.

So a solve is three steps, none of them an optimisation:

1. Z_v(k) from a pool of prior draws per *kind* of unknown (unknowns of one domain read by the same
   networks share their draws: a cryptarithm's ten letters are one kind). The kinds of one domain share
   each batch of prior draws too: one generator and one classifier call weigh it for all of them, and
   each draw is one kind's to accept (134's three kinds: 4,096 + a top-up instead of 3 × 4,096 draws).
2. N label tuples drawn exactly from p(l), through the same logic program the objective computes
   (`Objective.logic_term`: enumerate, chain or contract plans, connectives' switches): unknown by
   unknown, each label drawn from its conditional given the ones before, the rest summed out.
3. For each tuple, each unknown's latent by rejection (`Pool`): a draw of the proposal — the prior,
   or the domain's learned per-label sampler, its draws weighed by p(ξ) E / q — is accepted for label
   k when u · M_k < w_k, M_k the largest weight seen. Every draw serves one sample at most.

A riddle that reads a sheet (graph/build.ReadFactor) is a board read, then completed: its read cells'
Z is their reading, P(label | picture), and a blank cell in the logic that nothing else reads gets a
uniform label prior instead of Z_v (every board the rules allow is a priori as likely; Z_v, how readily
the generator draws a label, would tilt boards by their blank cells' digits), its latent still drawn from
p(ξ | label) as above (docs/LANGUAGE.md, "Sheets").

The samples are independent draws of the posterior (so the success interval is honest) and vary as
the generator's own digits do. A predicate inside a connective enters through its truth table: its
reading weighs the labels by σ(±logit) within E_v (the switch is tied to the label); one without a
truth table there is refused (`unsupported`). A seen image (`looks like`) is one more weight in E_v;
where it is too sharp to sample by rejection its unknown is refined (`refine`), and the info says so.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..graph.build import FactorGraph, ObservationFactor, PredicateFactor
from ..graph.joint import LogicGroup
from .events import Drawn
from .objective import Objective

NEG = -1e4                       # log 0 for a label that is ruled out (exp underflows to 0; no NaN in the plans)
DEFAULT_ALPHA = 80.0             # the sampler's own α (docs/history/BENCHMARKS.md, "Amortised: α")


PROPOSALS = ("learned", "prior")
TOP_UP = 256                     # the fewest prior draws a top-up batch makes (each batch costs a network call)
CHUNK = 512                      # prior draws per network call: on a CPU a batch this size stays in cache (4,096
                                 # at once took ~1.5× as long per draw on a 2-core EPYC, timed by hand; bench.startup
                                 # measures the whole solve)


@dataclass(frozen=True)
class CollapsedConfig:
    pool: int = 4096             # prior draws per domain in the first round (the most per kind, label and round after)
    label_pool: int = 256        # learned draws per label and round, at least
    proposal: str = "prior"      # prior: the generator's prior; learned: the domain's LabelSampler where it has one
                                 # (prior: faster on the bundled models, docs/BENCHMARKS.md "Amortised: proposal")
    defensive: float = 0.1       # share of a learned proposal's draws taken from the prior: every weight ≤ E / 0.1,
                                 # and the part of a class the flow misses is still reached
    max_draws: int = 2_000_000   # a kind's own draws (or a learned kind's), over all rounds
    max_seconds: float = 120.0   # when the run gives no budget of its own
    weigh_draws: int = 32_768    # a seen unknown is weighed (rejection) when its samples need at most this many
                                 # draws at the first pool's acceptance; else refined
    refine_steps: int = 100      # Adam steps of a refinement, from draws of the pool chosen by their weights
    refine_lr: float = 0.05


@dataclass
class Kind:
    """Unknowns whose drawings are weighed alike (same domain, same networks reading them)."""
    members: list[int]           # unknown indices
    domain: str
    labels: int                  # L_v
    plain: bool = False          # in the logic, and weighed by the label classifier alone (no predicate, no seen image)


def unsupported(objective: Objective) -> str | None:
    """Why this method cannot sample the riddle exactly, or None."""
    return unsupported_graph(objective.graph)


def unsupported_graph(graph: FactorGraph) -> str | None:
    """The same answer from the factor graph alone (no networks loaded): what `auto` asks first."""
    for s in graph.switches:
        if s.kind == "reading" and s.predicate.truth_table is None:
            return (f"method amortised needs a truth table for `{s.predicate.name}` inside a connective (its "
                    "network's reading is not tied to the label); use --method advi")
    return None


def kinds(objective: Objective) -> list[Kind]:
    """Group the unknowns by what weighs their drawings: the domain, whether the logic reads the
    label, and the per-image factors (predicate networks and connectives' readings)."""
    graph = objective.graph
    in_logic = _in_logic(objective)
    signature: dict[int, tuple] = {}
    for i, u in enumerate(graph.unknowns):
        if i in objective.clamped:                          # a read cell: its picture, nothing to draw
            continue
        factors = sorted((t.predicate.name, t.negated, t.strength) for t in objective.terms
                         if isinstance(t, PredicateFactor) and t.scope[0] == u.name)
        readings = sorted(s.predicate.name for s in graph.switches if s.kind == "reading" and s.unknown == u.name)
        seen = sorted(t.id for t in objective.terms if isinstance(t, ObservationFactor) and t.scope[0] == u.name)
        signature[i] = (u.domain.name, in_logic[i], tuple(factors), tuple(readings), tuple(seen))
    out: dict[tuple, Kind] = {}
    for i, sig in signature.items():
        kind = out.setdefault(sig, Kind([], sig[0], len(graph.unknowns[i].domain.labels),
                                        plain=sig[1] and not any(sig[2:])))
        kind.members.append(i)
    return list(out.values())


def flat_prior(log_z: torch.Tensor) -> torch.Tensor:
    """A uniform label prior over the labels a pool reached: log_z [L] → 0 where finite, −∞ elsewhere."""
    return torch.where(torch.isfinite(log_z), torch.zeros_like(log_z), log_z)


def _in_logic(objective: Objective) -> list[bool]:
    scoped = {name for g in objective.program.groups for name in g.scope}
    return [u.name in scoped for u in objective.graph.unknowns]


def log_evidence(objective: Objective, imgs: torch.Tensor, i: int, alpha: float,
                 outputs: torch.Tensor | None = None) -> torch.Tensor:
    """Images [P, H, W] drawn for unknown i → log E_i(k, ξ) [P, L_i]: α times the log of what i's own
    factors say — the label classifier (if the logic reads i's label), its predicate networks, and
    the readings of predicates inside connectives (σ(logit) for labels in the truth table, σ(−logit)
    for the others), and its observations' Gaussian log-likelihoods (strength × α, as the objective).
    `outputs`: the domain's classifier outputs on these images, where one call serves several kinds."""
    graph = objective.graph
    u = graph.unknowns[i]
    logp, preds, fits = objective.read_unknown(imgs, i, outputs)                          # [P, L]
    out = alpha * logp if _in_logic(objective)[i] else torch.zeros_like(logp)
    for t in objective.terms:
        if isinstance(t, PredicateFactor) and t.scope[0] == u.name:
            logit = preds[t.predicate.name]
            out = out + (alpha * t.strength * F.logsigmoid(-logit if t.negated else logit))[:, None]
    for s in graph.switches:
        if s.kind == "reading" and s.unknown == u.name:
            logit = preds[s.predicate.name][:, None]                                      # [P, 1]
            holds = torch.tensor([v in s.predicate.truth_table for v in u.domain.labels], device=imgs.device)
            out = out + alpha * torch.where(holds, F.logsigmoid(logit), F.logsigmoid(-logit))
    for t in objective.terms:
        if isinstance(t, ObservationFactor) and t.scope[0] == u.name:
            out = out + (alpha * t.strength * fits[t.id])[:, None]
    return out.clamp_max(0.0)                                                            # E ≤ 1: an acceptance


@torch.no_grad()
def sample_labels(objective: Objective, log_z: list[torch.Tensor], count: int, generator: torch.Generator
                  ) -> torch.Tensor:
    """Label tuples drawn exactly from p(l) ∝ 1[l ⊨ logic] · Π_v Z_v(l_v): log_z, per unknown, log Z_v [L_v]
    → positions [count, n]. Unknown by unknown, the label is drawn from its conditional given those
    drawn before, every later one summed out by the logic program's own plans (Objective.logic_term)."""
    graph = objective.graph
    n = len(graph.unknowns)
    groups = [g for g in objective.program.groups if isinstance(g, LogicGroup)]
    dev = log_z[0].device
    out = torch.zeros(count, n, dtype=torch.long)
    # an enumerated group that shares no unknown with another is drawn whole: one row ∝ Π_v Z_v(row_v)
    # (81 cells of a Sudoku would otherwise cost 81 passes over its rows)
    owners = {}
    for g in groups:
        for name in g.scope:
            owners[name] = owners.get(name, 0) + 1
    whole = [g for g in groups if g.plan == "enumerate" and not g.givens and all(owners[m] == 1 for m in g.scope)]
    drawn: set[int] = set()
    for g in whole:
        if not any(m in objective.index and objective.index[m] < n for m in g.scope):
            continue
        rows = getattr(objective, objective._rows[g.id])                                  # [m, k]
        cols = [(j, objective.index[m]) for j, m in enumerate(g.scope) if m in objective.index
                and objective.index[m] < n]
        total = sum(log_z[v].clamp_min(NEG)[rows[:, j]] for j, v in cols)                # [m]
        pick = torch.multinomial(torch.softmax(total.double(), -1).cpu(), count, True, generator=generator)
        for j, v in cols:
            out[:, v] = rows[pick.to(rows.device), j].cpu()
            drawn.add(v)
    groups = [g for g in groups if all(g is not w for w in whole)]
    current = [z.clamp_min(NEG)[None].repeat(count, 1) for z in log_z]                  # [count, L_v] each
    switches = [torch.zeros(1, 2, device=dev) for _ in graph.switches]   # readings are inside Z (tied to labels)
    for v in range(n):
        if v in drawn:
            continue
        L = log_z[v].shape[0]
        if not any(graph.unknowns[v].name in g.scope for g in groups):                   # the logic never reads it
            weights = torch.softmax(log_z[v].clamp_min(NEG), -1).cpu()
            choice = torch.multinomial(weights, count, True, generator=generator)
        else:
            eye = torch.full((L, L), NEG, device=dev)
            eye[torch.arange(L), torch.arange(L)] = 0.0
            rows = []
            for j in range(n):                                                            # [count·L, L_j]
                if j == v:
                    rows.append((log_z[v].clamp_min(NEG)[None] + eye).clamp_min(NEG).repeat(count, 1))
                else:
                    rows.append(current[j].repeat_interleave(L, 0))
            logp = rows + [s.expand(count * L, 2) for s in switches]
            total = sum(objective.logic_term(g, logp) for g in groups).reshape(count, L)
            choice = torch.multinomial(torch.softmax(total.double(), -1).cpu(), 1, generator=generator)[:, 0]
        out[:, v] = choice
        fixed = torch.full((count, L), NEG, device=dev)
        fixed[torch.arange(count), choice.to(dev)] = log_z[v].clamp_min(NEG)[choice.to(dev)]
        current[v] = fixed
    return out


class Pool:
    """One kind's draws and what each is worth to each label. log_w [D, L]: a prior draw's weight for
    label l is E(l, ξ) ≤ 1; a learned draw made for label l weighs p(ξ) · E(l, ξ) / q(ξ | l) for l and
    nothing (−∞) for the others. A draw is accepted for l when u · M_l < w_l, M_l the largest weight
    seen for l: empirical-supremum rejection (Caffo, Booth & Davison 2002), exact as the pool grows,
    and no draw is repeated, as importance resampling would repeat it. For prior draws M_l ≤ 1, the
    exact bound, and below it where no draw reaches it — a label classifier less sure than the bundled
    one would otherwise accept next to nothing at the sampler's α. Sums are kept as logs: a seen
    image's weights lie far below what a float can hold."""

    def __init__(self, labels: int):
        self.xi: list[torch.Tensor] = []
        self.log_w: list[torch.Tensor] = []
        self.u: list[torch.Tensor] = []
        self.log_sum = torch.full((labels,), -math.inf, dtype=torch.float64)    # log Σ w per label
        self.log_sum2 = torch.full((labels,), -math.inf, dtype=torch.float64)   # log Σ w² (effective sample size)
        self.count = torch.zeros(labels, dtype=torch.float64)                   # draws that estimate each label's Z
        self.log_m = torch.full((labels,), -math.inf, dtype=torch.float64)
        self.own: list[torch.Tensor] = []
        self.drawn = 0               # draws weighed: every one estimates Z and the supremum
        self.owned = 0               # of them, the draws this kind may accept

    def add(self, xi: torch.Tensor, log_w: torch.Tensor, u: torch.Tensor, targets: torch.Tensor,
            own: torch.Tensor | None = None) -> None:
        """Draws xi [D, d] weighing log_w [D, L], their uniforms u [D]; `own` [D] bool: which of them
        this kind may accept (None: all; a batch shared by kinds gives each a block of its own)."""
        self.xi.append(xi)
        self.log_w.append(log_w)
        self.u.append(u)
        own = torch.ones(len(xi), dtype=torch.bool) if own is None else own
        self.own.append(own)
        self.owned += int(own.sum())
        lw = log_w.double()
        self.log_sum = torch.logaddexp(self.log_sum, torch.logsumexp(lw, 0))
        self.log_sum2 = torch.logaddexp(self.log_sum2, torch.logsumexp(2 * lw, 0))
        self.count += targets
        self.log_m = torch.maximum(self.log_m, lw.max(0).values)
        self.drawn += len(xi)

    def log_z(self) -> torch.Tensor:                                # [L] log Z_l, Z_l = E_q[w_l]
        return self.log_sum - self.count.clamp_min(1).log()

    def acceptance(self) -> torch.Tensor:                           # [L] expected accepted share of l's draws
        return torch.where(self.log_m > -math.inf, (self.log_z() - self.log_m).exp(), 0.0)

    def ess(self) -> torch.Tensor:                                  # [L] Kish's effective sample size per draw
        return torch.where(self.log_sum2 > -math.inf, (2 * self.log_sum - self.log_sum2).exp(), 0.0) / \
            self.count.clamp_min(1)

    def accepted(self) -> torch.Tensor:                             # [D, L] bool, under today's M (own draws only)
        log_w = torch.cat(self.log_w).double()
        return ((torch.cat(self.u).double().log()[:, None] + self.log_m[None] < log_w) & (log_w > -math.inf)
                & torch.cat(self.own)[:, None])


def assign(groups: list[Kind], pools: list[Pool], labels: torch.Tensor, n: int, d: int, skip=()
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Give every sample's unknown v an accepted draw of its label, each draw to one sample at most
    (in the order drawn: draws are exchangeable); kinds in `skip` are left (refined later).
    → latents [N, n, d], which samples are complete [N], and each assigned draw's pool weight for its
    label [N, n] (a prior draw's: log E_v, so the target needs no second pass of the networks)."""
    N = labels.shape[0]
    xi = torch.zeros(N, n, d)
    weight = torch.zeros(N, n)
    complete = torch.ones(N, dtype=torch.bool)
    for k, kind in enumerate(groups):
        if k in skip:
            continue
        pool_xi = torch.cat(pools[k].xi)                                                # [D, d]
        pool_w = torch.cat(pools[k].log_w)                                              # [D, L]
        accepted = pools[k].accepted()                                                  # [D, L]
        free = torch.ones(len(pool_xi), dtype=torch.bool)
        for i in kind.members:
            for label in torch.unique(labels[:, i]).tolist():
                rows = (labels[:, i] == label).nonzero()[:, 0]                           # samples wanting it
                candidates = (accepted[:, label] & free).nonzero()[:, 0][:len(rows)]
                got = len(candidates)
                xi[rows[:got], i] = pool_xi[candidates]
                weight[rows[:got], i] = pool_w[candidates, label].float()
                free[candidates] = False
                complete[rows[got:]] = False
    return xi, complete, weight


def refine(objective: Objective, pool: Pool, i: int, labels: torch.Tensor, alpha: float, g: torch.Generator,
           device, config: CollapsedConfig) -> torch.Tensor:
    """Unknown i's latents for samples whose labels are `labels` [N], where a seen image makes its
    weights too sharp to sample by rejection: each sample starts from a draw of the pool chosen with
    probability ∝ its weight for the sample's label tempered until the choice has an effective size of
    min(N, 8) draws (the untempered weights would start every sample from the same draw), then
    `refine_steps` Adam steps descend −log p(ξ) − log E_i(l, ξ) with α annealed geometrically from α/64
    to α, as the variational methods anneal. Samples with different starts stay apart; they are no
    longer exact posterior samples, and the report says so. → [N, d]."""
    log_w = torch.cat(pool.log_w).double().T                                              # [L, D]
    target = min(len(labels), 8)
    pick = torch.zeros(len(labels), dtype=torch.long)
    for label in torch.unique(labels).tolist():
        for tau in (2.0 ** k for k in range(40)):                  # the least tempering that reaches the target
            weights = torch.softmax(log_w[label] / tau, -1)
            if 1 / (weights ** 2).sum() >= target:
                break
        rows = (labels == label).nonzero()[:, 0]
        pick[rows] = torch.multinomial(weights, len(rows), replacement=True, generator=g)
    start = torch.cat(pool.xi)[pick]                                                       # [N, d]
    gen = objective.nets.generators[objective.graph.unknowns[i].domain.name]
    xi = start.clone().to(device).requires_grad_(True)
    opt = torch.optim.Adam([xi], lr=config.refine_lr)
    rows = torch.arange(len(labels), device=device)
    at = labels.to(device)
    for t in range(config.refine_steps):
        a = alpha * 64.0 ** (t / max(1, config.refine_steps - 1) - 1)
        log_e = log_evidence(objective, objective._generate(gen, xi).float(), i, a)           # [N, L]
        energy = 0.5 * (xi ** 2).sum(-1) - log_e[rows, at]
        opt.zero_grad()
        energy.sum().backward()
        opt.step()
    return xi.detach().cpu()


def learned_sampler(objective: Objective, kind: Kind, config: CollapsedConfig, device) -> object | None:
    """The domain's learned per-label sampler where this kind can use it — the logic reads its label
    (else any label's draws would do, and the prior is the better proposal) — else None (the prior)."""
    domain = objective.graph.unknowns[kind.members[0]].domain
    if config.proposal != "learned" or domain.load_sampler is None or not _in_logic(objective)[kind.members[0]]:
        return None
    from ..models.store import ModelError
    try:
        sampler = domain.load_sampler()
    except ModelError:                       # weights trained before the sampler existed: the prior proposes
        return None
    return sampler.to(device)


@dataclass
class Samples:
    xi: torch.Tensor                 # [N, n, d] the samples' latents (N ≤ count: the budget may run out)
    labels: torch.Tensor             # [N, n] their label positions
    log_target: torch.Tensor         # [N] log p(ξ) + Σ_v log E_v(l_v, ξ_v), the target up to a constant
    seconds: float
    images: int                      # images decoded
    info: dict = field(default_factory=dict)


def sample(objective: Objective, count: int, alpha: float = DEFAULT_ALPHA, seed: int = 0, device="cpu",
           config: CollapsedConfig = CollapsedConfig(), budget: float | None = None, progress=None) -> Samples:
    """`count` independent samples of the collapsed posterior at α (the objective's program must be
    the joint one; `unsupported` must have nothing to say). progress(Drawn(drawn, done))."""
    budget = budget or config.max_seconds
    started = time.perf_counter()
    graph, n, d = objective.graph, len(objective.names), objective.d
    g = torch.Generator().manual_seed(seed)
    groups = kinds(objective)
    kind_of = {i: k for k, kind in enumerate(groups) for i in kind.members}
    samplers = [learned_sampler(objective, kind, config, device) for kind in groups]
    pools = [Pool(kind.labels) for kind in groups]
    log_norm = 0.5 * d * math.log(2 * math.pi)

    # The kinds a domain's prior proposes for share its draws: one batch per round, one generator and one
    # classifier call, and every kind weighs every draw (its Z and supremum from all of them). Each draw is
    # one kind's to accept: the blocks are fixed before a draw is seen, so a kind's accepted draws are
    # its own posterior's whatever the other kinds accept (a first-come choice would bias them).
    shared: dict[str, list[int]] = {}
    for k, kind in enumerate(groups):
        if samplers[k] is None:
            shared.setdefault(kind.domain, []).append(k)
    images = 0

    def top_up(k: int, want: torch.Tensor) -> int:
        """Prior draws kind k makes next: enough for its shortfall `want` [L] at the rate seen so far."""
        pool, size = pools[k], config.pool
        if pool.owned:
            rate = pool.accepted().sum(0).double() / pool.owned                                   # [L] per draw
            short = want > 0
            if not short.any():                          # counted enough, yet a draw served two samples: a few more
                size = 4 * TOP_UP
            elif bool((rate[short] > 0).all()):
                most = float((want[short] / rate[short]).max())                         # draws for the slowest
                size = int(min(config.pool, max(TOP_UP, math.ceil(1.5 * most))))
        return size

    def draw_prior(domain: str, ks: list[int], wants: dict[int, torch.Tensor] | None) -> int:
        """One batch of prior draws for kinds ks of a domain: `config.pool` split among them (wants None,
        the first round), else each kind's top-up for its shortfall."""
        nonlocal images
        if wants is None:
            sizes = [config.pool // len(ks) + (j < config.pool % len(ks)) for j in range(len(ks))]
        else:
            sizes = [top_up(k, wants[k]) for k in ks]
        total = sum(sizes)
        owner = torch.repeat_interleave(torch.arange(len(ks)), torch.tensor(sizes))                # [P]
        xi = torch.randn(total, d, generator=g)
        u = torch.rand(total, generator=g)
        log_w = {k: [] for k in shared[domain]}
        with torch.no_grad():
            for part in xi.split(CHUNK):
                imgs = objective._generate(objective.nets.generators[domain], part.to(device)).float()
                outputs = objective.classify(imgs, domain)                                       # [C, L + heads]
                for k in shared[domain]:
                    log_w[k].append(log_evidence(objective, imgs, groups[k].members[0], alpha, outputs).cpu())
        for k in shared[domain]:
            own = owner == ks.index(k) if k in ks else torch.zeros(total, dtype=torch.bool)
            pools[k].add(xi, torch.cat(log_w[k]), u, torch.full((groups[k].labels,), total), own)    # [P, L]
        images += total
        return total

    def draw_learned(k: int, want: torch.Tensor | None = None) -> int:
        """One batch of kind k's learned proposal: draws for each label still short of `want` accepted
        ones (None: `label_pool` for every label)."""
        nonlocal images
        kind, pool, sampler = groups[k], pools[k], samplers[k]
        if want is None:
            per = torch.full((kind.labels,), config.label_pool)
        else:                                   # enough for the shortfall at the acceptance seen so far
            acc = pool.acceptance().float().clamp_min(1e-3)
            per = torch.where(want > 0, (2 * want / acc).ceil().long().clamp(config.label_pool, config.pool), 0)
        lab = torch.repeat_interleave(torch.arange(kind.labels), per)                              # [P]
        P = len(lab)
        if P == 0:
            return 0
        with torch.no_grad():
            from_prior = torch.rand(P, generator=g) < config.defensive
            noise = torch.randn(P, d, generator=g)
            flow_xi, _ = sampler.sample(lab.to(device), noise.to(device))
            xi = torch.where(from_prior[:, None], torch.randn(P, d, generator=g), flow_xi.float().cpu())
            log_q = sampler.log_prob(xi.to(device), lab.to(device)).float().cpu()
            log_p = -0.5 * (xi ** 2).sum(-1) - log_norm
            log_mix = torch.logaddexp(math.log1p(-config.defensive) + log_q, math.log(config.defensive) + log_p)
            imgs = objective._generate(objective.nets.generators[kind.domain], xi.to(device)).float()
            log_e = log_evidence(objective, imgs, kind.members[0], alpha).cpu()                      # [P, L]
            log_w = torch.full((P, kind.labels), -math.inf)
            rows = torch.arange(P)
            log_w[rows, lab] = log_p + log_e[rows, lab] - log_mix
            pool.add(xi, log_w, torch.rand(P, generator=g), per.double())
        images += P
        return P

    for domain, ks in shared.items():
        draw_prior(domain, ks, None)
    for k in range(len(groups)):
        if samplers[k] is not None:
            draw_learned(k)
    if progress:
        progress(Drawn(images, 0))
    # each unknown's log Z up to its own constant (a seen image puts every label's far below float range);
    # a read cell's is its reading, P(label | picture), untempered: the evidence of a picture not drawn
    reading = {objective.index[f.scope[0]]: torch.from_numpy(f.evidence).log() for f in graph.reads}
    # a riddle that reads a sheet is a board read, then completed: every board the rules allow is a priori as
    # likely, so a blank cell that only the logic speaks of has a uniform label prior, not its Z (how readily
    # the generator draws each label: a trait of the generator, not of the puzzle, and over 51 blank cells it
    # evened two boards the readings put at 73 : 27). Its digit is still drawn given its label.
    flat = {i for i in kind_of if reading and groups[kind_of[i]].plain}
    # (a label no draw of the pool reached stays out, as it would under Z)
    log_z = [reading[i] if i in reading else flat_prior(pools[kind_of[i]].log_z()) if i in flat
             else pools[kind_of[i]].log_z() for i in range(n)]
    log_z = [(z - z.max()).float().clamp_min(NEG).to(device) for z in log_z]
    labels = sample_labels(objective, log_z, count, g)                            # [N, n] positions
    # each kind: how many accepted draws of each label its members' samples need
    need = [torch.zeros(kind.labels, dtype=torch.long) for kind in groups]
    for i in kind_of:
        need[kind_of[i]] += torch.bincount(labels[:, i], minlength=groups[kind_of[i]].labels)
    # a label whose acceptance is so low that its samples would need more than max_draws draws is
    # given up at once (its samples are left out) instead of spending the whole budget on it
    hopeless = [(need[k] > 0) & (need[k] > config.max_draws * pools[k].acceptance()) for k in range(len(groups))]
    # a seen image's weight is sharp: where its unknown's samples would need more than weigh_draws draws,
    # they are refined from the pool's best-weighted draws instead (below), never given up
    seen = [any(isinstance(t, ObservationFactor) and objective.index[t.scope[0]] in kind.members
                for t in objective.terms) for kind in groups]
    # the acceptance above is measured against the largest weight drawn so far; where one draw carries
    # a label's whole weight (a projection's likelihood is that sharp) that supremum is no bound yet and
    # the acceptance an overestimate, so fewer effective draws than samples needed also means refine
    refined = [seen[k] and bool(((need[k] > config.weigh_draws * pools[k].acceptance()) |
                                 ((need[k] > 0) & (pools[k].ess() * pools[k].count < need[k]))).any())
               for k in range(len(groups))]
    hopeless = [h & ~torch.tensor(refined[k]) for k, h in enumerate(hopeless)]
    need = [torch.zeros_like(need[k]) if refined[k] else torch.where(hopeless[k], 0, need[k])
            for k in range(len(groups))]

    def shortfall(k: int) -> torch.Tensor:                                        # [L] accepted draws still missing
        return (need[k] - pools[k].accepted().sum(0)).clamp_min(0)

    def more(ks) -> bool:
        """One more batch for each of kinds ks that may still draw; drew anything?"""
        drew = 0
        for domain, members in shared.items():
            short = [k for k in members if k in ks and pools[k].owned < config.max_draws]
            if short:
                drew += draw_prior(domain, short, {k: shortfall(k) for k in short})
        for k in ks:
            if samplers[k] is not None and pools[k].drawn < config.max_draws:
                drew += draw_learned(k, shortfall(k))
        if progress:
            progress(Drawn(images, 0))
        return drew > 0

    while time.perf_counter() - started <= budget:
        short = [k for k in range(len(groups)) if shortfall(k).any()]
        # an accepted prior draw serves one label of one sample: a draw accepted for two labels is
        # counted for each above, so the assignment below may still run short; it draws more then
        if not short or not more(short):
            break
    skip = {k for k in range(len(groups)) if refined[k]}
    xi, complete, weight = assign(groups, pools, labels, n, d, skip)
    wanted = torch.ones(len(labels), dtype=torch.bool)           # the samples not given up
    for i in kind_of:
        wanted &= ~hopeless[kind_of[i]][labels[:, i]]
    # prior draws assigned twice were counted twice above: draw again while samples lack a latent
    # (a learned draw serves one label only, so its kinds are never short here)
    while not complete[wanted].all() and time.perf_counter() - started <= budget:
        if not more([k for k in range(len(groups)) if samplers[k] is None]):
            break
        xi, complete, weight = assign(groups, pools, labels, n, d, skip)
    for k in skip:                                               # the seen unknowns too sharp to weigh
        for i in groups[k].members:
            xi[:, i] = refine(objective, pools[k], i, labels[:, i], alpha, g, device, config)
    xi, labels, weight = xi[complete], labels[complete], weight[complete]
    N = len(xi)
    with torch.no_grad():
        log_target = torch.zeros(N)
        for i, z in reading.items():
            log_target += z.float()[labels[:, i]]
        for i in flat:                                      # p(ξ | label) under a uniform label prior
            log_target -= pools[kind_of[i]].log_z().float()[labels[:, i]]
        for i in kind_of:
            if samplers[kind_of[i]] is None and not refined[kind_of[i]]:     # the pool's weight is log E_v itself
                log_target += weight[:, i] - 0.5 * (xi[:, i] ** 2).sum(-1)
            elif N:
                imgs = objective._generate(objective.nets.generators[graph.unknowns[i].domain.name],
                                           xi[:, i].to(device)).float()
                log_e = log_evidence(objective, imgs, i, alpha).cpu()
                log_target += log_e[torch.arange(N), labels[:, i]] - 0.5 * (xi[:, i] ** 2).sum(-1)
    drawn = images
    if progress:
        progress(Drawn(drawn, N))

    def name(kind: Kind) -> str:
        return graph.unknowns[kind.members[0]].name + (f" (+{len(kind.members) - 1})" if len(kind.members) > 1 else "")
    most = [int(need[k].argmax()) for k in range(len(groups))]                   # each kind's most needed label
    info = {"requested": count, "samples": N, "alpha": alpha, "kinds": len(groups), "draws": drawn,
            "given_up": int((~wanted).sum()),
            "seen": {name(kind): "refined" if refined[k] else "weighed" for k, kind in enumerate(groups) if seen[k]},
            "refine_steps": config.refine_steps if any(refined) else 0,
            "proposal": {name(kind): "learned" if samplers[k] is not None else "prior"
                         for k, kind in enumerate(groups)},
            "acceptance": {name(kind): float(pools[k].acceptance()[most[k]]) for k, kind in enumerate(groups)},
            "ess_per_draw": {name(kind): float(pools[k].ess()[most[k]]) for k, kind in enumerate(groups)},
            "exact_logic": all(grp.exact for grp in objective.program.groups),
            "distinct_label_tuples": int(torch.unique(labels, dim=0).shape[0]) if N else 0}
    return Samples(xi, labels, log_target, time.perf_counter() - started, drawn + N * n, info)

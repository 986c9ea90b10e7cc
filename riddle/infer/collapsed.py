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
   networks share their draws: a cryptarithm's ten letters are one kind).
2. N label tuples drawn exactly from p(l), through the same logic program the objective computes
   (`Objective.logic_term`: enumerate, chain or contract plans, connectives' switches): unknown by
   unknown, each label drawn from its conditional given the ones before, the rest summed out.
3. For each tuple, each unknown's latent by rejection from the prior: a draw is accepted for label k
   with probability E_v(k, ξ) ≤ 1, so accepted draws are exact samples of v's conditional. Every draw
   serves one sample at most.

The samples are independent draws of the posterior (so the success interval is honest) and vary as
the generator's own digits do. A predicate inside a connective enters through its truth table: its
reading weighs the labels by σ(±logit) within E_v (the switch is tied to the label). Where that is
impossible — a predicate without a truth table inside a connective, or a seen image (`looks like`),
whose weights degenerate at α — the method says so instead of sampling something else.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..graph.build import ObservationFactor, PredicateFactor
from ..graph.joint import LogicGroup
from .objective import Objective

NEG = -1e4                       # log 0 for a label that is ruled out (exp underflows to 0; no NaN in the plans)
DEFAULT_ALPHA = 80.0             # the sampler's own α (docs/BENCHMARKS.md, "Amortised: α")


@dataclass(frozen=True)
class CollapsedConfig:
    pool: int = 4096             # prior draws per kind of unknown and round
    max_draws: int = 2_000_000   # per kind of unknown, over all rounds
    max_seconds: float = 120.0   # when the run gives no budget of its own


@dataclass
class Kind:
    """Unknowns whose drawings are weighed alike (same domain, same networks reading them)."""
    members: list[int]           # unknown indices
    domain: str
    labels: int                  # L_v


def unsupported(objective: Objective) -> str | None:
    """Why this method cannot sample the riddle exactly, or None."""
    graph = objective.graph
    if any(isinstance(t, ObservationFactor) for t in objective.terms):
        return ("method amortised does not sample riddles with `looks like` yet (a seen image's weight "
                "degenerates at the final α); use --method advi")
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
        factors = sorted((t.predicate.name, t.negated, t.strength) for t in objective.terms
                         if isinstance(t, PredicateFactor) and t.scope[0] == u.name)
        readings = sorted(s.predicate.name for s in graph.switches if s.kind == "reading" and s.unknown == u.name)
        signature[i] = (u.domain.name, in_logic[i], tuple(factors), tuple(readings))
    out: dict[tuple, Kind] = {}
    for i, sig in signature.items():
        kind = out.setdefault(sig, Kind([], sig[0], len(graph.unknowns[i].domain.labels)))
        kind.members.append(i)
    return list(out.values())


def _in_logic(objective: Objective) -> list[bool]:
    scoped = {name for g in objective.program.groups for name in g.scope}
    return [u.name in scoped for u in objective.graph.unknowns]


def log_evidence(objective: Objective, imgs: torch.Tensor, i: int, alpha: float) -> torch.Tensor:
    """Images [P, H, W] drawn for unknown i → log E_i(k, ξ) [P, L_i]: α times the log of what i's own
    factors say — the label classifier (if the logic reads i's label), its predicate networks, and
    the readings of predicates inside connectives (σ(logit) for labels in the truth table, σ(−logit)
    for the others)."""
    graph = objective.graph
    u = graph.unknowns[i]
    logp, preds, _ = objective.read_unknown(imgs, i)                                     # [P, L]
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
    current = [z.clamp_min(NEG)[None].repeat(count, 1) for z in log_z]                  # [count, L_v] each
    switches = [torch.zeros(1, 2, device=dev) for _ in graph.switches]   # readings are inside Z (tied to labels)
    out = torch.zeros(count, n, dtype=torch.long)
    for v in range(n):
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


def assign(groups: list[Kind], kind_of: dict, pools, labels: torch.Tensor, n: int, d: int
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Give every sample's unknown v an accepted draw of its label, each draw to one sample at most
    (in the order drawn: draws are exchangeable). → latents [N, n, d] and which samples are complete [N]."""
    N = labels.shape[0]
    xi = torch.zeros(N, n, d)
    complete = torch.ones(N, dtype=torch.bool)
    for k, kind in enumerate(groups):
        pool_xi = torch.cat([x for x, _, _ in pools[k]])                                   # [D, d]
        accepted = torch.cat([a for _, _, a in pools[k]])                                 # [D, L]
        free = torch.ones(len(pool_xi), dtype=torch.bool)
        for i in kind.members:
            for label in torch.unique(labels[:, i]).tolist():
                rows = (labels[:, i] == label).nonzero()[:, 0]                           # samples wanting it
                candidates = (accepted[:, label] & free).nonzero()[:, 0][:len(rows)]
                got = len(candidates)
                xi[rows[:got], i] = pool_xi[candidates]
                free[candidates] = False
                complete[rows[got:]] = False
    return xi, complete




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
    the joint one; `unsupported` must have nothing to say). progress(drawn, done)."""
    budget = budget or config.max_seconds
    started = time.perf_counter()
    graph, n, d = objective.graph, len(objective.names), objective.d
    g = torch.Generator().manual_seed(seed)
    groups = kinds(objective)
    kind_of = {i: k for k, kind in enumerate(groups) for i in kind.members}
    pools: list[list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]] = [[] for _ in groups]   # (ξ, log E, accepted)
    z_sum = [torch.zeros(kind.labels, dtype=torch.float64) for kind in groups]
    drawn = [0] * len(groups)

    def draw(k: int) -> None:                                  # one pool of prior draws for kind k
        kind = groups[k]
        xi = torch.randn(config.pool, d, generator=g)
        u = torch.rand(config.pool, generator=g)
        with torch.no_grad():
            imgs = objective._generate(objective.nets.generators[kind.domain], xi.to(device)).float()
            log_e = log_evidence(objective, imgs, kind.members[0], alpha).cpu()          # [P, L]
        pools[k].append((xi, log_e, u.log()[:, None] < log_e))
        z_sum[k] += log_e.double().exp().sum(0)
        drawn[k] += config.pool
        if progress:
            progress(sum(drawn), 0)

    for k in range(len(groups)):
        draw(k)
    log_z = [None] * n
    for i in range(n):
        k = kind_of[i]
        log_z[i] = (z_sum[k] / drawn[k]).log().float().to(device)
    labels = sample_labels(objective, log_z, count, g)                            # [N, n] positions
    # each kind: how many accepted draws of each label its members' samples need
    need = [torch.zeros(kind.labels, dtype=torch.long) for kind in groups]
    for i in range(n):
        need[kind_of[i]] += torch.bincount(labels[:, i], minlength=groups[kind_of[i]].labels)
    # a label whose acceptance is so low that its samples would need more than max_draws prior draws
    # is given up at once (its samples are left out) instead of spending the whole budget on it
    hopeless = [(need[k] > 0) & (need[k] * drawn[k] > config.max_draws * z_sum[k]) for k in range(len(groups))]
    need = [torch.where(hopeless[k], 0, need[k]) for k in range(len(groups))]
    while True:
        short = [k for k in range(len(groups))
                 if (torch.cat([a for _, _, a in pools[k]]).sum(0) < need[k]).any()]
        # an accepted draw serves one label of one sample: a draw accepted for two labels is counted
        # for each above, so the assignment below may still run short; it draws more then
        if not short or time.perf_counter() - started > budget:
            break
        for k in short:
            if drawn[k] < config.max_draws:
                draw(k)
        if all(drawn[k] >= config.max_draws for k in short):
            break
    xi, complete = assign(groups, kind_of, pools, labels, n, d)
    wanted = torch.ones(len(labels), dtype=torch.bool)           # the samples not given up
    for i in range(n):
        wanted &= ~hopeless[kind_of[i]][labels[:, i]]
    # draws assigned more than once were counted twice above: draw again while samples lack a latent
    while not complete[wanted].all() and time.perf_counter() - started <= budget and \
            any(drawn[kind_of[i]] < config.max_draws for i in range(n)):
        for k in range(len(groups)):
            draw(k)
        xi, complete = assign(groups, kind_of, pools, labels, n, d)
    xi, labels = xi[complete], labels[complete]
    N = len(xi)
    with torch.no_grad():
        log_target = torch.zeros(N)
        for i in range(n):
            if N:
                imgs = objective._generate(objective.nets.generators[graph.unknowns[i].domain.name],
                                           xi[:, i].to(device)).float()
                log_e = log_evidence(objective, imgs, i, alpha).cpu()
                log_target += log_e[torch.arange(N), labels[:, i]] - 0.5 * (xi[:, i] ** 2).sum(-1)
    if progress:
        progress(sum(drawn), N)
    accept = {f"{graph.unknowns[kind.members[0]].name}" + (f" (+{len(kind.members) - 1})" if len(kind.members) > 1
                                                            else ""): float((z_sum[k] / drawn[k])[need[k].argmax()])
              for k, kind in enumerate(groups)}
    info = {"requested": count, "samples": N, "alpha": alpha, "kinds": len(groups), "prior_draws": sum(drawn),
            "acceptance": accept, "exact_logic": all(grp.exact for grp in objective.program.groups),
            "distinct_label_tuples": int(torch.unique(labels, dim=0).shape[0]) if N else 0}
    return Samples(xi, labels, log_target, time.perf_counter() - started, sum(drawn) + N * n, info)

"""The compiled objective: a factor graph becomes one torch module that maps latents
ξ [R, S, n, d] (restarts × samples × unknowns × latent dims) to per-term log-probabilities
log P_k [R, S, K], and the energy

    H(ξ; α) = − α Σ_k w_k log P_k(ξ) + ½ Σ_v |ξ_v|².

The terms are the logic program's (graph/joint.py): one per predicate network, and one per logic
group — with joint logic (the default) the weighted model count of a connected component of the
label-level statements; with factored logic one per statement (the papers' formulation). A
connective's switches are variables of the count like the unknowns: a predicate's reading weighed
by its network, σ(±logit), a part's truth switch unweighed (its factor fixes it).

Per call, each network runs once on the whole batch: the generator on all R·S·n latents, the label
classifier once, each predicate network once on the unknowns it judges. Those per-image outputs are
the `Readings` (`read`); every term is computed from them (`terms_of`), so a tuple of images from
different batches can be scored without running a network again (the start search: base.best_start). Every term is
computed
exactly, in log space or rescaled:

  predicate      log σ(±logit)
  observation    −½ Σ over the seen entries of ((A(x) − seen) / σ)²  (a Gaussian likelihood, 0 at a match;
                 A the instruments it was seen through, infer/instruments.py, or none)
  enumerate      logsumexp over the group's satisfying label tuples of Σ_v log p_v[l_v]
                 (a label statement is the one-row or nine-row case, a dense relation its true entries)
  chain          messages over partial sums, log-sum-exp scattered step by step
  contract       the distributions, each divided by its largest entry, contracted in float64 with
                 the logic tensors along opt_einsum's path; the logs of the divisors added back

so that no probability underflows, whatever α (tested NaN-free at α = 100).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import opt_einsum as oe
import torch
from torch import nn

from .. import vocabulary
from ..graph.build import FactorGraph, ObservationFactor, PredicateFactor
from ..graph.joint import LogicGroup, LogicProgram, compile_logic
from ..models.zoo import Generator, Negated, Readout, outputs_of
from .instruments import measure


@dataclass
class Networks:
    """The networks a graph needs, by name: loaded once, then reused by every step."""
    generators: dict[str, nn.Module]        # domain → G
    classifiers: dict[str, nn.Module]       # domain → F (logits over labels)
    predicates: dict[str, nn.Module]        # predicate name → network (one logit)

    @classmethod
    def load(cls, graph: FactorGraph) -> "Networks":
        domains = {u.domain.name: u.domain for u in graph.unknowns}
        preds = {f.predicate.name: f.predicate for f in graph.factors if isinstance(f, PredicateFactor)}
        preds.update({s.predicate.name: s.predicate for s in graph.switches if s.kind == "reading"})
        return cls({n: _frozen(d.load_generator()) for n, d in domains.items()},
                   {n: _frozen(d.load_classifier()) for n, d in domains.items()},
                   {n: _frozen(p.load_network()) for n, p in preds.items()})


def _frozen(module: nn.Module) -> nn.Module:
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


# the arithmetics a network can run in: the vocabulary's precisions, `auto` resolved (pick_precision)
PRECISIONS = tuple(p for p in vocabulary.PRECISIONS if p != "auto")


# RIDDLE_AUTO_PRECISION=float32 (or bfloat16) makes `auto` mean that precision on any machine: results
# that do not depend on the CPU a run lands on (tests/conftest.py sets it for the test suite)
AUTO_PRECISION_VARIABLE = "RIDDLE_AUTO_PRECISION"


def pick_precision(name: str, device: str) -> str:
    """`auto`: bfloat16 on a CPU with native bf16 arithmetic (measured 2× faster per solver step
    there, with the same success: docs/BENCHMARKS.md), float32 elsewhere (a CPU without it would
    emulate bf16 slowly; on CUDA float32 is the measured default) — unless RIDDLE_AUTO_PRECISION
    names one."""
    if name != "auto":
        return name
    pinned = os.environ.get(AUTO_PRECISION_VARIABLE, "")
    if pinned in PRECISIONS:                  # the same arithmetic on every CPU (the tests pin float32)
        return pinned
    if device == "cpu":
        try:
            return "bfloat16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "float32"
        except (AttributeError, RuntimeError):
            return "float32"
    return "float32"


def scatter_logsumexp(values: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    """values [B, M], index [M] in 0..size-1 → [B, size]: logsumexp of the values sent to each slot."""
    b = values.shape[0]
    idx = index.unsqueeze(0).expand(b, -1)
    peak = torch.full((b, size), -torch.inf, dtype=values.dtype, device=values.device)
    peak = peak.scatter_reduce(1, idx, values.detach(), reduce="amax", include_self=True)
    safe_peak = torch.where(torch.isfinite(peak), peak, torch.zeros_like(peak))
    total = torch.zeros((b, size), dtype=values.dtype, device=values.device)
    total = total.scatter_add(1, idx, torch.exp(values - safe_peak.gather(1, idx)))
    # a slot nothing reaches (a learner's one-hot givens make many) is log 0 = −∞, with a zero gradient, not NaN
    live = total > 0
    return torch.where(live, torch.log(torch.where(live, total, torch.ones_like(total))), -torch.inf) + safe_peak


# Before a contraction each distribution is divided by its largest entry; what is left of an entry is
# floored at exp(-CONTRACT_FLOOR / k) for a group of k unknowns, so that no product of k of them
# underflows float64 (the floor lies far below any probability that matters).
CONTRACT_FLOOR = 650.0


# The label classifier's logits are divided by this before the softmax that feeds the logic. A softer
# reading gives a drawing high probability only where it is clearly its digit, so the solver stops at
# drawings the independent judge reads the same way (docs/history/BENCHMARKS.md, "Label temperature", from
# bench/joint.py).
LABEL_TEMPERATURE = 2.0


@dataclass
class Readings:
    """The networks' outputs for B image tuples of n images, per image: all that the terms read."""
    size: int                                          # B
    logp: torch.Tensor | list | None                   # label log-probabilities [B, n, L] (a list of [B, L_i]
                                                       # when the unknowns span domains); None if unread
    predicates: dict[str, dict[int, torch.Tensor]]     # predicate → unknown index → logit [B]
    fits: dict[str, tuple[int, torch.Tensor]]          # observation term → (unknown index, log-likelihood [B])
    given: list | None = None                          # a template's given variables: log one-hot [B, |values|]
                                                       # each, in graph.givens order (learning; riddle/learn.py)

    def take(self, index: torch.Tensor) -> "Readings":
        """index [B', n] → the readings of B' new tuples whose unknown u is image index[:, u] of these."""
        n = index.shape[1]
        if isinstance(self.logp, torch.Tensor):
            logp = self.logp[index, torch.arange(n, device=index.device)]                 # [B', n, L]
        else:
            logp = None if self.logp is None else [lp[index[:, i]] for i, lp in enumerate(self.logp)]
        predicates = {name: {c: x[index[:, c]] for c, x in cols.items()} for name, cols in self.predicates.items()}
        fits = {k: (i, x[index[:, i]]) for k, (i, x) in self.fits.items()}
        return Readings(index.shape[0], logp, predicates, fits)

    @staticmethod
    def cat(parts: list["Readings"]) -> "Readings":
        """Readings of consecutive batches as one."""
        first = parts[0]
        if isinstance(first.logp, torch.Tensor):
            logp = torch.cat([p.logp for p in parts])
        else:
            logp = (
                None if first.logp is None else [torch.cat([p.logp[i] for p in parts]) for i in range(len(first.logp))]
            )
        predicates = {name: {c: torch.cat([p.predicates[name][c] for p in parts]) for c in cols}
                      for name, cols in first.predicates.items()}
        fits = {k: (i, torch.cat([p.fits[k][1] for p in parts])) for k, (i, _) in first.fits.items()}
        return Readings(sum(p.size for p in parts), logp, predicates, fits)


class Objective(nn.Module):
    def __init__(self, graph: FactorGraph, networks: Networks, precision: str = "float32",
                 logic: str | LogicProgram = "joint", label_temperature: float = LABEL_TEMPERATURE):
        super().__init__()
        self.label_temperature = label_temperature
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        # bfloat16: the networks run under autocast (half the memory traffic, native bf16 dot products
        # where the CPU has them); their outputs return to float32 before any factor is computed
        self.precision = precision
        self.graph = graph
        self.nets = networks
        # registered as submodules so that .to(device) moves every network with the logic buffers
        self._networks = nn.ModuleDict({"generators": nn.ModuleDict(networks.generators),
                                        "classifiers": nn.ModuleDict(networks.classifiers),
                                        "predicates": nn.ModuleDict(networks.predicates)})
        self.names = graph.names
        # every variable the logic reads: unknowns first (0..n-1), then the connectives' switches
        self.index = {n: i for i, n in enumerate(graph.variables)}
        self.domain_of = [u.domain.name for u in graph.unknowns]
        self.latent = {d: g.latent for d, g in networks.generators.items()}
        if len(set(self.latent.values())) > 1:
            raise ValueError("all generators of one riddle must share a latent dimension")
        self.d = next(iter(self.latent.values()), None)      # None: no generator (learning reads data images)
        self.image_shape = tuple(graph.unknowns[0].domain.image_shape)
        self.program = compile_logic(graph, logic) if isinstance(logic, str) else logic
        self.terms = self.program.terms
        self.register_buffer("strength", torch.tensor([t.strength for t in self.terms], dtype=torch.float32))
        # Predicates read off a domain's own label classifier (a label set, or one of its heads) reuse
        # the classifier's outputs instead of a second network call.
        self._readout: dict[str, tuple[Readout, float]] = {}
        for name, net in networks.predicates.items():
            sign, inner = 1.0, net
            while isinstance(inner, Negated):
                sign, inner = -sign, inner.predicate
            if (isinstance(inner, Readout) and len(set(self.domain_of)) == 1
                    and inner.classifier is networks.classifiers[self.domain_of[0]]):
                self._readout[name] = (inner, sign)
        self.needs_labels = any(isinstance(t, LogicGroup) or (isinstance(t, PredicateFactor) and
                                                              t.predicate.name in self._readout)
                                for t in self.terms) or bool(graph.switches)
        # Read sheet cells: their pictures are their unknowns' images (`images` puts them in place)
        self.clamped: dict[int, str] = {self.index[f.scope[0]]: self._buffer(torch.from_numpy(f.pixels))
                                        for f in graph.reads}
        # Observations: the seen pixels and their mask as buffers, σ as a number
        self._observed: dict[str, tuple[str, str]] = {}
        for t in self.terms:
            if isinstance(t, ObservationFactor):
                self._observed[t.id] = (self._buffer(torch.from_numpy(t.pixels)),
                                        self._buffer(torch.from_numpy(t.seen.astype("float32"))))
        # Logic groups as buffers, built once (buffers follow the module to the GPU).
        self._rows: dict[str, str] = {}               # enumerate: group id → buffer of its rows [m, k]
        self._chains: dict[str, list[tuple[str, str, str]]] = {}
        self._chain_masks: dict[str, list[str]] = {}
        self._contracted: dict[str, tuple[list[str], list[str]]] = {}   # contract: mask and tensor buffers
        for g in self.program.groups:
            if g.plan == "enumerate":
                self._rows[g.id] = self._buffer(torch.from_numpy(g.rows).long())
            elif g.plan == "chain":
                if g.masks:                               # what the group's unary statements allow, per chain step
                    self._chain_masks[g.id] = [self._buffer(torch.from_numpy(m)) for m in g.masks]
                steps = []
                for step in g.chain.step:                 # (s_prev, x) → target partial sum
                    step = torch.from_numpy(step)
                    s_prev, x = torch.nonzero(step >= 0, as_tuple=True)
                    steps.append((self._buffer(s_prev), self._buffer(x), self._buffer(step[s_prev, x])))
                self._chains[g.id] = steps
            else:
                self._contracted[g.id] = ([self._buffer(torch.from_numpy(m)) for m in g.masks],
                                          [self._buffer(torch.from_numpy(t)) for t, _ in g.operands])
        # Which unknowns each predicate network judges (each network runs once per call).
        self._pred_unknowns: dict[str, list[int]] = {}
        read = [(f.predicate.name, f.scope[0]) for f in self.terms if isinstance(f, PredicateFactor)]
        read += [(s.predicate.name, s.unknown) for s in graph.switches if s.kind == "reading"]
        for pred, unknown in read:
            cols = self._pred_unknowns.setdefault(pred, [])
            if self.index[unknown] not in cols:
                cols.append(self.index[unknown])
        self._outputs: torch.Tensor | None = None      # the classifier's outputs at the last call

    @property
    def label_logits(self) -> torch.Tensor | None:
        """The label classifier's logits from the last `log_probs` call: [R·S, n, L] (heads left
        out), for callers that want the networks' reading of the same images without a second
        pass. None before the first call or where the unknowns span several domains."""
        if self._outputs is None:
            return None
        return self._outputs[..., :len(self.graph.unknowns[0].domain.labels)]

    def _buffer(self, tensor: torch.Tensor) -> str:
        name = f"_logic_{len(self._buffers)}"
        self.register_buffer(name, tensor, persistent=False)
        return name

    def _run(self, net, x: torch.Tensor) -> torch.Tensor:
        """One network call (a module or a function), in the objective's precision; the result is float32."""
        if self.precision == "float32":
            return net(x)
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16):
            return net(x).float()

    def _generate(self, gen: nn.Module, xi: torch.Tensor) -> torch.Tensor:
        """ξ [N, d] → images. A bundled generator's flow stays in float32: its small matrix products
        gain nothing from bf16 and pay the casts (docs/ARCHITECTURE.md, "One batched program per step")."""
        if isinstance(gen, Generator) and self.precision != "float32":
            return self._run(gen.decode, gen.flow(xi))
        return self._run(gen, xi)

    def images(self, xi: torch.Tensor) -> torch.Tensor:
        """ξ [..., n, d] → images [..., n, 28, 28] (one generator call per domain)."""
        lead = xi.shape[:-2]
        flat = xi.reshape(-1, len(self.names), self.d)
        domains = sorted(set(self.domain_of))
        if len(domains) == 1:
            out = self._generate(self.nets.generators[domains[0]], flat.reshape(-1, self.d))
            out = self._clamp(out.reshape(flat.shape[0], len(self.names), *out.shape[1:]))
            return out.reshape(*lead, len(self.names), *out.shape[2:])
        parts = [None] * len(self.names)
        for dom in domains:
            cols = [i for i, d in enumerate(self.domain_of) if d == dom]
            imgs = self._generate(self.nets.generators[dom], flat[:, cols].reshape(-1, self.d))
            imgs = imgs.reshape(flat.shape[0], len(cols), *imgs.shape[1:])
            for j, c in enumerate(cols):
                parts[c] = imgs[:, j]
        out = self._clamp(torch.stack(parts, 1))
        return out.reshape(*lead, len(self.names), *out.shape[2:])

    def _clamp(self, imgs: torch.Tensor) -> torch.Tensor:
        """Images [B, n, H, W] with each read cell's picture in its column (the latent there is unused)."""
        if not self.clamped:
            return imgs
        imgs = imgs.clone()
        for i, buffer in self.clamped.items():
            imgs[:, i] = getattr(self, buffer).to(imgs.dtype)
        return imgs

    def log_probs(self, xi: torch.Tensor) -> torch.Tensor:
        """ξ [R, S, n, d] → log P_k [R, S, K], one column per term."""
        R, S, n, _ = xi.shape
        imgs = self.images(xi).reshape(R * S, n, *self.image_shape)             # [B, n, H, W]
        return self.terms_of(self.read(imgs)).reshape(R, S, len(self.terms))

    def read(self, imgs: torch.Tensor) -> "Readings":
        """Image tuples [B, n, H, W] → what the networks say about each image (every network once).
        Every term is a function of these readings, so a tuple made of images from different
        batches can be scored from their readings alone (`Readings.take`), without the networks."""
        B, n = imgs.shape[:2]
        logp = None
        if self.needs_labels:
            dom = self.domain_of[0]
            if len(set(self.domain_of)) == 1:
                classifier = self.nets.classifiers[dom]
                L = len(self.graph.unknowns[0].domain.labels)
                out = self._run(lambda x: outputs_of(classifier, x), imgs.reshape(B * n, *imgs.shape[2:]))
                self._outputs = out.reshape(B, n, -1)                           # [B, n, L + heads]
                logp = torch.log_softmax(self._outputs[..., :L] / self.label_temperature, -1)   # [B, n, L]
            else:
                self._outputs = None
                logp = [torch.log_softmax(self._run(self.nets.classifiers[self.domain_of[i]], imgs[:, i])
                                          / self.label_temperature, -1) for i in range(n)]
        pred_logits = {}
        for name, cols in self._pred_unknowns.items():
            if name in self._readout:
                readout, sign = self._readout[name]
                pred_logits[name] = {c: sign * readout.from_outputs(self._outputs[:, c]) for c in cols}
                continue
            sel = imgs[:, cols].reshape(B * len(cols), *imgs.shape[2:])
            out = self._run(self.nets.predicates[name], sel).reshape(B, len(cols))
            pred_logits[name] = {c: out[:, j] for j, c in enumerate(cols)}
        fits = {}
        for t in self.terms:
            if isinstance(t, ObservationFactor):
                i = self.index[t.scope[0]]
                fits[t.id] = (i, self.log_likelihood(t, imgs[:, i]))
        return Readings(B, logp, pred_logits, fits)

    def log_likelihood(self, t: ObservationFactor, imgs: torch.Tensor) -> torch.Tensor:
        """Images [B, H, W] of t's unknown → −½ Σ over the seen entries of ((A(x) − data) / σ)² [B]: A the
        instruments t was seen through (infer/instruments.py; none: the image itself)."""
        data, seen = (getattr(self, b) for b in self._observed[t.id])                     # [h, w] or [m]
        diff = (measure(t.through, imgs.float()) - data) * seen                           # [B, h, w] or [B, m]
        return -0.5 * (diff ** 2).reshape(diff.shape[0], -1).sum(-1) / t.noise ** 2

    def classify(self, imgs: torch.Tensor, domain: str) -> torch.Tensor:
        """Images [P, H, W] of a domain → its classifier's outputs [P, L + heads], labels first."""
        classifier = self.nets.classifiers[domain]
        return self._run(lambda x: outputs_of(classifier, x), imgs)

    def read_unknown(self, imgs: torch.Tensor, i: int, outputs: torch.Tensor | None = None
                     ) -> tuple[torch.Tensor, dict, dict]:
        """Images [P, H, W] drawn for unknown i alone → what its own factors read of each: the label
        log-probabilities [P, L] at the logic's temperature, each predicate network that reads i
        {name: logit [P]}, each observation of i {term id: log-likelihood [P]} — one network call per
        network, for the collapsed sampler (amortised.py), which scores draws one unknown at a time.
        `outputs`: the classifier's outputs on these images where the caller has them (`classify`)."""
        L = len(self.graph.unknowns[i].domain.labels)
        out = self.classify(imgs, self.domain_of[i]) if outputs is None else outputs        # [P, L + heads]
        logp = torch.log_softmax(out[:, :L] / self.label_temperature, -1)
        preds = {}
        for name, cols in self._pred_unknowns.items():
            if i not in cols:
                continue
            if name in self._readout:
                readout, sign = self._readout[name]
                preds[name] = sign * readout.from_outputs(out)
            else:
                preds[name] = self._run(self.nets.predicates[name], imgs).reshape(-1)
        fits = {t.id: self.log_likelihood(t, imgs) for t in self.terms
                if isinstance(t, ObservationFactor) and self.index[t.scope[0]] == i}
        return logp, preds, fits

    def terms_of(self, readings: "Readings") -> torch.Tensor:
        """Readings of B image tuples → log P_k [B, K]."""
        logp, pred_logits = readings.logp, readings.predicates
        if self.graph.switches or self.graph.givens:
            logp = self._with_switches(logp, pred_logits, readings.size, readings.given)
        columns = []
        for t in self.terms:
            if isinstance(t, PredicateFactor):
                logit = pred_logits[t.predicate.name][self.index[t.scope[0]]]
                columns.append(torch.nn.functional.logsigmoid(-logit if t.negated else logit))
            elif isinstance(t, ObservationFactor):
                columns.append(readings.fits[t.id][1])
            else:
                columns.append(self.logic_term(t, logp))
        return torch.stack(columns, dim=-1)

    @property
    def observed(self) -> dict[int, list[ObservationFactor]]:
        """The unknowns (by index) that observations tie to pixels, with their observation terms."""
        out: dict[int, list[ObservationFactor]] = {}
        for t in self.terms:
            if isinstance(t, ObservationFactor):
                out.setdefault(self.index[t.scope[0]], []).append(t)
        return out

    def pixel_fit(self, xi: torch.Tensor, i: int) -> torch.Tensor:
        """ξ [P, d] for unknown i alone → Σ over its observations of strength × their log-likelihood [P]
        (the generator only: cheap enough to score thousands of prior draws)."""
        imgs = self._generate(self.nets.generators[self.domain_of[i]], xi).float()           # [P, H, W]
        total = torch.zeros(xi.shape[0], device=xi.device)
        for t in self.observed.get(i, []):
            total = total + t.strength * self.log_likelihood(t, imgs)
        return total

    def _with_switches(self, logp, pred_logits, B: int, given: list | None = None) -> list[torch.Tensor]:
        """The unknowns' label log-probabilities and the switches' as one list, by variable index:
        a predicate's reading log [σ(−logit), σ(logit)]; a part's truth switch log [1, 1] (it is
        fixed by its factor, not weighed)."""
        out = [self._logp(logp, i) for i in range(len(self.names))]
        for s in self.graph.switches:
            if s.kind == "reading":
                logit = pred_logits[s.predicate.name][self.index[s.unknown]]                 # [B]
                out.append(torch.stack([nn.functional.logsigmoid(-logit), nn.functional.logsigmoid(logit)], -1))
            else:
                out.append(out[0].new_zeros((B, 2)))
        return out + list(given or [])

    def logic_term(self, g: LogicGroup, logp) -> torch.Tensor:
        """log P of one logic group from the unknowns' label log-probabilities ([B, n, L], or a list of
        [B, L_i] when the unknowns span domains): [B]."""
        if g.plan == "enumerate":
            rows = getattr(self, self._rows[g.id])                                    # [m, k]
            total = sum(self._logp(logp, self.index[name])[:, rows[:, j]]
                        for j, name in enumerate(g.scope))                           # [B, m]
            return torch.logsumexp(total, dim=1)
        if g.plan == "chain":
            return self._chain(g, logp)
        return self._contract(g, logp)

    @staticmethod
    def _logp(logp, i):
        return logp[:, i] if isinstance(logp, torch.Tensor) else logp[i]

    def _chain(self, g: LogicGroup, logp) -> torch.Tensor:
        chain = g.chain
        b = (logp.shape[0] if isinstance(logp, torch.Tensor) else logp[0].shape[0])
        message = torch.zeros((b, len(chain.states[0])), device=self.strength.device)   # log 1 at s_0
        masks = self._chain_masks.get(g.id)
        for j, (name, buffers) in enumerate(zip(chain.scope, self._chains[g.id])):
            s_prev, x, target = (getattr(self, b) for b in buffers)
            lp = self._logp(logp, self.index[name])                                      # [B, L]
            if masks is not None:
                lp = lp.masked_fill(~getattr(self, masks[j]), -torch.inf)
            values = message[:, s_prev] + lp[:, x]                                       # [B, M]
            message = scatter_logsumexp(values, target, len(chain.states[j + 1]))
        return torch.logsumexp(message, dim=1)

    def _contract(self, g: LogicGroup, logp) -> torch.Tensor:
        """log of the contraction of the group's logic tensors with its unknowns' distributions: [B]."""
        masks, tensors = self._contracted[g.id]
        floor = CONTRACT_FLOOR / len(g.scope)
        shift, ops = 0.0, []
        for name, mask in zip(g.scope, masks):
            mask = getattr(self, mask)                                                   # [L] bool
            lp = self._logp(logp, self.index[name]).double().masked_fill(~mask, -torch.inf)   # [B, L]
            peak = lp.max(dim=1, keepdim=True).values.detach()                           # [B, 1]
            ops.append(torch.exp((lp - peak).clamp_min(-floor)) * mask)                 # [B, L], at most 1
            shift = shift + peak[:, 0]
        ops += [getattr(self, t) for t in tensors]
        total = oe.contract(g.equation, *ops, optimize=list(g.path))                    # [B]
        return (torch.log(total.clamp_min(1e-300)) + shift).float()

    def energy(self, xi: torch.Tensor, alpha: float | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ξ [R, S, n, d] → (H [R, S], log P [R, S, K])."""
        lp = self.log_probs(xi)
        h = -alpha * (lp * self.strength).sum(-1) + 0.5 * (xi ** 2).sum(dim=(-1, -2))
        return h, lp

"""The compiled objective: a factor graph becomes one torch module that maps latents
ξ [R, S, n, d] (restarts × samples × unknowns × latent dims) to per-factor log-probabilities
log P_k [R, S, K], and the energy

    H(ξ; α) = − α Σ_k w_k log P_k(ξ) + ½ Σ_v |ξ_v|².

Per call, each network runs once on the whole batch: the generator on all R·S·n latents, the label
classifier once, each predicate network once on the unknowns it judges. Every factor is computed
in log space, exactly:

  predicate      log σ(±logit)
  label          log p[k]  or  log(1 − p[k]) = logsumexp over the other labels
  dense logic    logsumexp over the tensor's true entries of Σ_i log p_i[a_i]
  split chain    messages over partial sums, log-sum-exp scattered step by step

so that no probability underflows, whatever α (tested NaN-free at α = 100).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..graph.build import FactorGraph, LabelFactor, LogicFactor, PredicateFactor
from ..graph.logic import DenseLogic, LinearChain
from ..models.zoo import Generator, Negated, Readout, outputs_of


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
        return cls({n: _frozen(d.load_generator()) for n, d in domains.items()},
                   {n: _frozen(d.load_classifier()) for n, d in domains.items()},
                   {n: _frozen(p.load_network()) for n, p in preds.items()})


def _frozen(module: nn.Module) -> nn.Module:
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


PRECISIONS = ("float32", "bfloat16")


def pick_precision(name: str, device: str) -> str:
    """`auto`: bfloat16 on a CPU with native bf16 arithmetic (measured 2× faster per solver step
    there, with the same success: docs/BENCHMARKS.md), float32 elsewhere (a CPU without it would
    emulate bf16 slowly; on CUDA float32 is the measured default)."""
    if name != "auto":
        return name
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
    return torch.log(total) + safe_peak


class Objective(nn.Module):
    def __init__(self, graph: FactorGraph, networks: Networks, precision: str = "float32"):
        super().__init__()
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
        self.index = {n: i for i, n in enumerate(self.names)}
        self.domain_of = [u.domain.name for u in graph.unknowns]
        self.latent = {d: g.latent for d, g in networks.generators.items()}
        if len(set(self.latent.values())) != 1:
            raise ValueError("all generators of one riddle must share a latent dimension")
        self.d = next(iter(self.latent.values()))
        self.image_shape = tuple(graph.unknowns[0].domain.image_shape)
        self.factors = graph.factors
        self.register_buffer("strength", torch.tensor([f.strength for f in self.factors], dtype=torch.float32))
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
        self.needs_labels = any(not isinstance(f, PredicateFactor) or f.predicate.name in self._readout
                                for f in self.factors)
        # Logic tensors as index buffers, built once (buffers follow the module to the GPU).
        self._support: dict[str, str] = {}            # factor id → buffer name of its true entries [nnz, m]
        self._chains: dict[str, list[tuple[str, str, str]]] = {}
        for f in self.factors:
            if isinstance(f, LogicFactor) and isinstance(f.logic, DenseLogic):
                self._support[f.id] = self._buffer(torch.from_numpy(np.argwhere(f.logic.table)).long())
            elif isinstance(f, LogicFactor):
                steps = []
                for step in f.logic.step:                 # (s_prev, x) → target partial sum
                    step = torch.from_numpy(step)
                    s_prev, x = torch.nonzero(step >= 0, as_tuple=True)
                    steps.append((self._buffer(s_prev), self._buffer(x), self._buffer(step[s_prev, x])))
                self._chains[f.id] = steps
        self._label_pos = {f.id: graph.unknowns[self.index[f.scope[0]]].domain.labels.index(f.label)
                           for f in self.factors if isinstance(f, LabelFactor)}
        # Which unknowns each predicate network judges (each network runs once per call).
        self._pred_unknowns: dict[str, list[int]] = {}
        for f in self.factors:
            if isinstance(f, PredicateFactor):
                cols = self._pred_unknowns.setdefault(f.predicate.name, [])
                if self.index[f.scope[0]] not in cols:
                    cols.append(self.index[f.scope[0]])
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
        gain nothing from bf16 and pay the casts (measured: 5.8 vs 2.2 ms a step for one restart)."""
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
            return out.reshape(*lead, len(self.names), *out.shape[1:])
        parts = [None] * len(self.names)
        for dom in domains:
            cols = [i for i, d in enumerate(self.domain_of) if d == dom]
            imgs = self._generate(self.nets.generators[dom], flat[:, cols].reshape(-1, self.d))
            imgs = imgs.reshape(flat.shape[0], len(cols), *imgs.shape[1:])
            for j, c in enumerate(cols):
                parts[c] = imgs[:, j]
        out = torch.stack(parts, 1)
        return out.reshape(*lead, len(self.names), *out.shape[2:])

    def log_probs(self, xi: torch.Tensor) -> torch.Tensor:
        """ξ [R, S, n, d] → log P_k [R, S, K]."""
        R, S, n, _ = xi.shape
        imgs = self.images(xi).reshape(R * S, n, *self.image_shape)             # [B, n, H, W]
        B = R * S
        logp = None
        if self.needs_labels:
            dom = self.domain_of[0]
            if len(set(self.domain_of)) == 1:
                classifier = self.nets.classifiers[dom]
                L = len(self.graph.unknowns[0].domain.labels)
                out = self._run(lambda x: outputs_of(classifier, x), imgs.reshape(B * n, *imgs.shape[2:]))
                self._outputs = out.reshape(B, n, -1)                           # [B, n, L + heads]
                logp = torch.log_softmax(self._outputs[..., :L], -1)            # [B, n, L]
            else:
                self._outputs = None
                logp = [torch.log_softmax(self._run(self.nets.classifiers[self.domain_of[i]], imgs[:, i]), -1)
                        for i in range(n)]
        pred_logits = {}
        for name, cols in self._pred_unknowns.items():
            if name in self._readout:
                readout, sign = self._readout[name]
                pred_logits[name] = {c: sign * readout.from_outputs(self._outputs[:, c]) for c in cols}
                continue
            sel = imgs[:, cols].reshape(B * len(cols), *imgs.shape[2:])
            out = self._run(self.nets.predicates[name], sel).reshape(B, len(cols))
            pred_logits[name] = {c: out[:, j] for j, c in enumerate(cols)}
        columns = []
        for f in self.factors:
            if isinstance(f, PredicateFactor):
                logit = pred_logits[f.predicate.name][self.index[f.scope[0]]]
                columns.append(torch.nn.functional.logsigmoid(-logit if f.negated else logit))
            elif isinstance(f, LabelFactor):
                lp = self._logp(logp, self.index[f.scope[0]])                 # [B, L]
                k = self._label_pos[f.id]
                if f.negated:
                    others = torch.cat([lp[:, :k], lp[:, k + 1:]], dim=1)
                    columns.append(torch.logsumexp(others, dim=1))
                else:
                    columns.append(lp[:, k])
            elif isinstance(f.logic, DenseLogic):
                support = getattr(self, self._support[f.id])                    # [nnz, m]
                total = sum(self._logp(logp, self.index[name])[:, support[:, i]]
                            for i, name in enumerate(f.logic.scope))           # [B, nnz]
                columns.append(torch.logsumexp(total, dim=1))
            else:
                columns.append(self._chain(f, logp))
        return torch.stack(columns, dim=-1).reshape(R, S, len(self.factors))

    @staticmethod
    def _logp(logp, i):
        return logp[:, i] if isinstance(logp, torch.Tensor) else logp[i]

    def _chain(self, f: LogicFactor, logp) -> torch.Tensor:
        chain: LinearChain = f.logic
        b = (logp.shape[0] if isinstance(logp, torch.Tensor) else logp[0].shape[0])
        message = torch.zeros((b, len(chain.states[0])), device=self.strength.device)   # log 1 at s_0
        for j, (name, buffers) in enumerate(zip(chain.scope, self._chains[f.id])):
            s_prev, x, target = (getattr(self, b) for b in buffers)
            lp = self._logp(logp, self.index[name])                                      # [B, L]
            values = message[:, s_prev] + lp[:, x]                                       # [B, M]
            message = scatter_logsumexp(values, target, len(chain.states[j + 1]))
        return torch.logsumexp(message, dim=1)

    def energy(self, xi: torch.Tensor, alpha: float | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ξ [R, S, n, d] → (H [R, S], log P [R, S, K])."""
        lp = self.log_probs(xi)
        h = -alpha * (lp * self.strength).sum(-1) + 0.5 * (xi ** 2).sum(dim=(-1, -2))
        return h, lp

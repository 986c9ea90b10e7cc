"""Seed 003's coupled network (Flach, Shekhovtsov & Fikar, "Generative learning for deep networks"):
one dense sigmoid network whose forward pass recognises (image → class) and whose backward pass,
through the *same* weights transposed, generates (class → image) — the network, its training
objectives, and the generator and exact per-label sampler through which the `coupled` model family
(models/families.py) gives it to riddle's solvers.

The seed reads a sigmoid network as approximate inference in a layered Bayesian network of binary
units (a DCIM): each layer's units are independent given the layer before, with logistic
conditionals, and the approximation (its Eq. 2) propagates expectations instead of samples. A
forward model p(h_k+1 | h_k) and a backward model p(h_k | h_k+1) come close to one joint distribution
when the backward weights are the forward ones transposed; each direction keeps its own biases.

    forward   h_1 = σ(W_1 x + b_1), h_2 = σ(W_2 h_1 + b_2), p(y | x) = softmax(W_3 h_2 + b_3)
    backward  g_2 = σ(W_3ᵀ y + c_2), g_1 = σ(W_2ᵀ g_2 + c_1), E[x | y] = σ(W_1ᵀ g_1 + c_0)

Objectives (per image, to minimise), all over one parameter set:
- `discriminative`: −log p(y | x), the baseline the seed compares with;
- `generative`: −log p(y | x) − log p(x | y), the seed's estimator (its Eq. 16 with tied weights), the
  image likelihood Bernoulli per pixel with the backward expectations as means (grey levels in [0, 1]
  as soft targets);
- `reverse`: −log p(y | x) − log p(x | h_2), h_2 drawn binary from the forward model given x and
  expectations taken down the backward chain — our reading of the alternative objective the seed
  ran for its CNN (its Eq. 21: "h sampled for the current x"), which it reports captures writing
  styles where the generative one learns mean shapes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

SIZES = (784, 512, 512, 10)
OBJECTIVES = ("discriminative", "generative", "reverse")
IMAGE_WEIGHT = 0.1               # the shipped family's weight of the image term (`train`; bench/coupled.py)
EPOCHS = 60


class CoupledNet(nn.Module):
    """weights[k]: W_{k+1} [sizes[k+1], sizes[k]], used as is forward and transposed backward;
    forward_bias[k]: b_{k+1} [sizes[k+1]]; backward_bias[k]: c_k [sizes[k]]."""

    def __init__(self, sizes: tuple[int, ...] | list[int] = SIZES, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.sizes = tuple(sizes)
        self.config = {"sizes": list(sizes), "seed": seed}       # what store.save writes beside the weights
        self.weights = nn.ParameterList(
            nn.Parameter(torch.randn(o, i, generator=g) * (1.0 / i) ** 0.5) for i, o in zip(sizes[:-1], sizes[1:]))
        self.forward_bias = nn.ParameterList(nn.Parameter(torch.zeros(o)) for o in sizes[1:])
        self.backward_bias = nn.ParameterList(nn.Parameter(torch.zeros(i)) for i in sizes[:-1])

    def hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x [B, 784] or [B, 28, 28] → the forward expectations of every hidden layer [B, h_k]."""
        h, out = x.reshape(len(x), -1), []
        for W, b in zip(list(self.weights)[:-1], list(self.forward_bias)[:-1]):
            h = torch.sigmoid(h @ W.T + b)
            out.append(h)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x → class logits [B, classes] (softmax: p(y | x))."""
        return self.hidden(x)[-1] @ self.weights[-1].T + self.forward_bias[-1]

    def down(self, top: torch.Tensor, start: int, sample: int = 0, generator: torch.Generator | None = None
             ) -> torch.Tensor:
        """The backward chain from layer `start` (len(sizes) − 1: the class layer) to the image: top [B,
        sizes[start]] (a one-hot class, class probabilities, or a hidden layer's values) → pixel means
        [B, 784]. The first `sample` hidden layers reached are drawn binary (the seed's recursive
        sampling), the rest are expectations (its Eq. 2)."""
        g = top
        for k in range(start - 1, -1, -1):                      # weights[k] maps layer k → k + 1
            p = torch.sigmoid(g @ self.weights[k] + self.backward_bias[k])
            if k > 0 and start - k <= sample:
                p = torch.bernoulli(p, generator=generator)
            g = p
        return g

    def generate(self, labels: torch.Tensor, sample: int = 0, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        """labels [B] (class indices) → images [B, 28, 28]: pixel means given the class; `sample` as in
        `down` (0: expectations all the way — the mean shape; 1: one sampled layer, then expectations;
        2: recursive sampling through both hidden layers)."""
        onehot = F.one_hot(labels, self.sizes[-1]).float()
        return self.down(onehot, len(self.sizes) - 1, sample, generator).reshape(len(labels), 28, 28)


def losses(net: CoupledNet, x: torch.Tensor, y: torch.Tensor, objective: str,
           generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """x [B, 28, 28] in [0, 1], y [B] → (forward NLL, backward NLL), each a mean per image (nats); the
    backward one is 0 for `discriminative`. Minimise forward + image_weight · backward (`train`)."""
    flat = x.reshape(len(x), -1)
    hidden = net.hidden(flat)
    logits = hidden[-1] @ net.weights[-1].T + net.forward_bias[-1]
    forward = F.cross_entropy(logits, y)
    if objective == "discriminative":
        return forward, torch.zeros((), device=x.device)
    if objective == "generative":
        means = net.down(F.one_hot(y, net.sizes[-1]).float(), len(net.sizes) - 1)
    elif objective == "reverse":
        top = torch.bernoulli(hidden[-1].detach(), generator=generator)
        means = net.down(top, len(net.sizes) - 2)
    else:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, not {objective!r}")
    backward = F.binary_cross_entropy(means.clamp(1e-6, 1 - 1e-6), flat, reduction="sum") / len(x)
    return forward, backward


@dataclass
class History:
    objective: str
    epochs: list[dict] = field(default_factory=list)       # per epoch: forward / backward loss, val accuracy


def train(images: torch.Tensor, labels: torch.Tensor, objective: str = "generative", epochs: int = 10,
          batch: int = 64, lr: float = 1e-3, seed: int = 0, val: tuple[torch.Tensor, torch.Tensor] | None = None,
          sizes: tuple[int, ...] = SIZES, image_weight: float = 1.0, log=None) -> tuple[CoupledNet, History]:
    """Adam on forward NLL + image_weight · backward NLL (no dropout or other regulariser, as the seed),
    shuffled mini-batches from a seeded generator. → the network (eval mode) and its per-epoch history.

    image_weight 1 is the seed's Eq. 16 as written (the image's log-likelihood summed over pixels);
    the losses its experiments report (0.14-0.23 for the reverse part) are per-pixel means, i.e. 1/784.
    The 784 pixel terms outweigh the class term and cost the classifier accuracy; 1/784 keeps the
    accuracy but draws samples the judge reads right only 70 % of the time (docs/BENCHMARKS.md,
    "Coupled network", where the weight the family ships with, IMAGE_WEIGHT, was measured)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, not {objective!r}")
    g = torch.Generator().manual_seed(seed)
    net = CoupledNet(sizes, seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    history = History(objective)
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(images), generator=g)
        totals = torch.zeros(2)
        for k in range(0, len(order), batch):
            idx = order[k:k + batch]
            fwd, bwd = losses(net, images[idx], labels[idx], objective, g)
            opt.zero_grad()
            (fwd + image_weight * bwd).backward()
            opt.step()
            totals += torch.stack([fwd.detach(), bwd.detach()]) * len(idx)
        row = {"epoch": epoch + 1, "forward": float(totals[0]) / len(images),
               "backward": float(totals[1]) / len(images)}
        if val is not None:
            row["val_accuracy"] = accuracy(net, *val)
        history.epochs.append(row)
        if log:
            log(row)
    return net.eval(), history


@torch.no_grad()
def accuracy(net: CoupledNet, images: torch.Tensor, labels: torch.Tensor) -> float:
    was = net.training
    net.eval()
    out = float((net(images).argmax(-1) == labels).float().mean())
    net.train(was)
    return out


# ── the coupled network as a model family riddle solves with (`models coupled`) ─────────────────

def _logistic_of_normal(z: torch.Tensor) -> torch.Tensor:
    """z ~ N(0, 1) → logit Φ(z) ~ Logistic(0, 1), elementwise (the quantile transform)."""
    u = torch.special.ndtr(z).clamp(1e-7, 1 - 1e-7)
    return torch.log(u) - torch.log1p(-u)


class CoupledGenerator(nn.Module):
    """The backward model as a generator G(ξ) with ξ ~ N(0, I), so every solver riddle has can draw
    from it: ξ [N, classes + h] → images [N, 28, 28].

        class  c = one-hot(argmax ξ_class)                 each class 1/10 of the prior, as the seed's
        top    g = σ((β a + ℓ) / τ), a = W_topᵀ c + c_top, ℓ = logit Φ(ξ_top) ~ Logistic(0, 1)
               τ → 0: g_j = 1[β a_j + ℓ_j > 0] ~ Bernoulli(σ(β a_j)) — the seed's one sampled layer
        image  expectations down the backward chain from g (its Eq. 2), pixel logits × `sharpness`

    Differentiable for the VI methods and HMC: the top layer is soft at τ (its draws are the seed's
    to within a few per cent of the units), and the class passes its gradient straight through a
    softmax at `class_temperature` (the forward value stays the exact one-hot) — with the softmax
    itself (τ 0.05) a restart could hardly leave the class its start drew: 33 % of 12 advi restarts
    right on `x is 7`, 67 % straight through (docs/MODELS.md, "Seed 003's coupled network"). Two
    sharpenings, both 1 in the seed: `top_sharpness` β draws the sampled layer at a lower temperature
    (a unit the class makes likely is drawn more surely), and `sharpness` multiplies the pixel logits,
    so the image is nearer the pixel-wise most likely one than the blurry means. The defaults (2, 2)
    were chosen on bench/coupled.py's scan (docs/BENCHMARKS.md, "Coupled network"): at (1, 1) the
    judge reads a fifth of the samples as their class."""

    def __init__(self, net: CoupledNet, temperature: float = 0.05, top_sharpness: float = 2.0,
                 sharpness: float = 2.0, class_temperature: float = 1.0):
        super().__init__()
        self.net = net
        self.classes, self.units = net.sizes[-1], net.sizes[-2]
        self.latent = self.classes + self.units
        self.image_shape = (28, 28) if net.sizes[0] == 784 else (net.sizes[0],)
        self.temperature, self.top_sharpness, self.sharpness = temperature, top_sharpness, sharpness
        self.class_temperature = class_temperature

    def classes_of(self, xi: torch.Tensor) -> torch.Tensor:
        """ξ [N, d] → the one-hot class [N, classes], its gradient a softmax's (straight through)."""
        z = xi[:, :self.classes]
        soft = torch.softmax(z / self.class_temperature, -1)
        return F.one_hot(z.argmax(-1), self.classes).to(z.dtype) + (soft - soft.detach())     # value: 0 exactly

    def top(self, xi: torch.Tensor) -> torch.Tensor:
        """ξ [N, d] → the top hidden layer's (nearly binary) values [N, h]."""
        net, k = self.net, len(self.net.sizes) - 2
        a = self.classes_of(xi) @ net.weights[k] + net.backward_bias[k]
        return torch.sigmoid((self.top_sharpness * a + _logistic_of_normal(xi[:, self.classes:])) / self.temperature)

    def forward(self, xi: torch.Tensor) -> torch.Tensor:
        g = self.top(xi)
        net = self.net
        for k in range(len(net.sizes) - 3, -1, -1):
            pre = g @ net.weights[k] + net.backward_bias[k]
            g = torch.sigmoid(pre * self.sharpness if k == 0 else pre)
        return g.reshape(len(xi), *self.image_shape)


class CoupledLabelSampler(nn.Module):
    """The exact per-label proposal for `CoupledGenerator`: ξ ~ N(0, I) given argmax ξ_class = label,
    i.e. the backward model given the class. Drawn by moving the largest of the class coordinates to
    the label's place (the conditional law is the prior's, permuted), so q(ξ | k) = 10 · N(ξ) where
    argmax ξ_class = k, else 0. The collapsed sampler (infer/collapsed.py) weighs its draws by p(ξ) E / q:
    here E / 10, only the forward networks' say."""

    def __init__(self, classes: int = 10, latent: int = 522):
        super().__init__()
        self.labels, self.latent = classes, latent

    def _log_normal(self, xi: torch.Tensor) -> torch.Tensor:
        return -0.5 * (xi ** 2).sum(-1) - 0.5 * xi.shape[-1] * math.log(2 * math.pi)

    def log_prob(self, xi: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        inside = xi[:, :self.labels].argmax(-1) == label
        return torch.where(inside, self._log_normal(xi) + math.log(self.labels), torch.full_like(xi[:, 0], -math.inf))

    def sample(self, label: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """label [N], noise [N, d] ~ N(0, I) → (ξ [N, d], log q(ξ | label) [N])."""
        xi = noise.clone()
        rows = torch.arange(len(xi), device=xi.device)
        top = xi[:, :self.labels].argmax(-1)
        at_top, at_label = xi[rows, top].clone(), xi[rows, label].clone()
        xi[rows, label], xi[rows, top] = at_top, at_label
        return xi, self._log_normal(xi) + math.log(self.labels)

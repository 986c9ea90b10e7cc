"""Seed 003's coupled network (Flach, Shekhovtsov & Fikar, "Generative learning for deep networks"):
one dense sigmoid network whose forward pass recognises (image → class) and whose backward pass,
through the *same* weights transposed, generates (class → image). Issue 30; this module is its
model and training objectives — the model family riddle solves with comes next (see the issue).

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

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

SIZES = (784, 512, 512, 10)
OBJECTIVES = ("discriminative", "generative", "reverse")


class CoupledNet(nn.Module):
    """weights[k]: W_{k+1} [sizes[k+1], sizes[k]], used as is forward and transposed backward;
    forward_bias[k]: b_{k+1} [sizes[k+1]]; backward_bias[k]: c_k [sizes[k]]."""

    def __init__(self, sizes: tuple[int, ...] = SIZES, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.sizes = tuple(sizes)
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
    backward one is 0 for `discriminative`. Minimise their sum."""
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
          sizes: tuple[int, ...] = SIZES, log=None) -> tuple[CoupledNet, History]:
    """Adam on the objective's summed losses (no dropout or other regulariser, as the seed), shuffled
    mini-batches from a seeded generator. → the network (eval mode) and its per-epoch history."""
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
            (fwd + bwd).backward()
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

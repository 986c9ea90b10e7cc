"""The architectures of riddle's models. Small on purpose: during a solve every network sees
R restarts × S samples × n unknowns images per step, forward and backward, so a network's cost is
paid thousands of times a second (see docs/MODELS.md for the measured trade-off).

All networks take images [N, 28, 28] in [0, 1] (MNIST convention) and return logits.
"""
from __future__ import annotations

import copy
import functools

import torch
import torch.nn.functional as F
from torch import nn

# Single-channel layers, rewritten. oneDNN runs a convolution with one input or one output channel
# at a fraction of its speed elsewhere (the decoder's last transposed convolution and the backward
# pass of the classifier's first strided one). The same arithmetic as a stride-1 convolution on a
# space-to-depth (pixel-unshuffled) image, or as a stride-1 convolution whose channels are the
# output's 2 x 2 phases (pixel-shuffled back), is faster per layer and per solver step
# (docs/history/BENCHMARKS.md, "Layer rewrite"). The layers keep their parameters; only the call changes.

@functools.lru_cache(maxsize=None)
def _taps(kernel: int, offsets: int, flip: bool) -> torch.Tensor:
    """[phase 2, offset, kernel] 0/1: which kernel tap links a stride-2 layer's phase and offset."""
    t = torch.zeros(2, offsets, kernel)
    for p in range(2):
        for j in range(offsets):
            k = 2 * j + p if not flip else {(0, 0): 3, (0, 1): 1, (1, 1): 2, (1, 2): 0}.get((p, j), -1)
            if 0 <= k < kernel:
                t[p, j, k] = 1.0
    return t


def strided_conv(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """conv(x) for a Conv2d with kernel 5, stride 2, padding 2 on an even-sized image, computed as a
    3 x 3 stride-1 convolution of pixel_unshuffle(x, 2): tap k of the kernel reads input 2j + p - 2,
    i.e. phase p = k mod 2 at offset j = k // 2."""
    if (
        (conv.kernel_size, conv.stride, conv.padding, conv.dilation, conv.groups) != ((5, 5), (2, 2), (2, 2), (1, 1), 1)
        or conv.padding_mode != "zeros"
        or x.shape[-1] % 2
        or x.shape[-2] % 2
    ):
        return conv(x)
    u = _taps(5, 3, flip=False).to(conv.weight)                                     # [2, 3, 5]
    w = torch.einsum("ayk,bxl,oikl->oiabyx", u, u, conv.weight)                       # [out, in, 2, 2, 3, 3]
    return F.conv2d(F.pixel_unshuffle(x, 2), w.reshape(w.shape[0], -1, 3, 3), conv.bias, padding=1)


def transposed_conv(x: torch.Tensor, deconv: nn.ConvTranspose2d) -> torch.Tensor:
    """deconv(x) for a ConvTranspose2d with kernel 4, stride 2, padding 1, computed as a 3 x 3
    stride-1 convolution with four channels per output channel (its 2 x 2 phases), pixel-shuffled:
    output 2m + a reads inputs m - 1 and m (a = 0, taps 3 and 1) or m and m + 1 (a = 1, taps 2 and 0)."""
    if (deconv.kernel_size, deconv.stride, deconv.padding, deconv.output_padding, deconv.dilation, deconv.groups) \
            != ((4, 4), (2, 2), (1, 1), (0, 0), (1, 1), 1):
        return deconv(x)
    t = _taps(4, 3, flip=True).to(deconv.weight)                                     # [2, 3, 4]
    w = torch.einsum("ayk,bxl,iokl->oabiyx", t, t, deconv.weight)                     # [out, 2, 2, in, 3, 3]
    bias = deconv.bias.repeat_interleave(4) if deconv.bias is not None else None
    return F.pixel_shuffle(F.conv2d(x, w.reshape(-1, w.shape[3], 3, 3), bias, padding=1), 2)


class LabelNet(nn.Module):
    """The label classifier F: strided convolutions, ~1.5 M multiply-adds per image at width 24.

    `heads` names extra binary outputs on the same features: predicates that are not functions of
    the label (`closed circle`) but share the classifier's trunk, so that one network call per
    solver step serves the labels and every head (a separate predicate network cost a fifth of a
    step: docs/MODELS.md). `forward` returns the label logits only, `outputs` everything."""

    def __init__(self, classes: int = 10, width: int = 24, heads: tuple[str, ...] | list[str] = ()):
        super().__init__()
        self.config = {"classes": classes, "width": width, "heads": list(heads)}
        self.classes, self.heads = classes, tuple(heads)
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(1, w, 5, stride=2, padding=2), nn.ReLU(),            # 14 x 14
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.ReLU(),        # 7 x 7
            nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1), nn.ReLU(),    # 4 x 4
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(4 * w * 16, classes + len(heads)))

    def outputs(self, x: torch.Tensor) -> torch.Tensor:        # x: [N, 28, 28] → [N, classes + heads]
        h = strided_conv(x.unsqueeze(1), self.features[0])          # the 1-channel layer, rewritten
        for layer in self.features[1:]:
            h = layer(h)
        return self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:        # x: [N, 28, 28] → [N, classes]
        return self.outputs(x)[:, :self.classes]


class LeNet(nn.Module):
    """DeepProbLog's MNIST network (examples/MNIST/network.py, `MNIST_Net`), returning logits: two
    5 x 5 convolutions with max-pooling, then 256 → 120 → 84 → classes. `riddle learn --net lenet` trains
    it, so that bench/learn.py compares riddle and DeepProbLog on the same network. Heads as LabelNet's."""

    def __init__(self, classes: int = 10, heads: tuple[str, ...] | list[str] = ()):
        super().__init__()
        self.config = {"classes": classes, "heads": list(heads)}
        self.classes, self.heads = classes, tuple(heads)
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.MaxPool2d(2, 2), nn.ReLU(True),       # 6 x 12 x 12
            nn.Conv2d(6, 16, 5), nn.MaxPool2d(2, 2), nn.ReLU(True),      # 16 x 4 x 4
        )
        self.classifier = nn.Sequential(nn.Linear(16 * 4 * 4, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                                        nn.Linear(84, classes + len(heads)))

    def outputs(self, x: torch.Tensor) -> torch.Tensor:        # x: [N, 28, 28] → [N, classes + heads]
        x = (x.unsqueeze(1) - 0.5) / 0.5                           # DeepProbLog's Normalize((0.5,), (0.5,))
        return self.classifier(self.encoder(x).flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:        # x: [N, 28, 28] → [N, classes]
        return self.outputs(x)[:, :self.classes]


def outputs_of(classifier: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """All of a classifier's outputs (labels first, then heads); a plugin's classifier has only labels."""
    return classifier.outputs(x) if hasattr(classifier, "outputs") else classifier(x)


class PredicateNet(LabelNet):
    """A neural predicate of its own: the same shape of network with one logit (the predicate holds)."""

    def __init__(self, width: int = 8):
        super().__init__(classes=1, width=width)
        self.config = {"width": width}

    def forward(self, x: torch.Tensor) -> torch.Tensor:        # [N, 28, 28] → [N]
        return super().forward(x).squeeze(-1)


class Negated(nn.Module):
    """The complement of a predicate: logit → −logit, so σ(−l) = 1 − σ(l)."""

    def __init__(self, predicate: nn.Module):
        super().__init__()
        self.predicate = predicate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -self.predicate(x)


class Readout(nn.Module):
    """A predicate read off a label classifier's outputs. Inside a solve the objective computes
    the classifier's outputs once per step and hands them to every readout (`from_outputs`)."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier

    def from_outputs(self, outputs: torch.Tensor) -> torch.Tensor:     # [N, classes + heads] → [N]
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.from_outputs(outputs_of(self.classifier, x))


class LabelReadout(Readout):
    """The logit of P(label ∈ true_labels): logsumexp(logits[true]) − logsumexp(logits[false]).
    Used for `odd`/`even`: measured more accurate than a parity network of its own (docs/MODELS.md)."""

    def __init__(self, classifier: nn.Module, true_labels: tuple[int, ...], classes: int = 10):
        super().__init__(classifier)
        mask = torch.zeros(classes, dtype=torch.bool)
        mask[list(true_labels)] = True
        self.register_buffer("mask", mask)

    def from_outputs(self, outputs: torch.Tensor) -> torch.Tensor:
        logits = outputs[:, :len(self.mask)]
        return torch.logsumexp(logits[:, self.mask], -1) - torch.logsumexp(logits[:, ~self.mask], -1)


class HeadReadout(Readout):
    """One of the classifier's extra heads (LabelNet `heads`): its logit."""

    def __init__(self, classifier: LabelNet, head: str):
        super().__init__(classifier)
        if head not in classifier.heads:
            raise ValueError(f"the classifier has no head `{head}` (it has: {', '.join(classifier.heads) or 'none'})")
        self.column = classifier.classes + classifier.heads.index(head)

    def from_outputs(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs[:, self.column]


class JudgeNet(nn.Module):
    """The independent judge: an ensemble of CNNs of a different design from the label classifier
    (3 x 3 convolutions, batch norm, pooling), averaged in probability. It only evaluates answers,
    on R x n images once, so its cost does not matter. Returns log of the mean probabilities (usable
    as logits: softmax gives the ensemble's probabilities back)."""

    def __init__(self, classes: int = 10, width: int = 24, members: int = 3):
        super().__init__()
        self.config = {"classes": classes, "width": width, "members": members}

        def block(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                                 nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                                 nn.MaxPool2d(2))

        def member():
            return nn.Sequential(block(1, width), block(width, 2 * width), nn.Flatten(), nn.Dropout(0.4),
                                 nn.Linear(2 * width * 49, 128), nn.ReLU(), nn.Dropout(0.4), nn.Linear(128, classes))
        self.members = nn.ModuleList(member() for _ in range(members))
        self.active: int | None = None          # training fits one member at a time

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(1)
        if self.active is not None:
            return self.members[self.active](x)
        probs = torch.stack([m(x).softmax(-1) for m in self.members]).mean(0)
        return probs.clamp_min(1e-12).log()


def for_inference(module: nn.Module) -> nn.Module:
    """An evaluation-only copy of a network that computes the same function faster: every Conv2d
    followed by a BatchNorm2d (inside an nn.Sequential) gets the normalisation folded into its
    weights, and the parameters are stored channels-last, the layout oneDNN's convolutions prefer.
    It halves the judge's time with outputs equal to 1e-5 (docs/ARCHITECTURE.md, "Decisions"). The
    original is left as it is (it may be shared, saved or trained)."""
    fast = copy.deepcopy(module).eval()
    for seq in [m for m in fast.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            conv, norm = seq[i], seq[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d) and norm.running_mean is not None:
                seq[i] = torch.nn.utils.fuse_conv_bn_eval(conv, norm)
                seq[i + 1] = nn.Identity()
    return fast.to(memory_format=torch.channels_last)


class Encoder(nn.Module):
    """VAE encoder q(z | x): images → (mean, log variance) of a d-dimensional latent."""

    def __init__(self, latent: int = 16, width: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),                # 14
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2),        # 7
            nn.Flatten(), nn.Linear(2 * width * 49, 256), nn.LeakyReLU(0.2), nn.Linear(256, 2 * latent))

    def forward(self, x):
        mean, logvar = self.net(x.unsqueeze(1)).chunk(2, dim=-1)
        return mean, logvar


class Decoder(nn.Module):
    """VAE decoder: latent z [N, d] → pixel logits [N, 28, 28]."""

    def __init__(self, latent: int = 16, width: int = 24):
        super().__init__()
        self.width = width
        self.fc = nn.Sequential(nn.Linear(latent, 256), nn.LeakyReLU(0.2), nn.Linear(256, 2 * width * 49),
                                nn.LeakyReLU(0.2))
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.LeakyReLU(0.2),   # 14
            nn.ConvTranspose2d(width, 1, 4, 2, 1))                             # 28

    def forward(self, z):
        h = self.fc(z).view(-1, 2 * self.width, 7, 7)
        h = self.deconv[1](self.deconv[0](h))
        return transposed_conv(h, self.deconv[2]).squeeze(1)        # the 1-channel layer, rewritten


class Coupling(nn.Module):
    """A RealNVP affine coupling layer on a d-dimensional vector."""

    def __init__(self, dim: int, mask: torch.Tensor, hidden: int = 128):
        super().__init__()
        self.register_buffer("mask", mask)
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                                 nn.LeakyReLU(0.2), nn.Linear(hidden, 2 * dim))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, x):            # x → y, log|det dy/dx|
        scale, shift = self.net(x * self.mask).chunk(2, dim=-1)
        scale = torch.tanh(scale) * (1 - self.mask)
        shift = shift * (1 - self.mask)
        return x * torch.exp(scale) + shift, scale.sum(-1)

    def inverse(self, y):
        scale, shift = self.net(y * self.mask).chunk(2, dim=-1)
        scale = torch.tanh(scale) * (1 - self.mask)
        shift = shift * (1 - self.mask)
        return (y - shift) * torch.exp(-scale), -scale.sum(-1)


class Flow(nn.Module):
    """ξ ~ N(0, I) → z in the VAE's latent space, fitted to the encoder's aggregate posterior
    (a two-stage VAE): prior samples then land where the decoder draws real-looking digits."""

    def __init__(self, dim: int = 16, layers: int = 8, hidden: int = 128):
        super().__init__()
        masks = [(torch.arange(dim) + i) % 2 for i in range(layers)]
        self.layers = nn.ModuleList(Coupling(dim, m.float(), hidden) for m in masks)

    def forward(self, xi):           # ξ → z
        for layer in self.layers:
            xi, _ = layer(xi)
        return xi

    def log_prob(self, z):           # log q(z) under the flow, for training
        logdet = torch.zeros(z.shape[0])
        for layer in reversed(self.layers):
            z, ld = layer.inverse(z)
            logdet = logdet + ld
        return -0.5 * (z ** 2).sum(-1) - 0.5 * z.shape[-1] * torch.log(torch.tensor(2 * torch.pi)) + logdet


class Generator(nn.Module):
    """G: ξ [N, d] ~ N(0, I) → image [N, 28, 28] in [0, 1]: flow, decoder, sigmoid.
    `sharpness` multiplies the decoder's logits: > 1 draws crisper strokes than the blurry mean."""

    def __init__(self, latent: int = 16, width: int = 24, flow_layers: int = 8, sharpness: float = 1.0):
        super().__init__()
        self.config = {"latent": latent, "width": width, "flow_layers": flow_layers, "sharpness": sharpness}
        self.latent = latent
        self.flow = Flow(latent, flow_layers)
        self.decoder = Decoder(latent, width)
        self.register_buffer("sharpness", torch.tensor(float(sharpness)))

    def decode(self, z: torch.Tensor) -> torch.Tensor:          # z [N, d] (after the flow) → [N, 28, 28]
        return torch.sigmoid(self.sharpness * self.decoder(z))

    def forward(self, xi: torch.Tensor) -> torch.Tensor:
        return self.decode(self.flow(xi))


class LabelSampler(nn.Module):
    """The learned per-label sampler: q(ξ | label), a conditional neural spline flow (zuko) over the
    generator's latent ξ [N, d], its context the label one-hot. Trained by maximum likelihood on prior
    draws weighted by how surely the label classifier reads each as the label (train.fit_sampler), so
    it covers each class as the generator draws it; the collapsed sampler (infer/collapsed.py) draws
    from it and corrects with the real networks (importance weights), so an answer stays a sample of
    the riddle, not of this flow. Coupling transforms (`passes=2`): sampling and density in one pass each."""

    def __init__(self, latent: int = 16, labels: int = 10, transforms: int = 4, hidden: int = 128):
        super().__init__()
        import zuko
        self.config = {"latent": latent, "labels": labels, "transforms": transforms, "hidden": hidden}
        self.latent, self.labels = latent, labels
        self.flow = zuko.flows.NSF(latent, labels, transforms=transforms, hidden_features=(hidden, hidden), passes=2)

    def _given(self, label: torch.Tensor):
        return self.flow(F.one_hot(label, self.labels).float())

    def log_prob(self, xi: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """ξ [N, d], label positions [N] → log q(ξ | label) [N]."""
        return self._given(label).log_prob(xi)

    def sample(self, label: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """label positions [N], base noise [N, d] ~ N(0, I) (the caller's generator: reproducible) →
        (ξ [N, d], log q(ξ | label) [N]) in one pass."""
        dist = self._given(label)
        xi, ladj = dist.transform.inv.call_and_ladj(noise)
        return xi, dist.base.log_prob(noise) - ladj

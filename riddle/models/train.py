"""`riddle train`: every model of the zoo, from digit images, on the CPU, in minutes.

Order matters: the generator first (a VAE whose prior is a RealNVP flow, trained jointly), then the
judge (trained on split B and the generator's reconstructions of it; it then measures the
generator), then the label classifier with its `closed circle` head — one network, trained on real
digits *and* on the generator's reconstructions of them (labelled by the digit they reconstruct),
so that it stays right on the blurrier images the solver will show it; the head also learns from
prior samples, by topology (a hole in the ink), whose labels are unknown. `odd` and `even` are read
off the label classifier (zoo.LabelReadout), `closed circle` off its head (zoo.HeadReadout).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import data as data_mod
from . import store, zoo
from .progress import Progress
from .registry import READING_CARD_KEY, VARIETY_CARD_KEY
from .topology import INK_THRESHOLD, MIN_HOLE_PIXELS, has_closed_circle
from .variety import pairwise_rms, reference_spreads
from .views import augment

ODD = (1, 3, 5, 7, 9)
READING_VIEWS = 16               # distortions a sheet's cell is read under, besides itself (fit_reading_temperature)
CLOSED_CIRCLE = (0, 6, 8, 9)


@dataclass(frozen=True)
class SamplerConfig:
    """The learned per-label sampler (zoo.LabelSampler): what it is trained on and how."""
    draws: int = 200_000              # prior draws read by the label classifier: the training set
    alpha: float = 80.0               # E(k, ξ) = p_T(k | G(ξ))^α: the collapsed sampler's α (infer/collapsed.py)
    temperature: float = 2.0          # p_T: the logic's label temperature (infer/objective.py; a test ties them)
    min_weight: float = 1e-3          # pairs (ξ, k) with E below this are left out (they weigh nothing)
    epochs: int = 20
    batch: int = 1024
    lr: float = 2e-3
    transforms: int = 3
    hidden: int = 128
    measure: int = 1000               # flow draws per label for the card's figures


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    judge_epochs: int = 15
    generator_epochs: int = 240
    generator_plain_epochs: int = 60  # the last epochs train on the digits without augmentation
    classifier_epochs: int = 60
    latent: int = 16
    generator_width: int = 24         # decoder channels (docs/MODELS.md: 32 drew no better, 1.7× the multiply-adds)
    classifier_width: int = 24
    sharpness: float = 2.0            # decoder logits × this: crisper strokes (chosen in docs/MODELS.md)
    reconstructions: int = 2          # stochastic reconstructions per training digit
    prior_samples: int = 8000         # generated images with topology labels, for `closed circle`
    batch: int = 64
    limit: int | None = None          # train on the first N training digits only (tests)
    sampler: SamplerConfig = field(default_factory=lambda: SamplerConfig())


# ── a generic fitting loop (its distortions: models/views.py) ──────────────────

def labels_and_heads_loss(outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A LabelNet with heads: y [B, 1 + heads] holds the label (−1: unknown, e.g. a prior sample)
    and a 0/1 target per head. Cross-entropy on the known labels plus each head's binary loss."""
    classes = outputs.shape[1] - (y.shape[1] - 1)
    known = y[:, 0] >= 0
    loss = F.cross_entropy(outputs[known, :classes], y[known, 0]) if known.any() else outputs.sum() * 0
    return loss + F.binary_cross_entropy_with_logits(outputs[:, classes:], y[:, 1:].float(), reduction="sum") / len(y)


def fit(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int, label: str,
        binary: bool = False, lr: float = 3e-3, batch: int = 64, progress: bool = True, loss_fn=None) -> float:
    """Train a classifier (cross-entropy), a predicate (binary, y in {0, 1}) or, with `loss_fn`
    (outputs, y) → loss, anything else, with augmentation, AdamW and a one-cycle schedule.
    Models with `outputs` (LabelNet) are trained on all their outputs. Returns seconds."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps_per_epoch = math.ceil(len(x) / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(1, epochs * steps_per_epoch))
    bar = Progress(epochs, label, enabled=progress)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        loss = torch.zeros(())
        for i in range(0, len(x), batch):
            b = perm[i:i + batch]
            out = (model.outputs if loss_fn else model)(augment(x[b], g))
            if loss_fn:
                loss = loss_fn(out, y[b])
            elif binary:
                loss = F.binary_cross_entropy_with_logits(out, y[b].float())
            else:
                loss = F.cross_entropy(out, y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        bar.update()
    model.eval()
    return bar.close()


def fit_generator(x: torch.Tensor, cfg: TrainConfig, progress: bool = True) -> tuple[zoo.Generator, zoo.Encoder, float]:
    """A VAE whose prior is the generator's flow, trained jointly: the KL term pulls the encoder's
    posteriors and the flow's density together, so that N(0, I) pushed through the flow lands
    where the decoder draws real-looking digits."""
    g = torch.Generator().manual_seed(cfg.seed + 10)
    torch.manual_seed(cfg.seed + 10)
    gen = zoo.Generator(latent=cfg.latent, width=cfg.generator_width, sharpness=cfg.sharpness)
    enc = zoo.Encoder(cfg.latent)
    opt = torch.optim.Adam(list(enc.parameters()) + list(gen.parameters()), lr=1e-3)
    # cosine decay to 0, and the last epochs see the digits as they are: both sharpen the prior's
    # samples (docs/MODELS.md, "Design decisions")
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.5 * (1 + math.cos(math.pi * e / cfg.generator_epochs)))
    bar = Progress(cfg.generator_epochs, "generator (VAE + flow)", enabled=progress)
    log2pi = math.log(2 * math.pi)
    for epoch in range(cfg.generator_epochs):
        perm = torch.randperm(len(x), generator=g)
        augmenting = epoch < cfg.generator_epochs - cfg.generator_plain_epochs
        for i in range(0, len(x), cfg.batch):
            b = x[perm[i:i + cfg.batch]]
            if augmenting and torch.rand(1, generator=g).item() < 0.5:
                b = augment(b, g)
            mean, logvar = enc(b)
            z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
            reconstruction = F.binary_cross_entropy_with_logits(gen.decoder(z), b, reduction="sum") / len(b)
            log_q = (-0.5 * ((z - mean) ** 2 / logvar.exp() + logvar + log2pi)).sum(-1)
            kl = (log_q - gen.flow.log_prob(z)).mean()
            loss = reconstruction + kl
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        bar.update(note=f"loss {loss.item():.1f}")
    gen.eval()
    enc.eval()
    return gen, enc, bar.close()


@torch.no_grad()
def reconstruct(gen: zoo.Generator, enc: zoo.Encoder, x: torch.Tensor, copies: int, seed: int) -> torch.Tensor:
    """Stochastic reconstructions G-style (same sharpness): [copies · N, 28, 28]."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(copies):
        for i in range(0, len(x), 1000):
            mean, logvar = enc(x[i:i + 1000])
            z = mean + torch.randn(mean.shape, generator=g) * (0.5 * logvar).exp()
            out.append(torch.sigmoid(gen.sharpness * gen.decoder(z)))
    return torch.cat(out)


@torch.no_grad()
def prior_samples(gen: zoo.Generator, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.cat([gen(torch.randn(min(1000, n - i), gen.latent, generator=g)) for i in range(0, n, 1000)])


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    return torch.cat([model(x[i:i + 2000]) for i in range(0, len(x), 2000)])


def accuracy(model, x, y, binary=False) -> float:
    out = predict(model, x)
    guess = (out > 0).long() if binary else out.argmax(-1)
    return float((guess == y).float().mean())


@torch.no_grad()
def generator_quality(gen: zoo.Generator, judge: torch.nn.Module, n: int, seed: int) -> dict:
    """Of n prior samples: the share the judge labels with max probability > 0.9, and the class mix."""
    p = predict(judge, prior_samples(gen, n, seed)).softmax(-1)
    conf, label = p.max(-1)
    shares = np.bincount(label.numpy(), minlength=10) / n
    return {"samples": n, "confident_share": float((conf > 0.9).float().mean()),
            "class_shares": [round(float(s), 4) for s in shares]}


# ── the learned per-label sampler ───────────────────────────────────────────

@torch.no_grad()
def label_evidence(gen: zoo.Generator, classifier: torch.nn.Module, xi: torch.Tensor, cfg: SamplerConfig,
                   chunk: int = 4096) -> torch.Tensor:
    """ξ [N, d] → log E(k, ξ) = α · log p_T(k | G(ξ)) [N, L]: how surely the label classifier, at the
    logic's temperature, reads each prior draw as each label — the collapsed sampler's acceptance for
    an unknown whose only evidence is its label."""
    out = []
    for i in range(0, len(xi), chunk):
        logits = classifier(gen(xi[i:i + chunk]))                                      # labels only
        out.append(cfg.alpha * torch.log_softmax(logits / cfg.temperature, -1))
    return torch.cat(out)


def fit_sampler(gen: zoo.Generator, classifier: torch.nn.Module, cfg: SamplerConfig, seed: int,
                progress: bool = True) -> tuple[zoo.LabelSampler, float, dict]:
    """Maximum likelihood of q(ξ | k) on prior draws weighted by E(k, ξ): the forward KL from each
    label's conditional p(ξ | k) ∝ N(ξ; 0, I) · E(k, ξ) to the flow, which covers the class (a reverse
    KL would seek its modes and lose the variety the sampler exists for). → (sampler, seconds, the
    training set's figures)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    started = time.perf_counter()
    xi = torch.randn(cfg.draws, gen.latent, generator=g)
    log_e = label_evidence(gen, classifier, xi, cfg)                                      # [N, L]
    L = log_e.shape[1]
    keep = log_e > math.log(cfg.min_weight)
    if keep.sum(0).min() < 10:               # a classifier never this sure of a label: its best draws, weighted
        keep |= log_e >= log_e.topk(min(10, len(xi)), dim=0).values[-1]
    rows, labels = keep.nonzero(as_tuple=True)
    x, k = xi[rows], labels                                                                # pairs (ξ, k)
    w = (log_e[rows, labels] - log_e.max(0).values[labels]).exp()     # E, per label up to its largest (≤ 1)
    sampler = zoo.LabelSampler(gen.latent, L, cfg.transforms, cfg.hidden)
    opt = torch.optim.Adam(sampler.parameters(), lr=cfg.lr)
    steps = cfg.epochs * math.ceil(len(x) / cfg.batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, steps))
    bar = Progress(cfg.epochs, "label sampler (flow)", enabled=progress)
    sampler.train()
    for _ in range(cfg.epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), cfg.batch):
            b = perm[i:i + cfg.batch]
            loss = -(w[b] * sampler.log_prob(x[b], k[b])).sum() / w[b].sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        bar.update(note=f"−log q {loss.item():.2f}")
    sampler.eval()
    bar.close()
    z = log_e.exp().mean(0)                                                              # Z_k under the prior
    return sampler, time.perf_counter() - started, {
        "prior_draws": cfg.draws, "pairs": len(x), "prior_acceptance": [round(float(v), 4) for v in z]}


@torch.no_grad()
def sampler_figures(sampler: zoo.LabelSampler, gen: zoo.Generator, classifier: torch.nn.Module,
                    judge: torch.nn.Module, x_real: torch.Tensor, y_real: torch.Tensor, cfg: SamplerConfig,
                    seed: int) -> dict:
    """Per label, of `cfg.measure` draws of the flow alone (the collapsed sampler mixes in 10 % prior
    draws, which bounds its weights): the judge's agreement with the label (the raw flow, and the draws
    the importance weights accept), the weights' effective sample size per draw and the acceptance of
    rejection against the largest weight (mean weight / largest), and the accepted drawings' variety
    over real handwriting of the label (pairwise RMS of 100 each)."""
    g = torch.Generator().manual_seed(seed)
    out = {k: [] for k in ("judge_agreement_raw", "judge_agreement", "ess_per_draw", "acceptance", "variety_real")}
    for label in range(sampler.labels):
        lab = torch.full((cfg.measure,), label)
        xi, log_q = sampler.sample(lab, torch.randn(cfg.measure, sampler.latent, generator=g))
        imgs = gen(xi)
        log_e = label_evidence(gen, classifier, xi, cfg)[:, label]
        log_w = -0.5 * (xi ** 2).sum(-1) - 0.5 * sampler.latent * math.log(2 * math.pi) + log_e - log_q
        w = (log_w - log_w.max()).exp()
        keep = torch.rand(cfg.measure, generator=g) < w                                 # rejection, M = max w
        seen = predict(judge, imgs).argmax(-1) == label
        out["judge_agreement_raw"].append(float(seen.float().mean()))
        out["judge_agreement"].append(float(seen[keep].float().mean()) if keep.any() else None)
        out["ess_per_draw"].append(float(w.sum() ** 2 / (w ** 2).sum() / cfg.measure))
        out["acceptance"].append(float(w.mean()))
        real = x_real[y_real == label][:100].numpy()
        drawn = imgs[keep][:100].numpy()
        ratio = (pairwise_rms(drawn) or 0) / pairwise_rms(real) if len(drawn) > 1 and len(real) > 1 else None
        out["variety_real"].append(ratio)
    return {k: [None if v is None else round(v, 4) for v in vs] for k, vs in out.items()}


SAMPLER_ROLE = ("learned per-label sampler q(ξ | label) over the generator's latent: the collapsed sampler's "
                "proposal (infer/collapsed.py), its draws corrected by the real networks")


def train_sampler(out_dir: str | Path, models_dir: str | Path | None = None, cfg: TrainConfig = TrainConfig(),
                  progress: bool = True) -> dict:
    """`riddle train --only sampler`: the sampler alone, for the generator and label classifier in
    models_dir (default: the bundled ones), written to out_dir with its card. Returns the card."""
    models_dir = Path(models_dir) if models_dir else store.bundled_dir()
    gen, classifier, judge = (store.load(n, models_dir) for n in ("generator", "classifier", "judge"))
    digits = data_mod.load_bundled()
    test = data_mod.make_splits(digits.labels, cfg.seed).test
    sampler, t, training_set = fit_sampler(gen, classifier, cfg.sampler, cfg.seed + 300, progress)
    figures = sampler_figures(sampler, gen, classifier, judge, digits.images[test], digits.labels[test], cfg.sampler,
                              cfg.seed + 310)
    card = {"role": SAMPLER_ROLE, "data": {"source": "the generator's prior draws", "trained_on":
                                           "prior draws of the generator, weighted by the label classifier",
                                           "measured_on": "the shared held-out test split (variety)"},
            "training_seconds": round(t, 1), "train_config": asdict(cfg.sampler), "metrics": figures,
            "training_set": training_set, "models": "bundled" if models_dir == store.bundled_dir() else str(models_dir),
            "retrain": "riddle train --only sampler [--out DIR]"}
    store.save(sampler, "sampler", card, out_dir)
    return store.card("sampler", out_dir)


# ── seed 003's coupled network (`models coupled`) ───────────────────────────

COUPLED_ROLE = ("seed 003's coupled network: one dense sigmoid net (784-512-512-10) read forward as the label "
                "classifier and backward, through the same weights transposed, as the class-conditional generator "
                "of the `coupled` model family")


@torch.no_grad()
def coupled_samples(net, judge: torch.nn.Module, x_test: torch.Tensor, y_test: torch.Tensor, per_class: int,
                    seed: int, **sharpening) -> dict:
    """Draws of the family's generator given each class (coupled.CoupledLabelSampler), read by the
    judge: the share read as their class, per class; variety against real held-out digits of the
    class (pairwise RMS ratio); seconds per draw; the generator's sampling settings."""
    from .coupled import CoupledGenerator, CoupledLabelSampler
    gen = CoupledGenerator(net, **sharpening)
    labels = torch.arange(net.sizes[-1]).repeat_interleave(per_class)
    noise = torch.randn(len(labels), gen.latent, generator=torch.Generator().manual_seed(seed))
    xi, _ = CoupledLabelSampler(net.sizes[-1], gen.latent).sample(labels, noise)
    t = time.perf_counter()
    images = gen(xi)
    seconds = (time.perf_counter() - t) / len(labels)
    read = judge(images).argmax(-1)
    classes = range(net.sizes[-1])
    return {"judge_read_right": float((read == labels).float().mean()),
            "judge_read_right_per_class": [float((read[labels == k] == k).float().mean()) for k in classes],
            "variety_real": [pairwise_rms(images[labels == k].numpy()) / pairwise_rms(x_test[y_test == k].numpy())
                             for k in classes],
            "seconds_per_sample": seconds,
            "sampling": {"temperature": gen.temperature, "top_sharpness": gen.top_sharpness,
                         "sharpness": gen.sharpness, "class_temperature": gen.class_temperature}}


def train_coupled(out_dir: str | Path, data_dir: str | Path | None = None, seed: int = 0,
                  judge_dir: str | Path | None = None, log=print) -> dict:
    """`riddle train --family coupled`: the coupled network trained generatively (coupled.IMAGE_WEIGHT, EPOCHS)
    on split A of the digits, and the same network trained discriminatively on the same data as the
    baseline its card compares with; written as coupled.safetensors + coupled.json. Samples are read
    by the judge in judge_dir (default: the bundled one). Returns the card."""
    from . import coupled
    digits = data_mod.load(data_dir)
    splits = data_mod.make_splits(digits.labels, seed)
    train_idx = torch.as_tensor(np.union1d(splits.train_a, splits.val_a))
    x, y = digits.images[train_idx], digits.labels[train_idx]
    x_test, y_test = digits.images[splits.test], digits.labels[splits.test]
    judge = store.load("judge", judge_dir or store.bundled_dir())
    runs = {}
    for objective, weight in (("generative", coupled.IMAGE_WEIGHT), ("discriminative", 0.0)):
        t = time.perf_counter()
        def every_tenth(row, objective=objective):
            if row["epoch"] % 10 == 0:
                log(f"  {objective} epoch {row['epoch']}: held-out accuracy {row['val_accuracy']:.1%}")
        net, history = coupled.train(x, y, objective, epochs=coupled.EPOCHS, seed=seed, val=(x_test, y_test),
                                     image_weight=weight, log=every_tenth)
        runs[objective] = (net, history, time.perf_counter() - t)
    net, history, seconds = runs["generative"]
    samples = coupled_samples(net, judge, x_test, y_test, 50, seed + 400)
    metrics = {"accuracy": history.epochs[-1]["val_accuracy"],
               "discriminative_accuracy": runs["discriminative"][1].epochs[-1]["val_accuracy"],
               "image_nll": history.epochs[-1]["backward"],
               **{k: v for k, v in samples.items() if k != "sampling"}}
    card = {"role": COUPLED_ROLE,
            "data": {"source": digits.source, "split_seed": seed, "trained_on": "train_a + val_a",
                     "measured_on": "the shared held-out test split"},
            "training_seconds": round(seconds, 1),
            "train_config": {"objective": "generative", "image_weight": coupled.IMAGE_WEIGHT, "epochs": coupled.EPOCHS,
                             "batch": 64, "lr": 1e-3, "optimiser": "Adam", "seed": seed},
            "sampling": {**samples["sampling"],
                         "how": "class (one-hot; gradient straight through a softmax) → one sampled top layer "
                                "(β-sharpened) → expectations → sharpened pixel logits"},
            "metrics": metrics,
            "baseline": "the same network trained discriminatively (−log p(y | x) only) on the same data, same epochs",
            "limits": f"a dense sigmoid net trained on {len(x):,} digits: its samples are less varied than real "
                      "handwriting (variety_real, per class) and than the default generator's; the shipped weights' "
                      "closest drawing of a real digit misses it by 0.19 RMS per pixel (the default generator's: "
                      "0.07), so a `looks like` tells digits apart weakly with this family (docs/BENCHMARKS.md, "
                      "\"Generator misfit: coupled family\")",
            "retrain": "riddle train --family coupled [--data DIR] [--out DIR]",
            VARIETY_CARD_KEY: reference_spreads(coupled.CoupledGenerator(net), judge, tuple(range(10)),
                                                (x_test.numpy(), y_test.numpy()))}
    store.save(net, "coupled", card, out_dir)
    return store.card("coupled", out_dir)


def fit_reading_temperature(classifier, images: torch.Tensor, labels: torch.Tensor, views: int = READING_VIEWS) -> dict:
    """How a sheet's cells are read (infer/cells.py): the mean, over the picture and `views` fixed distortions
    of it (models/views.fixed_views), of the label classifier's softmax at temperature T — temperature scaling
    (Guo et al. 2017) of that test-time-augmented reading, T minimising its negative log-likelihood on the
    classifier's own validation split, by a grid over 0.25..8 (log-spaced, 1 % apart). The classifier alone at
    T = 1 misreads some held-out digits while giving the written label 10⁻⁸, far more sure than it is right;
    over 16 views at their T it gives the written label at least 0.009 on every held-out digit (docs/LANGUAGE.md,
    "Sheets"). → the card entry."""
    from .views import fixed_views
    from .zoo import outputs_of
    with torch.no_grad():
        seen = fixed_views(images, views)                                                 # [V + 1, N, H, W]
        logits = torch.stack([outputs_of(classifier.eval(), v)[:, :10].double() for v in seen])   # [V + 1, N, 10]
    grid = torch.exp(torch.linspace(np.log(0.25), np.log(8.0), 349, dtype=torch.float64))

    def nll(t: float | torch.Tensor) -> float:
        return float(F.nll_loss((logits / t).softmax(-1).mean(0).clamp_min(1e-300).log(), labels))
    losses = torch.tensor([nll(t) for t in grid])
    best = int(losses.argmin())
    return {"temperature": round(float(grid[best]), 3), "views": views, "nll": round(float(losses[best]), 5),
            "nll_at_1": round(float(F.cross_entropy(logits[0], labels)), 5), "fitted_on": "val_a",
            "images": len(labels)}


def refresh_reading_temperature(models_dir: str | Path | None = None, log=print) -> dict:
    """`riddle train --only calibration`: fit the classifier's reading temperature (fit_reading_temperature) on
    val_a and write it into the classifier's card, the weights untouched. For weights trained before the card
    held it."""
    import json
    models_dir = Path(models_dir) if models_dir else store.bundled_dir()
    classifier = store.load("classifier", models_dir)
    digits = data_mod.load_bundled()
    val = data_mod.make_splits(digits.labels, 0).val_a
    entry = fit_reading_temperature(classifier, digits.images[val], digits.labels[val])
    card = store.card("classifier", models_dir)
    card[READING_CARD_KEY] = entry
    (models_dir / f"{store.file_stem('classifier')}.json").write_text(json.dumps(card, indent=2) + "\n")
    log(f"classifier: reading temperature {entry['temperature']:g} over {entry['views']} views (NLL on val_a "
        f"{entry['nll_at_1']:.4f} → {entry['nll']:.4f}) written to its card")
    return entry


def refresh_variety_references(models_dir: str | Path | None = None, log=print) -> list[str]:
    """`riddle train --only variety`: measure the variety line's yardsticks (variety.reference_spreads) for
    the generators of every model family whose weights are in models_dir (default: the bundled weights), and
    write them into their cards, the weights untouched. For weights trained before the cards held them.
    Returns the names updated."""
    import json

    from .families import FAMILIES
    models_dir = Path(models_dir) if models_dir else store.bundled_dir()
    judge = store.load("judge", models_dir if (models_dir / "judge.safetensors").exists() else store.bundled_dir())
    digits = data_mod.load_bundled()
    test = data_mod.make_splits(digits.labels, 0).test
    examples = (digits.images[test].numpy(), digits.labels[test].numpy())
    updated = []
    for family in FAMILIES.values():
        name = family.generator_weights
        card = store.card(name, models_dir)
        if card is None:
            continue
        card[VARIETY_CARD_KEY] = reference_spreads(family.generator(models_dir), judge, tuple(range(10)), examples)
        (models_dir / f"{store.file_stem(name)}.json").write_text(json.dumps(card, indent=2) + "\n")
        log(f"{name}: variety yardsticks written to its card")
        updated.append(name)
    return updated


# ── the whole zoo ────────────────────────────────────────────────────────────

def train_zoo(out_dir: str | Path, data_dir: str | Path | None = None, seed: int = 0,
              judge_dir: str | Path | None = None) -> dict[str, dict]:
    """The default family's trainer (`riddle train`, `riddle train --family default`): the whole zoo, its own
    judge included (judge_dir is for families that borrow riddle's judge)."""
    return train_all(out_dir, data_dir, TrainConfig(seed=seed))


def train_all(out_dir: str | Path, data_dir: str | Path | None = None, cfg: TrainConfig = TrainConfig(),
              progress: bool = True) -> dict[str, dict]:
    """Train every model and write NAME.safetensors + NAME.json into out_dir. Returns the cards."""
    torch.set_num_threads(max(1, torch.get_num_threads()))
    started = time.perf_counter()
    digits = data_mod.load(data_dir)
    splits = data_mod.make_splits(digits.labels, cfg.seed)
    take = (lambda idx: idx[:cfg.limit]) if cfg.limit else (lambda idx: idx)
    x_a, y_a = digits.images[take(splits.train_a)], digits.labels[take(splits.train_a)]
    x_b, y_b = digits.images[take(splits.train_b)], digits.labels[take(splits.train_b)]
    x_test, y_test = digits.images[splits.test], digits.labels[splits.test]
    x_val, y_val = digits.images[splits.val_a], digits.labels[splits.val_a]
    data_card = {"source": digits.source, "split_seed": cfg.seed, "splits": splits.describe(),
                 "test": "the shared held-out test split: never trained on by any model"}
    cards: dict[str, dict] = {}

    def save(model, name, role, split, seconds, metrics, extra=None):
        card = {"role": role, "data": {**data_card, "trained_on": split}, "training_seconds": round(seconds, 1),
                "train_config": asdict(cfg), "metrics": metrics, "retrain": "riddle train [--data DIR] [--out DIR]",
                **(extra or {})}
        store.save(model, name, card, out_dir)
        cards[name] = store.card(name, out_dir)

    # 1. the generator
    gen, enc, t_gen = fit_generator(x_a, cfg, progress)

    # 2. the judge: its own architecture, seeds and split (real digits of split B and the generator's
    #    reconstructions of them); it only ever evaluates, never serves as a likelihood
    judge = zoo.JudgeNet()
    x_jb = torch.cat([x_b, reconstruct(gen, enc, x_b, 1, cfg.seed + 50)])
    y_jb = torch.cat([y_b, y_b])
    t = 0.0
    for k in range(len(judge.members)):
        judge.active = k
        t += fit(judge, x_jb, y_jb, cfg.judge_epochs, cfg.seed + 100 + k, f"judge {k + 1}/{len(judge.members)}",
                 batch=cfg.batch, progress=progress)
    judge.active = None
    judge.eval()
    save(judge, "judge", "independent judge of answers; never a likelihood", "train_b", t,
         {"test_accuracy": accuracy(judge, x_test, y_test)})
    quality = generator_quality(gen, judge, 10_000 if not cfg.limit else 500, cfg.seed + 7)
    save(gen, "generator", "prior over digit images: G(ξ), ξ ~ N(0, I)", "train_a", t_gen, quality,
         {VARIETY_CARD_KEY: reference_spreads(gen, judge, tuple(range(10)), (x_test.numpy(), y_test.numpy()))})

    # 3. the label classifier and its `closed circle` head, one network: labels from real digits and
    #    their reconstructions, topology (a hole in the ink) from those and from prior samples, whose
    #    labels are unknown (the judge never labels training data)
    recon = reconstruct(gen, enc, x_a, cfg.reconstructions, cfg.seed + 20)
    generated = prior_samples(gen, cfg.prior_samples if not cfg.limit else 200, cfg.seed + 30)
    x_mix = torch.cat([x_a, recon, generated])
    labels = torch.cat([y_a] * (1 + cfg.reconstructions) + [torch.full((len(generated),), -1)])
    y_mix = torch.stack([labels, has_closed_circle(x_mix).long()], 1)                    # [N, 2]
    classifier = zoo.LabelNet(width=cfg.classifier_width, heads=("closed circle",))
    t = fit(classifier, x_mix, y_mix, cfg.classifier_epochs, cfg.seed + 200, "label classifier + closed circle",
            batch=cfg.batch, progress=progress, loss_fn=labels_and_heads_loss)
    odd_test = torch.isin(y_test, torch.tensor(ODD)).long()
    circle = zoo.HeadReadout(classifier, "closed circle")
    topo_test = has_closed_circle(x_test).long()
    table = torch.isin(y_test, torch.tensor(CLOSED_CIRCLE)).long()
    reading = {READING_CARD_KEY: fit_reading_temperature(classifier, x_val, y_val)}
    save(classifier, "classifier",
         "label classifier of `digit` (labels, relations; `odd`/`even` read off it) with the `closed circle` head",
         "train_a", t, {"test_accuracy": accuracy(classifier, x_test, y_test),
                        "val_accuracy": accuracy(classifier, x_val, y_val),
                        "odd_readout_test_accuracy": accuracy(zoo.LabelReadout(classifier, ODD), x_test, odd_test,
                                                              binary=True),
                        "closed_circle_test_accuracy_vs_topology": accuracy(circle, x_test, topo_test, binary=True),
                        "closed_circle_test_accuracy_vs_truth_table": accuracy(circle, x_test, table, binary=True),
                        "topology_vs_truth_table_on_test": float((topo_test == table).float().mean())},
         {"heads": {"closed circle": {
             "truth_table": list(CLOSED_CIRCLE),
             "definition": f"binarised at {INK_THRESHOLD}, a 4-connected background region of at least "
                           f"{MIN_HOLE_PIXELS} pixels that does not touch the border",
             "trained_on": f"topology of train_a, its reconstructions and {len(generated)} prior samples"}},
          **reading})
    # 4. the learned per-label sampler, from the generator and the label classifier just trained
    scfg = cfg.sampler if not cfg.limit else replace(cfg.sampler, draws=2000, epochs=1, measure=50)
    sampler, t, training_set = fit_sampler(gen, classifier, scfg, cfg.seed + 300, progress)
    save(sampler, "sampler", SAMPLER_ROLE, "prior draws of the generator, weighted by the label classifier", t,
         sampler_figures(sampler, gen, classifier, judge, x_test, y_test, scfg, cfg.seed + 310),
         {"training_set": training_set})
    total = time.perf_counter() - started
    if progress:
        print(f"trained {len(cards)} models in {total:.0f} s → {out_dir}", flush=True)
    return cards


# ── `riddle train-predicate`: a new predicate of `digit` from label-derived targets ──

PLUGIN_TEMPLATE = '''"""A riddle plugin written by `riddle train-predicate` ({date}).

The neural predicate `{name}` of `{domain}`: holds for the labels {labels}.
Held-out accuracy on {test_size} real test digits: {accuracy:.2%}; on generated digits the label
classifier reads with confidence > 0.9: {generated_accuracy}.
Weights: {weights} (safetensors), card: {card}.

Use it:  riddle check --plugin {plugin} FILE.rdl
         riddle solve --plugin {plugin} FILE.rdl
"""
from pathlib import Path

import riddle


def _network():
    from riddle.models import store
    return store.load({name!r}, Path(__file__).resolve().parent)


riddle.register_predicate({name!r}, load=_network, domain={domain!r}, truth_table={table!r}, returns="logit",
                          description={description!r})
'''


def train_predicate(name: str, true_labels: tuple[int, ...], out_dir: str | Path, data_dir: str | Path | None = None,
                    epochs: int = 30, seed: int = 0, generated: int = 4000, limit: int | None = None,
                    progress: bool = True) -> dict:
    """Train a PredicateNet whose target is `label ∈ true_labels`, on real digits of split A and on
    prior samples that the bundled label classifier reads with confidence > 0.9 (pseudo-labelled:
    the solver shows predicates generated images, and predicates trained on real digits alone are
    measurably worse on them — docs/MODELS.md). Writes NAME.safetensors, NAME.json and NAME.py (a
    plugin) into out_dir. Returns the card."""
    from datetime import date

    from .registry import bundled_model
    started = time.perf_counter()
    digits = data_mod.load(data_dir)
    splits = data_mod.make_splits(digits.labels, seed)
    train_idx = splits.train_a[:limit] if limit else splits.train_a
    x, y = digits.images[train_idx], digits.labels[train_idx]
    x_test, y_test = digits.images[splits.test], digits.labels[splits.test]
    table = torch.tensor(sorted(true_labels))
    gen, classifier = bundled_model("generator")(), bundled_model("classifier")()
    fake = prior_samples(gen, generated, seed + 60)
    conf, fake_labels = predict(classifier, fake).softmax(-1).max(-1)
    keep = conf > 0.9
    x_fake, y_fake = fake[keep], fake_labels[keep]
    n_fit = len(x_fake) // 2                     # half to train on, half held out to measure
    x_all = torch.cat([x, x_fake[:n_fit]])
    y_all = torch.isin(torch.cat([y, y_fake[:n_fit]]), table).long()
    net = zoo.PredicateNet(width=16)
    seconds = fit(net, x_all, y_all, epochs, seed + 500, f"predicate {name}", binary=True, progress=progress)
    test_acc = accuracy(net, x_test, torch.isin(y_test, table).long(), binary=True)
    gen_acc = (accuracy(net, x_fake[n_fit:], torch.isin(y_fake[n_fit:], table).long(), binary=True)
               if len(x_fake) > n_fit else None)
    base_rate = float(torch.isin(y_test, table).float().mean())
    card = {
        "role": f"neural predicate `{name}` of `digit` (trained by riddle train-predicate)",
        "truth_table": sorted(true_labels),
        "training_seconds": round(seconds, 1),
        "data": {
            "source": digits.source,
            "split_seed": seed,
            "trained_on": "train_a" + (f"[:{limit}]" if limit else ""),
            "generated": f"{n_fit} prior samples the bundled classifier reads with confidence > 0.9, labelled by it",
        },
        "train_config": {"epochs": epochs, "seed": seed, "generated": generated, "limit": limit},
        "metrics": {
            "test_accuracy": test_acc,
            "test_size": len(y_test),
            "test_base_rate": base_rate,
            "generated_accuracy": gen_acc,
            "generated_size": len(x_fake) - n_fit,
        },
    }
    out = Path(out_dir)
    weights = store.save(net, name, card, out)
    stem = store.file_stem(name).replace("-", "_")
    plugin = out / f"{stem}.py"
    tmp = plugin.with_suffix(".tmp")
    tmp.write_text(PLUGIN_TEMPLATE.format(
        date=date.today().isoformat(), name=name, domain="digit", labels=", ".join(map(str, sorted(true_labels))),
        test_size=len(y_test), accuracy=test_acc,
        generated_accuracy="n/a" if gen_acc is None else f"{gen_acc:.2%} of {len(x_fake) - n_fit}",
        weights=weights.name, card=f"{store.file_stem(name)}.json", plugin=plugin, table=sorted(true_labels),
        description=f"trained by riddle train-predicate: holds for {', '.join(map(str, sorted(true_labels)))}"))
    tmp.replace(plugin)
    card = {**store.card(name, out), "plugin": str(plugin), "weights": str(weights),
            "seconds": round(time.perf_counter() - started, 1)}
    return card

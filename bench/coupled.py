"""Seed 003's coupled network and the `coupled` model family (issue 30).

    python -m bench.coupled [--epochs 60] [--samples 50] [--restarts 100] [--render]

1. Training (the seed's Fig. 1): the same dense network trained discriminatively, generatively with
   the image term weighted 1 (the seed's Eq. 16 as written), 0.1 (what the family ships) and 1/784
   (the per-pixel mean its reported losses use), and with the seed's reverse objective, on the bundled
   digits outside the test split; held-out accuracy per epoch.
2. Samples per class of each backward model, read by riddle's judge (share read as its class) and
   compared for variety with real held-out digits of the class: the seed's three ways (expectations
   all the way, one sampled layer, recursive sampling) at the seed's temperature, and the family's
   generator (one sampled layer, sharpened) over a scan of its two sharpenings.
3. Solves with the shipped weights: puzzles/134.rdl and SEND + MORE = MONEY, `--models coupled` against
   the default family, with the default method (amortised) and advi on 134: success, variety of the
   right drawings over real handwriting, time.

Writes docs/bench/coupled.json, docs/coupled.png (rows: classes; left: the shipped family's samples,
right: the seed's own sampling of the weight-1 model) and the "Coupled network" section of
docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import riddle
from bench.common import ROOT, machine, publish, rerender
from riddle.models.coupled import IMAGE_WEIGHT, CoupledGenerator, CoupledLabelSampler, train
from riddle.models.data import load_bundled, make_splits
from riddle.models.registry import default_registry
from riddle.models.variety import pairwise_rms

MODES = {0: "mean shape", 1: "one sampled layer", 2: "recursive sampling"}
RUNS = (("discriminative", 0.0), ("generative", 1.0), ("generative", IMAGE_WEIGHT), ("generative", 1 / 784),
        ("reverse", 1.0))
SHARPENINGS = [(b, s) for b in (1.0, 1.5, 2.0, 3.0) for s in (1.0, 2.0)]
SOLVES = (("134.rdl", "amortised"), ("134.rdl", "advi"), ("send-more-money.rdl", "amortised"))


def weight_name(w: float) -> str:
    return "1/784" if abs(w - 1 / 784) < 1e-9 else f"{w:g}"


def read(judge, images, labels, x_real, y_real) -> dict:
    with torch.no_grad():
        right = judge(images).argmax(-1) == labels
    variety = [pairwise_rms(images[labels == k].numpy()) / pairwise_rms(x_real[y_real == k].numpy())
               for k in range(10)]
    return {"read_right": float(right.float().mean()), "variety_ratio": float(np.mean(variety))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--samples", type=int, default=50, help="samples per class and way of sampling")
    ap.add_argument("--restarts", type=int, default=100, help="samples or restarts per solve")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--render", action="store_true", help="rewrite the section from docs/bench/coupled.json; no run")
    args = ap.parse_args(argv)
    if args.render:
        rerender("coupled", "## Coupled network", section)
        return 0
    torch.manual_seed(0)
    digits = load_bundled()
    splits = make_splits(digits.labels)
    train_idx = torch.as_tensor(np.union1d(splits.train_a, splits.val_a))          # all but the test split
    test_idx = torch.as_tensor(splits.test)
    x, y = digits.images[train_idx], digits.labels[train_idx]
    xv, yv = digits.images[test_idx], digits.labels[test_idx]
    judge = default_registry().domains["digit"].load_judge().eval()
    labels = torch.arange(10).repeat_interleave(args.samples)
    rows, grids = [], {}
    for objective, weight in RUNS:
        t = time.perf_counter()
        net, history = train(x, y, objective, epochs=args.epochs, val=(xv, yv), seed=0, image_weight=weight)
        row = {"objective": objective, "image_weight": weight_name(weight),
               "train_seconds": round(time.perf_counter() - t, 1),
               "val_accuracy": history.epochs[-1]["val_accuracy"],
               "best_val_accuracy": max(e["val_accuracy"] for e in history.epochs),
               "backward_nll": history.epochs[-1]["backward"], "history": history.epochs, "sampling": {},
               "sharpened": []}
        if objective != "discriminative":
            for mode, name in MODES.items():
                g = torch.Generator().manual_seed(mode)
                t = time.perf_counter()
                with torch.no_grad():
                    images = net.generate(labels, sample=mode, generator=g)
                seconds = (time.perf_counter() - t) / len(labels)
                row["sampling"][name] = {**read(judge, images, labels, xv, yv), "seconds_per_sample": seconds}
                if mode == 1 and objective == "generative" and weight == 1.0:
                    grids["seed"] = images.reshape(10, args.samples, 28, 28)[:, :8].numpy()
        if objective == "generative":
            noise = torch.randn(len(labels), 522, generator=torch.Generator().manual_seed(7))
            xi, _ = CoupledLabelSampler().sample(labels, noise)
            for top, pixels in SHARPENINGS:
                with torch.no_grad():
                    images = CoupledGenerator(net, top_sharpness=top, sharpness=pixels)(xi)
                row["sharpened"].append({"top_sharpness": top, "sharpness": pixels,
                                         **read(judge, images, labels, xv, yv)})
                if weight == IMAGE_WEIGHT and (top, pixels) == (2.0, 2.0):
                    grids["family"] = images.reshape(10, args.samples, 28, 28)[:, :8].numpy()
        rows.append(row)
        print({k: v for k, v in row.items() if k != "history"}, flush=True)
    solves = []
    for puzzle, method in SOLVES:
        for models in ("default", "coupled"):
            result = riddle.solve(ROOT / "puzzles" / puzzle, models=models, method=method, restarts=args.restarts,
                                  seed=0)
            sol = result.solution
            ratios = list(((sol.diversity or {}).get("real_ratio") or {}).values())
            solves.append({"riddle": puzzle, "method": method, "models": models, "answer": result.answer,
                           "right": bool(sol.answer is not None and sol.answer.correct),
                           "success": sol.success_rate, "seconds": round(sol.seconds, 2),
                           "variety_real": float(np.mean(ratios)) if ratios else None,
                           "variety_real_min": (sol.diversity or {}).get("real_ratio_min")})
            print(solves[-1], flush=True)
    out = {"machine": machine(), "epochs": args.epochs, "train": len(x), "test": len(xv), "samples": args.samples,
           "restarts": args.restarts, "rows": rows, "solves": solves}
    if not args.no_write:
        publish("coupled", "## Coupled network", out, section)
        picture(grids)
    return 0


def picture(grids: dict) -> None:
    from PIL import Image

    from riddle.report.images import grid
    both = np.concatenate([grids["family"], np.full((10, 1, 28, 28), 0.35), grids["seed"]], axis=1)
    img = grid(both.reshape(-1, 28, 28), columns=both.shape[1], scale=2)
    Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(ROOT / "docs" / "coupled.png")


def section(out: dict) -> str:
    lines = ["## Coupled network", "",
             f"Measured by `python -m bench.coupled` on {out['machine']}: seed 003's dense network (784-512-512-10, "
             f"sigmoid hidden layers, one weight set used forward and transposed backward), {out['epochs']} epochs of "
             f"Adam (lr 1e-3, batch 64, no regulariser) on the {out['train']} bundled digits outside the test split; "
             f"accuracy on the {out['test']} held-out digits. Image weight: the factor on −log p(x | y) in the "
             "generative objective (1: the seed's Eq. 16 as written; 1/784: the per-pixel mean its reported losses "
             f"use). Samples: {out['samples']} per class, read by riddle's judge; variety is their pairwise RMS over "
             "that of real held-out digits of the class (1.0: as varied).", "",
             "| objective | image weight | held-out accuracy (last / best epoch) | image NLL (nats) | training |",
             "| --- | --- | --- | --- | --- |"]
    for r in out["rows"]:
        nll = "—" if r["objective"] == "discriminative" else f"{r['backward_nll']:.1f}"
        weight = "—" if r["objective"] == "discriminative" else r["image_weight"]
        lines.append(f"| {r['objective']} | {weight} | {100 * r['val_accuracy']:.1f} % / "
                     f"{100 * r['best_val_accuracy']:.1f} % | {nll} | {r['train_seconds']:.0f} s |")
    lines += ["", "The seed's sampling (no sharpening):", "",
              "| objective | image weight | sampling | read as its class | variety | time per sample |",
              "| --- | --- | --- | --- | --- | --- |"]
    for r in out["rows"]:
        for name, s in r["sampling"].items():
            lines.append(f"| {r['objective']} | {r['image_weight']} | {name} | {100 * s['read_right']:.0f} % | "
                         f"{s['variety_ratio']:.2f} | {1e6 * s['seconds_per_sample']:.0f} µs |")
    gen = [r for r in out["rows"] if r["sharpened"]]
    lines += ["", "The family's generator (one sampled layer drawn at β × its pre-activations, pixel logits × s): "
              "read as its class / variety, per image weight:", "",
              "| β | s | " + " | ".join(f"weight {r['image_weight']}" for r in gen) + " |",
              "| --- | --- " + "| --- " * len(gen) + "|"]
    for k, (top, pixels) in enumerate((s["top_sharpness"], s["sharpness"]) for s in gen[0]["sharpened"]):
        lines.append(f"| {top:g} | {pixels:g} | " + " | ".join(
            f"{100 * r['sharpened'][k]['read_right']:.0f} % / {r['sharpened'][k]['variety_ratio']:.2f}" for r in gen)
            + " |")
    lines += ["", f"Solves with the shipped weights ({out['restarts']} samples or restarts, seed 0; variety: the right "
              "drawings' pairwise RMS over real handwriting of the same digits, mean over unknowns (lowest)):", "",
              "| riddle | method | models | answer | success | variety over real | time |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for s in out["solves"]:
        answer = " ".join(map(str, s["answer"])) if s["answer"] is not None else "—"
        variety = (f"{s['variety_real']:.2f} ({s['variety_real_min']:.2f})" if s["variety_real"] is not None
                   else "—")
        lines.append(f"| {s['riddle']} | {s['method']} | {s['models']} | {answer} {'✓' if s['right'] else '✗'} | "
                     f"{100 * s['success']:.0f} % | {variety} | {s['seconds']:.1f} s |")
    lines += ["", "![samples per class: the family's generator (left), the seed's one sampled layer at image weight 1 "
              "(right)](coupled.png)", "", NOTES.format(**solve_figures(out["solves"]))]
    return "\n".join(lines)


def solve_figures(solves: list[dict]) -> dict:
    """The figures the notes quote about the solves, from the kept rows (the notes' prose is fixed)."""
    def pick(method, models):
        return [s for s in solves if s["method"] == method and s["models"] == models]
    advi = {m: pick("advi", m)[0]["seconds"] for m in ("default", "coupled")}
    coupled, default = (sorted(100 * s["success"] for s in pick("amortised", m)) for m in ("coupled", "default"))
    return {"advi_speedup": f"{advi['default'] / advi['coupled']:.1f}x",
            "coupled_success": f"{coupled[0]:.0f}-{coupled[-1]:.0f} %",
            "default_success": f"{default[0]:.0f}-{default[-1]:.0f} %" if default[0] != default[-1]
            else f"{default[0]:.0f} %"}


NOTES = """\
What it says. Weighting the image term is the trade the seed's estimator leaves open. At weight 1
(Eq. 16 as written) the 784 pixel terms outweigh the class term: the classifier loses 3 points and
converges slower. At 1/784 (the scale of the losses the seed reports) it keeps the discriminative
accuracy, but the backward model learns less: its samples are varied and mostly illegible. Weight
0.1 keeps the accuracy within the issue's 1.5 points and, at equal legibility, draws more varied
samples than weight 1 (94 % / 0.48 against 93 % / 0.36), so the family ships it. At the seed's own
temperature (β = s = 1) every model draws its "mean shapes", blurry and grey, and riddle's judge,
trained on sharp real digits, reads most of them as some other digit (mostly 8); drawing the
sampled layer at β = 2 and doubling the pixel logits makes 87 % legible at variety 0.57. β and s
were chosen on this scan, read by the same judge that measures them: a mild selection effect (the
family's card repeats the figure on another noise seed). The reverse objective trains the backward
chain from the hidden layer only, so its class-to-image samples are not digits: a good classifier,
no class-conditional generator. In solves the coupled family is right on both riddles with either
method, and faster with advi ({advi_speedup}: its generator is three matrix products); method amortised
takes about as long as with the default family but is less sure ({coupled_success} of samples against
{default_success}), and its right drawings vary about half as much. advi's restarts all reach 134's answer
but settle on near-identical prototypes (variety 0.14): it optimises against the family's forward model,
which a dense sigmoid net lets it satisfy with one drawing (docs/MODELS.md says where this fools the judge).
"""


if __name__ == "__main__":
    raise SystemExit(main())

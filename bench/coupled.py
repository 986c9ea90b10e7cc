"""Seed 003's coupled network (issue 30), first part: one weight set trained discriminatively,
generatively (both conditionals) and with the reverse objective, on the same bundled digits.

    python -m bench.coupled [--epochs 50] [--samples 20] [--render]

For each objective: held-out accuracy of the forward model per epoch (the seed's Fig. 1); then, for
the two that train the backward model, samples per class drawn three ways — expectations all the way
(the mean shape), one sampled hidden layer then expectations, recursive sampling through both hidden
layers (the seed's Fig. 2) — each read by riddle's judge (share read as its class) and compared for
variety with real held-out digits of the class (pairwise RMS ratio), and the time per sample.
Writes docs/bench/coupled.json, docs/coupled.png (rows: classes; left half generative, right half
reverse, one sampled layer) and the "Coupled network" section of docs/BENCHMARKS.md. Not yet: the
shipped weights and `--models coupled` solves (issue 30's next part).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from bench.common import ROOT, machine, publish, rerender
from riddle.models.coupled import OBJECTIVES, train
from riddle.models.data import load_bundled, make_splits
from riddle.models.registry import default_registry
from riddle.models.variety import pairwise_rms

MODES = {0: "mean shape", 1: "one sampled layer", 2: "recursive sampling"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--samples", type=int, default=20, help="samples per class and way of sampling")
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
    rows, grids = [], {}
    for objective in OBJECTIVES:
        t = time.perf_counter()
        net, history = train(x, y, objective, epochs=args.epochs, val=(xv, yv), seed=0)
        row = {"objective": objective, "train_seconds": round(time.perf_counter() - t, 1),
               "val_accuracy": history.epochs[-1]["val_accuracy"],
               "best_val_accuracy": max(e["val_accuracy"] for e in history.epochs),
               "backward_nll": history.epochs[-1]["backward"], "history": history.epochs, "sampling": {}}
        if objective != "discriminative":
            labels = torch.arange(10).repeat_interleave(args.samples)
            for mode, name in MODES.items():
                g = torch.Generator().manual_seed(mode)
                t = time.perf_counter()
                with torch.no_grad():
                    images = net.generate(labels, sample=mode, generator=g)
                    seconds = (time.perf_counter() - t) / len(labels)
                    read = judge(images).argmax(-1)
                variety = [pairwise_rms(images[labels == k].numpy()) / pairwise_rms(xv[yv == k].numpy())
                           for k in range(10)]
                row["sampling"][name] = {"read_right": float((read == labels).float().mean()),
                                         "variety_ratio": float(np.mean(variety)), "seconds_per_sample": seconds}
                if mode == 1:
                    grids[objective] = images.reshape(10, args.samples, 28, 28)[:, :8].numpy()
        rows.append(row)
        print({k: v for k, v in row.items() if k != "history"}, flush=True)
    out = {"machine": machine(), "epochs": args.epochs, "train": len(x), "test": len(xv), "rows": rows}
    if not args.no_write:
        publish("coupled", "## Coupled network", out, section)
        picture(grids)
    return 0


def picture(grids: dict) -> None:
    from PIL import Image

    from riddle.report.images import grid
    both = np.concatenate([grids["generative"], np.full((10, 1, 28, 28), 0.35), grids["reverse"]], axis=1)
    img = grid(both.reshape(-1, 28, 28), columns=both.shape[1], scale=2)
    Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(ROOT / "docs" / "coupled.png")


def section(out: dict) -> str:
    lines = ["## Coupled network", "",
             f"Measured by `python -m bench.coupled` on {out['machine']}: seed 003's dense network (784-512-512-10, "
             f"sigmoid hidden layers, one weight set used forward and transposed backward), {out['epochs']} epochs of "
             f"Adam (lr 1e-3, batch 64, no regulariser) on the {out['train']} bundled digits outside the test split; "
             f"accuracy on the {out['test']} held-out digits. Samples: per class, read by riddle's judge; variety "
             "is their pairwise RMS over that of real held-out digits of the class (1.0: as varied).", "",
             "| objective | held-out accuracy (last / best epoch) | backward NLL (nats per image) | training |",
             "| --- | --- | --- | --- |"]
    for r in out["rows"]:
        nll = "—" if r["objective"] == "discriminative" else f"{r['backward_nll']:.1f}"
        lines.append(f"| {r['objective']} | {100 * r['val_accuracy']:.1f} % / {100 * r['best_val_accuracy']:.1f} % | "
                     f"{nll} | {r['train_seconds']:.0f} s |")
    lines += ["", "| objective | sampling | read as its class | variety | time per sample |",
              "| --- | --- | --- | --- | --- |"]
    for r in out["rows"]:
        for name, s in r["sampling"].items():
            lines.append(f"| {r['objective']} | {name} | {100 * s['read_right']:.0f} % | {s['variety_ratio']:.2f} | "
                         f"{1e6 * s['seconds_per_sample']:.0f} µs |")
    lines += ["", "![samples per class: generative (left), reverse (right)](coupled.png)", "", NOTES]
    return "\n".join(lines)


NOTES = """\
What it says (first part of issue 30; the bars are not met yet): the reverse objective keeps the
discriminative accuracy (94.4 % both at their best epoch), the generative one costs 3.4 points at 50
epochs (it converges slower: 69 % after 8 epochs, 90 % after 50). The generative model's samples
look like their class to the eye (left: the seed's "mean shapes of the digits", blurry, grey at
0.7-0.9), but riddle's judge, trained on sharp real digits, reads most such blurs as an 8: only
20-25 % are read as their class, against the issue's 80 %. The reverse objective trains the backward
chain from the hidden layer only, so its class-to-image samples (right) are not digits at all — as
built it gives a good classifier and no class-conditional generator. Next: longer / tuned
generative training, a sharper image model than independent Bernoulli means, and the judge's
reading of the coupled forward model beside riddle's.
"""


if __name__ == "__main__":
    raise SystemExit(main())

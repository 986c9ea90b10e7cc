"""Throughput of the compiled objective against batch size: images per second, forward + backward.

    python -m bench.throughput [--device cpu|cuda] [--riddle 134] [--precision float32 bfloat16]

One step of the solver at R restarts × 2 samples × n unknowns images: the energy of riddle 134
(generator, label classifier, closed circle, logic tensors) and its gradient with respect to the
latents, as advi.run computes it, in each precision. Writes docs/bench/throughput-{device}-{precision}.json, a PNG
plot beside it
and the "Throughput" section of docs/BENCHMARKS.md (one line per device measured).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from bench.common import ROOT, machine, save_json, write_section
from riddle.graph import build
from riddle.infer.objective import Networks, Objective
from riddle.lang import load

RESTARTS = [1, 2, 4, 8, 16, 32, 64, 100, 200, 400, 800]


def measure(objective: Objective, restarts: int, device: str, seconds: float = 2.0) -> float:
    """Images per second of one solver step (energy forward + backward) at this many restarts."""
    n = len(objective.names)
    xi = torch.randn(restarts, 2, n, objective.d, device=device, requires_grad=True)

    def step():
        h, _ = objective.energy(xi, 1.0)
        h.sum().backward()
    for _ in range(3):                       # warm-up: allocator, kernels, autotuning
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    reps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds or reps < 3:
        step()
        reps += 1
    if device == "cuda":
        torch.cuda.synchronize()
    return reps * restarts * 2 * n / (time.perf_counter() - started)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--riddle", default="134")
    ap.add_argument("--precision", nargs="+", default=["float32", "bfloat16"])
    args = ap.parse_args()
    if args.device == "cpu":
        torch.set_num_threads(2)
    graph = build(load(ROOT / "puzzles" / f"{args.riddle}.rdl"))
    folder = ROOT / "docs" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    for precision in args.precision:
        objective = Objective(graph, Networks.load(graph), precision).to(args.device)
        rows = []
        for r in RESTARTS:
            ips = measure(objective, r, args.device)
            rows.append({"restarts": r, "images_per_step": r * 2 * len(graph.names), "images_per_second": ips})
            print(json.dumps({"precision": precision, **rows[-1]}), flush=True)
        out = {"machine": machine(), "device": args.device, "precision": precision, "riddle": args.riddle,
               "rows": rows}
        save_json(folder / f"throughput-{args.device}-{precision}.json", out)
    plot(folder)
    write_section(ROOT / "docs" / "BENCHMARKS.md", "## Throughput", section(folder))


def plot(folder: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for path in sorted(folder.glob("throughput-*.json")):
        data = json.loads(path.read_text())
        ax.plot([r["images_per_step"] for r in data["rows"]], [r["images_per_second"] for r in data["rows"]], "o-",
                label=f"{data['device']} {data['precision']}: {data['machine']}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("images per step (restarts × 2 samples × n)")
    ax.set_ylabel("images per second, forward + backward")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(folder / "throughput.png")


def section(folder: Path) -> str:
    lines = ["## Throughput", "",
             "Measured by `python -m bench.throughput [--device cuda]`: one solver step of riddle 134 (energy and its "
             "gradient) at R restarts × 2 samples × 3 unknowns images. Plot: docs/bench/throughput.png.", ""]
    for path in sorted(folder.glob("throughput-*.json")):
        data = json.loads(path.read_text())
        lines += [f"{data['device']}, {data['precision']} — {data['machine']}:", "",
                  "| restarts | images per step | images/s |", "| --- | --- | --- |"]
        lines += [f"| {r['restarts']} | {r['images_per_step']} | {r['images_per_second']:,.0f} |" for r in data["rows"]]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

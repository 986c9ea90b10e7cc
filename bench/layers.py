"""What rewriting the single-channel layers buys: a solver step with the zoo's rewritten layers
(zoo.strided_conv, zoo.transposed_conv) against the same networks calling oneDNN's direct layers.

    python -m bench.layers [--riddle 134] [--precision bfloat16 float32] [--repeats 7]

One step = the energy of the riddle and its gradient with respect to the latents, as advi.run
computes it, at 1 and 100 restarts. Timings on a shared 2-core machine drift by ±20 % from minute
to minute, so the two variants alternate block by block in one process and the medians are
compared. Writes docs/bench/layers.json and the "Layer rewrite" section of docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from bench.common import ROOT, machine, save_json, write_section
from riddle.graph import build
from riddle.infer.objective import Networks, Objective
from riddle.lang import load
from riddle.models import zoo

REWRITTEN = {"LabelNet.outputs": zoo.LabelNet.outputs, "Decoder.forward": zoo.Decoder.forward}


def direct_outputs(self, x):                     # LabelNet.outputs with oneDNN's own strided convolution
    return self.head(self.features(x.unsqueeze(1)))


def direct_decoder(self, z):                     # Decoder.forward with oneDNN's own transposed convolution
    return self.deconv(self.fc(z).view(-1, 2 * self.width, 7, 7)).squeeze(1)


def use(rewritten: bool) -> None:
    zoo.LabelNet.outputs = REWRITTEN["LabelNet.outputs"] if rewritten else direct_outputs
    zoo.Decoder.forward = REWRITTEN["Decoder.forward"] if rewritten else direct_decoder


def step_ms(objective: Objective, restarts: int, steps: int) -> float:
    xi = torch.randn(restarts, 2, len(objective.names), objective.d, requires_grad=True)
    objective.energy(xi, 1.0)[0].sum().backward()                    # warm-up
    started = time.perf_counter()
    for _ in range(steps):
        objective.energy(xi, 1.0)[0].sum().backward()
    return (time.perf_counter() - started) / steps * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--riddle", default="134")
    ap.add_argument("--precision", nargs="+", default=["bfloat16", "float32"])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    torch.set_num_threads(2)
    graph = build(load(ROOT / "puzzles" / f"{args.riddle}.rdl"))
    rows = []
    for precision in args.precision:
        objective = Objective(graph, Networks.load(graph), precision)
        for restarts, steps in [(1, 100), (100, 10)]:
            times = {False: [], True: []}
            for _ in range(args.repeats):
                for rewritten in (False, True):
                    use(rewritten)
                    times[rewritten].append(step_ms(objective, restarts, steps))
            use(True)
            rows.append({"precision": precision, "restarts": restarts,
                         "direct_ms": statistics.median(times[False]), "rewritten_ms": statistics.median(times[True]),
                         "direct_all": times[False], "rewritten_all": times[True]})
            print(json.dumps(rows[-1]), flush=True)
    out = {"machine": machine(), "riddle": args.riddle, "rows": rows}
    (ROOT / "docs" / "bench").mkdir(parents=True, exist_ok=True)
    save_json(ROOT / "docs" / "bench" / "layers.json", out)
    lines = ["## Layer rewrite", "",
             f"Measured by `python -m bench.layers --repeats {args.repeats}` on {out['machine']}: one solver step of "
             f"riddle {args.riddle} (energy and its gradient), median of {args.repeats} alternating blocks. 'direct' "
             "calls oneDNN's own 1-channel layers (the classifier's first strided convolution, the decoder's last "
             "transposed convolution); 'rewritten' computes the same arithmetic as stride-1 convolutions on "
             "pixel-(un)shuffled tensors (zoo.strided_conv, zoo.transposed_conv), which riddle uses.", "",
             "| precision | restarts | direct | rewritten | change |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['precision']} | {r['restarts']} | {r['direct_ms']:.1f} ms | {r['rewritten_ms']:.1f} ms | "
                     f"{r['rewritten_ms'] / r['direct_ms'] - 1:+.0%} |")
    write_section(ROOT / "docs" / "BENCHMARKS.md", "## Layer rewrite", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""How many local workers `riddle sweep` should use: the same grid (puzzles/134.rdl, 6 seeds, 30
restarts, 100 steps) with 1, 2, … workers, each solve given cores / workers threads.

    python -m bench.sweep [--workers 1 2] [--seeds 6]

Writes docs/bench/sweep.json and the "Sweep" section of docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

from bench.common import ROOT, machine, save_json, write_section
from riddle import sweep


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--seeds", type=int, default=6)
    args = p.parse_args()
    tasks = sweep.grid([str(ROOT / "puzzles" / "134.rdl")], list(range(args.seeds)), ["advi"],
                       {"restarts": [30], "steps": [100]})
    rows = []
    for workers in args.workers:
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            done = sweep.sweep(tasks, out, workers=workers, stream=open(os.devnull, "w"))
            wall = time.perf_counter() - started
        rows.append({"workers": workers, "threads": max(1, (os.cpu_count() or 1) // workers), "wall": wall,
                     "solves": len(done), "right": sum(r["right"] for r in done),
                     "mean_solve": sum(r["seconds"] for r in done) / len(done)})
        print(rows[-1], flush=True)
    save_json(ROOT / "docs" / "bench" / "sweep.json", {"machine": machine(), "rows": rows}, indent=1)
    lines = ["## Sweep", "", f"Measured by `python -m bench.sweep` on {machine()}: the same {len(tasks)} solves "
             "(puzzles/134.rdl, 30 restarts, 100 steps, one per seed) by `riddle sweep` with each number of local "
             "workers, every solve given cores / workers threads; wall time of the whole sweep, worker start-up "
             "included.", "", "| workers | threads per solve | wall time | per solve (its own clock) | right |",
             "| --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['workers']} | {r['threads']} | {r['wall']:.1f} s | {r['mean_solve']:.1f} s | "
                     f"{r['right']}/{r['solves']} |")
    write_section(ROOT / "docs" / "BENCHMARKS.md", "## Sweep", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

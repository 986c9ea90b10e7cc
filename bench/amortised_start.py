"""Where annealed VI's restarts start: `start prior` (the best of each restart's own prior draws, the
default) against `start amortised` (each restart from its own posterior sample of the collapsed
sampler), at a short and the default budget of steps.

    python -m bench.amortised_start [--steps 50 200] [--only 134]

Riddles: 134 (3 unknowns) and SEND + MORE = MONEY (8). advi, 100 restarts, seed 0, `clone 0, rounds 1`
so that every run is one population of independent restarts. Per run: success (restarts judged
right), the solve's seconds (the start's sampling included: it is the run's), and variety over real
handwriting (the lowest over the unknowns). The solves run as one sweep (bench/runs.py). Writes
docs/bench/amortised_start.json and the "Amortised starts" section of docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse

from bench import runs
from bench.common import ROOT, machine, save_json, write_section
from riddle import sweep

OUT = ROOT / "docs" / "bench" / "amortised_start.json"
RIDDLES = {"134": ROOT / "puzzles" / "134.rdl", "send-more-money": ROOT / "puzzles" / "send-more-money.rdl"}


def measure(args) -> dict:
    tasks, keys = [], []
    for name, path in RIDDLES.items():
        if args.only and name not in args.only:
            continue
        for steps in args.steps:
            for start in ("prior", "amortised"):
                tasks.append(sweep.task(path, args.seed, "advi", restarts=100, steps=steps, start=start, clone=0.0,
                                        rounds=1))
                keys.append((name, steps, start))
    rows = []
    for (name, steps, start), row in zip(keys, runs.run(tasks, args)):
        if row["error"]:
            raise SystemExit(f"{name} ({start}, {steps} steps) failed: {row['error']}")
        rows.append({"riddle": name, "steps": steps, "start": start, "success": row["success"], "right": row["right"],
                     "seconds": row["seconds"], "solve_seconds": row["solve_seconds"],
                     "variety": row["variety"], "variety_real": row["variety_real"]})
    return {"machine": machine(), "seed": args.seed, "rows": rows}


def section(data: dict) -> str:
    lines = ["## Amortised starts", "",
             f"Measured by `python -m bench.amortised_start` on {data['machine']}, seed {data['seed']}: advi, 100 "
             "restarts, `clone 0, rounds 1`, each restart started from the best of its own prior draws (`start "
             "prior`, the default) or from its own posterior sample of the collapsed sampler (`start amortised`). "
             "Time: the whole solve (check, networks, start, VI, judge). Variety: the right drawings' spread over "
             "the generator's own drawings of those digits / the lowest, over the unknowns, over real handwriting.",
             "", "| riddle | steps | start | success | time | variety |", "| --- | --- | --- | --- | --- | --- |"]
    for r in data["rows"]:
        var = "—" if r["variety"] is None else f"{r['variety']:.2f} / {r['variety_real']:.2f}"
        lines.append(f"| {r['riddle']} | {r['steps']} | {r['start']} | {r['success']:.0%} {'✓' if r['right'] else '✗'} "
                     f"| {r['seconds']:.1f} s | {var} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, nargs="+", default=[50, 200])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="+")
    runs.add_arguments(ap)
    args = ap.parse_args()
    data = measure(args)
    if args.only:
        print(section(data))
        return
    OUT.parent.mkdir(parents=True, exist_ok=True)
    save_json(OUT, data)
    write_section(ROOT / "docs" / "BENCHMARKS.md", "## Amortised starts", section(data))


if __name__ == "__main__":
    main()

"""Every puzzle in puzzles/ with a unique solution, solved by advi with its default settings
(the default method, `auto`, samples instead: bench/amortised.py measures it).

    python -m bench.puzzles [--seeds 3] [--only send-more-money ...] [--set lr=0.15 --set anneal=1,3,3,10]

Each puzzle is solved once per seed (0, 1, ...), since one seed can be lucky: a solve's rounds
stop at the first verified answer, and with cloning (`--set clone=0.25`) the restarts of one solve
descend from a few lineages, so success is not independent across restarts.
Writes docs/bench/puzzles.json and the "Puzzles" section of docs/BENCHMARKS.md: for each puzzle
the reported answers, on how many seeds the reported answer is the known one (from the puzzle's
header), per-restart success (mean, min–max) and time per solve. `--set` overrides a solver
setting (as `riddle sweep --set` takes it) for every puzzle, to try a candidate default; like
`--only`, it prints without touching docs/. The solves run as one sweep (bench/runs.py).
"""
from __future__ import annotations

import argparse

import torch

from bench import runs
from bench.common import ROOT, known_answer, machine, save_json, write_section
from riddle import sweep
from riddle.lang import load


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", nargs="*", help="puzzle names (without .rdl), printed only; default: all, into docs/")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a solver setting, e.g. lr=0.15 or anneal=1:3:3:10, as `riddle sweep --set` "
                         "takes it (printed only)")
    runs.add_arguments(ap)
    args = ap.parse_args()
    overrides = {k: v[0] for k, v in sweep.parse_sets(args.set).items()}
    torch.set_num_threads(2)
    paths = [p for p in sorted((ROOT / "puzzles").glob("*.rdl")) if not args.only or p.stem in args.only]
    # every puzzle on every seed, the puzzle's `solve with` line under the defaults, the overrides on top
    tasks = [sweep.task(path, seed, "advi", **overrides) for path in paths for seed in range(args.seeds)]
    solved = runs.run(tasks, args)
    rows = []
    for path in paths:
        riddle = load(path)
        mine = [r for r in solved if r["riddle"] == str(path)]
        if any(r["error"] for r in mine):
            raise SystemExit(f"{path.name} failed: {next(r['error'] for r in mine if r['error'])}")
        if mine[0]["solutions"] != 1:          # several answers (or none): no known answer to score against
            continue
        truth = list(known_answer(riddle))
        rows.append({"puzzle": path.name, "unknowns": len(riddle.unknowns), "known": truth, "settings": riddle.settings,
                     "runs": [{"seed": r["seed"], "answer": r["answer"], "right": r["answer"] == truth,
                               "success": r["success"], "lineages": r["lineages"], "rounds": r["rounds"],
                               "seconds": round(r["seconds"], 1)} for r in mine]})
    if args.only or overrides:              # a subset or a variant: printed above, the docs keep the defaults' table
        return
    (ROOT / "docs" / "bench").mkdir(parents=True, exist_ok=True)
    save_json(ROOT / "docs" / "bench" / "puzzles.json", {"machine": machine(), "rows": rows})
    own = "; ".join(f"{r['puzzle']}: `{format_settings(r['settings'])}`" for r in rows if r["settings"])
    lines = ["## Puzzles", "", f"Measured by `python -m bench.puzzles --seeds {args.seeds}` on {machine()} (cpu), "
             f"advi's default settings under each puzzle's own `solve with` line ({own or 'none'}), "
             f"seeds 0–{args.seeds - 1}. Runs: how many "
             f"populations of restarts a solve ran (a new one while none of its answers satisfied the riddle); "
             f"per-restart success counts every run's restarts.", "",
             "| puzzle | unknowns | known answer | reported answer right | wrong answers reported | "
             "per-restart success (mean, min–max) | runs per solve (mean, max) | time per solve (mean, max) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        seeds = r["runs"]
        succ = [x["success"] for x in seeds]
        wrong = sorted({" ".join(map(str, x["answer"])) if x["answer"] else "none" for x in seeds if not x["right"]})
        lines.append(
            f"| {r['puzzle']} | {r['unknowns']} | {' '.join(map(str, r['known']))} | "
            f"{sum(x['right'] for x in seeds)}/{len(seeds)} | {', '.join(wrong) or '—'} | "
            f"{sum(succ) / len(succ):.0%} ({min(succ):.0%}–{max(succ):.0%}) | "
            f"{sum(x['rounds'] for x in seeds) / len(seeds):.1f} ({max(x['rounds'] for x in seeds)}) | "
            f"{sum(x['seconds'] for x in seeds) / len(seeds):.0f} s ({max(x['seconds'] for x in seeds):.0f} s) |"
        )
    every = sum(all(x["right"] for x in r["runs"]) for r in rows)
    lines.append(f"\n{every} of {len(rows)} puzzles answered right on every seed.\n")
    write_section(ROOT / "docs" / "BENCHMARKS.md", "## Puzzles", "\n".join(lines))


def format_settings(settings: dict) -> str:
    """{'lr': 0.15, 'anneal': [1, 3]} → 'lr 0.15, anneal 1 3', as a `solve with` line writes them."""
    return ", ".join(f"{k} {' '.join(f'{v:g}' for v in value) if isinstance(value, list) else value}"
                     for k, value in settings.items())


if __name__ == "__main__":
    main()

"""Every puzzle in puzzles/ with a unique solution, solved with the default settings.

    python bench/puzzles.py [--seeds 3] [--only send-more-money ...]

Each puzzle is solved once per seed (0, 1, ...), since one seed can be lucky: with cloning the
restarts of one solve descend from a few lineages, so success is not independent across restarts.
Writes docs/bench/puzzles.json and the "Puzzles" section of docs/BENCHMARKS.md: for each puzzle
the reported answers, on how many seeds the reported answer is the known one (from the puzzle's
header), per-restart success (mean, min–max) and time per solve.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from riddle.infer.solve import DEFAULTS, solve  # noqa: E402
from riddle.lang import load  # noqa: E402
from solve import known_answer  # noqa: E402
from symbolic_scale import machine, write_section  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", nargs="*", help="puzzle names (without .rdl), printed only; default: all, into docs/")
    args = ap.parse_args()
    torch.set_num_threads(2)
    rows = []
    for path in sorted((ROOT / "puzzles").glob("*.rdl")):
        if args.only and path.stem not in args.only:
            continue
        riddle = load(path)
        runs = []
        for seed in range(args.seeds):
            cfg = replace(DEFAULTS, seed=seed, **{k: v for k, v in riddle.settings.items()
                                                  if k in ("restarts", "pairs", "steps", "lr")})
            sol = solve(riddle, cfg, device="cpu")
            if sol.symbolic.count != 1:
                break
            truth = known_answer(riddle)
            answer = list(sol.answer.answer) if sol.answer else None
            runs.append({"seed": seed, "answer": answer, "right": answer == list(truth),
                         "success": sol.success_rate, "lineages": sol.lineages, "seconds": round(sol.seconds, 1)})
            print(json.dumps({"puzzle": path.name, **runs[-1]}), flush=True)
        if runs:
            rows.append({"puzzle": path.name, "unknowns": len(riddle.unknowns), "known": list(truth), "runs": runs})
    if args.only:                           # a subset: printed above, the docs keep the full table
        return
    (ROOT / "docs" / "bench").mkdir(parents=True, exist_ok=True)
    (ROOT / "docs" / "bench" / "puzzles.json").write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))
    lines = ["## Puzzles", "", f"Measured by `python bench/puzzles.py --seeds {args.seeds}` on {machine()} (cpu), "
             f"default settings, seeds 0–{args.seeds - 1}.", "",
             "| puzzle | unknowns | known answer | reported answer right | wrong answers reported | "
             "per-restart success (mean, min–max) | time per solve |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        runs = r["runs"]
        succ = [x["success"] for x in runs]
        wrong = sorted({" ".join(map(str, x["answer"])) if x["answer"] else "none" for x in runs if not x["right"]})
        lines.append(f"| {r['puzzle']} | {r['unknowns']} | {' '.join(map(str, r['known']))} | "
                     f"{sum(x['right'] for x in runs)}/{len(runs)} | {', '.join(wrong) or '—'} | "
                     f"{sum(succ) / len(succ):.0%} ({min(succ):.0%}–{max(succ):.0%}) | "
                     f"{sum(x['seconds'] for x in runs) / len(runs):.0f} s |")
    every = sum(all(x["right"] for x in r["runs"]) for r in rows)
    lines.append(f"\n{every} of {len(rows)} puzzles answered right on every seed.\n")
    write_section(ROOT / "docs" / "BENCHMARKS.md", "## Puzzles", "\n".join(lines))


if __name__ == "__main__":
    main()

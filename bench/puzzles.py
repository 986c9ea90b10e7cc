"""Every puzzle in puzzles/ with a unique solution, solved with the default settings.

    python bench/puzzles.py [--seed 0]

Writes docs/bench/puzzles.json and the "Puzzles" section of docs/BENCHMARKS.md: for each puzzle the
reported answer, whether it is the known one (from the puzzle's header), per-restart success, time.
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
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(2)
    rows = []
    for path in sorted((ROOT / "puzzles").glob("*.rdl")):
        riddle = load(path)
        cfg = replace(DEFAULTS, seed=args.seed, **{k: v for k, v in riddle.settings.items()
                                                   if k in ("restarts", "pairs", "steps", "lr")})
        sol = solve(riddle, cfg, device="cpu")
        if sol.symbolic.count != 1:
            continue
        truth = known_answer(riddle)
        rows.append({"puzzle": path.name, "unknowns": len(riddle.unknowns), "answer": list(sol.answer.answer),
                     "known": list(truth), "right": sol.answer.answer == truth, "success": sol.success_rate,
                     "seconds": round(sol.seconds, 1)})
        print(json.dumps(rows[-1]), flush=True)
    (ROOT / "docs" / "bench").mkdir(parents=True, exist_ok=True)
    (ROOT / "docs" / "bench" / "puzzles.json").write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))
    lines = ["## Puzzles", "", f"Measured by `python bench/puzzles.py --seed {args.seed}` on {machine()} (cpu), "
             "default settings.", "", "| puzzle | unknowns | reported answer | known answer | right | "
             "per-restart success | time |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['puzzle']} | {r['unknowns']} | {' '.join(map(str, r['answer']))} | "
                     f"{' '.join(map(str, r['known']))} | {'✓' if r['right'] else '✗'} | {r['success']:.0%} | "
                     f"{r['seconds']:.0f} s |")
    lines.append(f"\n{sum(r['right'] for r in rows)} of {len(rows)} puzzles answered right.\n")
    write_section(ROOT / "docs" / "BENCHMARKS.md", "## Puzzles", "\n".join(lines))


if __name__ == "__main__":
    main()

"""Every puzzle in puzzles/ with a unique solution, solved with the default settings.

    python bench/puzzles.py [--seeds 3] [--only send-more-money ...] [--set lr=0.15 --set anneal=1,3,3,10]

Each puzzle is solved once per seed (0, 1, ...), since one seed can be lucky: with cloning the
restarts of one solve descend from a few lineages, so success is not independent across restarts.
Writes docs/bench/puzzles.json and the "Puzzles" section of docs/BENCHMARKS.md: for each puzzle
the reported answers, on how many seeds the reported answer is the known one (from the puzzle's
header), per-restart success (mean, min–max) and time per solve. `--set` overrides a solver
setting (an ADVIConfig field) for every puzzle, to try a candidate default; like `--only`, it
prints without touching docs/.
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

from riddle.infer.solve import DEFAULTS, solve, with_settings  # noqa: E402
from riddle.lang import load  # noqa: E402
from solve import known_answer  # noqa: E402
from symbolic_scale import machine, write_section  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", nargs="*", help="puzzle names (without .rdl), printed only; default: all, into docs/")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a solver setting, e.g. lr=0.15 or anneal=1,3,3,10 (printed only)")
    args = ap.parse_args()
    overrides = dict(parse_setting(s) for s in args.set)
    torch.set_num_threads(2)
    rows = []
    for path in sorted((ROOT / "puzzles").glob("*.rdl")):
        if args.only and path.stem not in args.only:
            continue
        riddle = load(path)
        runs = []
        for seed in range(args.seeds):
            cfg = replace(with_settings(DEFAULTS, riddle.settings), seed=seed)          # the bench picks the seed
            cfg = replace(cfg, **overrides)
            sol = solve(riddle, cfg, device="cpu")
            if sol.symbolic.count != 1:
                break
            truth = known_answer(riddle)
            answer = list(sol.answer.answer) if sol.answer else None
            runs.append({"seed": seed, "answer": answer, "right": answer == list(truth),
                         "success": sol.success_rate, "lineages": sol.lineages, "rounds": sol.rounds, "seconds": round(sol.seconds, 1)})
            print(json.dumps({"puzzle": path.name, **runs[-1]}), flush=True)
        if runs:
            rows.append({"puzzle": path.name, "unknowns": len(riddle.unknowns), "known": list(truth),
                         "settings": riddle.settings, "runs": runs})
    if args.only or overrides:              # a subset or a variant: printed above, the docs keep the defaults' table
        return
    (ROOT / "docs" / "bench").mkdir(parents=True, exist_ok=True)
    (ROOT / "docs" / "bench" / "puzzles.json").write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))
    own = "; ".join(f"{r['puzzle']}: `{format_settings(r['settings'])}`" for r in rows if r["settings"])
    lines = ["## Puzzles", "", f"Measured by `python bench/puzzles.py --seeds {args.seeds}` on {machine()} (cpu), "
             f"default settings under each puzzle's own `solve with` line ({own or 'none'}), "
             f"seeds 0–{args.seeds - 1}. Runs: how many "
             f"populations of restarts a solve ran (a new one while none of its answers satisfied the riddle); "
             f"per-restart success counts every run's restarts.", "",
             "| puzzle | unknowns | known answer | reported answer right | wrong answers reported | "
             "per-restart success (mean, min–max) | runs per solve (mean, max) | time per solve (mean, max) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        runs = r["runs"]
        succ = [x["success"] for x in runs]
        wrong = sorted({" ".join(map(str, x["answer"])) if x["answer"] else "none" for x in runs if not x["right"]})
        lines.append(f"| {r['puzzle']} | {r['unknowns']} | {' '.join(map(str, r['known']))} | "
                     f"{sum(x['right'] for x in runs)}/{len(runs)} | {', '.join(wrong) or '—'} | "
                     f"{sum(succ) / len(succ):.0%} ({min(succ):.0%}–{max(succ):.0%}) | "
                     f"{sum(x['rounds'] for x in runs) / len(runs):.1f} ({max(x['rounds'] for x in runs)}) | "
                     f"{sum(x['seconds'] for x in runs) / len(runs):.0f} s ({max(x['seconds'] for x in runs):.0f} s) |")
    every = sum(all(x["right"] for x in r["runs"]) for r in rows)
    lines.append(f"\n{every} of {len(rows)} puzzles answered right on every seed.\n")
    write_section(ROOT / "docs" / "BENCHMARKS.md", "## Puzzles", "\n".join(lines))


def format_settings(settings: dict) -> str:
    """{'lr': 0.15, 'anneal': [1, 3]} → 'lr 0.15, anneal 1 3', as a `solve with` line writes them."""
    return ", ".join(f"{k} {' '.join(f'{v:g}' for v in value) if isinstance(value, list) else value}"
                     for k, value in settings.items())


def parse_setting(text: str) -> tuple[str, object]:
    """'lr=0.15' → ('lr', 0.15); 'anneal=1,3,10' → ('anneal', (1.0, 3.0, 10.0)), typed by DEFAULTS' field."""
    name, _, value = text.partition("=")
    if not hasattr(DEFAULTS, name) or not value:
        raise SystemExit(f"--set {text}: expected FIELD=VALUE with FIELD one of {', '.join(vars(DEFAULTS))}")
    current = getattr(DEFAULTS, name)
    if isinstance(current, tuple):
        return name, tuple(float(v) for v in value.split(","))
    return name, type(current)(value)


if __name__ == "__main__":
    main()

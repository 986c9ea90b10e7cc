"""How a restart's start is chosen: the best whole prior draw (`search 0`) against one coordinate
sweep over the restart's own draws (`search 1`, the default; advi.best_start).

    python -m bench.starts [--seed 0] [--riddles PATH ...] [--searches 0 1]
    python -m bench.starts --render      (rewrite the section from docs/bench/starts.json)

Every riddle is solved once per setting in one run of 100 independent restarts (`clone 0, rounds
1`, other settings the defaults), as one sweep (bench/runs.py). The default set: puzzles 134 and
SEND + MORE, bench/joint's generated mixed riddles of 5–8 digits, and three riddles from
bench/scaling.py's generator with seed 5 that no setting was chosen on (written to bench/starts/).
Writes docs/bench/starts.json and the "Starts" section of docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from bench import runs
from bench.common import ROOT, generate, known_answer, machine, save_json, write_section
from riddle import sweep
from riddle.lang import load

HELD_OUT_SEED = 5


def default_riddles() -> list[Path]:
    folder = ROOT / "bench" / "starts"
    folder.mkdir(exist_ok=True)
    held = []
    for n in (5, 7, 9):
        path = folder / f"seed{HELD_OUT_SEED}-n{n}.rdl"
        path.write_text(generate(n, HELD_OUT_SEED))
        held.append(path)
    return ([ROOT / "puzzles" / "134.rdl", ROOT / "puzzles" / "send-more-money.rdl"]
            + [ROOT / "bench" / "joint" / f"mixed-n{n}.rdl" for n in (5, 6, 7, 8)] + held)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--riddles", nargs="*", type=Path)
    ap.add_argument("--searches", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--render", action="store_true", help="rewrite the section from docs/bench/starts.json")
    runs.add_arguments(ap)
    args = ap.parse_args()
    if args.render:
        data = json.loads((ROOT / "docs" / "bench" / "starts.json").read_text())
        write_section(ROOT / "docs" / "BENCHMARKS.md", "## Starts", section(data, args.searches))
        return
    torch.set_num_threads(2)
    paths = args.riddles or default_riddles()
    jobs = [(path, search) for path in paths for search in args.searches]
    solved = runs.run([sweep.task(path, args.seed, "advi", clone=0.0, rounds=1, search=s) for path, s in jobs], args)
    rows = []
    for (path, search), row in zip(jobs, solved):
        if row["error"]:
            raise SystemExit(f"{path.name} (search {search}) failed: {row['error']}")
        riddle = load(path)
        rows.append({"riddle": path.stem, "unknowns": len(riddle.unknowns), "search": search,
                     "answer": row["answer"], "right": row["answer"] == list(known_answer(riddle)),
                     "success": row["success"], "seconds": round(row["seconds"], 1)})
    data = {"machine": machine(), "seed": args.seed, "rows": rows}
    save_json(ROOT / "docs" / "bench" / "starts.json", data)
    write_section(ROOT / "docs" / "BENCHMARKS.md", "## Starts", section(data, args.searches))


def section(data: dict, searches: list[int]) -> str:
    by = {(r["riddle"], r["search"]): r for r in data["rows"]}
    names = list(dict.fromkeys(r["riddle"] for r in data["rows"]))
    lines = ["## Starts", "",
             f"Measured by `python -m bench.starts` on {data['machine']} (cpu), seed {data['seed']}: one run of 100 "
             "independent restarts per riddle and setting (`clone 0, rounds 1`). Each restart draws 64 latents from "
             "the prior; `search 0` starts from the draw of lowest energy at the first α, `search 1` then sweeps the "
             "unknowns once, giving each the restart's draw for it that lowers the energy most (scored from the "
             "networks' readings of the 64 draws, so it adds only logic terms: the times below agree within this "
             "machine's run-to-run noise). Success: restarts whose judged answer is the riddle's answer. The search "
             "was built looking at mixed-n7's failures; seed5-*: riddles from bench/scaling.py's generator with "
             "seed 5, not looked at before this table.", "",
             "| riddle | unknowns | " + " | ".join(f"success, search {s}" for s in searches) + " | "
             + " | ".join(f"time, search {s}" for s in searches) + " |",
             "| --- | --- | " + " | ".join("---" for _ in searches * 2) + " |"]
    for name in names:
        rs = [by.get((name, s)) for s in searches]
        first = next(r for r in rs if r)
        lines.append(f"| {name} | {first['unknowns']} | "
                     + " | ".join("–" if r is None else f"{r['success']:.0%}{'' if r['right'] else ' ✗'}" for r in rs)
                     + " | " + " | ".join("–" if r is None else f"{r['seconds']:.0f} s" for r in rs) + " |")
    if len(searches) == 2:
        pairs = [(by[(n, searches[0])], by[(n, searches[1])]) for n in names
                 if (n, searches[0]) in by and (n, searches[1]) in by]
        mean = lambda i: sum(p[i]["success"] for p in pairs) / len(pairs)  # noqa: E731
        lines += [
            "",
            f"- mean per-restart success {mean(0):.0%} → {mean(1):.0%}; better on "
            f"{sum(b['success'] > a['success'] for a, b in pairs)}, worse on "
            f"{sum(b['success'] < a['success'] for a, b in pairs)} of {len(pairs)}; "
            f"under 85 %: {sum(a['success'] < 0.85 for a, _ in pairs)} → {sum(b['success'] < 0.85 for _, b in pairs)}.",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

"""Handwritten Sudoku: boards read from sheets of held-out digits and completed, against reading by hand.

    python -m bench.grids                 50 boards of 9 x 9 (30 givens) and 20 of 4 x 4 (6 givens), 5 of each
                                          also timed as a user runs them (`riddle solve`, start-up included)
    python -m bench.grids --render        the section again from docs/bench/grids.json

Each board comes from bench/boards.py (a unique-solution puzzle from its seed, its givens written with the
bundled held-out MNIST digits that no network trained on) and is solved with riddle's defaults, as
`riddle.solve(path)`: the sheet's cells read by the label classifier, the most probable valid boards
enumerated (CP-SAT), labels sampled from them, the blank cells drawn.

- **board right**: the reported answer is the puzzle's solution — every given read right and the completion
  valid (a unique-solution puzzle has one completion).
- **givens read right**: the answer's label at each given, against the digit written there.
- **samples judged right**: the share of a board's samples whose judged board (the judge's reading of every
  drawn cell, the read cells at their sampled labels) satisfies the riddle; **drawn cells judged right**: the
  judge's reading of each drawn cell against the solution, over all samples.
- **by hand**, in the same run: each given read by the same classifier's argmax, then CP-SAT completes the
  board: the share it cannot complete (no valid completion), completes wrongly, and completes right.
- **time**: check + solve per board in this process, and wall time of `riddle solve FILE` from launch to
  exit for the first boards of each size (start-up, reading the sheet, the report and its PNG included).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.boards import Ink, make_board, solve_clues, write
from bench.common import ROOT, machine, publish, rerender

HEADING = "## Grids"
SIZES = {9: 30, 4: 6}          # side → givens


def measure_board(size: int, givens: int, seed: int, folder: Path, cli: bool) -> dict:
    import riddle
    board = make_board(size, givens, seed)
    path = write(board, Ink(seed), folder / f"{size}-{seed}")
    truth = board.solution.reshape(-1)
    given = board.givens.reshape(-1)
    started = time.perf_counter()
    checked = riddle.check(path)
    result = riddle.solve(checked)
    seconds = time.perf_counter() - started
    sol = result.solution
    answer = np.asarray(sol.answer.answer) if sol.answer else np.full(size * size, -1)
    drawn = ~given
    judged = sol.answers[:, drawn] == truth[drawn][None]                         # [R, drawn cells]
    # by hand: each given's argmax (the same classifier reading the same cut cells), then CP-SAT
    names = [u.name for u in checked.graph.unknowns]
    argmax = {names.index(f.scope[0]): int(np.asarray(checked.graph.unknowns[0].domain.labels)[f.evidence.argmax()])
              for f in checked.graph.reads}
    clues = {(i // size, i % size): v for i, v in argmax.items()}
    completed = solve_clues(size, clues)
    by_hand = "cannot" if completed is None else ("right" if (completed.reshape(-1) == truth).all() else "wrong")
    row = {"size": size, "seed": seed, "givens": int(given.sum()),
           "board_right": bool((answer == truth).all()),
           "givens_right": int((answer[given] == truth[given]).sum()),
           "argmax_right": int(sum(argmax[i] == truth[i] for i in argmax)),
           "samples": int(sol.restarts), "samples_right": float(sol.success_rate),
           "drawn_cells_right": float(judged.mean()),
           "plan": sol.logic.describe()[1].split("←")[0].strip() if sol.logic else None,
           "exact": bool(sol.logic.exact) if sol.logic else None,
           "left_out": next((g.left_out for g in sol.logic.groups if g.left_out is not None), None)
           if sol.logic else None,
           "by_hand": by_hand, "seconds": seconds}
    if cli:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "riddle", "solve", str(path), "--out", str(path.parent / "out")],
                              capture_output=True, text=True, cwd=ROOT)
        row["cli_wall"] = time.perf_counter() - started
        row["cli_rc"] = done.returncode
    return row


def summary(rows: list[dict]) -> dict:
    n = len(rows)
    walls = [r["cli_wall"] for r in rows if "cli_wall" in r]
    return {"boards": n, "board_right": sum(r["board_right"] for r in rows) / n,
            "givens_right": sum(r["givens_right"] for r in rows) / sum(r["givens"] for r in rows),
            "argmax_right": sum(r["argmax_right"] for r in rows) / sum(r["givens"] for r in rows),
            "samples_right": float(np.mean([r["samples_right"] for r in rows])),
            "samples_right_min": min(r["samples_right"] for r in rows),
            "drawn_cells_right": float(np.mean([r["drawn_cells_right"] for r in rows])),
            "exact": sum(bool(r["exact"]) for r in rows) / n,
            "by_hand": {k: sum(r["by_hand"] == k for r in rows) / n for k in ("right", "wrong", "cannot")},
            "seconds_median": float(np.median([r["seconds"] for r in rows])),
            "seconds_max": max(r["seconds"] for r in rows),
            "cli_wall_median": float(np.median(walls)) if walls else None,
            "cli_wall_max": max(walls) if walls else None, "cli_boards": len(walls)}


def section(data: dict) -> str:
    lines = [HEADING, "",
             "Sudoku boards whose givens are handwritten (`python -m bench.grids`; bench/boards.py makes each "
             "unique-solution puzzle from its seed and writes its givens with the bundled held-out digits, which "
             "no network trained on), and its riddle says the sheet `with one solution`, as a published Sudoku's "
             "setter promises. riddle solves each with its defaults: the label classifier reads the sheet's cells "
             "over 16 fixed distortions of each at its calibrated temperature, CP-SAT lists the most probable "
             "valid boards under the readings, "
             "labels are sampled from them and the blank cells drawn. Beside it, in the same run, the pipeline a "
             "user would write by hand: each given read by the same classifier's argmax, then CP-SAT completes the "
             "board.", "",
             f"Machine: {data['machine']}.", "",
             "| board | boards | board right | givens read right (argmax alone) | samples judged right "
             "(lowest) | drawn cells judged right | plan exact | by hand: right / wrong / no completion | "
             "check + solve, median (max) | `riddle solve`, launch to exit, median (max) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for key, s in data["summary"].items():
        size, givens = key.split("/")
        hand = s["by_hand"]
        wall = (f"{s['cli_wall_median']:.1f} s ({s['cli_wall_max']:.1f} s), {s['cli_boards']} boards"
                if s["cli_wall_median"] is not None else "—")
        lines.append(f"| {size} × {size}, {givens} givens | {s['boards']} | {s['board_right']:.0%} | "
                     f"{s['givens_right']:.2%} ({s['argmax_right']:.2%}) | {s['samples_right']:.0%} "
                     f"({s['samples_right_min']:.0%}) | {s['drawn_cells_right']:.1%} | {s['exact']:.0%} | "
                     f"{hand['right']:.0%} / {hand['wrong']:.0%} / {hand['cannot']:.0%} | "
                     f"{s['seconds_median']:.1f} s ({s['seconds_max']:.1f} s) | {wall} |")
    wrong = [r for r in data["rows"] if not r["board_right"]]
    def misread(r):
        k = r["givens"] - r["givens_right"]
        return f"{r['size']} × {r['size']} seed {r['seed']} ({k} given{'s' if k != 1 else ''} misread)"
    import re
    listed = [re.search(r"the (\d+) most probable .* within e\^-(\d+)", r["plan"] or "") for r in data["rows"]
              if r["size"] == 9]
    listed = [(int(m[1]), int(m[2])) for m in listed if m]
    # what was looked into by hand after a run is kept in its JSON as `notes` (a new run starts without them)
    lines += ["", "Boards riddle got wrong: " + (", ".join(misread(r) for r in wrong) or "none") + "."]
    lines += [x for note in data.get("notes", []) for x in ("", note)]
    lines += [
              "", "A 9 × 9 plan is exact where the readings leave few valid boards; elsewhere it lists the most "
              f"probable ones (here 1–{max(n for n, _ in listed)} boards, every one within e^-"
              f"{min(d for _, d in listed)} … e^-{max(d for _, d in listed)} of the best) and `riddle check` says "
              "how much of the readings' weight the rest carries. Samples: 31 per 9 × 9 board (the default for 51 "
              "drawn digits: 1,600 drawings, `infer/amortised.default_samples`), 100 per 4 × 4 board."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--boards9", type=int, default=50)
    ap.add_argument("--boards4", type=int, default=20)
    ap.add_argument("--cli", type=int, default=5, help="boards of each size also timed through `riddle solve`")
    ap.add_argument("--render", action="store_true")
    args = ap.parse_args()
    if args.render:
        rerender("grids", HEADING, section)
        return
    torch.set_num_threads(2)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size, count in ((4, args.boards4), (9, args.boards9)):
            for seed in range(count):
                row = measure_board(size, SIZES[size], seed, Path(tmp), cli=seed < args.cli)
                rows.append(row)
                print(json.dumps(row), flush=True)
    out = {"machine": machine(), "rows": rows,
           "summary": {f"{size}/{SIZES[size]}": summary([r for r in rows if r["size"] == size])
                       for size in (9, 4) if any(r["size"] == size for r in rows)}}
    publish("grids", HEADING, out, section)
    print(section(out))


if __name__ == "__main__":
    main()

"""How the bench scripts run their solves: as one `riddle sweep` (riddle/sweep.py), so there is one
way to run many solves. `--workers 1` (the default) solves in the bench's own process, one solve at
a time on its threads: the timing conditions every figure in docs/BENCHMARKS.md was measured under.
More workers finish sooner on more cores, but each solve then gets fewer threads, so their times
are not comparable with the tables. `--out DIR` keeps results.jsonl and summary.md there: a bench
stopped halfway resumes without redoing the solves it finished (a new DIR, or none, measures anew).
"""
from __future__ import annotations

import argparse
import json
import sys

from riddle import sweep


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--workers", type=int, default=1,
                    help="local worker processes (default 1: in this process, the tables' timing conditions)")
    ap.add_argument("--out", help="keep the sweep's results.jsonl here; a rerun resumes (default: a temporary folder)")


def run(tasks: list[sweep.Task], args, save: bool = False) -> list[dict]:
    """Solve every task; → rows in the tasks' order. Each row's gist is printed as its solve ends."""
    def show(row):
        gist = {k: row.get(k) for k in ("riddle", "seed", "method", "settings", "answer", "right", "success",
                                        "seconds", "error")}
        print(json.dumps(gist), flush=True)
    return sweep.sweep(tasks, args.out, workers=args.workers, save=save, stream=sys.stderr, on_row=show)

"""Watch a solve's population: which statements its restarts satisfy as α rises.

    python -m bench.trace [--puzzle send-more-money] [--seed 1] [--every 25] [--defaults] [--json FILE]

Runs one ADVI run of the solver (the puzzle's own `solve with` settings applied, unless `--defaults`) and, every
`--every` steps, reads each
restart's first sample of that step as the label classifier reads it (free: the step already ran
the classifier) and counts the restarts whose labels satisfy each statement, all of them, and the
puzzle's known answer (its `# answer:` header). A diagnostic for search failures: it shows when a
constraint gets satisfied, and whether the solution ever appears before cloning and α freeze the
population. The classifier reading one noisy sample is not the judge's reading of G(μ), so the
counts are a little lower than a solve's success rate. Prints a table; `--json` also writes it.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from bench.common import ROOT, known_answer, save_json
from riddle.graph import build, satisfies
from riddle.infer import advi
from riddle.infer.objective import Networks, Objective, pick_precision
from riddle.infer.solve import DEFAULTS, with_settings
from riddle.lang import load


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--puzzle", default="send-more-money")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--every", type=int, default=25)
    ap.add_argument("--defaults", action="store_true", help="ignore the puzzle's own `solve with` line")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(2)
    riddle = load(ROOT / "puzzles" / f"{args.puzzle}.rdl")
    graph = build(riddle)
    if len({u.domain.name for u in graph.unknowns}) != 1:
        sys.exit("trace reads the shared label classifier: riddles over one domain only")
    cfg = replace(with_settings(DEFAULTS, {} if args.defaults else riddle.settings), seed=args.seed)
    objective = Objective(graph, Networks.load(graph), pick_precision(cfg.precision, "cpu"), cfg.logic)
    labels_of = np.asarray(graph.unknowns[0].domain.labels)
    statements = list(dict.fromkeys(f.statement for f in graph.factors))
    truth = np.asarray(known_answer(riddle))
    rows = []

    def progress(e) -> None:                        # riddle.infer.events.Annealed
        t, alpha = e.step, e.alpha
        if (t + 1) % args.every and t + 1 != cfg.steps:
            return
        logits = objective.label_logits.reshape(cfg.restarts, -1, len(graph.names), len(labels_of))
        labels = labels_of[logits[:, 0].argmax(-1).numpy()]                  # [R, n]: first sample each
        broken = [satisfies(graph, tuple(row)) for row in labels]
        holds = {s.text(): sum(s not in b for b in broken) for s in statements}
        common = Counter(map(tuple, labels.tolist())).most_common(1)[0]
        rows.append({"step": t + 1, "alpha": alpha, "statements": holds,
                     "all": sum(not b for b in broken), "known": int((labels == truth).all(1).sum()),
                     "closest": int((labels == truth).sum(1).max()),
                     "most_common": [list(common[0]), common[1]]})
        r = rows[-1]
        print(f"step {r['step']:4d}  α {alpha:<5g} all {r['all']:3d}  known {r['known']:3d}  "
              f"closest {r['closest']}/{len(truth)}  " + "  ".join(f"[{v:3d}] {k}" for k, v in holds.items())
              + f"  most common {r['most_common'][0]} ×{r['most_common'][1]}", flush=True)

    print(f"{args.puzzle}, seed {args.seed}, {cfg.restarts} restarts, {cfg.steps} steps; counts are restarts")
    advi.run(objective, cfg, "cpu", progress=progress)
    if args.json:
        save_json(args.json, {"puzzle": args.puzzle, "seed": args.seed, "config": {
            "restarts": cfg.restarts, "steps": cfg.steps, "lr": cfg.lr, "anneal": list(cfg.anneal)},
            "rows": rows})


if __name__ == "__main__":
    main()

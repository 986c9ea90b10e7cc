"""Is a riddle's failure one of search or of the energy? Start every restart at the known answer and see.

    python -m bench.stability [--puzzle send-more-money] [--restarts 100] [--seed 1]

Each restart starts at latents that the label classifier reads as the puzzle's known answer (from its
`# answer:` header), each unknown drawn from prior samples the classifier reads as that digit with
probability > 0.99; then the default solver runs (no candidate search at the start). If the restarts
stay there and their final ELBO is above that of the wrong answers a normal solve settles on, the
energy ranks the solution first and a failing solve fails at search. Writes docs/bench/stability.json.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np
import torch

from bench.common import ROOT, known_answer, machine, save_json
from riddle.graph import build
from riddle.infer import advi
from riddle.infer.objective import Networks, Objective, pick_precision
from riddle.infer.solve import DEFAULTS, solve
from riddle.lang import load


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--puzzle", default="send-more-money")
    ap.add_argument("--restarts", type=int, default=DEFAULTS.restarts)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pool", type=int, default=20_000, help="prior samples to pick starting latents from")
    args = ap.parse_args()
    torch.set_num_threads(2)
    riddle = load(ROOT / "puzzles" / f"{args.puzzle}.rdl")
    truth = np.array(known_answer(riddle))
    graph = build(riddle)
    objective = Objective(graph, Networks.load(graph), pick_precision(DEFAULTS.precision, "cpu"))
    domain = graph.unknowns[0].domain
    gen, clf = objective.nets.generators[domain.name], objective.nets.classifiers[domain.name]
    n, d, R = len(graph.unknowns), objective.d, args.restarts

    g = torch.Generator().manual_seed(args.seed)
    pool = torch.randn(args.pool, d, generator=g)
    with torch.no_grad():
        p = torch.cat([clf(gen(pool[i:i + 2000])).softmax(-1) for i in range(0, args.pool, 2000)])
    conf, label = p.max(-1)
    start = torch.zeros(R, 1, n, d)                                     # [R, C = 1, n, d]
    for j, digit in enumerate(truth):
        idx = torch.nonzero((label == domain.labels.index(digit)) & (conf > 0.99)).squeeze(1)
        start[:, 0, j] = pool[idx[torch.randint(0, len(idx), (R,), generator=g)]]
    cfg = replace(DEFAULTS, restarts=R, init_candidates=1, seed=args.seed)
    _, step_noise = advi.draw_noise(cfg, n, d, "cpu")
    res = advi.run(objective, cfg, "cpu", noise=(start, step_noise))
    with torch.no_grad():
        read = clf(gen(res.mu.reshape(-1, d))).argmax(-1).reshape(R, n).numpy()
    stayed = (np.asarray(domain.labels)[read] == truth).all(1)

    # the same riddle solved normally, same seed: the answers it settles on, with their ELBO
    sol = solve(riddle, replace(DEFAULTS, seed=args.seed, rounds=1), device="cpu")      # one run, as started above
    out = {"machine": machine(), "puzzle": args.puzzle, "seed": args.seed, "restarts": R,
           "started_at_answer": {"stayed": float(stayed.mean()),
                                 "final_elbo_mean": float(res.final_elbo[torch.from_numpy(stayed)].mean())
                                 if stayed.any() else None},
           "normal_solve": {"success": sol.success_rate,
                            "answers": [{"answer": [int(a) for a in row.answer], "restarts": row.restarts,
                                         "mean_elbo": row.mean_elbo, "correct": row.correct}
                                        for row in sol.rows[:8]]}}
    print(json.dumps(out, indent=2))
    (ROOT / "docs" / "bench").mkdir(parents=True, exist_ok=True)
    save_json(ROOT / "docs" / "bench" / "stability.json", out)


if __name__ == "__main__":
    main()

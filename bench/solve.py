"""Solver benchmarks: success, answer and time on the papers' riddles, and what batching buys.

    python -m bench.solve [--seeds 10] [--riddles 134 358] [--restarts 100] [--steps N] [--variant-seeds 3]

For each riddle and seed: the default solve (or the given budget); the reported answer by both
rules (vote, best ELBO), the per-restart success as judged by the independent judge, how many
initial restarts the final ones descend from (cloning), wall time and throughput. Then, for a few
seeds, the other combinations of logic (joint, factored) and cloning (0, 0.25), to show what each
buys — factored with cloning 0.25 is the solver before joint logic; then batching: one restart vs R
restarts at the same steps. Writes docs/bench/solve.json and the "Solver" section
of docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
from dataclasses import replace

import torch

from bench import runs
from bench.common import ROOT, known_answer, machine, save_json, write_section
from riddle import sweep
from riddle.infer.solve import DEFAULTS
from riddle.lang import load


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--riddles", nargs="+", default=["134", "358"])
    ap.add_argument("--restarts", type=int, default=DEFAULTS.restarts)
    ap.add_argument("--steps", type=int, default=DEFAULTS.steps)
    ap.add_argument("--device", default="cpu")
    runs.add_arguments(ap)
    ap.add_argument("--variant-seeds", type=int, default=3,
                    help="seeds solved again with the other logic modes and cloning shares")
    args = ap.parse_args()
    torch.set_num_threads(2)
    cfg = replace(DEFAULTS, restarts=args.restarts, steps=args.steps)
    runs_ = []
    variants = list(dict.fromkeys([(cfg.logic, cfg.clone)] + [(lg, c) for lg in ("joint", "factored")
                                                                for c in (0.0, 0.25)]))
    plan = [(name, seed, logic, clone) for logic, clone in variants for name in args.riddles
            for seed in range(args.seeds if (logic, clone) == variants[0] else args.variant_seeds)]
    solved = runs.run([sweep.task(ROOT / "puzzles" / f"{name}.rdl", seed, "advi", restarts=cfg.restarts,
                                  steps=cfg.steps, clone=clone, logic=logic, device=args.device)
                       for name, seed, logic, clone in plan]
                      # batching: 1 restart vs R restarts, same steps; one run each (rounds=1): a lone restart
                      # that misses would otherwise run again, and its extra runs would flatter the ratio
                      + [sweep.task(ROOT / "puzzles" / "134.rdl", 0, "advi", restarts=r, steps=cfg.steps, rounds=1,
                                    device=args.device) for r in (1, cfg.restarts)], args)
    for (name, seed, logic, clone), row in zip(plan, solved):
        if row["error"]:
            raise SystemExit(f"{name} failed: {row['error']}")
        truth = list(known_answer(load(ROOT / "puzzles" / f"{name}.rdl")))
        runs_.append({"riddle": name, "seed": seed, "logic": logic, "clone": clone, "precision": row["precision"],
                      "success": row["success"], "lineages": row["lineages"],
                      "successful_lineages": row["successful_lineages"],
                      "vote_right": row["answer"] == truth, "elbo_right": row["elbo_answer"] == truth,
                      "seconds": row["seconds"], "solve_seconds": row["solve_seconds"],
                      "images_per_second": row["images_per_second"], "mean_sample_share": row["sample_share"],
                      "rounds": row["rounds"], "diversity": row["variety"]})
    one, many = solved[-2:]
    riddle = load(ROOT / "puzzles" / "134.rdl")
    # t(R) = steps · (o + c·R): o the per-step cost that does not grow with restarts (Python, dispatch,
    # Adam), c what one more restart adds; ratio ≤ 5 needs c ≤ 4·o / (R − 5)
    per_step_one = one["solve_seconds"] / cfg.steps
    per_restart = (many["solve_seconds"] - one["solve_seconds"]) / (cfg.steps * (cfg.restarts - 1))
    batching = {"restarts": cfg.restarts, "precision": many["precision"], "one_restart_s": one["solve_seconds"],
                "all_restarts_s": many["solve_seconds"], "ratio": many["solve_seconds"] / one["solve_seconds"],
                "fixed_ms_per_step": 1000 * (per_step_one - per_restart), "ms_per_restart_step": 1000 * per_restart,
                "images_per_restart_step": 2 * cfg.pairs * len(riddle.unknowns)}
    out = {"machine": machine(), "device": args.device, "config": cfg.__dict__, "runs": runs_, "batching": batching}
    (ROOT / "docs" / "bench").mkdir(parents=True, exist_ok=True)
    save_json(ROOT / "docs" / "bench" / "solve.json", out)
    lines = ["## Solver", "",
             f"Measured by `python -m bench.solve --seeds {args.seeds} --restarts {cfg.restarts} --steps {cfg.steps}` "
             f"on {out['machine']} ({args.device}, networks in {many['precision']}). Success is per restart, judged by "
             "the independent judge; "
             "'right' is whether the riddle's reported answer is the true one, by each rule.", "",
             "| riddle | logic | cloning | seeds | per-restart success (mean, min–max) | lineages (successful) | "
             "reported answer right: vote / best ELBO | variety (ratio to the prior's) | time per solve | images/s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, logic, clone in [(n, lg, c) for lg, c in variants for n in args.riddles]:
        rs = [r for r in runs_ if r["riddle"] == name and r["clone"] == clone and r["logic"] == logic]
        if not rs:
            continue
        succ = [r["success"] for r in rs]
        lineages = sum(r["lineages"] for r in rs) / len(rs)
        lin = f"{lineages:.0f} ({sum(r['successful_lineages'] for r in rs) / len(rs):.0f})"
        variety = [r["diversity"] for r in rs if r["diversity"] is not None]
        variety = f"{sum(variety) / len(variety):.2f}" if variety else "—"
        lines.append(
            f"| {name} | {logic} | {clone:g} | {len(rs)} | {sum(succ) / len(succ):.0%} "
            f"({min(succ):.0%}–{max(succ):.0%}) | "
            f"{lin} | "
            f"{sum(r['vote_right'] for r in rs)}/{len(rs)} / {sum(r['elbo_right'] for r in rs)}/{len(rs)} | "
            f"{variety} | "
            f"{sum(r['seconds'] for r in rs) / len(rs):.1f} s | "
            f"{sum(r['images_per_second'] for r in rs) / len(rs):,.0f} |"
        )
    b = batching
    lines += [
        "",
        f"Batching: one restart takes {b['one_restart_s']:.1f} s, {cfg.restarts} restarts "
        f"{b['all_restarts_s']:.1f} s ({b['ratio']:.1f}× the time for {cfg.restarts}× the work). Per step, "
        f"that is {b['fixed_ms_per_step']:.1f} ms that do not grow with restarts (Python, dispatch, Adam) plus "
        f"{b['ms_per_restart_step']:.2f} ms per restart ({b['images_per_restart_step']} images forward and "
        f"backward). A ratio of 5 would need each restart to add at most "
        f"{4 * b['fixed_ms_per_step'] / (cfg.restarts - 5):.2f} ms a step.",
        "",
    ]
    write_section(ROOT / "docs" / "BENCHMARKS.md", "## Solver", "\n".join(lines))


if __name__ == "__main__":
    main()

"""What each logic plan costs per solver step, against what the networks cost: the measurements
behind joint.ENUMERATE_LIMIT and joint.CONTRACT_LIMIT.

    python -m bench.logic [--batch 200]

One solver step evaluates every term for R·S image tuples (100 restarts × 2 samples by default) and
back-propagates. For each plan this times one logic term, forward and backward, on random label
log-probabilities [B, k, 10] (best of 5), over growing groups:
  enumerate  k = 8 unknowns, m satisfying tuples (random rows), m up to 10^5;
  contract   `a_1 + … + a_k = 4.5 k` (a partial-sum chain, k up to 16), and `all different` over k
             unknowns (a clique of pairwise tables, k up to 6), forced to contract;
and, for scale, one step of the bundled networks on riddle 134 (3 unknowns) and SEND + MORE (8).
Writes docs/bench/logic.json and the "Logic plans" section of docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from bench.common import ROOT, machine, save_json, write_section
from riddle.graph import build, joint
from riddle.graph.joint import LogicGroup, LogicProgram, compile_logic
from riddle.infer.objective import Networks, Objective, pick_precision
from riddle.lang import load, load_text


def best_of(fn, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def time_group(objective: Objective, group: LogicGroup, batch: int) -> float:
    k = len(objective.names)
    logp = torch.log_softmax(torch.randn(batch, k, 10, generator=torch.Generator().manual_seed(0)), -1)
    logp.requires_grad_(True)

    def step():
        logp.grad = None
        objective.logic_term(group, logp).sum().backward()
    return best_of(step)


def objective_for(text: str) -> Objective:
    graph = build(load_text(text))
    return Objective(graph, Networks.load(graph), "float32")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(2)
    rows = []
    # enumerate: k = 8 unknowns, m random rows
    names = "abcdefgh"
    base = objective_for(f"digits {', '.join(names)}\nall different {', '.join(names)}\n")
    rng = np.random.default_rng(0)
    for m in (1, 100, 1_000, 10_000, 30_000, 100_000):
        rows_m = rng.integers(0, 10, size=(m, 8))
        group = LogicGroup("g", (), tuple(names), "enumerate", m, 1.0, rows=rows_m)
        base._rows["g"] = base._buffer(torch.from_numpy(rows_m).long())
        rows.append({"plan": "enumerate", "family": "8 unknowns", "k": 8, "size": m, "entries": m * 8,
                     "ms": 1000 * time_group(base, group, args.batch)})
        print(json.dumps(rows[-1]), flush=True)
    # contract: a long sum (a chain) and all different (a clique), forced past enumeration
    limit = joint.ENUMERATE_LIMIT
    joint.ENUMERATE_LIMIT = -1
    try:
        families = [
            ("sum", k, lambda k: f"{' + '.join(f'x{i}' for i in range(k))} = {9 * k // 2}") for k in (4, 8, 12, 16)
        ]
        families += [("all different", k, lambda k: f"all different {', '.join(f'x{i}' for i in range(k))}")
                     for k in (3, 4, 5, 6)]
        for family, k, statement in families:
            text = f"digits {', '.join(f'x{i}' for i in range(k))}\n{statement(k)}\n"
            graph = build(load_text(text))
            saved, joint.CONTRACT_LIMIT = joint.CONTRACT_LIMIT, 10 ** 9    # measure past the bound too
            try:
                group = compile_logic(graph).groups[0]
            finally:
                joint.CONTRACT_LIMIT = saved
            objective = Objective(graph, Networks.load(graph), "float32", LogicProgram("joint", (group,)))
            rows.append({"plan": "contract", "family": family, "k": k, "size": group.size,
                         "entries": group.size, "ms": 1000 * time_group(objective, group, args.batch)})
            print(json.dumps(rows[-1]), flush=True)
    finally:
        joint.ENUMERATE_LIMIT = limit
    # the networks, for scale: one step of the bundled objective (forward and backward)
    networks = []
    for name in ("134", "send-more-money"):
        graph = build(load(ROOT / "puzzles" / f"{name}.rdl"))
        precision = pick_precision("auto", "cpu")
        objective = Objective(graph, Networks.load(graph), precision)
        xi = torch.randn(args.batch // 2, 2, len(graph.names), objective.d).requires_grad_(True)

        def step(xi=xi, objective=objective):
            xi.grad = None
            objective.energy(xi, 1.0)[0].sum().backward()
        networks.append({"riddle": name, "unknowns": len(graph.names), "precision": precision,
                         "ms": 1000 * best_of(step, 3)})
        print(json.dumps(networks[-1]), flush=True)
    out = {"machine": machine(), "batch": args.batch, "rows": rows, "networks": networks,
           "limits": {"enumerate": joint.ENUMERATE_LIMIT, "contract": joint.CONTRACT_LIMIT}}
    save_json(ROOT / "docs" / "bench" / "logic.json", out)
    lines = ["## Logic plans", "",
             f"Measured by `python -m bench.logic` on {machine()} (cpu): one logic term, forward and backward, for "
             f"{args.batch} image tuples (100 restarts × 2 samples: one solver step), best of 5. Size: enumerate — "
             "satisfying tuples; contract — largest intermediate per image tuple.", "",
             "| plan | group | size | ms per step |", "| --- | --- | --- | --- |"]
    for r in rows:
        group = r["family"] if r["plan"] == "enumerate" else f"{r['family']} of {r['k']}"
        lines.append(f"| {r['plan']} | {group} | {r['size']:,} | {r['ms']:.2f} |")
    lines += [
        "",
        "For scale, one step of the networks (generator, classifier, their backward): "
        + "; ".join(f"{n['riddle']} ({n['unknowns']} unknowns, {n['precision']}) {n['ms']:.0f} ms" for n in networks)
        + ".",
        "",
        f"The bounds: enumerate while rows × unknowns ≤ {joint.ENUMERATE_LIMIT:,}, contract while every tensor "
        f"and intermediate holds ≤ {joint.CONTRACT_LIMIT:,} entries per image tuple — at the bounds a term costs "
        "about one step of the networks on a three-digit riddle; past them a component is split (approximate).",
        "",
    ]
    write_section(ROOT / "docs" / "BENCHMARKS.md", "## Logic plans", "\n".join(lines))


if __name__ == "__main__":
    main()

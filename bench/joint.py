"""Riddles nobody tuned on, solved with the defaults: classic cryptarithms and generated mixed riddles.

    python -m bench.joint [--modes defaults joint factored] [--factored-every 3] [--seed 0] [--only NAME ...]
    python -m bench.joint --render        (rewrite the section from docs/bench/joint.json, no solving)

The set, written to bench/joint/*.rdl (regenerated identically, each with its answer in the header):
  - cryptarithms from the classic lists, every one with a unique solution (checked by the oracle), 4
    to 10 letters: every letter a different digit, no number of several digits starting with 0;
  - mixed riddles of 4 to 9 digits from bench/common.py's generator with seed 1 (the retired scaling
    bench used seed 0): sums, differences, parity, closed circle, `is not`, until the answer is unique.
The settings were chosen on puzzles/ alone (docs/history/BENCHMARKS.md, "Defaults"); none of these riddles
was looked at before the table was first measured. Since then one change was made looking at this
set — the start search (`search 1`, built on mixed-n7's failures) — and checked on riddles outside it
(docs/history/BENCHMARKS.md, "Starts").

Modes: `defaults` (the default run) solves every riddle as a user's `riddle solve` does — `auto`, 100
samples, every setting the default. `joint` and `factored` are the study that chose joint logic, under
advi: one run of 100 independent restarts (`clone 0, rounds 1`), in joint and in factored logic
(`factored` only on every N-th riddle: it takes as long and is known to fail on cryptarithms); it
takes about an hour, and its last run is kept in docs/history/bench/joint-advi.json.
puzzles/134.rdl is solved in the same run as the 3-unknown time reference. Writes docs/bench/joint.json
and the "Joint logic" section of docs/BENCHMARKS.md. The solves run as one sweep (bench/runs.py:
`--workers`, `--out` to keep and resume its results.jsonl).
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace

import torch

from bench import runs
from bench.common import ROOT, generate, known_answer, machine, save_json, write_section
from riddle import sweep
from riddle.graph import build, solve_symbolic
from riddle.infer.solve import DEFAULTS
from riddle.lang import load, load_text

# Word sums from the classic cryptarithm lists (Dudeney's SEND + MORE = MONEY is in puzzles/).
CRYPTARITHMS = [
    "TO+GO=OUT", "AS+A=MOM", "I+DID=TOO", "EAT+THAT=APPLE", "NO+NO+TOO=LATE", "COCA+COLA=OASIS",
    "MEMO+FROM=HOMER", "THIS+IS=HERE", "KYOTO+OSAKA=TOKYO", "BASE+BALL=GAMES", "USSR+USA=PEACE",
    "LYNNE+LOOKS=SLEEPY", "DAYS+TOO=SHORT", "CROSS+ROADS=DANGER", "HOCUS+POCUS=PRESTO",
    "SATURN+URANUS=PLANETS", "SIX+SEVEN+SEVEN=TWENTY", "GREEN+ORANGE=COLORS", "DONALD+GERALD=ROBERT",
    "FORTY+TEN+TEN=SIXTY", "BLACK+GREEN=ORANGE", "POINT+ZERO=ENERGY",
]
MIXED_SIZES = (4, 5, 6, 7, 8, 9)
MODES = ("defaults", "joint", "factored")      # the defaults; advi in joint and in factored logic
MIXED_SEED = 1


def cryptarithm(words: str) -> str:
    """'TO+GO=OUT' → a riddle: one digit per letter, the sum, all different, no leading zero."""
    lhs, rhs = words.split("=")
    terms = lhs.split("+")
    letters = [c.lower() for c in dict.fromkeys(words.replace("+", "").replace("=", ""))]
    num = lambda w: f"num({', '.join(w.lower())})" if len(w) > 1 else w.lower()  # noqa: E731
    leads = sorted({w[0].lower() for w in terms + [rhs] if len(w) > 1})
    body = (f"digits {', '.join(letters)}\n{' + '.join(num(t) for t in terms)} = {num(rhs)}\n"
            f"all different {', '.join(letters)}\n{'; '.join(f'{c} > 0' for c in leads)}\n")
    graph = build(load_text(body))
    result = solve_symbolic(graph)
    assert result.count == 1, (words, result.count)
    answer = " ".join(f"{n}={v}" for n, v in zip(graph.names, result.solutions[0]))
    spaced = words.replace("+", " + ").replace("=", " = ")
    return f"# The cryptarithm {spaced}: every letter a different digit (bench/joint.py).\n# answer: {answer}\n" + body


def riddle_set() -> list[tuple[str, str, str]]:
    """(name, kind, text) for every riddle of the set, written to bench/joint/ as a side effect."""
    out = []
    for words in CRYPTARITHMS:
        out.append((words.lower().replace("+", "-").replace("=", "-is-"), "cryptarithm", cryptarithm(words)))
    for n in MIXED_SIZES:
        out.append((f"mixed-n{n}", "mixed", generate(n, MIXED_SEED).replace("bench/scaling.py", "bench/joint.py "
                                                                            "with bench/scaling.py's generator")))
    folder = ROOT / "bench" / "joint"
    folder.mkdir(exist_ok=True)
    for name, _, text in out:
        (folder / f"{name}.rdl").write_text(text)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--modes", nargs="+", default=["defaults"], choices=MODES)
    ap.add_argument("--factored-every", type=int, default=3, help="solve every N-th riddle in factored mode too")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="*", help="riddle names, printed only (docs/ untouched)")
    ap.add_argument("--render", action="store_true", help="rewrite the docs section from docs/bench/joint.json")
    runs.add_arguments(ap)
    args = ap.parse_args()
    if args.render:
        saved = json.loads((ROOT / "docs" / "bench" / "joint.json").read_text())
        args.seed = saved["config"]["seed"]
        write_section(ROOT / "docs" / "BENCHMARKS.md", "## Joint logic", section(saved["rows"], args, saved["machine"]))
        return
    torch.set_num_threads(2)
    cfg = replace(DEFAULTS, clone=0.0, rounds=1, seed=args.seed)     # the advi modes' settings, kept in the JSON
    riddles = [("134", "reference", ROOT / "puzzles" / "134.rdl")] + [
        (name, kind, ROOT / "bench" / "joint" / f"{name}.rdl") for name, kind, _ in riddle_set()]
    jobs = [(name, kind, path, mode) for k, (name, kind, path) in enumerate(riddles)
            if not args.only or name in args.only for mode in args.modes
            if not (mode == "factored" and kind != "reference" and (k - 1) % args.factored_every)]
    tasks = [sweep.task(path, args.seed) if mode == "defaults" else
             sweep.task(path, args.seed, "advi", clone=0.0, rounds=1, logic=mode) for _, _, path, mode in jobs]
    rows = []
    for (name, kind, path, mode), row in zip(jobs, runs.run(tasks, args)):
        riddle = load(path)
        if row["error"]:
            raise SystemExit(f"{name} ({mode}) failed: {row['error']}")
        rows.append({"riddle": name, "kind": kind, "unknowns": len(riddle.unknowns), "mode": mode,
                     "answer": row["answer"], "right": row["answer"] == list(known_answer(riddle)),
                     "success": row["success"], "seconds": round(row["seconds"], 2),
                     "solve_seconds": round(row["solve_seconds"], 2), "plans": row["logic"],
                     "diversity": row["variety"], "variety_real": row["variety_real"]})
    if args.only:
        return
    save_json(ROOT / "docs" / "bench" / "joint.json",
              {"machine": machine(), "modes": args.modes, "config": cfg.__dict__, "rows": rows})
    write_section(ROOT / "docs" / "BENCHMARKS.md", "## Joint logic", section(rows, args, machine()))


def plans(groups: list) -> str:
    """[['enumerate', 1]] → 'enumerate 1'; many groups → counts per plan ('28 enumerate, 1 chain')."""
    if len(groups) <= 2:
        return ", ".join(f"{p} {s:,}" for p, s in groups)
    counts = {p: sum(g[0] == p for g in groups) for p, _ in groups}
    return ", ".join(f"{k} {p}" for p, k in counts.items()) + " terms"


HOW = {"defaults": "the defaults (`auto`, 100 samples; per-sample success)",
       "joint": "advi in joint logic (100 restarts, `clone 0, rounds 1`; per-restart success)",
       "factored": "advi in factored logic (100 restarts, `clone 0, rounds 1`; per-restart success)"}


def section(rows: list[dict], args, where: str) -> str:
    modes = [m for m in MODES if any(r["mode"] == m for r in rows)]
    lines = ["## Joint logic", "",
             f"Measured by `python -m bench.joint{'' if modes == ['defaults'] else ' --modes ' + ' '.join(modes)}` "
             f"on {where} (cpu), seed {args.seed}, one run per riddle and mode: "
             + "; ".join(f"`{m}`: {HOW[m]}" for m in modes) + ". The riddles (bench/joint/) are classic "
             "cryptarithms and riddles from the scaling generator with a new seed; the defaults were chosen on "
             "puzzles/ and on riddles outside this set (docs/history/BENCHMARKS.md). Plan: the logic group's plan "
             "and size (enumerate: satisfying tuples). Variety: the right drawings' mean pairwise distance over the "
             "prior's (and, for the defaults, the lowest over the unknowns of it over real handwriting). Time: the "
             "whole call (check, solve, judge), models loaded once per run.", "",
             "| riddle | kind | unknowns | mode | plan | reported answer right | success | variety "
             "(prior · real) | time per solve |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        variety = "—" if r["diversity"] is None else f"{r['diversity']:.2f}"
        if r.get("variety_real") is not None:
            variety += f" · {r['variety_real']:.2f}"
        lines.append(f"| {r['riddle']} | {r['kind']} | {r['unknowns']} | {r['mode']} | {plans(r['plans'])} | "
                     f"{'yes' if r['right'] else 'no'} | {r['success']:.0%} | {variety} | {r['seconds']:.1f} s |")
    lines.append("")
    for mode in modes:
        rs = [r for r in rows if r["mode"] == mode and r["kind"] != "reference"]
        if not rs:
            continue
        ok = [r for r in rs if r["right"] and r["success"] >= 0.85]
        succ = [r["success"] for r in rs]
        each = "sample" if mode == "defaults" else "restart"
        lines.append(f"- {mode}: {sum(r['right'] for r in rs)}/{len(rs)} answered right, {len(ok)}/{len(rs)} right "
                     f"with ≥ 85 % of {each}s; per-{each} success mean {sum(succ) / len(succ):.0%}, lowest "
                     f"{min(succ):.0%}.")
        ref = next((r for r in rows if r["kind"] == "reference" and r["mode"] == mode), None)
        nine = [r for r in rs if r["kind"] == "cryptarithm" and r["unknowns"] >= 9]
        if ref and nine:
            worst = max(r["seconds"] for r in nine)
            lines.append(
                f"  Time: a cryptarithm of 9–10 letters takes {min(r['seconds'] for r in nine):.1f}–{worst:.1f} s, "
                f"{worst / ref['seconds']:.1f}× at most the {ref['seconds']:.1f} s of 134.rdl (3 unknowns) in the "
                "same run.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

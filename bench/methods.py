"""Every inference method on the same riddles: amortised (what `auto` picks), advi, hmc, mgvi, fullrank, flow.

    python -m bench.methods [--methods amortised advi hmc mgvi fullrank flow] [--only 134 x-is-7 …]
    python -m bench.methods --render        (rewrite the section from docs/bench/methods.json)

Riddles: 134 and 7-is-x (`x is 7`) with 100 restarts (the issue's bars), 358, SEND + MORE = MONEY and
`x is K` for the other nine K (conditional generation) with fewer, and `several` — a riddle with four
solutions — solved with the schedule ending at α = 1, whose answers are compared with an exact
rejection sampler of the α = 1 posterior (a prior draw kept with probability Π_k P_k^{s_k}, the
target itself; judged by the same judge): the total variation distance between the two distributions
over judged answers (amortised samples at the schedule's last α, from its collapsed posterior, which
bench.amortised compares with an exact sampler of its own). Per solve: success (restarts, samples or
chains judged right), the reported answer, time and its ratio to advi's on the same riddle in the same
run, seconds per judge-confirmed answer, the variety of the right answers' drawings (solve.diversity),
HMC's R-hat and ESS.

The solves run as one sweep (bench/runs.py; `--out DIR` keeps its results so a stopped run resumes).
Writes docs/bench/methods.json and the "Methods" section of docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter

from bench import runs
from bench.common import ROOT, judged_rejection, machine, save_json, tvd, write_section
from riddle import sweep

METHODS = ("amortised", "advi", "hmc", "mgvi", "fullrank", "flow")
SEVERAL = "digits a, b\na + b = 10\na < b\n"            # four solutions: 1 9, 2 8, 3 7, 4 6
OUT = ROOT / "docs" / "bench" / "methods.json"


def plan(small: int, full: int) -> list[dict]:
    rows = [{"name": "134", "text": (ROOT / "puzzles" / "134.rdl").read_text(), "restarts": full},
            {"name": "x is 7", "text": "digit x\nx is 7\n", "restarts": full},
            {"name": "358", "text": (ROOT / "puzzles" / "358.rdl").read_text(), "restarts": small},
            {"name": "send-more-money", "text": (ROOT / "puzzles" / "send-more-money.rdl").read_text(),
             "restarts": small},
            {"name": "several", "text": SEVERAL, "restarts": 50, "anneal": [0.5, 1.0]}]
    rows += [{"name": f"x is {k}", "text": f"digit x\nx is {k}\n", "restarts": small, "group": "x is K"}
             for k in range(10) if k != 7]
    return rows


def exact_answers(text: str, accepted: int, seed: int = 0) -> tuple[Counter, dict]:
    """Judged answers of `accepted` exact draws of the α = 1 posterior, by rejection: ξ ~ N(0, I) kept
    with probability Π_k P_k(ξ)^{s_k} (each P_k ≤ 1)."""
    def log_weight(objective, xi, images):
        return (objective.terms_of(objective.read(images)) * objective.strength).sum(-1)   # [B]
    return judged_rejection(text, accepted, log_weight, seed)


def task(item: dict, method: str, seed: int) -> sweep.Task:
    slug = item["name"].replace(" ", "-")
    return sweep.task(ROOT / "bench" / "methods" / f"{slug}.rdl", seed, method, text=item["text"],
                      restarts=item["restarts"], anneal=item.get("anneal"))


def table_row(item: dict, method: str, row: dict) -> dict:
    """A sweep row → this bench's row."""
    if row["error"]:
        raise SystemExit(f"{item['name']} ({method}) failed: {row['error']}")
    return {"riddle": item["name"], "group": item.get("group"), "method": method, "restarts": row["restarts"],
            "rounds": row["rounds"], "answer": row["answer"], "right": row["right"],
            "success": row["success"], "interval": row["interval"],
            "solve_seconds": row["solve_seconds"], "seconds": row["seconds"],
            "seconds_per_correct": row["solve_seconds"] / row["successes"] if row["successes"] else None,
            "diversity": row["variety"], "diagnostics": row["diagnostics"], "answers": row["answers"]}


def section(data: dict) -> str:
    rows, m = data["rows"], data["machine"]
    by = {(r["riddle"], r["method"]): r for r in rows}
    methods = [x for x in METHODS if any(r["method"] == x for r in rows)]
    lines = [
        "## Methods",
        "",
        f"Measured by `python -m bench.methods` on {m}, seed {data['seed']}, default settings but the "
        "restarts (samples for amortised, chains for hmc) given. Success: restarts (samples, chains) whose judged "
        "answer solves the riddle; "
        "time: the solve itself, and its ratio to advi's on the same riddle in the same run; variety: the "
        "mean pairwise pixel distance of the right answers' drawings over the prior's own (1: as varied as "
        "the generator's digits).",
        "",
        "| riddle | method | restarts | success (95 % CI) | answer | solve time | × advi | s per right answer "
        "| variety | R-hat · ESS bulk / tail (hmc) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    named = ["134", "x is 7", "358", "send-more-money"]
    for name in named:
        for method in methods:
            r = by.get((name, method))
            if r is None:
                continue
            base = by.get((name, "advi"))
            x = r["solve_seconds"] / base["solve_seconds"] if base else None
            ratio = "–" if x is None else f"{x:.1f}×" if x >= 0.1 else f"{x:.2f}×"
            dg = r["diagnostics"] or {}
            mix = (f"{dg['rhat_max']:.2f} · {dg['ess_bulk_min']:.0f} / {dg['ess_tail_min']:.0f}"
                   if method == "hmc" and dg.get("rhat_max") is not None else "")
            spc = r["seconds_per_correct"]
            per = "–" if not spc else f"{spc:.2f} s" if spc >= 0.1 else f"{spc:.3f} s"
            lo, hi = r["interval"]
            lines.append(f"| {name} | {method} | {r['restarts']} | {r['success']:.0%} ({lo:.0%}–{hi:.0%}) | "
                         f"{' '.join(map(str, r['answer'] or [])) or 'none'} {'✓' if r['right'] else '✗'} | "
                         f"{r['solve_seconds']:.1f} s | {ratio} | {per} | "
                         f"{'–' if r['diversity'] is None else format(r['diversity'], '.2f')} | {mix} |")
    group = [r for r in rows if r["group"] == "x is K"]
    if group:
        lines += [
            "",
            "Conditional generation, `x is K` for the nine K other than 7 (the full paper: VI 99 %, "
            "HMC about 100 %, judged), "
            f"{group[0]['restarts']} restarts each:",
            "",
            "| method | mean success | lowest (K) | right answers | mean solve time |",
            "| --- | --- | --- | --- | --- |",
        ]
        for method in methods:
            rs = [r for r in group if r["method"] == method]
            if not rs:
                continue
            low = min(rs, key=lambda r: r["success"])
            lines.append(f"| {method} | {sum(r['success'] for r in rs) / len(rs):.1%} | {low['success']:.0%} "
                         f"({low['riddle'][-1]}) | {sum(r['right'] for r in rs)}/{len(rs)} | "
                         f"{sum(r['solve_seconds'] for r in rs) / len(rs):.1f} s |")
    ex = data.get("exact")
    if ex:
        ref = Counter({tuple(map(int, k.split())): v for k, v in ex["answers"].items()})
        top = [k for k, _ in ref.most_common(6)]
        lines += ["", f"Sampling fidelity on `several` (a + b = 10, a < b: four solutions), schedule 0.5 → 1, "
                      f"against {ex['accepted']:,} exact draws of the α = 1 posterior by rejection ({ex['drawn']:,} "
                      f"prior draws, {ex['seconds']:.0f} s; each kept with probability Π P_k): the share of each "
                      "judged answer, and the total variation distance (TVD) of each method's restarts from it.", "",
                  "| | " + " | ".join(" ".join(map(str, k)) for k in top) + " | other | TVD |",
                  "| --- " * (len(top) + 3) + "|"]
        n = sum(ref.values())
        lines.append("| exact (α = 1) | " + " | ".join(f"{ref[k] / n:.0%}" for k in top)
                     + f" | {1 - sum(ref[k] for k in top) / n:.0%} | 0 |")
        for method in methods:
            r = by.get(("several", method))
            if r is None:
                continue
            got = Counter({tuple(map(int, k.split())): v for k, v in r["answers"].items()})
            m_ = sum(got.values())
            lines.append(f"| {method} | " + " | ".join(f"{got[k] / m_:.0%}" for k in top)
                         + f" | {1 - sum(got[k] for k in top) / m_:.0%} | {tvd(got, ref):.2f} |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--only", nargs="+", help="riddle names (134, x is 7 as x-is-7, several, …)")
    p.add_argument("--small", type=int, default=20, help="restarts for 358, SEND + MORE and x is K (K ≠ 7)")
    p.add_argument("--full", type=int, default=100, help="restarts for 134 and x is 7")
    p.add_argument("--exact", type=int, default=2000, help="exact posterior draws for `several`")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--render", action="store_true")
    runs.add_arguments(p)
    args = p.parse_args()
    if args.render:
        write_section(ROOT / "docs" / "BENCHMARKS.md", "## Methods", section(json.loads(OUT.read_text())))
        return
    data = {"machine": machine(), "seed": args.seed, "rows": [], "exact": None}
    only = {o.replace("-", " ") if o.startswith("x-is") else o for o in args.only} if args.only else None
    items = [item for item in plan(args.small, args.full) if not only or item["name"] in only]
    several = next((item for item in items if item["name"] == "several"), None)
    if several:
        answers, info = exact_answers(several["text"], args.exact, args.seed)
        data["exact"] = {**info, "answers": {" ".join(map(str, k)): v for k, v in answers.items()}}
        print(f"several: exact α = 1 reference, {info['accepted']} of {info['drawn']:,} draws, "
              f"{info['seconds']:.0f} s", flush=True)
    jobs = [(item, method) for item in items for method in args.methods]
    solved = runs.run([task(item, method, args.seed) for item, method in jobs], args)
    for (item, method), found in zip(jobs, solved):
        row = table_row(item, method, found)
        data["rows"].append(row)
        dg = row["diagnostics"] or {}
        print(f"{item['name']:<16} {method:<9} success {row['success']:>4.0%}  answer {row['answer']} "
              f"{'✓' if row['right'] else '✗'}  {row['solve_seconds']:6.1f} s"
              + (f"  R-hat {dg['rhat_max']:.2f} ESS {dg['ess_bulk_min']:.0f}" if dg.get("rhat_max") else ""),
              flush=True)
    save_json(OUT, data, indent=1)
    write_section(ROOT / "docs" / "BENCHMARKS.md", "## Methods", section(data))


if __name__ == "__main__":
    main()

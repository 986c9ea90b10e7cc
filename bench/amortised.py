"""The collapsed sampler (`--method amortised`) against advi and rejection, on riddles of 1–10 unknowns.

    python -m bench.amortised [--samples 100] [--only 134 …] [--skip-exact]
    python -m bench.amortised --render        (rewrite the section from docs/bench/amortised.json)

Riddles: the puzzles 134 and 358, SEND + MORE = MONEY and the cryptarithms of bench/joint/ (7–10
letters; DONALD + GERALD = ROBERT is the one the method was tried on while it was built, the others
were not looked at), the connective riddles of bench/connectives/, mixed riddles of 6, 8 and 10
unknowns from bench/common.py's generator with seed 11 (not used by any other bench), and `several`,
a riddle with four solutions. Each riddle: amortised (100 samples); advi (100 restarts) on six of them
(ADVI_ON) and rejection (100 accepted, at most 60 s) on three (REJECTION_ON), since they take minutes.
Per solve: success (samples or restarts judged right), the reported answer, the solve's seconds,
seconds per judge-confirmed answer, and variety — the right drawings' mean pairwise distance over the
same figure for the generator's drawings of those digits, and the lowest over the unknowns of it over
*real* handwriting (held-out bundled digits).

For `several` the share of each judged answer among 1,000 amortised samples is compared with an exact
rejection sampler of the same posterior (a prior tuple kept with probability Σ_{l ⊨ logic} Π_v E_v(l_v, ξ_v)
≤ 1, judged by the same judge): the total variation distance. The solves run as one sweep
(bench/runs.py). Writes docs/bench/amortised.json and the "Amortised" section of docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter

import riddle
from bench import runs
from bench.common import ROOT, generate, judged_rejection, machine, save_json, tvd, write_section
from riddle import sweep

OUT = ROOT / "docs" / "bench" / "amortised.json"
SEVERAL = "digits a, b\na + b = 10\na < b\n"            # four solutions: 1 9, 2 8, 3 7, 4 6
# advi and rejection take minutes where amortised takes seconds: they run on these only
ADVI_ON = {"134", "358", "send-more-money", "donald-gerald-is-robert", "mixed-n8", "several"}
REJECTION_ON = {"134", "358", "several"}
CRYPTARITHMS = ["donald-gerald-is-robert", "cross-roads-is-danger", "coca-cola-is-oasis", "kyoto-osaka-is-tokyo",
                "base-ball-is-games", "eat-that-is-apple"]


def riddles() -> list[dict]:
    rows = [{"name": "134", "path": ROOT / "puzzles" / "134.rdl", "group": "puzzles"},
            {"name": "358", "path": ROOT / "puzzles" / "358.rdl", "group": "puzzles"},
            {"name": "send-more-money", "path": ROOT / "puzzles" / "send-more-money.rdl", "group": "cryptarithms"}]
    rows += [{"name": c, "path": ROOT / "bench" / "joint" / f"{c}.rdl", "group": "cryptarithms"} for c in CRYPTARITHMS]
    rows += [{"name": p.stem, "path": p, "group": "connectives"}
             for p in sorted((ROOT / "bench" / "connectives").glob("*.rdl")) if p.stem != "unsatisfiable"]
    for n in (6, 8, 10):
        path = ROOT / "bench" / "amortised" / f"mixed-n{n}.rdl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(generate(n, 11).replace("bench/scaling.py", "bench/common.py (bench/amortised.py)"))
        rows.append({"name": f"mixed-n{n}", "path": path, "group": "mixed"})
    rows.append({"name": "several", "path": ROOT / "bench" / "amortised" / "several.rdl", "text": SEVERAL,
                 "group": "several"})
    for r in rows:
        r["text"] = r.get("text") or r["path"].read_text()
        r["unknowns"] = len(riddle.check(r["text"]).riddle.unknowns)
    return rows


def exact_answers(text: str, accepted: int, alpha: float, seed: int = 0) -> tuple[Counter, dict]:
    """Judged answers of `accepted` exact draws of the posterior the amortised method samples: a prior
    tuple ξ kept with probability Σ_{l ⊨ logic} Π_v E_v(l_v, ξ_v) (≤ 1), computed by the objective's
    own logic terms from each unknown's log evidence."""
    from riddle.infer.collapsed import log_evidence

    def log_weight(objective, xi, images):
        log_e = [log_evidence(objective, images[:, i], i, alpha) for i in range(len(objective.names))]
        return sum(objective.logic_term(grp, log_e) for grp in objective.program.groups)   # [B]
    return judged_rejection(text, accepted, log_weight, seed)


def measure(args) -> dict:
    items = [r for r in riddles() if not args.only or r["name"] in args.only]
    tasks, keys = [], []
    for item in items:
        methods = ["amortised"] + (["advi"] if item["name"] in ADVI_ON else []) + \
            (["rejection"] if item["name"] in REJECTION_ON else [])
        for method in methods:
            settings = {"restarts": args.samples * (10 if item["group"] == "several" and method == "amortised" else 1)}
            if method == "rejection":
                settings["max_seconds"] = 60.0
            tasks.append(sweep.task(item["path"], args.seed, method, text=item["text"], **settings))
            keys.append((item, method))
    rows = []
    for (item, method), row in zip(keys, runs.run(tasks, args)):
        if row["error"]:
            raise SystemExit(f"{item['name']} ({method}) failed: {row['error']}")
        rows.append({"riddle": item["name"], "group": item["group"], "unknowns": item["unknowns"], "method": method,
                     "samples": row["restarts"], "answer": row["answer"], "right": row["right"],
                     "success": row["success"], "interval": row["interval"], "solve_seconds": row["solve_seconds"],
                     "seconds": row["seconds"],
                     "seconds_per_correct": row["solve_seconds"] / row["successes"] if row["successes"] else None,
                     "variety": row["variety"], "variety_real": row["variety_real"], "answers": row["answers"]})
    out = {"machine": machine(), "seed": args.seed, "samples": args.samples, "rows": rows}
    several = next((r for r in rows if r["riddle"] == "several" and r["method"] == "amortised"), None)
    if several and not args.skip_exact:
        from riddle.infer.base import method
        alpha = method("amortised").config({}, {}).anneal[-1]
        exact, info = exact_answers(SEVERAL, 2000, alpha, seed=args.seed + 100)
        got = Counter({tuple(json.loads(k)) if k.startswith("[") else tuple(map(int, k.split())): v
                       for k, v in several["answers"].items()})
        out["several"] = {"alpha": alpha, "exact": {" ".join(map(str, k)): v for k, v in exact.items()},
                          "amortised": several["answers"], "tvd": tvd(got, exact), **info}
    return out


def section(data: dict) -> str:
    rows, m = data["rows"], data["machine"]
    by = {(r["riddle"], r["method"]): r for r in rows}
    names = list(dict.fromkeys(r["riddle"] for r in rows))

    def cell(r):
        if r is None:
            return "—", "—", "—", "—"
        mark = "✓" if r["right"] else "✗"
        var = "—" if r["variety"] is None else f"{r['variety']:.2f}"
        if r["variety_real"] is not None:
            var += f" / {r['variety_real']:.2f}"
        per = "—" if r["seconds_per_correct"] is None else f"{r['seconds_per_correct']:.3f} s"
        return f"{r['success']:.0%} {mark}", f"{r['solve_seconds']:.1f} s", per, var

    lines = ["## Amortised", "",
             f"Measured by `python -m bench.amortised` on {m}, seed {data['seed']}: `--method amortised` "
             f"({data['samples']} independent posterior samples at its default α) against advi ({data['samples']} "
             "restarts, the defaults; on six riddles) and rejection (at most 60 s; on three). Success: samples "
             "(restarts) whose judged answer solves the riddle, ✓ when the reported answer is right. Variety: the "
             "right drawings' mean pairwise distance over the generator's own drawings of those digits / the lowest, "
             "over the unknowns, of it over real handwriting of those digits (held-out bundled MNIST).", "",
             "| riddle | unknowns | amortised | time | s / right | variety | advi | time | s / right | variety "
             "| rejection | s / right |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in names:
        a, v, rj = by.get((name, "amortised")), by.get((name, "advi")), by.get((name, "rejection"))
        n = (a or v)["unknowns"]
        ca, cv, cr = cell(a), cell(v), cell(rj)
        lines.append(f"| {name} | {n} | {' | '.join(ca)} | {' | '.join(cv)} | {cr[0]} | {cr[2]} |")
    am = [r for r in rows if r["method"] == "amortised" and r["riddle"] != "several"]
    if am:
        base = by.get(("134", "amortised"))
        big = [r for r in am if r["unknowns"] >= 6]
        lines += ["", f"- amortised: right on {sum(r['right'] for r in am)}/{len(am)} riddles; per-sample success "
                  f"{min(r['success'] for r in am):.0%}–{max(r['success'] for r in am):.0%} (mean "
                  f"{sum(r['success'] for r in am) / len(am):.1%}); variety over real handwriting at least "
                  f"{min(r['variety_real'] for r in am if r['variety_real'] is not None):.2f}."]
        if base and big:
            worst = max(r["solve_seconds"] for r in big)
            lines.append(f"- riddles of 6–10 unknowns: each solve {worst / base['solve_seconds']:.1f}× the 134 solve's "
                         f"{base['solve_seconds']:.1f} s at most; lowest success {min(r['success'] for r in big):.0%}.")
        rj = by.get(("134", "rejection"))
        if base and rj and rj["seconds_per_correct"] and base["seconds_per_correct"]:
            ratio = rj["seconds_per_correct"] / base["seconds_per_correct"]
            lines.append(f"- 134: {base['seconds_per_correct']:.3f} s per judge-confirmed answer against rejection's "
                         f"{rj['seconds_per_correct']:.3f} s ({ratio:.0f}× faster).")
    if "several" in data:
        s = data["several"]
        several = "; ".join(SEVERAL.strip().splitlines())
        lines.append(f"- `{several}` (four solutions), {sum(s['amortised'].values())} amortised samples "
                     f"against {s['accepted']:,} exact rejection draws of the same posterior (α {s['alpha']:g}), both "
                     f"judged: total variation distance {s['tvd']:.3f}.")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="+")
    ap.add_argument("--skip-exact", action="store_true", help="no exact reference for the four-solution riddle")
    ap.add_argument("--render", action="store_true", help="rewrite the section from the kept JSON")
    runs.add_arguments(ap)
    args = ap.parse_args()
    if not args.render:
        data = measure(args)
        if args.only:
            print(section(data))
            return
        OUT.parent.mkdir(parents=True, exist_ok=True)
        save_json(OUT, data)
    write_section(ROOT / "docs" / "BENCHMARKS.md", "## Amortised", section(json.loads(OUT.read_text())))


if __name__ == "__main__":
    main()

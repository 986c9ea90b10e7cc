"""Scale of the factor-graph builder and the symbolic oracle (issue: graph).

    python -m bench.symbolic_scale

Each case runs in a fresh subprocess so its peak resident memory (VmHWM) is its own; the times
cover parse + check + build, then the oracle, then the logic plan — together what `riddle check`
does. The wide cases (60 unknowns tied by connectives, issue 27) are generated here, the same text
every run. Writes docs/bench/symbolic.json and the "Symbolic oracle" section of docs/BENCHMARKS.md.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import ROOT, machine, save_json, write_section


def wide(extra: list[str] = (), chained: bool = True) -> str:
    """60 digits declared 15 to a line; `x_i is odd or x_{i+1} > x_i` along the chain (or, not
    chained, `x_i is odd or x_i > 4` on each alone), at least 2 of the first 30 equal to 3, + extra."""
    names = [f"x{i}" for i in range(60)]
    lines = ["digits " + ", ".join(names[i:i + 15]) for i in range(0, 60, 15)]
    if chained:
        lines += [f"x{i} is odd or x{i + 1} > x{i}" for i in range(59)]
        lines.append("at least 2 of { " + "; ".join(f"x{i} = 3" for i in range(30)) + " }")
    else:
        lines += [f"x{i} is odd or x{i} > 4" for i in range(60)]
    return "\n".join(lines + list(extra)) + "\n"


AT_MOST_ONE = "at most 1 of { " + "; ".join(f"x{i} = 3" for i in range(30)) + " }"
# (name, file or generated text, bar seconds for `riddle check`, bar peak MB)
CASES = [
    ("SEND + MORE = MONEY (8 unknowns, dense 10^8)", "puzzles/send-more-money.rdl", 5.0, 200),
    ("sum of 12 digits = 100 (dense 10^12)", "tests/ok/twelve-digit-sum.rdl", 1.0, None),
    ("riddle 134", "puzzles/134.rdl", None, None),
    ("60 unknowns: 59 chained `or` + at least 2 of 30", wide(), 5.0, None),
    ("60 unknowns: 60 one-unknown `or`", wide(chained=False), 5.0, None),
    ("60 unknowns, no solution: + at most 1 of the same 30", wide([AT_MOST_ONE]), 5.0, None),
    ("60 unknowns, no solution: + 3 far-apart statements", wide(["x5 > 7", "x40 > 8", "x5 + x40 = 12"]), 5.0, None),
]

CHILD = r"""
import json, resource, sys, time


def hwm_mb():
    # this process's peak resident memory: VmHWM (Linux) belongs to this image; ru_maxrss would keep
    # the forking parent's peak across exec (the bench's own, torch imported)
    try:
        line = next(x for x in open("/proc/self/status") if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


from riddle.lang import load
from riddle.lang.grammar import lark_parser
from riddle.graph import build, solve_symbolic
t0 = time.perf_counter()
lark_parser()                                     # once per process; not part of a riddle's cost
t_parser = time.perf_counter() - t0
rss_before = hwm_mb()
t1 = time.perf_counter()
riddle = load(sys.argv[1])
graph = build(riddle)
t_build = time.perf_counter() - t1
result = solve_symbolic(graph)
t_total = time.perf_counter() - t1
peak = hwm_mb()                                   # the oracle's: torch not yet imported
from riddle.graph.joint import compile_logic     # imports torch (the plan's tensors): after the peak
t2 = time.perf_counter()
if result.count != 0:                             # `riddle check` plans the logic of a satisfiable riddle
    compile_logic(graph)
t_check = t_total + time.perf_counter() - t2
conflict = f" (conflict: {len(result.conflict)} statements)" if result.count == 0 else ""
print(json.dumps({"build_s": t_build, "total_s": t_total, "check_s": t_check, "parser_s": t_parser,
                  "rss_before_mb": rss_before, "peak_rss_mb": peak,
                  "count": result.count, "answer": result.describe() + conflict}))
"""


WIDE = """\
The 60-unknown rows are issue 27's: before it, the first took `riddle check` 132 s and 260 MB. The
oracle was not the cost (6 s); the logic planner was — a component too wide to enumerate is split
into parts, each grown one factor at a time by a trial fit (211 of them), and each trial's join
ordered its unknowns by a rule recomputed from scratch (O(n² · factors) per order). Now the order
is kept incrementally (the same order: a test compares it with the rule written directly), a part
grows by chunks that double while they fit and halve when not (13 trials), and the join holds one
table in the smallest integer type instead of an int64 column per unknown. Counts past 2^53 were
printed as exact integers though float64 had rounded them; they are estimates now. A conflict was
narrowed by deleting one statement at a time (65 joins, 16 s when it is a single statement at the
end); now a statement that never holds is found alone first, then QuickXplain halves the rest, and
a join too wide for its rows is decided by contraction (a count of 0 is exact).
"""


def main() -> None:
    rows = []
    scratch = Path(tempfile.mkdtemp(prefix="riddle-symbolic-"))
    for i, (name, source, bar_s, bar_mb) in enumerate(CASES):
        if "\n" in source:                          # generated: written where the child can read it
            path = scratch / f"case{i}.rdl"
            path.write_text(source)
            shown = "generated"
        else:
            path, shown = ROOT / source, source
        runs = [json.loads(subprocess.check_output([sys.executable, "-c", CHILD, str(path)], cwd=ROOT))
                for _ in range(3)]
        best = min(runs, key=lambda r: r["check_s"])
        rows.append({"case": name, "file": shown, "bar_seconds": bar_s, "bar_peak_mb": bar_mb,
                     "build_s": round(best["build_s"], 4), "total_s": round(best["total_s"], 4),
                     "check_s": round(best["check_s"], 4),
                     "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs), 1),
                     "rss_before_mb": round(best["rss_before_mb"], 1), "result": best["answer"]})
        print(f"{name}: check {best['check_s']:.3f} s, peak RSS {rows[-1]['peak_rss_mb']} MB — {best['answer'][:90]}")
    out = {"machine": machine(), "rows": rows}
    (ROOT / "docs" / "bench").mkdir(parents=True, exist_ok=True)
    save_json(ROOT / "docs" / "bench" / "symbolic.json", out)
    table = ["| case | parse + check + build | + oracle | + logic plan (`riddle check`) | peak RSS to the oracle "
             "| RSS before the riddle | oracle's answer | bar |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        bar = []
        if r["bar_seconds"]:
            bar.append(f"< {r['bar_seconds']:g} s")
        if r["bar_peak_mb"]:
            bar.append(f"< {r['bar_peak_mb']} MB")
        answer = r["result"] if len(r["result"]) < 90 else r["result"][:87] + "…"
        table.append(f"| {r['case']} | {r['build_s'] * 1000:.1f} ms | {r['total_s'] * 1000:.1f} ms | "
                     f"{r['check_s'] * 1000:.1f} ms | {r['peak_rss_mb']:.0f} MB | {r['rss_before_mb']:.0f} MB | "
                     f"{answer} | {', '.join(bar) or '—'} |")
    section = ("## Symbolic oracle\n\n"
               f"Measured by `python -m bench.symbolic_scale` on {out['machine']} (best of 3 fresh processes; "
               "times exclude process start and the one-time construction of the parser; "
               "peak RSS is the whole process up to the oracle's answer, interpreter and libraries included; "
               "the logic plan imports torch, which is not counted there).\n\n" + "\n".join(table) + "\n\n" + WIDE)
    write_section(ROOT / "docs" / "BENCHMARKS.md", "## Symbolic oracle", section)


if __name__ == "__main__":
    main()

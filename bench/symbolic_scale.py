"""Scale of the factor-graph builder and the symbolic oracle (issue: graph).

    python -m bench.symbolic_scale

Each case runs in a fresh subprocess so its peak resident memory (ru_maxrss) is its own; the time
covers parse + check + build + oracle. Writes docs/bench/symbolic.json and the "Symbolic oracle"
section of docs/BENCHMARKS.md.
"""
from __future__ import annotations

import json
import subprocess
import sys

from bench.common import ROOT, machine, write_section

CASES = [
    ("SEND + MORE = MONEY (8 unknowns, dense 10^8)", "puzzles/send-more-money.rdl", 5.0, 200),
    ("sum of 12 digits = 100 (dense 10^12)", "tests/ok/twelve-digit-sum.rdl", 1.0, None),
    ("riddle 134", "puzzles/134.rdl", None, None),
]

CHILD = r"""
import json, resource, sys, time
from riddle.lang import load
from riddle.lang.grammar import lark_parser
from riddle.graph import build, solve_symbolic
t0 = time.perf_counter()
lark_parser()                                     # once per process; not part of a riddle's cost
t_parser = time.perf_counter() - t0
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t1 = time.perf_counter()
riddle = load(sys.argv[1])
graph = build(riddle)
t_build = time.perf_counter() - t1
result = solve_symbolic(graph)
t_total = time.perf_counter() - t1
print(json.dumps({"build_s": t_build, "total_s": t_total, "parser_s": t_parser, "rss_before_mb": rss_before,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "count": result.count, "answer": result.describe()}))
"""


def main() -> None:
    rows = []
    for name, path, bar_s, bar_mb in CASES:
        runs = [json.loads(subprocess.check_output([sys.executable, "-c", CHILD, str(ROOT / path)], cwd=ROOT))
                for _ in range(3)]
        best = min(runs, key=lambda r: r["total_s"])
        rows.append({"case": name, "file": path, "bar_seconds": bar_s, "bar_peak_mb": bar_mb,
                     "build_s": round(best["build_s"], 4), "total_s": round(best["total_s"], 4),
                     "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs), 1),
                     "rss_before_mb": round(best["rss_before_mb"], 1), "result": best["answer"]})
        print(f"{name}: {best['total_s']:.3f} s, peak RSS {rows[-1]['peak_rss_mb']} MB — {best['answer'][:80]}")
    out = {"machine": machine(), "rows": rows}
    (ROOT / "docs" / "bench").mkdir(parents=True, exist_ok=True)
    (ROOT / "docs" / "bench" / "symbolic.json").write_text(json.dumps(out, indent=2) + "\n")
    table = ["| case | parse + check + build | + oracle | peak RSS (whole process) | RSS before the riddle | bar |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        bar = []
        if r["bar_seconds"]:
            bar.append(f"< {r['bar_seconds']:g} s")
        if r["bar_peak_mb"]:
            bar.append(f"< {r['bar_peak_mb']} MB")
        table.append(f"| {r['case']} | {r['build_s'] * 1000:.1f} ms | {r['total_s'] * 1000:.1f} ms | "
                     f"{r['peak_rss_mb']:.0f} MB | {r['rss_before_mb']:.0f} MB | {', '.join(bar) or '—'} |")
    section = ("## Symbolic oracle\n\n"
               f"Measured by `python -m bench.symbolic_scale` on {out['machine']} (best of 3 fresh processes; "
               "times exclude process start and the one-time construction of the parser; "
               "peak RSS is the whole process, interpreter and libraries included).\n\n" + "\n".join(table) + "\n")
    write_section(ROOT / "docs" / "BENCHMARKS.md", "## Symbolic oracle", section)


if __name__ == "__main__":
    main()

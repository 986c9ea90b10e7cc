"""Cold start: `riddle solve puzzles/134.rdl` as a user runs it, a fresh process each time, and where its time goes.

    python -m bench.startup [--runs 5] [--render]

Each run is a new Python process (wall clock from launch to exit, the report printed); beside it, the same
number of processes that only import torch, and that only import riddle's CLI, give the start-up's share;
the solve's own figures (the whole solve, the method's sampling) come from `--json` runs. Where `precision
auto` means bfloat16 (a CPU with native bf16), the same solve with `--precision float32` is timed too: it is
what auto means on a CPU without (an Intel Xeon of CI's kind). Medians, with the range. Writes
docs/bench/startup.json and the "Start-up" section of docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from bench.common import ROOT, machine, publish, rerender

PUZZLE = "puzzles/134.rdl"


def wall(args: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def measure(runs: int) -> dict:
    # riddle's modules byte-compiled first, as an installed package's are and as any checkout's are after its
    # first run: a machine that sets PYTHONDONTWRITEBYTECODE (this one does) would otherwise compile every
    # module from source in every process (~0.2 s of a start-up here)
    subprocess.run([sys.executable, "-m", "compileall", "-q", "riddle"], cwd=ROOT, check=True)
    from riddle.infer.objective import pick_precision
    auto = pick_precision("auto", "cpu")
    solve, torch_only, cli_only, inner, method, draws, solve32, method32 = [], [], [], [], [], [], [], []
    for _ in range(runs):                              # interleaved, so a slow moment of the machine hits all
        torch_only.append(wall(["-c", "import torch"])[0])
        cli_only.append(wall(["-c", "import riddle.cli"])[0])
        solve.append(wall(["-m", "riddle", "solve", PUZZLE, "--quiet"])[0])
        _, out = wall(["-m", "riddle", "solve", PUZZLE, "--quiet", "--json"])
        doc = json.loads(out)
        inner.append(doc["seconds"])
        method.append(doc["solve_seconds"])
        draws.append(doc["diagnostics"]["draws"])
        if auto != "float32":
            solve32.append(wall(["-m", "riddle", "solve", PUZZLE, "--quiet", "--precision", "float32"])[0])
            _, out = wall(["-m", "riddle", "solve", PUZZLE, "--quiet", "--json", "--precision", "float32"])
            method32.append(json.loads(out)["solve_seconds"])
    out = {"machine": machine(), "puzzle": PUZZLE, "runs": runs, "auto": auto, "solve_wall": spread(solve),
           "import_torch": spread(torch_only), "import_cli": spread(cli_only), "solve_inside": spread(inner),
           "method": spread(method), "draws": spread(draws), "bytecode": "compiled first"}
    if solve32:
        out.update(solve_wall_float32=spread(solve32), method_float32=spread(method32))
    return out


def draws(out: dict) -> str:
    """The prior draws a solve made (runs before the figure was recorded: 12,288, one pool per kind)."""
    return f"{int(out['draws']['median']):,}" if "draws" in out else "12,288"


def section(out: dict) -> str:
    s = lambda key: f"{out[key]['median']:.2f} s ({out[key]['min']:.2f}–{out[key]['max']:.2f})"   # noqa: E731
    return "\n".join([
        "## Start-up", "",
        f"Measured by `python -m bench.startup --runs {out['runs']}` on {out['machine']}: `riddle solve "
        f"{out['puzzle']}` with the defaults, each run a fresh process (median over {out['runs']} runs, range in "
        "brackets)" + (", riddle's modules byte-compiled first, as an installed package's are"
                       if out.get("bytecode") else "") + ".", "",
        "| what | seconds |", "| --- | --- |",
        f"| `riddle solve {out['puzzle']}`, launch to exit | {s('solve_wall')} |",
        f"| a process that only imports torch | {s('import_torch')} |",
        f"| a process that only imports riddle's CLI (no torch) | {s('import_cli')} |",
        f"| the solve inside the process (check, networks, sampling, judge, report figures) | {s('solve_inside')} |",
        f"| of which the method itself (amortised: pools, labels, digits) | {s('method')} |",
        *([f"| `riddle solve {out['puzzle']} --precision float32` (auto on a CPU without native bf16), launch to "
           f"exit | {s('solve_wall_float32')} |",
           f"| of which the method itself, in float32 | {s('method_float32')} |"]
          if "solve_wall_float32" in out else []),
        "",
        f"The issue 37 bar is 3 s launch to exit: {bar(out)}. Of the median {out['solve_wall']['median']:.1f} s, "
        f"importing torch takes {out['import_torch']['median']:.1f} s and the method {out['method']['median']:.1f} s "
        f"({out.get('auto', 'float32')}): the sampler's network passes (for 134 at 100 samples, {draws(out)} prior "
        "draws and their classifier reads); on a CPU with native bfloat16 those run about twice as fast "
        "(\"Throughput\"). The command ends with `os._exit` once its output is flushed (riddle/cli.py, QUICK_EXIT): "
        "the interpreter's own teardown with torch loaded took about 0.6 s of every run before.",
    ])


def bar(out: dict) -> str:
    """Met or not, in each precision measured."""
    said = [f"{'met' if out['solve_wall']['median'] <= 3.0 else 'not met'} "
            f"({out.get('auto', 'float32')}, {out['solve_wall']['median']:.1f} s)"]
    if "solve_wall_float32" in out:
        f32 = out["solve_wall_float32"]["median"]
        said.append(f"{'met' if f32 <= 3.0 else 'not met'} in float32 ({f32:.1f} s)")
    return "; ".join(said)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--render", action="store_true", help="rewrite the section from docs/bench/startup.json; no run")
    args = ap.parse_args(argv)
    if args.render:
        rerender("startup", "## Start-up", section)
        return 0
    out = measure(args.runs)
    publish("startup", "## Start-up", out, section)
    print(section(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

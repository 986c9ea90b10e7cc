"""The benches as one registry:

    python -m bench list                 every bench, what it measures, whether its docs render from its JSON
    python -m bench run NAME [ARGS...]   run one (the same as `python -m bench.NAME ARGS...`)
    python -m bench render [NAME...]     rewrite the docs sections from the kept JSON (docs/bench/), no run
    python -m bench render --check       fail if any rendered section differs from what docs/ holds

`render --check` runs in .ci/run: a figure in docs/BENCHMARKS.md or docs/MODELS.md that a bench renders
must be what its kept JSON says, so no one edits a figure by hand and no renderer drifts from its data.
Sections that no bench renders (history, hand-written readings) are left alone and listed by `list`.
"""
from __future__ import annotations

import argparse
import ast
import difflib
import runpy
import sys

from bench.common import ROOT
from bench.registry import BENCHES, rendered_docs


def summary(name: str) -> str:
    """The first line of a bench script's docstring, read without importing it (imports load torch)."""
    if not BENCHES[name].script:
        return "today's headline figures, from the other benches' kept JSON (docs/BENCHMARKS.md's first section)"
    tree = ast.parse((ROOT / "bench" / f"{name}.py").read_text())
    doc = ast.get_docstring(tree) or ""
    return doc.strip().split("\n")[0]


def cmd_list() -> int:
    width = max(len(n) for n in BENCHES)
    for name, bench in BENCHES.items():
        renders = ", ".join(bench.headings) if bench.render else "(no renderer: its sections are kept as written)"
        print(f"{name:<{width}}  {summary(name)}\n{'':<{width}}  renders: {renders}")
    return 0


def cmd_run(name: str, args: list[str]) -> int:
    if name not in BENCHES or not BENCHES[name].script:
        close = difflib.get_close_matches(name, BENCHES, n=1)
        print(f"bench: no bench `{name}`" + (f"; did you mean `{close[0]}`?" if close else ""), file=sys.stderr)
        return 2
    sys.argv = [f"bench.{name}", *args]
    runpy.run_module(f"bench.{name}", run_name="__main__")
    return 0


def cmd_render(names: list[str], check: bool) -> int:
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"bench: no bench {', '.join(unknown)}", file=sys.stderr)
        return 2
    wanted = names or [n for n, b in BENCHES.items() if b.render]
    docs = rendered_docs(wanted)                    # {path: new text}
    stale = []
    for path, text in docs.items():
        old = path.read_text() if path.exists() else ""
        if old == text:
            continue
        if check:
            stale.append(path)
            diff = difflib.unified_diff(old.splitlines(), text.splitlines(), str(path), "rendered", lineterm="", n=1)
            print("\n".join(list(diff)[:40]), file=sys.stderr)
        else:
            path.write_text(text)
            print(f"rewrote {path.relative_to(ROOT)}")
    if stale:
        print(f"bench render --check: {len(stale)} file(s) differ from what their benches' JSON renders; "
              "run `python -m bench render` (or the bench itself) and commit", file=sys.stderr)
        return 1
    if check:
        print(f"bench render --check: {sum(len(BENCHES[n].headings) for n in wanted)} sections of "
              f"{len(wanted)} benches match their JSON")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every bench and what it renders")
    run = sub.add_parser("run", help="run one bench", add_help=False)
    run.add_argument("name")
    render = sub.add_parser("render", help="docs sections from the kept JSON")
    render.add_argument("names", nargs="*", metavar="NAME")
    render.add_argument("--check", action="store_true", help="write nothing; fail where docs/ differ")
    args, rest = ap.parse_known_args(argv)
    if args.command == "list":
        return cmd_list()
    if args.command == "run":
        return cmd_run(args.name, rest)
    if rest:
        ap.error(f"unrecognised arguments: {' '.join(rest)}")
    return cmd_render(args.names, args.check)


if __name__ == "__main__":
    sys.exit(main())

"""The `riddle` command. The library never imports this module.

Exit status: 0 when all is well, 2 for a bad riddle (or bad command line), 1 when riddle itself failed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

from . import __version__
from .graph import FactorGraph, build, solve_symbolic
from .graph.build import LogicFactor
from .graph.logic import LinearChain
from .graph.symbolic import SymbolicResult, conflict_diagnostic, ignored_diagnostic
from .lang import CheckedRiddle, load
from .lang.errors import Diagnostic, RiddleError, render

JSON_SOLUTION_CAP = 1000

EXIT_OK, EXIT_FAILURE, EXIT_BAD_RIDDLE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):                             # argparse exits 2 too; keep its message short
        self.print_usage(sys.stderr)
        print(f"riddle: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_RIDDLE)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="riddle", description="Solve riddles whose unknowns are handwritten digits.")
    p.add_argument("--version", action="version", version=f"riddle {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    c = sub.add_parser("check", help="parse and check riddle files; print what riddle understood",
                       description="Parse and check riddle files and print what riddle understood of each.")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.add_argument("--json", action="store_true", help="print one JSON object per file")
    c.set_defaults(run=cmd_check)

    g = sub.add_parser("graph", help="print the factor graph a riddle compiles to",
                       description="Print the factor graph of a riddle: unknowns, generators, networks, factors "
                                   "and their logic tensors.")
    g.add_argument("file", metavar="FILE")
    g.add_argument("--dot", action="store_true", help="print Graphviz DOT instead (pipe it to `dot -Tpng`)")
    g.set_defaults(run=cmd_graph)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("riddle: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:                                # a bug in riddle, not in the riddle
        if os.environ.get("RIDDLE_DEBUG"):
            traceback.print_exc()
        print(f"riddle: internal error: {type(e).__name__}: {e}\n"
              "This is a bug in riddle, not in your riddle. Set RIDDLE_DEBUG=1 to see the traceback.",
              file=sys.stderr)
        return EXIT_FAILURE


def _color(stream) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


# ── riddle check ─────────────────────────────────────────────────────────────

def analyse(path: str) -> tuple[CheckedRiddle, FactorGraph | None, SymbolicResult | None, list[Diagnostic]]:
    """Load, check, build and read symbolically; every problem comes back as a diagnostic."""
    riddle = load(path)
    diagnostics = list(riddle.diagnostics)
    if not riddle.ok:
        return riddle, None, None, diagnostics
    try:
        graph = build(riddle)
    except RiddleError as e:
        return riddle, None, None, diagnostics + list(e.diagnostics)
    result = solve_symbolic(graph)
    diagnostics += [ignored_diagnostic(s) for s in result.ignored]
    if result.count == 0:
        diagnostics.append(conflict_diagnostic(result))
    return riddle, graph, result, diagnostics


def print_diagnostics(riddle: CheckedRiddle, diagnostics: list[Diagnostic]) -> None:
    if diagnostics:
        color = _color(sys.stderr)
        print("\n\n".join(render(d, riddle.source, color) for d in diagnostics) + "\n", file=sys.stderr, flush=True)


def cmd_check(args) -> int:
    status = EXIT_OK
    for path in args.files:
        riddle, graph, result, diagnostics = analyse(path)
        failed = any(d.is_error for d in diagnostics)
        if failed:
            status = EXIT_BAD_RIDDLE
        if args.json:
            print(json.dumps(check_json(riddle, result, diagnostics)), flush=True)
            continue
        print_diagnostics(riddle, diagnostics)
        if riddle.ok:
            print(check_text(riddle, result), flush=True)
        if failed:
            n = sum(d.is_error for d in diagnostics)
            print(f"{path}: {n} error{'s' if n != 1 else ''}", file=sys.stderr)
    return status


def cmd_graph(args) -> int:
    riddle, graph, result, diagnostics = analyse(args.file)
    if graph is None:
        print_diagnostics(riddle, diagnostics)
        return EXIT_BAD_RIDDLE
    print(graph_dot(graph) if args.dot else graph_text(graph), flush=True)
    return EXIT_OK


def graph_text(graph: FactorGraph) -> str:
    g = graph.graph
    lines = [f"{graph.riddle.file} · factor graph · {len(graph.unknowns)} unknowns · {len(graph.factors)} factors"]
    lines.append("networks")
    for n, d in g.nodes(data=True):
        if d["kind"] in ("generator", "classifier", "network"):
            near = set(g.successors(n) if d["kind"] == "generator" else g.predecessors(n))
            unknowns = [m for m in graph.names if m in near]
            verb = "draws" if d["kind"] == "generator" else "reads"
            lines.append(f"  {d['kind']:<10}  {n.split(':', 1)[1]:<14}  {verb} {', '.join(unknowns)}")
    lines.append("factors")
    groups: dict = {}
    for f in graph.factors:                               # an `all different` is one line for its pairs
        groups.setdefault(id(f.statement), []).append(f)
    w = max((len(f.statement.text()) for f in graph.factors), default=0)
    for fs in groups.values():
        f = fs[0]
        if len(fs) > 1:
            fid, what = f.id.split(".")[0], f"{len(fs)} pairwise `!=` tensors {list(f.logic.table.shape)}"
        elif isinstance(f, LogicFactor) and isinstance(f.logic, LinearChain):
            sizes = "·".join(str(len(s)) for s in f.logic.states)
            fid, what = f.id, f"split into {len(f.logic.scope)} steps over partial sums of {sizes} values"
        elif isinstance(f, LogicFactor):
            t = f.logic.table
            fid, what = f.id, f"tensor {list(t.shape)}, {int(t.sum())} of {t.size} true"
        elif f.kind == "predicate":
            fid, what = f.id, f"network `{f.predicate.name}`" + (", negated" if f.negated else "")
        else:
            fid, what = f.id, "label classifier" + (", negated" if f.negated else "")
        strength = f" × {f.strength:g}" if f.strength != 1 else ""
        scope = list(dict.fromkeys(n for x in fs for n in x.scope))
        lines.append(f"  {fid:<4} line {f.statement.span.line:<3} {f.statement.text():<{w}}  {what}{strength}  "
                     f"← {', '.join(scope)}")
    return "\n".join(lines)


def graph_dot(graph: FactorGraph) -> str:
    shapes = {"generator": "box3d", "classifier": "component", "network": "component", "unknown": "ellipse",
              "partial sum": "circle", "predicate": "box", "label": "box", "logic": "box"}
    out = ["digraph riddle {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for n, d in graph.graph.nodes(data=True):
        label = d.get("text", n)
        if d["kind"] == "partial sum":
            label = f"{n}\\n{d['size']} values"
        out.append(f'  "{n}" [shape={shapes.get(d["kind"], "box")}, label="{label}"];')
    for a, b in graph.graph.edges():
        out.append(f'  "{a}" -> "{b}";')
    out.append("}")
    return "\n".join(out)


def check_json(r: CheckedRiddle, result: SymbolicResult | None, diagnostics: list[Diagnostic]) -> dict:
    out = {
        "file": r.file,
        "ok": r.ok,
        "unknowns": [u.name for u in r.unknowns],
        "domains": {u.name: u.domain.name for u in r.unknowns},
        "statements": [
            {"line": s.span.line, "kind": s.kind, "text": s.text(), "unknowns": list(s.unknowns),
             "strength": s.strength, "source": r.source.line_text(s.span.line).strip() if r.source else None}
            for s in r.statements],
        "settings": r.settings,
        "diagnostics": [d.to_json() for d in diagnostics],
    }
    if result is not None:
        out["solution_count"] = result.count
        out["solutions"] = (None if result.solutions is None else
                            result.solutions[:JSON_SOLUTION_CAP].tolist())
        out["solutions_capped"] = result.solutions is not None and len(result.solutions) > JSON_SOLUTION_CAP
        if result.count == 0:
            out["conflict"] = [s.span.line for s in result.conflict]
    return out


def check_text(r: CheckedRiddle, result: SymbolicResult | None = None) -> str:
    lines = [f"{r.file} · {len(r.unknowns)} unknown{'s' if len(r.unknowns) != 1 else ''} · "
             f"{len(r.statements)} statement{'s' if len(r.statements) != 1 else ''}"]
    lines.append("unknowns")
    width = max((len(u.name) for u in r.unknowns), default=0)
    for u in r.unknowns:
        labels = u.domain.labels
        lines.append(f"  {u.name:<{width}}  {u.domain.name} ({min(labels)}..{max(labels)})")
    lines.append("statements")
    texts = [s.text() + (f"  × {s.strength:g}" if s.strength != 1 else "") for s in r.statements]
    tw = max((len(t) for t in texts), default=0)
    kw = max((len(s.kind) for s in r.statements), default=0)
    for s, text in zip(r.statements, texts):
        lines.append(f"  {s.span.line:>3}  {s.kind:<{kw}}  {text:<{tw}}  ties {', '.join(s.unknowns)}")
    if r.settings:
        lines.append("solve settings")
        for key, value in r.settings.items():
            shown = " ".join(f"{v:g}" for v in value) if isinstance(value, list) else value
            lines.append(f"  {key} {shown}")
    if result is not None:
        lines.append(f"symbolic: {result.describe()}")
    return "\n".join(lines)

"""A factor graph as a person reads it (`riddle graph`): its networks and factors as text, or Graphviz DOT."""
from __future__ import annotations

from ..graph import FactorGraph
from ..graph.build import LogicFactor
from ..graph.joint import LogicProgram
from ..graph.logic import LinearChain
from ..lang.ast import is_unknown_name


def graph_text(graph: FactorGraph, program: LogicProgram | None = None) -> str:
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
        if f.statement.parts:
            switches = [n for n in dict.fromkeys(n for x in fs for n in x.scope) if not is_unknown_name(n)]
            fid, what = f.id, (f"{len(fs)} tensor{'s' if len(fs) != 1 else ''} over {len(switches)} "
                               f"switch{'es' if len(switches) != 1 else ''} ({', '.join(switches)})")
        elif len(fs) > 1:
            fid, what = f.id.split(".")[0], f"{len(fs)} pairwise `!=` tensors {list(f.logic.table.shape)}"
        elif isinstance(f, LogicFactor) and isinstance(f.logic, LinearChain):
            sizes = "·".join(str(len(s)) for s in f.logic.states)
            fid, what = f.id, f"split into {len(f.logic.scope)} steps over partial sums of {sizes} values"
        elif isinstance(f, LogicFactor):
            t = f.logic.table
            fid, what = f.id, f"tensor {list(t.shape)}, {int(t.sum())} of {t.size} true"
        elif f.kind == "observation":
            fid, what = f.id, f"pixels of \"{f.statement.path}\": {int(f.seen.sum())} seen, σ {f.noise:g}"
        elif f.kind == "predicate":
            fid, what = f.id, f"network `{f.predicate.name}`" + (", negated" if f.negated else "")
        else:
            fid, what = f.id, "label classifier" + (", negated" if f.negated else "")
        strength = f" × {f.strength:g}" if f.strength != 1 else ""
        scope = list(dict.fromkeys(n for x in fs for n in x.scope if is_unknown_name(n)))
        lines.append(f"  {fid:<4} line {f.statement.span.line:<3} {f.statement.text():<{w}}  {what}{strength}  "
                     f"← {', '.join(scope)}")
        if f.statement.parts:
            lines.append(f"  {'':<4} {'':<8} normal form: {f.statement.normal_form()}")
    if program is not None:
        lines += program.describe()
    return "\n".join(lines)


def graph_dot(graph: FactorGraph) -> str:
    shapes = {"generator": "box3d", "classifier": "component", "network": "component", "unknown": "ellipse",
              "partial sum": "circle", "predicate": "box", "label": "box", "logic": "box", "switch": "diamond"}
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

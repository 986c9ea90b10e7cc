"""The house has one direction: every import in riddle/ — at the top of a module or inside a function —
points down the layers, and the modules' imports form no cycle (docs/ARCHITECTURE.md)."""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

from .conftest import ROOT

PACKAGE = ROOT / "riddle"
# bottom to top; a module may import its own layer and the ones below it
LAYERS = [
    ("vocabulary", "models", "plugins"),        # the shared words; the models and their registry
    ("lang",),
    ("graph",),
    ("infer",),
    ("report",),
    ("api", "reading", "learn", "tables"),
    ("cli", "serve", "sweep", "lsp", "__init__", "__main__"),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    return next(i for i, names in enumerate(LAYERS) if top in names)


def imports(path: Path) -> list[tuple[str, int]]:
    """Every riddle module `path` imports, anywhere in it, with the line."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "riddle"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "riddle":
                continue
            for alias in node.names:                     # `from . import advi` imports a module
                sub = f"{target}.{alias.name}"
                found.append((sub if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists()
                              or (PACKAGE.parent / sub.replace(".", "/")).is_dir() else target, node.lineno))
    return found


def import_graph() -> nx.DiGraph:
    g = nx.DiGraph()
    for path in sorted(PACKAGE.rglob("*.py")):
        here = module_name(path)
        g.add_node(here)
        for target, line in imports(path):
            if target != here and not here.startswith(target + "."):   # a package's own __init__ is no edge back
                g.add_edge(here, target, line=line)
    return g


def test_every_import_points_down_the_layers():
    upward = []
    for a, b, data in import_graph().edges(data=True):
        if b == "riddle" and a.split(".")[1] in LAYERS[-1]:
            continue                                      # the faces may import the package's own __init__
        if layer_of(a) < layer_of(b):
            upward.append(f"{a}:{data['line']} imports {b}")
    assert not upward, "imports that point up the layers:\n" + "\n".join(upward)


def test_the_modules_import_no_cycle():
    cycles = list(nx.simple_cycles(import_graph()))
    assert not cycles, f"import cycles: {cycles[:5]}"


def test_the_layer_table_knows_every_package():
    tops = {p.name if p.is_dir() else p.stem for p in PACKAGE.iterdir()
            if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"}
    assert tops <= {name for names in LAYERS for name in names}


def test_no_stage_branches_on_statement_kinds():
    """Each statement kind says what it means in lang/checked.py (its truth, negation, parts, factor kinds);
    the other stages ask it through that protocol, so a new kind is one class, not a branch in every stage.
    Outside the statement module, no `isinstance` test names a statement class (issue 37 counted 31). The
    same holds for the syntax's kinds (lang/ast.py: each names its `kind`, and the checker's and the
    expander's handlers are found by it), but for the parser, which builds them."""
    from riddle.lang import ast as syntax
    from riddle.lang import checked
    kinds = {name for name, value in vars(checked).items()
             if isinstance(value, type) and issubclass(value, checked.Statement) and value is not checked.Statement}
    assert {"PredicateStatement", "ConnectiveStatement", "ObservationStatement"} <= kinds
    written = {name for name, value in vars(syntax).items()
               if isinstance(value, type) and issubclass(value, syntax.Statement) and value is not syntax.Statement}
    assert {"Declaration", "Fact", "Relation", "Connective", "Loop", "Solve"} <= written
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "lang" / "checked.py":
            continue
        named_here = kinds if path in (PACKAGE / "lang" / "ast.py", PACKAGE / "lang" / "parser.py") else kinds | written
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance" and len(node.args) == 2:
                named = {n.id if isinstance(n, ast.Name) else getattr(n, "attr", None) for n in ast.walk(node.args[1])}
                if named & named_here:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []

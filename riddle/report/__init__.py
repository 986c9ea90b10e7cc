"""Solve result → what a person or a program reads: the terminal table, JSON, PNG grids, npz; and the factor
graph as text or DOT (`riddle graph`).

The names load their module when first used (PEP 562), so `riddle graph` and the image helpers
(report.images) do not import the solver and torch with the result's writers."""
from __future__ import annotations

import importlib

_WHERE = {"solution_json": "output", "solution_text": "output", "write_outputs": "output",
          "graph_dot": "graph", "graph_text": "graph"}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

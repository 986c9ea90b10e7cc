"""Checked riddle → factor graph (`build`), its logic tensors (`logic`) and the exact symbolic
oracle (`symbolic`)."""
from .build import FactorGraph, LabelFactor, LogicFactor, PredicateFactor, build
from .symbolic import SymbolicResult, satisfies, solve_symbolic

__all__ = ["FactorGraph", "LabelFactor", "LogicFactor", "PredicateFactor", "SymbolicResult", "build", "satisfies",
           "solve_symbolic"]

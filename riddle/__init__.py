"""riddle: a declarative language and solver for riddles whose unknowns are images.

    import riddle
    r = riddle.load("puzzles/134.rdl")      # parse and check; r.diagnostics says what is wrong
"""
from .lang import CheckedRiddle, Diagnostic, RiddleError, load, load_text
from .models.registry import Domain, Predicate, Registry, default_registry

__version__ = "0.1.0"
__all__ = ["CheckedRiddle", "Diagnostic", "Domain", "Predicate", "Registry", "RiddleError", "default_registry",
           "load", "load_text"]

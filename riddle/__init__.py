"""riddle: a declarative language and solver for riddles whose unknowns are images.

    import riddle
    result = riddle.solve("puzzles/134.rdl", restarts=50)   # → riddle.Result: answer, success_rate, images …
    report = riddle.check("digits a, b\na + b = 12\na is odd")   # text or path: diagnostics, the oracle's count
    r = riddle.load("puzzles/134.rdl")      # parse and check only; r.diagnostics says what is wrong

    @riddle.predicate("has a bar", returns="probability")   # a neural predicate of your own
    def has_bar(images): ...                                # see docs/PREDICATES.md

    riddle.learn("add.rdl", "train.csv", out="learned/")    # networks from riddle-level truth: docs/LEARNING.md
"""
from .api import CheckResult, ProgressEvent, Result, check, solve
from .lang import CheckedRiddle, Diagnostic, RiddleError, load, load_text
from .models.registry import Domain, PluginError, Predicate, Registry, RegistryError, default_registry
from .plugins import load_plugins, predicate, register_domain, register_predicate
from .reading import Reading, read

__version__ = "0.1.0"


def __getattr__(name: str):
    """`riddle.learn`, loaded when first used (it imports torch; `import riddle` does not): the module
    riddle/learn.py, which is also callable as its `learn(...)`."""
    if name == "learn":
        import importlib
        return importlib.import_module(".learn", __name__)
    raise AttributeError(f"module 'riddle' has no attribute {name!r}")


__all__ = [
    "CheckResult",
    "ProgressEvent",
    "Result",
    "check",
    "learn",
    "read",
    "Reading",
    "solve",
    "CheckedRiddle",
    "Diagnostic",
    "Domain",
    "PluginError",
    "Predicate",
    "Registry",
    "RegistryError",
    "RiddleError",
    "default_registry",
    "load",
    "load_plugins",
    "load_text",
    "predicate",
    "register_domain",
    "register_predicate",
]

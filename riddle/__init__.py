"""riddle: a declarative language and solver for riddles whose unknowns are images.

    import riddle
    r = riddle.load("puzzles/134.rdl")      # parse and check; r.diagnostics says what is wrong

    @riddle.predicate("has a bar", returns="probability")   # a neural predicate of your own
    def has_bar(images): ...                                # see docs/PREDICATES.md
"""
from .lang import CheckedRiddle, Diagnostic, RiddleError, load, load_text
from .models.registry import Domain, PluginError, Predicate, Registry, RegistryError, default_registry
from .plugins import load_plugins, predicate, register_domain, register_predicate

__version__ = "0.1.0"
__all__ = ["CheckedRiddle", "Diagnostic", "Domain", "PluginError", "Predicate", "Registry", "RegistryError",
           "RiddleError", "default_registry", "load", "load_plugins", "load_text", "predicate", "register_domain",
           "register_predicate"]

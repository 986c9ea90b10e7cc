"""Registering neural predicates and domains from Python, and finding the plugins that do.

A plugin is a Python module that calls these functions when it is imported:

    import riddle

    @riddle.predicate("has a bar", domain="digit", truth_table=None, returns="probability",
                      description="a horizontal stroke crosses the digit")
    def has_bar(images):                      # images [N, 28, 28] in [0, 1] → [N]
        ...

    riddle.register_predicate("is prime", network, truth_table={2, 3, 5, 7}, returns="logit")
    riddle.register_domain("letter", "letters", labels=range(26), generator=G, classifier=F)

Plugins are found two ways (`load_plugins`): Python entry points in the group `riddle.plugins`
(an installed package declares `[project.entry-points."riddle.plugins"] name = "module"`), and
paths given with `--plugin PATH` (a `.py` file, or a folder holding a package or one `.py` file).

A network a plugin hands over is wrapped in `CheckedPredicate`: on its first real batch it must
return one finite value per image ([N] or [N, 1]), in [0, 1] when it says it returns probabilities,
and differentiably (the solver follows its gradient); otherwise the solve stops with a
`PluginError` naming the plugin and what was wrong. See docs/PREDICATES.md.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Callable, Iterable

from .models.registry import Domain, PluginError, Predicate, RegistryError, canonical, default_registry, plugin_frame

RETURNS = ("probability", "logit")
ENTRY_POINT_GROUP = "riddle.plugins"

_origin: list[str] = []          # the plugin being imported right now (a stack: plugins may import plugins)
_loaded: dict[str, str] = {}     # resolved path or entry point → origin, so each loads once per process


def _current_origin(fallback: str) -> str:
    return _origin[-1] if _origin else fallback


def _caller_module() -> str:
    frame = sys._getframe(2)
    return f"module {frame.f_globals.get('__name__', '?')}"


# ── the public API ───────────────────────────────────────────────────────────

def register_predicate(name: str, network=None, *, load: Callable[[], object] | None = None, domain: str = "digit",
                       truth_table: Iterable[int] | None = None, returns: str = "logit", description: str = "",
                       registry=None) -> Predicate:
    """Register `network` — an nn.Module or a function of an image batch [N, *image_shape] → [N] — as
    the predicate `name` (one or more words) of `domain`; or give `load`, a function of no arguments
    that returns the network, called only when a solve needs it (so `riddle check` stays fast).
    `returns`: "logit" or "probability".
    `truth_table`: the labels for which the predicate holds, if it is a function of the label (the
    symbolic oracle and the answer table use it); None when it is not (e.g. "looks italic")."""
    if returns not in RETURNS:
        raise RegistryError(f"returns must be one of {', '.join(RETURNS)}, not {returns!r}")
    if (network is None) == (load is None):
        raise RegistryError(f"predicate `{name}`: give either a network or load=, not both or neither")
    if network is not None and not callable(network):
        raise RegistryError(f"predicate `{name}`: the network must be an nn.Module or a function of an image batch")
    origin = _current_origin(_caller_module())
    table = None if truth_table is None else frozenset(int(v) for v in truth_table)
    key = canonical(name)

    def load_checked():
        from .models.checked import CheckedPredicate
        if network is not None:
            return CheckedPredicate(network, key, origin, returns)
        try:
            loaded = load()
        except PluginError:
            raise
        except Exception as e:
            raise PluginError(f"{origin}: loading the network of predicate `{key}` failed: "
                              f"{type(e).__name__}: {e}{plugin_frame(e)}") from None
        if not callable(loaded):
            raise PluginError(f"{origin}: load= of predicate `{key}` returned {type(loaded).__name__}, not a network")
        return CheckedPredicate(loaded, key, origin, returns)
    return (registry or default_registry()).register_predicate(
        Predicate(name, domain, table, description, origin, load_network=load_checked))


def predicate(name: str, *, domain: str = "digit", truth_table: Iterable[int] | None = None,
              returns: str = "logit", description: str = "") -> Callable:
    """Decorator form of register_predicate: `@riddle.predicate("has a bar", returns="probability")`.
    The decorated function or nn.Module class (instantiated with no arguments) is the network."""
    def wrap(obj):
        network = obj() if isinstance(obj, type) else obj
        register_predicate(name, network, domain=domain, truth_table=truth_table, returns=returns,
                           description=description or (obj.__doc__ or "").strip().split("\n")[0])
        return obj
    return wrap


def register_domain(name: str, plural: str, *, labels: Iterable[int], generator, classifier, judge=None,
                    image_shape: tuple[int, ...] = (28, 28), description: str = "", registry=None) -> Domain:
    """Register a new kind of unknown. `generator`: an nn.Module with an int attribute `latent` mapping
    ξ [N, latent] ~ N(0, I) to images [N, *image_shape] in [0, 1]; `classifier`: images → logits
    [N, len(labels)]; `judge`: an independent classifier of the same form that evaluates answers (if
    None, the classifier judges, and the solve report says so). Each may also be a zero-argument
    function returning the module, so weights load only when a solve needs them."""
    origin = _current_origin(_caller_module())
    labels = tuple(int(v) for v in labels)
    if not labels or len(set(labels)) != len(labels):
        raise RegistryError(f"domain `{name}`: labels must be distinct integers, at least one")

    def loader(obj, role):
        def load():
            import torch
            module = obj if isinstance(obj, torch.nn.Module) else obj()
            if not isinstance(module, torch.nn.Module):
                raise PluginError(f"{origin}: the {role} of domain `{name}` is not a torch nn.Module")
            if role == "generator" and not isinstance(getattr(module, "latent", None), int):
                raise PluginError(f"{origin}: the generator of domain `{name}` needs an int attribute `latent` "
                                  "(its latent dimension)")
            return module
        return load
    return (registry or default_registry()).register_domain(Domain(
        name, plural, labels, tuple(image_shape), description, origin,
        load_generator=loader(generator, "generator"), load_classifier=loader(classifier, "classifier"),
        load_judge=loader(judge if judge is not None else classifier, "judge" if judge is not None else "classifier"),
        has_judge=judge is not None))


# ── discovery ────────────────────────────────────────────────────────────────

@contextlib.contextmanager
def _importing(origin: str):
    _origin.append(origin)
    try:
        yield
    except PluginError:
        raise
    except RegistryError as e:
        raise PluginError(f"{origin}: {e}") from None
    except SyntaxError as e:
        raise PluginError(f"{origin}: cannot import it: SyntaxError: {e.msg} (at {e.filename}:{e.lineno})") from None
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        raise PluginError(f"{origin}: cannot import it: {type(e).__name__}: {e}{plugin_frame(e)}") from None
    finally:
        _origin.pop()


def load_path(path: str) -> str:
    """Import the plugin at `path` (a .py file, or a folder: a package, or holding one .py file).
    Returns its origin string. Each path is imported once per process."""
    p = Path(path).expanduser()
    if not p.exists():
        raise PluginError(f"plugin `{path}` does not exist")
    p = p.resolve()
    if str(p) in _loaded:
        return _loaded[str(p)]
    if p.is_dir():
        if (p / "__init__.py").exists():
            file, name, search = p / "__init__.py", p.name, [str(p)]
        else:
            files = sorted(f for f in p.glob("*.py") if not f.name.startswith("_"))
            if len(files) != 1:
                found = ", ".join(f.name for f in files) or "none"
                raise PluginError(f"plugin folder `{path}` must hold one .py file or be a package "
                                  f"(with __init__.py); it holds: {found}")
            file, name, search = files[0], files[0].stem, None
    elif p.suffix == ".py":
        file, name, search = p, p.stem, None
    else:
        raise PluginError(f"plugin `{path}` is neither a .py file nor a folder")
    origin = f"plugin {path}"
    module_name = f"riddle_plugin_{len(_loaded)}_{name}".replace("-", "_")
    spec = importlib.util.spec_from_file_location(module_name, file, submodule_search_locations=search)
    module = importlib.util.module_from_spec(spec)
    with _importing(origin):
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
    _loaded[str(p)] = origin
    return origin


def load_entry_points() -> list[str]:
    """Import every installed plugin (entry point group `riddle.plugins`). An entry point names a
    module (imported: its calls register) or a function (called with no arguments)."""
    from importlib.metadata import entry_points
    origins = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        key = f"entry point {ep.name} = {ep.value}"
        if key in _loaded:
            continue
        dist = getattr(getattr(ep, "dist", None), "name", None)
        origin = f"plugin {ep.name}" + (f" (package {dist})" if dist else "")
        with _importing(origin):
            obj = ep.load()
            if callable(obj) and not isinstance(obj, type(sys)):
                obj()
        _loaded[key] = origin
        origins.append(origin)
    return origins


def load_plugins(paths: Iterable[str] = (), entry_points: bool = True) -> list[str]:
    """Installed plugins first, then the given paths. Returns the origins loaded."""
    origins = load_entry_points() if entry_points else []
    for path in paths:
        origins.append(load_path(path))
    return origins


def reload_for_tests() -> None:
    """Forget the plugins and the registry's additions (tests only)."""
    from .models import registry
    _loaded.clear()
    registry._DEFAULT = None

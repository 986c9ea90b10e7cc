"""The registry of domains (what an unknown can be: `digit`) and their predicates (`odd`,
`closed circle`). It holds names, label values, truth tables and descriptions; networks are
attached as loaders and only loaded when a solve needs them.

Built-in entries are registered here; plugins add their own through the same calls.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..vocabulary import DEFAULT_MODELS, MODEL_FAMILIES, keywords


def canonical(words: Iterable[str] | str) -> str:
    """A predicate's name in its one spelling: lower case, single spaces ("Closed  circle" → "closed circle")."""
    if isinstance(words, str):
        words = words.split()
    return " ".join(w.lower() for w in words)


@dataclass(frozen=True)
class Domain:
    name: str                          # singular, used in `a, b: digit`
    plural: str                        # used in `digits a, b`
    labels: tuple[int, ...]            # the values a label classifier chooses from
    image_shape: tuple[int, ...] = (28, 28)
    description: str = ""
    origin: str = "built in"
    # Loaders return torch modules; they are called only by a solve (see riddle.models.zoo).
    load_generator: Callable[[], object] | None = field(default=None, compare=False, repr=False)
    load_classifier: Callable[[], object] | None = field(default=None, compare=False, repr=False)
    load_judge: Callable[[], object] | None = field(default=None, compare=False, repr=False)
    has_judge: bool = True             # False: the classifier doubles as the judge (a plugin gave none)
    # real images of the domain with their labels (images [N, H, W] in [0, 1], labels [N]): what a
    # solve's drawings are compared with for variety; None where the domain has none
    load_examples: Callable[[], tuple[object, object]] | None = field(default=None, compare=False, repr=False)
    # the learned per-label sampler q(ξ | label) over the generator's latent (zoo.LabelSampler), the
    # collapsed sampler's proposal; None: it proposes from the prior
    load_sampler: Callable[[], object] | None = field(default=None, compare=False, repr=False)
    # how far the generator's closest drawing of a real image is from it: the root-mean-square per pixel
    # and the correlation length (pixels) of that misfit. The report's check of a `looks like` expects
    # this much residual beside the noise (infer/judge.entry_variance); 0: the noise alone.
    misfit_rms: float = 0.0
    misfit_length: float = 0.0
    # the variety line's per-label yardsticks (models/variety.reference_spreads), stored in the generator's
    # card at training time; None (or a loader that finds none): a solve measures them once per process
    load_variety: Callable[[], dict | None] | None = field(default=None, compare=False, repr=False)
    # the label classifier's reading calibrated: {"temperature": T, …} fitted on its own validation split
    # (models/train.fit_reading_temperature), kept in its card; how a sheet's cells are read (infer/cells.py).
    # None (or a loader that finds none): T = 1, the classifier as it is
    load_reading: Callable[[], dict | None] | None = field(default=None, compare=False, repr=False)

    @property
    def size(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Predicate:
    name: str                          # canonical: "closed circle"
    domain: str
    truth_table: frozenset[int] | None  # the labels for which it holds; None if it is not a function of the label
    description: str = ""
    origin: str = "built in"
    load_network: Callable[[], object] | None = field(default=None, compare=False, repr=False)


class RegistryError(ValueError):
    pass


class PluginError(Exception):
    """A plugin could not be loaded or misbehaved; the message says which plugin and why."""


def plugin_frame(e: BaseException) -> str:
    """' (at file:line)' for the innermost frame of a traceback outside riddle and torch, if any."""
    import traceback
    frames = [f for f in traceback.extract_tb(e.__traceback__)
              if not any(part in f.filename.replace("\\", "/") for part in ("/riddle/", "/torch/", "<frozen"))]
    return f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""


class Registry:
    def __init__(self) -> None:
        self.domains: dict[str, Domain] = {}
        self.predicates: dict[tuple[str, str], Predicate] = {}

    def register_domain(self, domain: Domain) -> Domain:
        for word in (domain.name, domain.plural):
            taken = self.domain_named(word)
            if taken is not None:
                raise RegistryError(f"a domain named `{word}` is already registered ({taken.origin})")
        self.domains[domain.name] = domain
        return domain

    def register_predicate(self, predicate: Predicate) -> Predicate:
        if predicate.domain not in self.domains:
            raise RegistryError(f"unknown domain `{predicate.domain}` for predicate `{predicate.name}`")
        predicate = Predicate(**{**predicate.__dict__, "name": canonical(predicate.name)})
        reserved = [w for w in predicate.name.split() if w in keywords()]
        if reserved or not all(w.isidentifier() and w.isascii() for w in predicate.name.split()):
            raise RegistryError(f"predicate name `{predicate.name}` cannot be written in a riddle: use words of ASCII "
                                f"letters, digits and `_`, none of them a keyword ({', '.join(keywords())})")
        key = (predicate.domain, predicate.name)
        if key in self.predicates:
            raise RegistryError(f"predicate `{predicate.name}` of `{predicate.domain}` is already registered "
                                f"({self.predicates[key].origin})")
        labels = set(self.domains[predicate.domain].labels)
        if predicate.truth_table is not None and not set(predicate.truth_table) <= labels:
            raise RegistryError(f"truth table of `{predicate.name}` names labels outside `{predicate.domain}`: "
                                f"{sorted(set(predicate.truth_table) - labels)}")
        self.predicates[key] = predicate
        return predicate

    def domain_named(self, word: str) -> Domain | None:
        """The domain called `word` in the singular or the plural."""
        for d in self.domains.values():
            if word in (d.name, d.plural):
                return d
        return None

    def predicate(self, domain: str, name: str) -> Predicate | None:
        return self.predicates.get((domain, canonical(name)))

    def predicates_of(self, domain: str) -> list[Predicate]:
        return [p for (d, _), p in self.predicates.items() if d == domain]

    def copy(self) -> "Registry":
        r = Registry()
        r.domains = dict(self.domains)
        r.predicates = dict(self.predicates)
        return r


_LOADED: dict = {}


def bundled_model(name: str, negate: bool = False, readout: tuple[int, ...] | None = None,
                  head: str | None = None) -> Callable[[], object]:
    """A loader for one of riddle's own weights files (imported lazily: torch only when needed).
    `readout`: a predicate true for these labels, read off the classifier; `head`: one of the
    classifier's extra heads. Each file is loaded once per process and shared, so a predicate read
    off the label classifier is recognisably the same network as the classifier (the objective then
    reuses its outputs)."""
    def load():
        from . import store, zoo
        key = (str(weights_dir()), name)
        if key not in _LOADED:
            _LOADED[key] = store.load(name, weights_dir())
        model = _LOADED[key]
        if readout is not None:
            model = zoo.LabelReadout(model, readout)
        elif head is not None:
            model = zoo.HeadReadout(model, head)
        return zoo.Negated(model) if negate else model
    return load


def bundled_card_entry(name: str, key: str, directory: str | Path | None = None) -> Callable[[], object]:
    """A loader for one entry of a riddle weights file's card (None where the card or the entry is missing),
    from `directory` (default: riddle's weights folder)."""
    def load():
        from . import store
        return (store.card(name, directory or weights_dir()) or {}).get(key)
    return load


def weights_dir():
    """Where riddle's own models are read from: $RIDDLE_WEIGHTS, else the weights inside the package."""
    import os

    from . import store
    return os.environ.get("RIDDLE_WEIGHTS") or store.bundled_dir()


VARIETY_CARD_KEY = "variety_reference"          # where a generator's card keeps models/variety.reference_spreads
READING_CARD_KEY = "reading"                     # where a classifier's card keeps its reading temperature


def held_out_digits():
    """The bundled MNIST digits no bundled network trained on (the test split), as numpy arrays."""
    from . import data
    digits = data.load_bundled()
    test = data.make_splits(digits.labels).test
    return digits.images[test].numpy(), digits.labels[test].numpy()


# ── model families: which networks draw and read `digit` (models/families.py binds a registry to one) ──

@dataclass(frozen=True)
class ModelFamily:
    name: str
    generator_weights: str                    # the weights file (stem) the generator is made from
    classifier_weights: str                   # the label classifier's (images → logits [N, labels] + heads)
    sampler_weights: str | None               # the per-label sampler's, or None (made from the generator's)
    make_generator: Callable = lambda net: net    # loaded weights → G(ξ), ξ ~ N(0, I) ([N, latent] → [N, H, W])
    make_sampler: Callable | None = None      # loaded generator weights → its per-label sampler
    misfit_rms: float = 0.0                   # the generator's closest drawing of a real digit misses it by
    misfit_length: float = 0.0                # this much (bench/misfit.py --models NAME)
    origin: str = "built in"
    described_as: str = ""                    # added to the domain's description
    trainer: str = ""                         # `module:function` for `riddle train --family NAME`:
                                              # (out, data, seed, judge folder) → its card
    predicates_read_off_classifier: bool = False   # re-point odd/even/closed circle to this family's classifier
    directory: str | None = None              # a model directory (`riddle learn --out DIR`): its weights are there

    @property
    def weights(self) -> tuple[str, ...]:
        """Its own weights files (stems), each once: what its card and `riddle train --family` cover."""
        return tuple(dict.fromkeys(w for w in (self.generator_weights, self.classifier_weights,
                                               self.sampler_weights) if w))

    def generator(self, directory: str | Path | None = None):
        """Its G(ξ), from `directory` (default: riddle's weights folder, shared per process)."""
        return self.make_generator(_load(self.generator_weights, directory or self.directory))

    def classifier(self, directory: str | Path | None = None):
        return _load(self.classifier_weights, directory or self.directory)

    def sampler(self, directory: str | Path | None = None):
        if self.make_sampler is not None:
            return self.make_sampler(_load(self.generator_weights, directory or self.directory))
        return _load(self.sampler_weights, directory or self.directory) if self.sampler_weights else None

    def train(self, out: str | Path, data: str | Path | None, seed: int, judge_dir: str | Path | None) -> dict:
        import importlib
        module, function = self.trainer.split(":")
        return getattr(importlib.import_module(module), function)(out, data, seed, judge_dir)


def _load(stem: str, directory: str | Path | None):
    """A weights file: riddle's own (shared per process, RIDDLE_WEIGHTS honoured) or one from `directory`
    (loaded once per process, so that predicates read off a directory's classifier share its outputs)."""
    if directory is None:
        return bundled_model(stem)()
    from . import store
    key = (str(Path(directory).resolve()), stem)
    if key not in _LOADED:
        _LOADED[key] = store.load(stem, directory)
    return _LOADED[key]


def _coupled_generator(net):
    from .coupled import CoupledGenerator
    return CoupledGenerator(net)


def _coupled_sampler(net):
    from .coupled import CoupledLabelSampler
    return CoupledLabelSampler(net.sizes[-1], net.sizes[-1] + net.sizes[-2])


FAMILIES: dict[str, ModelFamily] = {
    DEFAULT_MODELS: ModelFamily(
        DEFAULT_MODELS, generator_weights="generator", classifier_weights="classifier", sampler_weights="sampler",
        # measured by bench/misfit.py (docs/BENCHMARKS.md, "Generator misfit")
        misfit_rms=0.074, misfit_length=0.65, trainer="riddle.models.train:train_zoo"),
    "coupled": ModelFamily(
        "coupled", generator_weights="coupled", classifier_weights="coupled", sampler_weights=None,
        make_generator=_coupled_generator, make_sampler=_coupled_sampler,
        # its closest drawing of a real digit misses it by 2.6× the default generator's (bench/misfit.py
        # --models coupled; docs/BENCHMARKS.md, "Generator misfit: coupled family")
        misfit_rms=0.194, misfit_length=1.10, origin="seed 003's coupled network (models coupled)",
        described_as="drawn and read by seed 003's coupled network", trainer="riddle.models.train:train_coupled",
        predicates_read_off_classifier=True),
}
assert set(FAMILIES) == set(MODEL_FAMILIES), "every family of the vocabulary is described here, and only those"


def _builtin() -> Registry:
    default = FAMILIES["default"]                 # the default family's description: its networks and misfit
    r = Registry()
    r.register_domain(Domain("digit", "digits", tuple(range(10)),
                             description="handwritten MNIST digits 0..9, 28 x 28, white on black",
                             load_generator=default.generator, load_classifier=default.classifier,
                             load_judge=bundled_model("judge"), load_examples=held_out_digits,
                             load_sampler=default.sampler,
                             load_variety=bundled_card_entry(default.generator_weights, VARIETY_CARD_KEY),
                             load_reading=bundled_card_entry(default.classifier_weights, READING_CARD_KEY),
                             misfit_rms=default.misfit_rms, misfit_length=default.misfit_length))
    odd, even = (1, 3, 5, 7, 9), (0, 2, 4, 6, 8)
    r.register_predicate(Predicate("odd", "digit", frozenset(odd), "the digit is odd (read off the label classifier)",
                                   load_network=bundled_model("classifier", readout=odd)))
    r.register_predicate(
        Predicate(
            "even",
            "digit",
            frozenset(even),
            "the digit is even (read off the label classifier)",
            load_network=bundled_model("classifier", readout=even),
        )
    )
    r.register_predicate(
        Predicate(
            "closed circle",
            "digit",
            frozenset({0, 6, 8, 9}),
            "the drawn digit encloses a hole (a closed loop of ink; a head of the label classifier)",
            load_network=bundled_model("classifier", head="closed circle"),
        )
    )
    return r


_DEFAULT: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry: built-ins plus whatever plugins registered."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = _builtin()
    return _DEFAULT

"""Model families: which networks draw and read a riddle's digits (`solve with models coupled`,
`--models coupled`, `riddle.solve(..., models="coupled")`). The names and their help live in
riddle/vocabulary.py (MODEL_FAMILIES); this module binds each to its networks.

A family is a registry: the riddle is checked against it, so every stage after the checker — the
factor graph, the objective, every inference method, the report — uses the family's networks with
no further change. `default` is the process registry itself (riddle's zoo plus plugins). `coupled`
swaps the `digit` domain's generator, label classifier and per-label sampler for seed 003's coupled
network (riddle/models/coupled.py), and reads the built-in predicates with truth tables (`odd`,
`even`, `closed circle`) off its forward model; riddle's judge stays the outside judge, and plugin
predicates keep their own networks (they read images, whoever drew them).
"""
from __future__ import annotations

from dataclasses import replace

from ..vocabulary import DEFAULT_MODELS, MODEL_FAMILIES
from .registry import VARIETY_CARD_KEY, Registry, bundled_card_entry, bundled_model, default_registry

COUPLED_WEIGHTS = "coupled"           # riddle/models/weights/coupled.safetensors (+ its card)


def registry(family: str = DEFAULT_MODELS, base: Registry | None = None) -> Registry:
    """The registry a riddle is checked against when it asks for `family` (base: the process registry)."""
    if family not in MODEL_FAMILIES:
        raise ValueError(f"unknown model family `{family}`; families: {', '.join(MODEL_FAMILIES)}")
    base = base or default_registry()
    if family == DEFAULT_MODELS:
        return base
    return _coupled(base)


def _coupled(base: Registry) -> Registry:
    shared = bundled_model(COUPLED_WEIGHTS)           # one CoupledNet per process, shared by all loaders below

    def net():
        from .store import ModelError
        try:
            return shared()
        except ModelError as e:                       # say how to make the family's own weights
            raise ModelError(str(e).replace("run `riddle train`", "run `riddle train --coupled`")) from None

    def generator():
        from .coupled import CoupledGenerator
        return CoupledGenerator(net())

    def sampler():
        from .coupled import CoupledLabelSampler
        model = net()
        return CoupledLabelSampler(model.sizes[-1], model.sizes[-1] + model.sizes[-2])

    def readout(true_labels):
        def load():
            from .zoo import LabelReadout
            return LabelReadout(net(), tuple(sorted(true_labels)))
        return load

    r = base.copy()
    digit = r.domains["digit"]
    r.domains["digit"] = replace(
        digit, origin="seed 003's coupled network (models coupled)", load_generator=generator,
        load_classifier=net, load_sampler=sampler, load_variety=bundled_card_entry(COUPLED_WEIGHTS, VARIETY_CARD_KEY),
        description=digit.description + "; drawn and read by seed 003's coupled network",
        # its closest drawing of a real digit misses it by 2.6× the default generator's (bench/misfit.py
        # --models coupled; docs/BENCHMARKS.md, "Generator misfit: coupled family")
        misfit_rms=0.194, misfit_length=1.10)
    for key, p in list(r.predicates.items()):
        if p.domain == "digit" and p.origin == "built in" and p.truth_table is not None:
            r.predicates[key] = replace(p, load_network=readout(p.truth_table),
                                        description=f"{p.description.split(' (')[0]} (read off the coupled "
                                                    "network's forward model)")
    return r

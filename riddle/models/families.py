"""Model families: which networks draw and read a riddle's digits (`solve with models coupled`,
`--models coupled`, `riddle.solve(..., models="coupled")`). The names and their help live in
riddle/vocabulary.py (MODEL_FAMILIES); each family is described once, as a `ModelFamily` in
registry.FAMILIES beside the domains it binds: the weights files it reads, how its generator, label
classifier and per-label sampler are made from them, its generator's measured misfit, the card that keeps
its variety yardsticks, and its trainer. Everything else reads the description: the registry a riddle is
checked against (`registry`, here), `riddle sample`, `riddle train --family`, `riddle train --only
variety`, bench/models and bench/misfit.

A family is a registry: the riddle is checked against it, so every stage after the checker — the
factor graph, the objective, every inference method, the report — uses the family's networks with
no further change. `default` is the process registry itself (riddle's zoo plus plugins). `coupled`
swaps the `digit` domain's generator, label classifier and per-label sampler for seed 003's coupled
network (riddle/models/coupled.py), and reads the built-in predicates with truth tables (`odd`,
`even`, `closed circle`) off its forward model; riddle's judge stays the outside judge, and plugin
predicates keep their own networks (they read images, whoever drew them).

A third family is one description in registry.FAMILIES and one line of help in the vocabulary (docs/ARCHITECTURE.md,
"Adding a model family").
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from ..vocabulary import DEFAULT_MODELS, MODEL_FAMILIES
from .registry import (
    FAMILIES,
    READING_CARD_KEY,
    VARIETY_CARD_KEY,
    ModelFamily,
    Registry,
    bundled_card_entry,
    default_registry,
)

__all__ = ["FAMILIES", "ModelFamily", "directory_family", "is_model_directory", "registry"]


FAMILY_FILE = "family.json"       # what makes a folder a model directory (written by `riddle learn --out DIR`)


def is_model_directory(value) -> bool:
    """Is `value` a model directory (a folder with family.json), as `--models DIR` takes?"""
    return isinstance(value, (str, Path)) and str(value) not in MODEL_FAMILIES and (Path(value) / FAMILY_FILE).is_file()


def directory_family(path: str | Path) -> ModelFamily:
    """The family a model directory describes: its own weights files, named in its family.json."""
    path = Path(path)
    try:
        spec = json.loads((path / FAMILY_FILE).read_text())
        return ModelFamily(name=str(path), generator_weights=spec["generator_weights"],
                           classifier_weights=spec["classifier_weights"], sampler_weights=spec.get("sampler_weights"),
                           misfit_rms=FAMILIES[spec.get("base", DEFAULT_MODELS)].misfit_rms,
                           misfit_length=FAMILIES[spec.get("base", DEFAULT_MODELS)].misfit_length,
                           origin=f"the model directory {path}",
                           described_as=f"read by the networks in {path} "
                                        f"({spec.get('trained_by', 'a model directory')})",
                           predicates_read_off_classifier=True, directory=str(path))
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"{path / FAMILY_FILE} is not a model directory's description ({type(e).__name__}: {e})") \
            from None


def registry(family: str = DEFAULT_MODELS, base: Registry | None = None) -> Registry:
    """The registry a riddle is checked against when it asks for `family` (base: the process registry):
    a family's name, or a model directory (`riddle learn --out DIR`)."""
    base = base or default_registry()
    if is_model_directory(family):
        return _bound(base, directory_family(family))
    if family not in MODEL_FAMILIES:
        raise ValueError(f"unknown model family `{family}`; families: {', '.join(MODEL_FAMILIES)}, or a model "
                         "directory (a folder with family.json, as `riddle learn --out DIR` writes)")
    if family == DEFAULT_MODELS:
        return base
    return _bound(base, FAMILIES[family])


def _bound(base: Registry, fam: ModelFamily) -> Registry:
    """A copy of `base` whose `digit` draws and reads with `fam`'s networks."""
    def loader(make):
        def load():
            from .store import ModelError
            try:
                return make()
            except ModelError as e:                   # say how to make the family's own weights
                raise ModelError(str(e).replace("run `riddle train`", f"run `riddle train --family {fam.name}`")) \
                    from None
        return load

    def readout(true_labels):
        def load():
            from .zoo import LabelReadout
            return LabelReadout(fam.classifier(), tuple(sorted(true_labels)))
        return loader(load)

    r = base.copy()
    digit = r.domains["digit"]
    r.domains["digit"] = replace(
        digit, origin=fam.origin, load_generator=loader(fam.generator), load_classifier=loader(fam.classifier),
        load_sampler=loader(fam.sampler),
        load_variety=bundled_card_entry(fam.generator_weights, VARIETY_CARD_KEY, fam.directory),
        load_reading=bundled_card_entry(fam.classifier_weights, READING_CARD_KEY, fam.directory),
        description=digit.description + (f"; {fam.described_as}" if fam.described_as else ""),
        misfit_rms=fam.misfit_rms, misfit_length=fam.misfit_length)
    if fam.predicates_read_off_classifier:
        for key, p in list(r.predicates.items()):
            if p.domain == "digit" and p.origin == "built in" and p.truth_table is not None:
                r.predicates[key] = replace(p, load_network=readout(p.truth_table),
                                            description=f"{p.description.split(' (')[0]} (read off the "
                                                        f"{fam.name} network's forward model)")
    if fam.directory:             # predicate networks a model directory learned (`riddle learn --learn NAME`)
        for key, p in list(r.predicates.items()):
            weights = Path(fam.directory) / f"{predicate_file(p.name)}.safetensors"
            if weights.is_file():
                r.predicates[key] = replace(p, load_network=loader(_learned(p.load_network, weights)),
                                            description=f"{p.description} (learned: {weights})")
    return r


def predicate_file(name: str) -> str:
    """The file stem of a learned predicate network's weights in a model directory."""
    return "predicate-" + name.replace(" ", "-")


def _learned(load_network, weights: Path):
    """A predicate's own network (as its plugin builds it), with the weights `riddle learn` wrote."""
    def load():
        import copy

        from safetensors import SafetensorError
        from safetensors.torch import load_file

        from .store import ModelError
        net = copy.deepcopy(load_network())            # the plugin's instance stays as the plugin made it
        try:
            net.load_state_dict(load_file(str(weights)))
        except (OSError, RuntimeError, SafetensorError) as e:
            raise ModelError(f"{weights} does not fit the predicate's network: {e}") from None
        return net.eval()
    return load

"""Saving and loading models: weights in `.safetensors` (never pickle), and beside each a JSON
card saying what the model is, what it was trained on and how well it does.

    riddle/models/weights/NAME.safetensors     tensors + metadata {"architecture", "config"}
    riddle/models/weights/NAME.json            the model card
"""
from __future__ import annotations

import json
import struct
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from . import coupled, zoo

ARCHITECTURES = {cls.__name__: cls for cls in (zoo.LabelNet, zoo.LeNet, zoo.PredicateNet, zoo.JudgeNet, zoo.Generator,
                                                          zoo.LabelSampler, coupled.CoupledNet)}


class ModelError(RuntimeError):
    pass


def bundled_dir() -> Path:
    return Path(str(resources.files("riddle.models").joinpath("weights")))


def file_stem(name: str) -> str:
    return name.replace(" ", "-")


def save(model: torch.nn.Module, name: str, card: dict, directory: str | Path) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arch = type(model).__name__
    config = getattr(model, "config", {})
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    path = directory / f"{file_stem(name)}.safetensors"
    tmp = path.with_suffix(".tmp")
    save_file(state, str(tmp), metadata={"architecture": arch, "config": json.dumps(config), "name": name})
    tmp.replace(path)                                   # never leave a half-written weights file
    card = {"name": name, "architecture": arch, "config": config,
            "parameters": sum(v.numel() for v in state.values()), **card}
    (directory / f"{file_stem(name)}.json").write_text(json.dumps(card, indent=2) + "\n")
    return path


def _check_safetensors(path: Path) -> None:
    """A clear refusal for anything that is not a safetensors file (a pickle, a zip, garbage)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            size = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
            ok = 0 < size < 100_000_000 and f.read(1) == b"{"
    except OSError as e:
        raise ModelError(f"cannot read {path}: {e.strerror or e}") from None
    if not ok:
        raise ModelError(f"{path} is not a safetensors file; riddle loads weights only from safetensors "
                         "(never pickles). Retrain with `riddle train` or convert the weights.")


def load(name: str, directory: str | Path | None = None) -> torch.nn.Module:
    directory = Path(directory) if directory else bundled_dir()
    path = directory / f"{file_stem(name)}.safetensors"
    if not path.is_file():
        raise ModelError(f"no weights for `{name}` in {directory}: run `riddle train` to train them")
    _check_safetensors(path)
    try:
        from safetensors import safe_open
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelError(f"{path} could not be read as safetensors: {e}") from None
    arch = meta.get("architecture")
    if arch not in ARCHITECTURES:
        raise ModelError(f"{path} names an unknown architecture `{arch}`")
    model = ARCHITECTURES[arch](**json.loads(meta.get("config", "{}")))
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise ModelError(f"{path} does not fit architecture {arch}: {str(e).splitlines()[0]}") from None
    return model.eval()


def card(name: str, directory: str | Path | None = None) -> dict | None:
    directory = Path(directory) if directory else bundled_dir()
    path = directory / f"{file_stem(name)}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def cards(directory: str | Path | None = None) -> list[dict]:
    directory = Path(directory) if directory else bundled_dir()
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))] if directory.is_dir() else []

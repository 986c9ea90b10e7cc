"""What riddle's networks read in pictures: `riddle read IMAGE...` and `riddle.read(...)`.

For each image, the domain's label classifier's distribution over the labels (softmax at temperature 1:
the network's own reading, not the logic's softened one), the probability that each of the domain's
predicates holds (its network: a head, a readout of the classifier, a plugin's), and the independent
judge's label. It is how a user checks a model — the bundled ones, a family's, or one learned from
riddles — on pictures of their own. All images go through each network in one batch.

Images: PNG (any image Pillow reads; grey, colour turned to grey), or `.npy` — a 2-D image, a stack
[N, H, W] (every image of it), or `FILE.npy#INDEX` (one image of a stack), values in [0, 1] or uint8.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .lang.observe import ObservationError, read_observation
from .vocabulary import DEFAULT_MODELS


class ReadError(ValueError):
    """An image that cannot be read, in words: which one, and what to do."""


@dataclass(frozen=True)
class Reading:
    image: str                              # the file (with #INDEX for one image of a stack)
    label: int                              # the classifier's most probable label
    probabilities: tuple[float, ...]        # its distribution over the domain's labels, in their order
    labels: tuple[int, ...]                 # those labels
    predicates: dict[str, float] = field(default_factory=dict)   # P(predicate holds), by its network
    judge: int | None = None                # the independent judge's label (None: the domain has none)

    def to_json(self) -> dict:
        return {"image": self.image, "label": self.label,
                "probabilities": [round(p, 6) for p in self.probabilities], "labels": list(self.labels),
                "predicates": {k: round(v, 6) for k, v in self.predicates.items()}, "judge": self.judge}

    def text(self) -> str:
        order = np.argsort(self.probabilities)[::-1][:3]
        top = " · ".join(f"{self.labels[k]} {self.probabilities[k]:.2f}" for k in order
                         if self.probabilities[k] >= 0.01)
        preds = " · ".join(f"{name} {p:.2f}" for name, p in self.predicates.items())
        judge = "" if self.judge is None else f"   judge {self.judge}"
        return f"{self.image}   {self.label}   ({top})" + (f"   {preds}" if preds else "") + judge


def load_images(paths: list[str | os.PathLike], shape: tuple[int, ...] = (28, 28)) -> list[tuple[str, np.ndarray]]:
    """Paths (PNG, .npy, .npy stacks, FILE.npy#INDEX) → [(name, pixels float32 [H, W] in [0, 1])]."""
    out = []
    for given in paths:
        text = str(given)
        name, _, index = text.partition("#") if text.endswith(tuple("0123456789")) and "#" in text else (text, "", "")
        path = Path(name)
        if path.suffix.lower() == ".npy" and path.is_file():
            stack = _npy_stack(path, shape)
            if index:
                k = int(index)
                if not 0 <= k < len(stack):
                    raise ReadError(f"{text}: index {k} is outside the {len(stack)} images of {name}")
                out.append((text, stack[k]))
            else:
                out += [(name if len(stack) == 1 else f"{name}#{k}", img) for k, img in enumerate(stack)]
            continue
        if index:
            raise ReadError(f"{text}: `#INDEX` picks one image of a .npy stack; {name} is not one")
        try:
            pixels, _seen = read_observation(path, shape)
        except ObservationError as e:
            # a close name helps; observe's other hints speak of a riddle file, which there is none of here
            hint = f" ({e.help})" if e.help and e.help.startswith("did you mean") else ""
            raise ReadError(f"{text}: {e}{hint}") from None
        out.append((text, pixels))
    return out


def _npy_stack(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise ReadError(f"{path}: not a .npy array riddle can read ({type(e).__name__})") from None
    if data.ndim == len(shape):
        data = data[None]
    if data.ndim != len(shape) + 1 or tuple(data.shape[1:]) != tuple(shape):
        raise ReadError(f"{path}: an array of shape {list(data.shape)}; images here are {' x '.join(map(str, shape))} "
                        f"(one image, or a stack [N, {', '.join(map(str, shape))}])")
    if data.dtype == np.uint8:
        return data.astype(np.float32) / 255
    data = data.astype(np.float32)
    if not np.isfinite(data).all() or data.min() < 0 or data.max() > 1:
        raise ReadError(f"{path}: pixels must be finite and in [0, 1] (or uint8)")
    return data


def read(images, *, models: str | None = None, domain: str = "digit", registry=None) -> list[Reading]:
    """What the networks of `models` (a family; default: riddle's own) read in each image: a list of
    `Reading`, in the order given. `images`: paths (see load_images) or an array [N, H, W] in [0, 1]."""
    import torch

    from .models.families import registry as family_registry
    reg = registry or family_registry(models or DEFAULT_MODELS)
    if domain not in reg.domains:
        raise ReadError(f"unknown domain `{domain}`; domains: {', '.join(reg.domains)}")
    dom = reg.domains[domain]
    if isinstance(images, np.ndarray):
        named = [(f"image {k}", img) for k, img in enumerate(images.reshape(-1, *dom.image_shape))]
    else:
        named = load_images(list(images), dom.image_shape)
    if not named:
        return []
    x = torch.as_tensor(np.stack([img for _, img in named]), dtype=torch.float32)         # [N, H, W]
    with torch.no_grad():
        from .models.zoo import outputs_of
        logits = outputs_of(dom.load_classifier().eval(), x)[:, :len(dom.labels)]
        probs = logits.softmax(-1).numpy()
        preds = {p.name: torch.sigmoid(p.load_network().eval()(x).reshape(-1)).numpy()
                 for p in reg.predicates_of(domain)}
        judged = None
        if dom.has_judge and dom.load_judge is not None:
            judged = np.asarray(dom.labels)[dom.load_judge().eval()(x).argmax(-1).numpy()]
    return [Reading(name, int(dom.labels[int(probs[k].argmax())]), tuple(float(v) for v in probs[k]),
                    tuple(dom.labels), {n: float(v[k]) for n, v in preds.items()},
                    None if judged is None else int(judged[k]))
            for k, (name, _) in enumerate(named)]

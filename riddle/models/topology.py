"""Closed circles by topology: a binarised digit has a closed circle when its ink encloses a hole,
i.e. some background pixels cannot reach the border. This is the definition the `closed circle`
predicate is trained on — on real and on generated images alike — rather than the label (a
handwritten 4 may close, a 9 may not, a blurred 8 may have filled in).

Ink is 8-connected, so the background is 4-connected (the standard pairing: a diagonal line of
ink closes a region). Flood fill from the border by repeated 4-neighbour dilation, batched in torch.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

INK_THRESHOLD = 0.5               # of intensity in [0, 1]
MIN_HOLE_PIXELS = 4               # smaller enclosed specks are pen noise, not a loop


def hole_area(images: torch.Tensor, threshold: float = INK_THRESHOLD) -> torch.Tensor:
    """images: [N, 28, 28] in [0, 1] → enclosed background pixels per image: [N] (int)."""
    background = (images < threshold).float().unsqueeze(1)               # [N, 1, H, W]
    reach = torch.zeros_like(background)
    reach[..., 0, :] = reach[..., -1, :] = 1
    reach[..., :, 0] = reach[..., :, -1] = 1
    reach = reach * background
    cross = torch.tensor([[0., 1., 0.], [1., 1., 1.], [0., 1., 0.]]).view(1, 1, 3, 3)
    for _ in range(images.shape[-1] * images.shape[-2]):                 # bounded; converges in ~30 steps
        grown = (F.conv2d(reach, cross, padding=1) > 0).float() * background
        if torch.equal(grown, reach):
            break
        reach = grown
    return (background - reach).sum(dim=(1, 2, 3)).long()


def has_closed_circle(images: torch.Tensor, min_pixels: int = MIN_HOLE_PIXELS) -> torch.Tensor:
    """[N, 28, 28] → bool [N]."""
    return hole_area(images) >= min_pixels

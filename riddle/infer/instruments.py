"""The instruments of `x looks like "…" through …` as differentiable torch operations, batched over
any leading dimensions: images [..., H, W] → measured [..., h, w]. The checker (lang/check.py) has
made sure each fits the shape it is given.

    blur σ          a Gaussian of standard deviation σ pixels, truncated at 3σ, zero outside the image
                    (digits are white ink on black: zero is their background), separable: two 1-D passes
    downsample f    the mean of each f × f block (a thumbnail; f divides H and W)

Written here in a few lines rather than taken from deepinv's `physics` (Blur, Downsampling): that
library would bring its own dependency tree for two convolutions, and these are tested against a
direct computation (tests/test_instruments.py).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..lang.checked import Instrument


def gaussian_kernel(sigma: float, dtype=torch.float32, device=None) -> torch.Tensor:
    """[2r + 1], r = ceil(3σ): the normalised 1-D Gaussian."""
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).to(dtype=dtype, device=device)


def blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    *lead, H, W = images.shape
    x = images.reshape(-1, 1, H, W)
    k = gaussian_kernel(sigma, x.dtype, x.device)
    r = (len(k) - 1) // 2
    x = F.conv2d(x, k.view(1, 1, -1, 1), padding=(r, 0))          # along rows
    x = F.conv2d(x, k.view(1, 1, 1, -1), padding=(0, r))          # along columns
    return x.reshape(*lead, H, W)


def downsample(images: torch.Tensor, factor: int) -> torch.Tensor:
    *lead, H, W = images.shape
    return images.reshape(*lead, H // factor, factor, W // factor, factor).mean(dim=(-3, -1))


def measure(through: Sequence[Instrument], images: torch.Tensor) -> torch.Tensor:
    """images [..., H, W] → what the instruments, applied in order, make of them."""
    x = images
    for step in through:
        x = blur(x, step.value) if step.kind == "blur" else downsample(x, int(step.value))
    return x


def measure_numpy(through: Sequence[Instrument], images) -> np.ndarray:
    """The same for numpy arrays (or tensors), in float64: for the judge and the report."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float64))
    return measure(through, x).numpy()

"""The instruments of `x looks like "…" through …` as differentiable torch operations, batched over
any leading dimensions: images [..., H, W] → measured [..., h, w]. The checker (lang/check.py) has
made sure each fits the shape it is given.

    blur σ          a Gaussian of standard deviation σ pixels, truncated at 3σ, zero outside the image
                    (digits are white ink on black: zero is their background), separable: two 1-D passes
    downsample f    the mean of each f × f block (a thumbnail; f divides H and W)
    projection A    A · vec(x): the data flattened row-major, times the matrix [m, k] → [..., m]

Written here in a few lines rather than taken from deepinv's `physics` (Blur, Downsampling,
CompressedSensing): that library would bring its own dependency tree for two convolutions and a
matrix product, and these are tested against a direct computation (tests/test_instruments.py).
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


def project(data: torch.Tensor, matrix, dims: int) -> torch.Tensor:
    """data [..., *d] (its last `dims` dimensions flattened row-major into k) → A · vec [..., m]."""
    a = torch.as_tensor(matrix, dtype=data.dtype, device=data.device)                   # [m, k]
    return data.flatten(-dims) @ a.T if dims > 1 else data @ a.T


def measure(through: Sequence[Instrument], images: torch.Tensor) -> torch.Tensor:
    """images [..., H, W] → what the instruments, applied in order, make of them."""
    x, dims = images, 2
    for step in through:
        if step.kind == "blur":
            x = blur(x, step.value)
        elif step.kind == "downsample":
            x = downsample(x, int(step.value))
        else:
            x, dims = project(x, step.matrix, dims), 1
    return x


def measure_numpy(through: Sequence[Instrument], images) -> np.ndarray:
    """The same for numpy arrays (or tensors), in float64: for the judge and the report."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float64))
    return measure(through, x).numpy()


def misfit_variance(through: Sequence[Instrument], shape: tuple[int, int], rms: float, length: float) -> np.ndarray:
    """The variance, at each measured entry [data shape], of a generator's misfit carried through the
    chain. The misfit (a real image minus the generator's closest drawing) is modelled as a field of
    per-pixel standard deviation `rms` whose correlation between pixels d apart is exp(-d² / 2ℓ²)
    (ℓ = `length`; 0: independent pixels); the chain is linear, L its matrix, so the variance is
    rms² · diag(L K Lᵀ). bench/misfit.py measures rms and ℓ for the bundled generator and checks this
    prediction per instrument against the measured misfits (docs/BENCHMARKS.md, "Generator misfit")."""
    H, W = shape
    out_shape = measure_numpy(through, np.zeros(shape)).shape
    if rms <= 0:
        return np.zeros(out_shape)
    basis = np.eye(H * W).reshape(H * W, H, W)
    L = measure_numpy(through, basis).reshape(H * W, -1).T.reshape(-1, H, W)            # [out, H, W]

    def correlation(n: int) -> np.ndarray:                                              # [n, n]
        d = np.arange(n)[:, None] - np.arange(n)[None, :]
        return np.exp(-d ** 2 / (2 * length ** 2)) if length > 0 else np.eye(n)
    KL = np.einsum("ab,kbc,cd->kad", correlation(H), L, correlation(W))               # K is Ky ⊗ Kx
    return rms ** 2 * (L * KL).sum(axis=(1, 2)).reshape(out_shape)

"""The distortions a hand makes, as affine warps of 28 × 28 images: drawn at random to train networks
(models/train.augment), and as a fixed set of views to read a picture more than once (infer/cells.py,
test-time augmentation). One parameterisation for both, so a reading's views are the distortions the
classifier learned to expect: ±12° rotation, ±10 % scale, shear, ±1.7 px shift."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

ROTATION, SCALE, SHEAR, SHIFT = math.radians(12), 0.1, 0.15, 0.12
VIEW_SEED = 0                    # the fixed views' draw: every reading of a picture sees the same ones


def warps(u: torch.Tensor) -> torch.Tensor:
    """u [N, 5] in [-1, 1] (rotation, scale, shear, shift x, shift y) → affine matrices θ [N, 2, 3]."""
    angle, scale, shear, shift = u[:, 0] * ROTATION, 1 + u[:, 1] * SCALE, u[:, 2] * SHEAR, u[:, 3:] * SHIFT
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    return torch.stack([torch.stack([cos, -sin + shear, shift[:, 0]], -1),
                        torch.stack([sin, cos, shift[:, 1]], -1)], 1)


def warp(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """x [N, H, W], θ [N, 2, 3] → the warped images [N, H, W] (bilinear, zeros outside)."""
    grid = F.affine_grid(theta, (x.shape[0], 1, *x.shape[1:]), align_corners=False)
    return F.grid_sample(x.unsqueeze(1), grid, align_corners=False).squeeze(1)


def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Each image under its own random distortion, drawn from g. x [N, H, W] → [N, H, W]."""
    n = x.shape[0]
    u = lambda *shape: torch.rand(*shape, generator=g) * 2 - 1  # noqa: E731
    # drawn in this order (angle, scale, shear, shift) so that a seed gives the distortions it always gave
    return warp(x, warps(torch.cat([u(n)[:, None], u(n)[:, None], u(n)[:, None], u(n, 2)], 1)))


def fixed_views(x: torch.Tensor, views: int) -> torch.Tensor:
    """x [N, H, W] → [1 + views, N, H, W]: the images as they are, then under each of `views` distortions
    drawn once from VIEW_SEED, the same for every image (so a picture's reading depends on it alone)."""
    g = torch.Generator().manual_seed(VIEW_SEED)
    u = torch.rand(views, 5, generator=g, dtype=torch.float32) * 2 - 1                  # [V, 5]
    theta = warps(u).to(x)                                                              # [V, 2, 3]
    n = x.shape[0]
    out = [x] + [warp(x, theta[v].expand(n, 2, 3)) for v in range(views)]
    return torch.stack(out)

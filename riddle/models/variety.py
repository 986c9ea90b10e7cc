"""How varied a set of drawings is: the measure the report, the benches and the sampler's card share."""
from __future__ import annotations

import numpy as np


def pairwise_rms(images: np.ndarray) -> float | None:
    """images [m, ...] → the mean over pairs i < j of the root-mean-square pixel difference
    between image i and image j; None for fewer than two images. How different the drawings are:
    0 when every image is the same picture."""
    m = len(images)
    if m < 2:
        return None
    x = images.reshape(m, -1).astype(np.float64)
    sq = (x * x).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0) / x.shape[1]    # [m, m]
    upper = np.triu_indices(m, 1)
    return float(np.sqrt(d2[upper]).mean())

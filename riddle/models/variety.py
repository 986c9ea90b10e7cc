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


# The variety line's yardsticks: ~50 prior drawings per digit are enough for a mean pairwise distance,
# and at most this many images of a label enter one (a pairwise distance costs m² / 2)
REFERENCE_DRAWS = 512
REFERENCE_PER_LABEL = 256
REFERENCE_SEED = 7


def reference_spreads(generator, judge, labels, examples=None, draws: int = REFERENCE_DRAWS,
                      seed: int = REFERENCE_SEED) -> dict:
    """The yardsticks a solve's variety is measured against, per label (as a string, JSON's keys): the mean
    pairwise RMS distance of the generator's own drawings of that label (`draws` prior draws G(ξ), read by
    the judge) and of real images of it (`examples`: images [N, H, W], labels [N], or None). They depend
    only on the models and the data, so `riddle train` stores them in the generator's card
    ("variety_reference") and a solve reads them there instead of drawing and reading 512 images and
    loading the bundled digits each time; models without them are measured once per process."""
    import torch
    with torch.no_grad():
        device = next(generator.parameters()).device
        xi = torch.randn(draws, generator.latent, generator=torch.Generator().manual_seed(seed)).to(device)
        images = generator(xi).float()
        read = np.asarray(labels)[judge(images).argmax(-1).cpu().numpy()]
    images = images.cpu().numpy()
    prior = {str(k): pairwise_rms(images[read == k][:REFERENCE_PER_LABEL]) for k in labels}
    real = None
    if examples is not None:
        ex_images, ex_labels = (np.asarray(a) for a in examples)
        real = {str(k): pairwise_rms(ex_images[ex_labels == k][:REFERENCE_PER_LABEL]) for k in labels}
    return {"prior": prior, "real": real, "draws": draws, "seed": seed}

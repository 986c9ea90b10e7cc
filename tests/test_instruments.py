"""`x looks like "…" through blur σ, downsample f` (issue 28): each instrument against a direct
computation and its gradient, shapes and chains, the objective's term through them, the report's
check, and end to end on held-out real digits with the bundled models."""
import math

import numpy as np
import pytest
import torch

from riddle.infer.instruments import blur, downsample, gaussian_kernel, measure, measure_numpy, misfit_variance
from riddle.infer.judge import entry_variance, keeps
from riddle.lang import load_text
from riddle.lang.checked import Instrument
from riddle.report.images import encode_png

from .test_infer import fake_registry
from .test_models import needs_weights
from .test_observe import held_out, observation_term


def direct_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """The 2-D Gaussian, summed pixel by pixel, zero outside the image, truncated at ceil(3σ)."""
    r = max(1, math.ceil(3 * sigma))
    H, W = image.shape
    out = np.zeros_like(image, dtype=np.float64)
    offsets = range(-r, r + 1)
    g = np.array([math.exp(-0.5 * (d / sigma) ** 2) for d in offsets])
    g /= g.sum()
    for y in range(H):
        for x in range(W):
            for i, dy in enumerate(offsets):
                for j, dx in enumerate(offsets):
                    if 0 <= y + dy < H and 0 <= x + dx < W:
                        out[y, x] += g[i] * g[j] * image[y + dy, x + dx]
    return out


@pytest.mark.parametrize("sigma", [0.5, 1.2, 2.5])
def test_blur_is_the_truncated_gaussian_with_zero_outside(sigma):
    image = np.random.default_rng(1).random((11, 9))
    got = blur(torch.tensor(image), sigma).numpy()
    assert np.allclose(got, direct_blur(image, sigma), atol=1e-12)
    assert gaussian_kernel(sigma, torch.float64).sum().item() == pytest.approx(1.0)


def test_downsample_is_block_means():
    image = np.random.default_rng(2).random((28, 28))
    got = downsample(torch.tensor(image), 4).numpy()
    direct = np.array([[image[4 * y:4 * y + 4, 4 * x:4 * x + 4].mean() for x in range(7)] for y in range(7)])
    assert got.shape == (7, 7) and np.allclose(got, direct)


def test_gradients_are_right():
    x = torch.rand(2, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: blur(t, 1.1), (x,))
    assert torch.autograd.gradcheck(lambda t: downsample(t, 2), (x,))
    assert torch.autograd.gradcheck(lambda t: measure([Instrument("blur", 0.8), Instrument("downsample", 4)], t), (x,))


def test_chains_apply_in_order_over_any_leading_dimensions():
    x = torch.rand(2, 3, 5, 28, 28, dtype=torch.float64)
    chain = [Instrument("blur", 1.0), Instrument("downsample", 4)]
    out = measure(chain, x)
    assert out.shape == (2, 3, 5, 7, 7)
    assert torch.allclose(out[1, 2, 3], downsample(blur(x[1, 2, 3], 1.0), 4))
    assert not torch.allclose(out, blur(downsample(x, 4), 1.0))                 # the order matters
    assert np.allclose(measure_numpy(chain, x.numpy()), out.numpy())
    assert Instrument("downsample", 7).shape((28, 28)) == (4, 4) and Instrument("blur", 2).shape((28, 28)) == (28, 28)


def thumbnail_riddle(image: np.ndarray, extra: str = "", registry=None):
    """`x` seen as a 7 × 7 thumbnail of `image` (an upload, so no file is written)."""
    thumb = measure_numpy([Instrument("downsample", 4)], image)
    files = {"thumb.png": encode_png(np.clip(thumb, 0, 1))}
    text = 'digits x, y\nx looks like "thumb.png" through downsample 4 with noise 0.05\n' + extra
    return load_text(text, files=files, registry=registry), thumb


def test_the_objective_compares_what_the_instruments_make_of_the_images():
    registry, (gen, *_) = fake_registry()
    image = np.random.default_rng(3).random((28, 28))
    riddle, _ = thumbnail_riddle(image, registry=registry)
    assert riddle.ok and not any(d.code == "R062" for d in riddle.diagnostics), riddle.diagnostics   # not white
    got, images, _, _ = observation_term(riddle, gen)                                  # [2, 3], [2, 3, 28, 28]
    obs = riddle.statements[0]
    thumbs = images.reshape(2, 3, 7, 4, 7, 4).mean((-3, -1))
    expected = -0.5 * (((thumbs - obs.pixels) * obs.seen) ** 2).sum((-1, -2)) / 0.05 ** 2
    assert obs.pixels.shape == (7, 7)
    assert np.allclose(got, expected, rtol=1e-4, atol=1e-3)


@pytest.mark.slow
def test_the_report_checks_the_measurement_not_the_image():
    image = held_out(3)
    riddle, thumb = thumbnail_riddle(image)
    obs = riddle.statements[0]
    other = held_out(1)
    measured = measure_numpy(obs.through, np.stack([image, other]))
    assert obs.matches(measured).tolist() == [True, False]              # the 8-bit rounding is far below σ
    assert obs.text() == 'looks like(x, "thumb.png" through downsample 4, σ 0.05)'


@pytest.mark.slow
@needs_weights
def test_a_noisy_thumbnail_of_a_real_three_with_a_sum_is_solved():
    from riddle.infer.base import RunConfig
    from riddle.infer.solve import solve
    riddle, _ = thumbnail_riddle(held_out(3, 5), "x + y = 10\n")
    assert riddle.ok, riddle.diagnostics
    sol = solve(riddle, RunConfig(seed=0, restarts=16, steps=150, pairs=1), device="cpu", method="advi")
    # measured on seeds 0-7 (AMD EPYC): 3 7 on every seed, 94-100 % of restarts right and all 16 kept, so
    # a miss needs most of 16 restarts wrong at once
    assert sol.answer.answer == (3, 7) and sol.answer.correct
    assert sol.observations[0]["through"] == ["downsample 4"] and sol.observations[0]["seen_pixels"] == 49
    assert sol.observations[0]["kept"] >= 8


def test_projection_is_the_matrix_times_the_row_major_flattened_data():
    rng = np.random.default_rng(4)
    x = rng.random((3, 28, 28))
    a = rng.normal(size=(10, 784)).astype(np.float32)
    got = measure([Instrument("projection", path="A.npy", matrix=a)], torch.tensor(x)).numpy()
    assert got.shape == (3, 10) and np.allclose(got, x.reshape(3, -1) @ a.T.astype(np.float64), atol=1e-5)
    b = rng.normal(size=(5, 49)).astype(np.float32)                      # after a downsample: 7 x 7 = 49 columns
    chained = measure([Instrument("downsample", 4), Instrument("projection", path="B.npy", matrix=b)], torch.tensor(x))
    assert np.allclose(chained.numpy(), downsample(torch.tensor(x), 4).numpy().reshape(3, -1) @ b.T, atol=1e-5)
    xg = torch.rand(2, 8, 8, dtype=torch.float64, requires_grad=True)
    c = [Instrument("projection", matrix=rng.normal(size=(3, 64)))]
    assert torch.autograd.gradcheck(lambda t: measure(c, t), (xg,))


# ── the report's kept rule: noise plus the generator's misfit, through the chain ─

def direct_misfit_variance(chain, rms, length, shape=(12, 12)) -> np.ndarray:
    """rms² · diag(L K Lᵀ) with L and K written out entry by entry."""
    H, W = shape
    L = np.stack([measure_numpy(chain, np.eye(H * W)[j].reshape(H, W)).reshape(-1) for j in range(H * W)], 1)
    pos = [(y, x) for y in range(H) for x in range(W)]
    K = np.array([[math.exp(-((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2) / (2 * length ** 2)) if length else float(p == q)
                   for q in pos] for p in pos])
    return rms ** 2 * np.einsum("kj,jl,kl->k", L, K, L)


@pytest.mark.parametrize("chain", [[], [Instrument("blur", 1.3)], [Instrument("downsample", 3)],
                                   [Instrument("blur", 0.7), Instrument("downsample", 2),
                                    Instrument("projection", path="A.npy",
                                               matrix=np.random.default_rng(5).normal(size=(7, 36)))]])
@pytest.mark.parametrize("length", [0.0, 0.65, 2.0])
def test_the_misfit_variance_is_the_chain_carrying_a_correlated_field(chain, length):
    got = misfit_variance(chain, (12, 12), 0.07, length)
    assert got.shape == measure_numpy(chain, np.zeros((12, 12))).shape
    assert np.allclose(got.reshape(-1), direct_misfit_variance(chain, 0.07, length))
    if not chain:
        assert np.allclose(got, 0.07 ** 2)                                # each pixel's own misfit
    assert not misfit_variance(chain, (12, 12), 0.0, length).any()       # a domain without a measured misfit


def projection_riddle(image: np.ndarray, m: int = 100, sigma: float = 0.1):
    """`x` seen through m random projections (A ~ N(0, 1/m), Bora et al.'s protocol) with noise σ."""
    rng = np.random.default_rng(6)
    a = rng.normal(0, 1 / math.sqrt(m), (m, 784)).astype(np.float32)
    y = a.astype(np.float64) @ image.reshape(-1) + rng.normal(0, sigma, m)
    files = {"y.npy": npy_bytes(y.astype(np.float32)), "A.npy": npy_bytes(a)}
    text = f'digit x\nx looks like "y.npy" through projection "A.npy" with noise {sigma}\n'
    return load_text(text, files=files)


def npy_bytes(array: np.ndarray) -> bytes:
    import io
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


@pytest.mark.slow
def test_a_projected_real_digit_keeps_a_drawing_off_by_the_generators_misfit_and_rejects_another_digit():
    """A random projection adds 784 / m pixels' misfit into each entry: with σ alone (the old rule) no
    drawing as far from the real digit as the generator's closest ones (0.07 per pixel) is kept."""
    from riddle.models.registry import default_registry
    digit = default_registry().domains["digit"]
    assert digit.misfit_rms > 0.05 and digit.misfit_length > 0           # measured by bench/misfit.py
    four = held_out(4)
    riddle = projection_riddle(four)
    assert riddle.ok, riddle.diagnostics
    obs = riddle.statements[0]
    tau2 = entry_variance(obs, digit)
    assert tau2.shape == (100,) and np.all(tau2 > 0.1 ** 2 + 0.5 * 784 / 100 * 0.06 ** 2)
    rng = np.random.default_rng(7)
    near = np.clip(four + rng.normal(0, digit.misfit_rms, four.shape), 0, 1)   # about the closest drawing's misfit
    other = held_out(9)
    assert keeps(obs, digit, np.stack([four, near, other])).tolist() == [True, True, False]
    assert obs.matches(measure_numpy(obs.through, near)).item() is False        # the noise alone: rejected


def test_the_expected_variance_belongs_to_its_own_statement_not_to_one_on_the_same_line():
    """Statements compare equal by their span: a cache keyed on equality gave the second riddle the
    first one's 7 x 7 variances for its 14 x 14 data."""
    from riddle.models.registry import default_registry
    digit = default_registry().domains["digit"]
    image = held_out(3)
    first = thumbnail_riddle(image)[0].statements[0]
    small = measure_numpy([Instrument("downsample", 2)], image)
    second = load_text('digits x, y\nx looks like "thumb.png" through downsample 2 with noise 0.05\n',
                       files={"thumb.png": encode_png(np.clip(small, 0, 1))}).statements[0]
    assert entry_variance(first, digit).shape == (7, 7) and entry_variance(second, digit).shape == (14, 14)
    assert keeps(second, digit, image[None]).tolist() == [True]


@pytest.mark.slow
@needs_weights
@pytest.mark.parametrize("method", ["advi", "amortised"])
def test_a_real_four_seen_through_100_projections_is_read_and_kept(method):
    """Bora et al.'s protocol on a held-out 4 (m 100, σ 0.1): the answer is the 4, many restarts' drawings
    are read as a 4 and keep the measurement, and the best one is far closer than least squares (measured:
    0.10-0.12 of its squared error on every seed, against the bar's 0.5)."""
    from riddle.infer.base import RunConfig
    from riddle.infer.solve import solve
    four = held_out(4, 12)
    riddle = projection_riddle(four)
    sol = solve(riddle, RunConfig(seed=0, restarts=16, steps=150, pairs=1), device="cpu", method=method)
    assert sol.answer.answer == (4,) and sol.answer.correct
    # measured on seeds 0-7 (AMD EPYC): advi 69-100 % of restarts right (86 % in all), amortised 56-100 %
    # (79 %); the bars leave a binomial tail below 1e-4 at those rates (8 and 5 of 16)
    assert sol.success_rate >= {"advi": 0.5, "amortised": 0.3}[method], sol.rows
    a = riddle.statements[0].through[0].matrix.astype(np.float64)
    least_squares = np.clip(np.linalg.pinv(a) @ riddle.statements[0].pixels, 0, 1).reshape(28, 28)
    best = sol.images[int(np.argmax(np.where(sol.correct, sol.elbo, -np.inf))), 0]       # the best right one
    assert ((best - four) ** 2).mean() <= 0.5 * ((least_squares - four) ** 2).mean()

"""Observations: `x looks like "PATH"` — reading images (PNG modes, alpha as unseen, .npy with NaN),
the string literal in the splitter, the pixel term of the objective, the report's pixel check, and
end to end with the bundled models on real digits the models were not trained on."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from riddle.cli import main
from riddle.graph import build, solve_symbolic
from riddle.graph.build import ObservationFactor
from riddle.graph.joint import compile_logic
from riddle.infer.objective import Networks, Objective
from riddle.lang import load, load_text
from riddle.lang.checked import DEFAULT_NOISE, MATCH_SIGMAS, ObservationStatement
from riddle.lang.errors import Source
from riddle.lang.observe import MAX_IMAGE_BYTES, ObservationError, read_observation
from riddle.lang.parser import parse, split_statements
from riddle.report.images import write_png

from .test_infer import D, fake_registry
from .test_models import needs_weights


def digit(seed=0) -> np.ndarray:
    """A blob of white ink on black, 28 x 28 in [0, 1]."""
    yy, xx = np.mgrid[:28, :28]
    rng = np.random.default_rng(seed)
    cy, cx = rng.uniform(10, 18, 2)
    return np.clip(1.2 - np.hypot(yy - cy, (xx - cx) * 1.6) / 6, 0, 1).astype(np.float32)


# ── reading images ───────────────────────────────────────────────────────────

def test_png_modes_and_alpha_as_unseen(tmp_path):
    img = digit()
    u8 = (img * 255 + 0.5).astype(np.uint8)
    top = np.zeros((28, 28), bool)
    top[:14] = True
    Image.fromarray(u8).save(tmp_path / "grey.png")
    Image.fromarray(np.stack([u8, np.where(top, 255, 0).astype(np.uint8)], -1)).save(tmp_path / "la.png")
    rgba = np.stack([u8, u8, u8, np.where(top, 255, 0).astype(np.uint8)], -1)
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    Image.fromarray((img * 65535).astype(np.uint16)).save(tmp_path / "sixteen.png")
    pal = Image.fromarray(u8).convert("P")
    pal.info["transparency"] = int(np.asarray(pal)[0, 0])                 # the corner's colour: transparent
    pal.save(tmp_path / "palette.png", transparency=int(np.asarray(pal)[0, 0]))
    pixels, seen = read_observation(tmp_path / "grey.png", (28, 28))
    assert seen.all() and np.abs(pixels - img).max() <= 1 / 255
    for name in ("la.png", "rgba.png"):
        pixels, seen = read_observation(tmp_path / name, (28, 28))
        assert (seen == top).all() and np.abs(pixels - img)[top].max() <= 1 / 255 and (pixels[~top] == 0).all()
    pixels, seen = read_observation(tmp_path / "sixteen.png", (28, 28))
    assert seen.all() and np.abs(pixels - img).max() < 1e-4
    _, seen = read_observation(tmp_path / "palette.png", (28, 28))
    assert not seen[0, 0] and seen.sum() < 784


def test_npy_with_nan_for_unseen_and_uint8(tmp_path):
    img = digit(1).astype(np.float64)
    img[14:] = np.nan
    np.save(tmp_path / "half.npy", img)
    pixels, seen = read_observation(tmp_path / "half.npy", (28, 28))
    assert seen[:14].all() and not seen[14:].any() and np.allclose(pixels[:14], img[:14])
    np.save(tmp_path / "u8.npy", (digit(1) * 255).astype(np.uint8))
    assert read_observation(tmp_path / "u8.npy", (28, 28))[1].all()


@pytest.mark.parametrize("make, words", [
    (lambda p: None, "no such image"),
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: p.write_text("not a picture"), "not an image"),
    (lambda p: Image.fromarray(np.zeros((8, 9), np.uint8)).save(p, format="PNG"), "9 x 8 pixels"),
    (lambda p: Image.fromarray(np.zeros((28, 28, 2), np.uint8)).save(p, format="PNG"), "no seen pixel"),
])
def test_unusable_images_raise_observation_errors(tmp_path, make, words):
    path = tmp_path / "seen.png"
    make(path)
    with pytest.raises(ObservationError, match=words):
        read_observation(path, (28, 28))


def test_npy_out_of_range_and_size_bound(tmp_path, monkeypatch):
    np.save(tmp_path / "big.npy", np.full((28, 28), 3.0))
    with pytest.raises(ObservationError, match="outside"):
        read_observation(tmp_path / "big.npy", (28, 28))
    monkeypatch.setattr("riddle.lang.observe.MAX_IMAGE_BYTES", 10)
    with pytest.raises(ObservationError, match="at most"):
        read_observation(tmp_path / "big.npy", (28, 28))
    assert MAX_IMAGE_BYTES >= 1 << 20


def test_pillow_writer_round_trips_with_alpha(tmp_path):
    img, seen = digit(2), np.zeros((28, 28), bool)
    seen[:, :14] = True
    write_png(tmp_path / "left.png", img, seen)
    pixels, got = read_observation(tmp_path / "left.png", (28, 28))
    assert (got == seen).all() and np.abs(pixels - img)[seen].max() <= 1 / 255
    assert not list(tmp_path.glob("*.tmp"))


# ── language ─────────────────────────────────────────────────────────────────

def test_a_string_keeps_hash_and_semicolon_and_spans_stay_exact():
    text = 'digits x, y\nx looks like "a;b#c.png" with noise 0.1 with strength 2 # seen; partly\ny is odd; x = 3\n'
    pieces = [(line, col, t.strip()) for line, col, t, _ in split_statements(text) if t.strip()]
    assert pieces[1] == (2, 1, 'x looks like "a;b#c.png" with noise 0.1 with strength 2')
    assert pieces[3] == (3, 10, "x = 3")                          # the piece starts after the `;`
    riddle, diags = parse(Source("t.rdl", text))
    assert not diags
    obs = riddle.statements[1]
    assert obs.path.text == "a;b#c.png" and (obs.path.span.column, obs.path.span.end_column) == (14, 25)
    assert obs.noise.text == "0.1" and obs.strength.text == "2"


def test_paths_are_relative_to_the_riddle_file(tmp_path):
    (tmp_path / "seen").mkdir()
    write_png(tmp_path / "seen" / "x.png", digit())
    (tmp_path / "r.rdl").write_text('digits x\nx looks like "seen/x.png" with noise 0.3\nx is odd\n')
    riddle = load(tmp_path / "r.rdl")
    assert riddle.ok, riddle.diagnostics
    (obs, _) = riddle.statements
    assert isinstance(obs, ObservationStatement) and obs.noise == 0.3 and obs.file == tmp_path / "seen" / "x.png"
    assert obs.kind == "observation" and obs.seen.all()
    default = load_text(f'digits x\nx looks like "{tmp_path / "seen" / "x.png"}"\n').statements[0]
    assert default.noise == DEFAULT_NOISE


def test_observation_mistakes_exit_2_with_positions(tmp_path, capsys):
    (tmp_path / "junk.png").write_text("garbage")
    (tmp_path / "r.rdl").write_text(
        'digits x\nx looks like "junk.png"\nx looks like "nope.png"\nx is odd with noise 1\n'
    )
    assert main(["check", str(tmp_path / "r.rdl")]) == 2
    err = capsys.readouterr().err
    assert "r.rdl:2:14" in err and "not an image" in err
    assert "r.rdl:3:14" in err and "no such image" in err
    assert "r.rdl:4:21" in err and "belongs to an observation" in err
    assert "Traceback" not in err
    assert main(["solve", str(tmp_path / "r.rdl")]) == 2


# ── graph, oracle, objective ─────────────────────────────────────────────────

def observed_riddle(tmp_path, registry=None, extra="x + y = 9\n"):
    write_png(tmp_path / "top.png", digit(3), np.arange(28)[:, None].repeat(28, 1) < 14)
    return load_text(f'digits x, y\nx looks like "top.png" with noise 0.25 with strength 2\n{extra}',
                     file=str(tmp_path / "r.rdl"), registry=registry)


def test_observation_is_a_term_of_its_own_and_the_oracle_notes_it(tmp_path):
    riddle = observed_riddle(tmp_path)
    graph = build(riddle)
    (obs,) = [f for f in graph.factors if isinstance(f, ObservationFactor)]
    assert obs.scope == ("x",) and obs.noise == 0.25 and obs.strength == 2
    for mode in ("joint", "factored"):
        program = compile_logic(graph, mode)
        assert obs in program.terms and not any(obs in g.factors for g in program.groups)
    result = solve_symbolic(graph)
    assert [s.kind for s in result.ignored] == ["observation"] and result.count == 10


def observation_term(riddle, gen):
    """The objective's first observation term at 2 × 3 seeded latents of a 2-unknown riddle → its log
    probabilities [2, 3] (float64), the first unknown's images there [2, 3, 28, 28], and the objective."""
    graph = build(riddle)
    objective = Objective(graph, Networks.load(graph))
    k = next(i for i, t in enumerate(objective.terms) if isinstance(t, ObservationFactor))
    xi = torch.randn(2, 3, 2, D, generator=torch.Generator().manual_seed(0))
    got = objective.log_probs(xi)[..., k].double().numpy()
    images = gen(xi.reshape(-1, D)).reshape(2, 3, 2, 28, 28)[:, :, 0].double().numpy()
    return got, images, objective, xi


def test_the_pixel_term_is_the_gaussian_log_likelihood_over_seen_pixels(tmp_path):
    registry, (gen, *_) = fake_registry()
    riddle = observed_riddle(tmp_path, registry)
    got, images, objective, xi = observation_term(riddle, gen)
    obs = riddle.statements[0]
    expected = -0.5 * (((images - obs.pixels) * obs.seen) ** 2).sum((-1, -2)) / 0.25 ** 2
    assert np.allclose(got, expected, rtol=1e-5, atol=1e-4)
    h, _ = objective.energy(xi, 1.0)                                          # and it weighs × strength 2
    assert torch.isfinite(h).all()


def test_the_pixel_check_is_rms_over_seen_pixels_within_the_noise(tmp_path):
    obs = observed_riddle(tmp_path).statements[0]
    exact = obs.pixels.copy()
    off = obs.pixels.copy()
    off[:14] += 0.9 * obs.noise * MATCH_SIGMAS                  # within: RMS 0.9 of the threshold
    far = obs.pixels.copy()
    far[:14] = 1 - far[:14]
    other = obs.pixels.copy()
    other[14:] = 1                                                # unseen pixels do not count
    assert obs.matches(np.stack([exact, off, far, other])).tolist() == [True, True, False, True]


# ── end to end, bundled models, held-out real digits ─────────────────────────

def held_out(label: int, k: int = 0) -> np.ndarray:
    from riddle.models.data import load_bundled, make_splits
    data = load_bundled()
    test = make_splits(data.labels).test
    idx = [i for i in test if int(data.labels[i]) == label][k]
    return data.images[idx].numpy()


SMALL = dict(restarts=24, pairs=1)


@pytest.mark.slow
@needs_weights
def test_the_top_half_of_a_real_seven_that_is_odd_completes_to_seven(tmp_path):
    from riddle.infer.base import RunConfig
    from riddle.infer.solve import solve
    seven = held_out(7)
    top = np.zeros((28, 28), bool)
    top[:14] = True
    write_png(tmp_path / "seven-top.png", seven, top)
    riddle = load_text('digits x\nx looks like "seven-top.png"\nx is odd\n', file=str(tmp_path / "r.rdl"))
    sol = solve(riddle, RunConfig(seed=0, **SMALL), device="cpu")
    obs = riddle.statements[0]
    mse = ((sol.images[:, 0] - obs.pixels) ** 2 * top).sum((-1, -2)) / top.sum()
    assert sol.answer.answer == (7,) and sol.answer.correct
    # measured on seeds 0-7 (AMD EPYC): 7 every time, 79-100 % of restarts read 7 and close (90 % in all): the
    # bar of 12 of 24 lies far in the binomial tail; bench/observe.py measures the method itself
    assert ((sol.answers[:, 0] == 7) & (mse < 0.03)).mean() >= 0.5
    assert sol.observations[0]["seen_pixels"] == 392


@pytest.mark.slow
@needs_weights
def test_a_contradicting_observation_is_reported_unsolved(tmp_path, capsys):
    write_png(tmp_path / "seven.png", held_out(7))
    (tmp_path / "r.rdl").write_text('digits x\nx looks like "seven.png"\nx is even\n')
    status = main(["solve", str(tmp_path / "r.rdl"), "--restarts", "16", "--steps", "100", "--rounds", "1", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert status == 0 and doc["success_rate"] == 0
    assert not any(row["correct"] for row in doc["answers"])
    assert doc["observations"][0]["path"] == "seven.png"


@pytest.mark.slow
@needs_weights
@pytest.mark.parametrize("method", ["sequential", "rejection"])
def test_observations_work_with_every_method(tmp_path, method, capsys):
    write_png(tmp_path / "two.png", held_out(2))
    (tmp_path / "r.rdl").write_text('digits x, y\nx looks like "two.png"\nx + y = 5\n')
    args = ["solve", str(tmp_path / "r.rdl"), "--method", method, "--restarts", "2", "--steps", "8", "--json"]
    if method == "rejection":
        args += ["--max-seconds", "2"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["method"] == method and doc["restarts"] <= 2

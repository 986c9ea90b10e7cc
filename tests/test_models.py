"""The model zoo: data, topology labels, storage, the shipped weights against their cards, and a
training run end to end on a tiny subset."""
import gzip
import json
import struct

import numpy as np
import pytest
import torch

from riddle.cli import main
from riddle.models import data, store, zoo
from riddle.models.registry import default_registry
from riddle.models.topology import has_closed_circle, hole_area
from riddle.models.train import TrainConfig, accuracy, train_all
from riddle.models.zoo import HeadReadout


@pytest.fixture(scope="module")
def digits():
    return data.load_bundled()


def test_bundled_digits(digits):
    assert digits.images.shape == (5000, 28, 28) and digits.images.dtype == torch.float32
    assert 0 <= float(digits.images.min()) and float(digits.images.max()) <= 1
    assert np.bincount(digits.labels.numpy()).tolist() == [500] * 10


def test_splits_are_fixed_disjoint_and_stratified(digits):
    a, b = data.make_splits(digits.labels, 0), data.make_splits(digits.labels, 0)
    assert all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("test", "train_a", "val_a", "train_b", "val_b"))
    for train, val in ((a.train_a, a.val_a), (a.train_b, a.val_b)):
        assert not set(train) & set(val) and not set(train) & set(a.test) and not set(val) & set(a.test)
    assert np.bincount(digits.labels.numpy()[a.test]).tolist() == [50] * 10
    assert not np.array_equal(a.train_a, a.train_b)          # the judge learns from another split


def _idx(path, array, code=0x08):
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 6), ("t10k", 4)):
        _idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, (n,)))
    d = data.load_idx(tmp_path)
    assert d.images.shape == (10, 28, 28) and d.labels.shape == (10,)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip")
    with pytest.raises(data.DataError, match="cannot read"):
        data.load_idx(tmp_path)
    with pytest.raises(data.DataError, match="is not a directory"):
        data.load_idx(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(data.DataError, match="expected the four MNIST IDX files"):
        data.load_idx(tmp_path / "empty")


def test_topology_finds_holes():
    ring = torch.zeros(1, 28, 28)
    ring[0, 8:20, 8:20] = 1
    ring[0, 11:17, 11:17] = 0                                # a 6 x 6 hole
    bar = torch.zeros(1, 28, 28)
    bar[0, 4:24, 13:15] = 1
    open_ring = ring.clone()
    open_ring[0, 11:17, 8:11] = 0                            # cut open to the left
    assert hole_area(torch.cat([ring, bar, open_ring])).tolist() == [36, 0, 0]
    assert has_closed_circle(torch.cat([ring, bar])).tolist() == [True, False]


@pytest.mark.slow
def test_topology_agrees_with_labels_on_real_digits(digits):
    holes = has_closed_circle(digits.images).numpy()
    y = digits.labels.numpy()
    assert holes[y == 8].mean() > 0.9 and holes[y == 0].mean() > 0.8
    assert holes[y == 1].mean() < 0.02 and holes[y == 7].mean() < 0.02


def test_loading_refuses_what_is_not_safetensors(tmp_path):
    import pickle
    (tmp_path / "judge.safetensors").write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(store.ModelError, match="not a safetensors file"):
        store.load("judge", tmp_path)
    with pytest.raises(store.ModelError, match="run `riddle train`"):
        store.load("generator", tmp_path)


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(0)
    net = zoo.LabelNet(width=8)
    store.save(net, "classifier", {"role": "test"}, tmp_path)
    again = store.load("classifier", tmp_path)
    x = torch.rand(4, 28, 28)
    assert torch.equal(net.eval()(x), again(x))
    card = store.card("classifier", tmp_path)
    assert card["architecture"] == "LabelNet" and card["parameters"] == sum(p.numel() for p in net.parameters())
    assert not list(tmp_path.glob("*.tmp"))


# ── the shipped weights ──

SHIPPED = store.bundled_dir()
needs_weights = pytest.mark.skipif(not (SHIPPED / "generator.safetensors").exists(), reason="no shipped weights")


@needs_weights
@pytest.mark.parametrize("name", ["classifier", "judge"])
def test_shipped_weights_reproduce_their_cards(digits, name):
    card = store.card(name)
    model = store.load(name)
    splits = data.make_splits(digits.labels, card["data"]["split_seed"])
    x, y = digits.images[splits.test], digits.labels[splits.test]
    assert abs(accuracy(model, x, y) - card["metrics"]["test_accuracy"]) <= 0.005
    if name == "classifier":
        odd = default_registry().predicate("digit", "odd").load_network()
        parity = torch.isin(y, torch.tensor([1, 3, 5, 7, 9])).long()
        assert abs(accuracy(odd, x, parity, binary=True) - card["metrics"]["odd_readout_test_accuracy"]) <= 0.005


@needs_weights
def test_shipped_closed_circle_head_reproduces_its_card(digits):
    card = store.card("classifier")
    splits = data.make_splits(digits.labels, card["data"]["split_seed"])
    x = digits.images[splits.test]
    circle = default_registry().predicate("digit", "closed circle").load_network()
    acc = accuracy(circle, x, has_closed_circle(x).long(), binary=True)
    assert abs(acc - card["metrics"]["closed_circle_test_accuracy_vs_topology"]) <= 0.005


@needs_weights
@pytest.mark.parametrize("cin, cout", [(1, 24), (3, 5)])
def test_rewritten_single_channel_layers_compute_the_layers_they_replace(cin, cout):
    """strided_conv / transposed_conv are the same arithmetic as Conv2d(5, 2, 2) / ConvTranspose2d(4, 2, 1):
    values and every gradient (input and parameters), so training through them fits the same layers."""
    g = torch.Generator().manual_seed(0)
    conv, deconv = torch.nn.Conv2d(cin, cout, 5, 2, 2), torch.nn.ConvTranspose2d(cout, cin, 4, 2, 1)
    for layer, fast, shape in [
        (conv, zoo.strided_conv, (4, cin, 28, 28)),
        (deconv, zoo.transposed_conv, (4, cout, 14, 14)),
    ]:
        x = torch.randn(*shape, generator=g, requires_grad=True)
        y_fast, y_ref = fast(x, layer), layer(x)
        assert y_fast.shape == y_ref.shape and torch.allclose(y_fast, y_ref, atol=1e-5)
        weights = torch.randn(y_ref.shape, generator=g)
        got = torch.autograd.grad((y_fast * weights).sum(), [x, layer.weight, layer.bias])
        want = torch.autograd.grad((y_ref * weights).sum(), [x, layer.weight, layer.bias])
        for a, b in zip(got, want):
            assert torch.allclose(a, b, rtol=1e-4, atol=1e-4)
    other = torch.nn.Conv2d(cin, cout, 3, 2, 1)                      # not the rewritten shape: called as is
    x = torch.randn(2, cin, 28, 28, generator=g)
    assert torch.equal(zoo.strided_conv(x, other), other(x))


def test_inference_copy_computes_the_same_function_and_leaves_the_original_alone():
    """for_inference folds batch norm into the convolutions of a copy; the judge reads the same."""
    torch.manual_seed(0)
    judge = zoo.JudgeNet(width=4, members=2)
    with torch.no_grad():                                   # running statistics that are not the identity
        for m in judge.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
    judge.eval()
    keys = set(judge.state_dict())
    fast = zoo.for_inference(judge)
    x = torch.rand(7, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(fast(x), judge(x), atol=1e-5)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    assert set(judge.state_dict()) == keys and any(isinstance(m, torch.nn.BatchNorm2d) for m in judge.modules())


def test_registry_loads_networks_lazily_and_they_have_the_right_shapes():
    reg = default_registry()
    digit = reg.domain_named("digit")
    gen, cls = digit.load_generator(), digit.load_classifier()
    xi = torch.randn(5, gen.latent, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        images = gen(xi)
    assert images.shape == (5, 28, 28) and 0 <= float(images.min()) and float(images.max()) <= 1
    with torch.no_grad():
        assert torch.equal(images, gen(xi))                          # deterministic
        assert cls(images).shape == (5, 10)
        odd, even = reg.predicate("digit", "odd").load_network(), reg.predicate("digit", "even").load_network()
        assert torch.allclose(torch.sigmoid(odd(images)) + torch.sigmoid(even(images)), torch.ones(5))
        assert reg.predicate("digit", "closed circle").load_network()(images).shape == (5,)


@needs_weights
def test_models_and_sample_commands(tmp_path, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "generator" in out and "judge" in out and "closed circle" in out
    assert main(["sample", "--n", "6", "--seed", "3", "--out", str(tmp_path / "s.npz")]) == 0
    a = np.load(tmp_path / "s.npz")["images"]
    assert a.shape == (6, 28, 28) and a.dtype == np.float32
    assert main(["sample", "--n", "6", "--seed", "3", "--out", str(tmp_path / "s2.npz")]) == 0
    assert np.array_equal(a, np.load(tmp_path / "s2.npz")["images"])
    assert main(["sample", "--n", "4", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["sample", "--out", str(tmp_path / "s.jpg")]) == 2


@pytest.mark.slow
def test_training_runs_end_to_end_on_a_tiny_subset(tmp_path):
    cfg = TrainConfig(judge_epochs=1, generator_epochs=1, classifier_epochs=1, reconstructions=1,
                      limit=128, latent=4, generator_width=4, classifier_width=4)
    cards = train_all(tmp_path, cfg=cfg, progress=False)
    assert set(cards) == {"judge", "generator", "classifier", "sampler"}
    assert cards["classifier"]["config"]["heads"] == ["closed circle"]
    for name in cards:
        assert (tmp_path / f"{store.file_stem(name)}.safetensors").exists()
        card = json.loads((tmp_path / f"{store.file_stem(name)}.json").read_text())
        assert card["data"]["split_seed"] == 0 and card["metrics"]
    gen = store.load("generator", tmp_path)
    images = gen(torch.randn(2, 4))
    assert images.shape == (2, 28, 28)
    assert HeadReadout(store.load("classifier", tmp_path), "closed circle")(images).shape == (2,)
    xi, _ = store.load("sampler", tmp_path).sample(torch.tensor([3, 7]), torch.randn(2, 4))   # for that generator
    assert xi.shape == (2, 4)


@pytest.mark.slow
@needs_weights
def test_the_variety_yardsticks_in_the_cards_are_what_the_shipped_models_measure():
    """The report's variety line reads its per-label yardsticks from the generator's card (a solve no longer
    draws 512 images and loads the bundled digits for them); they must be what the shipped generator, judge
    and held-out digits give, or `riddle train --only variety` was not run after the weights changed."""
    from riddle.models.families import registry
    from riddle.models.variety import reference_spreads
    for family in ("default", "coupled"):
        digit = registry(family).domains["digit"]
        stored = digit.load_variety()
        measured = reference_spreads(digit.load_generator(), zoo.for_inference(digit.load_judge()), digit.labels,
                                     digit.load_examples())
        for which in ("prior", "real"):
            assert stored[which].keys() == measured[which].keys() == {str(k) for k in range(10)}
            for k, v in measured[which].items():
                assert stored[which][k] == pytest.approx(v, rel=1e-3), (family, which, k)


def test_a_domain_without_stored_yardsticks_is_measured_once_per_generator():
    """A plugin's domain (or weights trained before the cards held them) has no stored yardsticks: the
    solver measures them with the same function, once per generator, not once per solve."""
    from dataclasses import replace

    from riddle.infer import solve as solve_mod
    from riddle.models.registry import Domain

    class Gen(torch.nn.Module):
        latent = 2

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))

        def forward(self, xi):                     # two kinds of picture: left half or right half lit
            img = torch.zeros(len(xi), 4, 4)
            img[xi[:, 0] > 0, :, :2] = 1
            img[xi[:, 0] <= 0, :, 2:] = self.w
            return img + 0.1 * xi[:, 1, None, None]

    def judge(images):                             # label 0: left lit, 1: right lit
        return torch.stack([images[:, :, :2].mean((1, 2)), images[:, :, 2:].mean((1, 2))], -1)

    calls = []
    domain = Domain("tile", "tiles", (0, 1), image_shape=(4, 4),
                    load_examples=lambda: calls.append(1) or (np.zeros((3, 4, 4)), np.array([0, 0, 1])))
    gen = Gen()
    first = solve_mod.variety_reference(domain, gen, judge)
    again = solve_mod.variety_reference(replace(domain), gen, judge)
    assert again is first and calls == [1]                                    # measured once for this generator
    assert first["prior"]["0"] > 0 and first["real"]["0"] == 0.0 and first["real"]["1"] is None   # one real 1
    stored = {"prior": {"0": 1.0, "1": 2.0}, "real": None}
    assert solve_mod.variety_reference(replace(domain, load_variety=lambda: stored), Gen(), judge) is stored

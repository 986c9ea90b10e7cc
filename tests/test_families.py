"""Model families (issue 30): a riddle chooses the networks that draw and read its digits by the
`solve with models …` line, the CLI's --models and riddle.solve(models=…); the flag overrides the
file; a family binds the domain's generator, classifier, sampler and built-in predicates; the
coupled family solves 134 with the shipped weights."""
import json
from pathlib import Path

import pytest

import riddle
from riddle.cli import main
from riddle.infer.objective import Networks
from riddle.models.coupled import CoupledGenerator, CoupledLabelSampler, CoupledNet
from riddle.models.zoo import Generator, LabelReadout

ROOT = Path(__file__).resolve().parents[1]
RIDDLE = "digits a, b\na is odd\nb = a + 2\nb has no closed circle\n"


def networks(result) -> Networks:
    return Networks.load(result.graph)


def assert_coupled(result):
    assert result.models == "coupled" and result.ok
    nets = networks(result)
    generator, classifier = nets.generators["digit"], nets.classifiers["digit"]
    assert isinstance(generator, CoupledGenerator) and isinstance(classifier, CoupledNet)
    assert generator.net is classifier                       # one network: drawn backward, read forward
    for name in ("odd", "closed circle"):                    # truth-table predicates read off its forward model
        p = nets.predicates[name]
        assert isinstance(p, LabelReadout) and p.classifier is classifier
    domain = result.graph.unknowns[0].domain
    assert isinstance(domain.load_sampler(), CoupledLabelSampler) and "coupled" in domain.origin


def test_the_default_family_is_the_zoo():
    result = riddle.check(RIDDLE)
    assert result.models == "default"
    assert isinstance(networks(result).generators["digit"], Generator)


def test_family_chosen_by_the_file_line():
    assert_coupled(riddle.check(RIDDLE + "solve with models coupled\n"))


def test_family_chosen_by_the_api_and_over_the_file():
    assert_coupled(riddle.check(RIDDLE, models="coupled"))
    back = riddle.check(RIDDLE + "solve with models coupled\n", models="default")
    assert back.models == "default" and isinstance(networks(back).generators["digit"], Generator)
    with pytest.raises(ValueError, match="models"):
        riddle.check(RIDDLE, models="fancy")
    with pytest.raises(ValueError, match="`models` must be one of default, coupled"):
        riddle.solve(RIDDLE, models="fancy")


def test_a_wrong_family_in_the_file_is_a_diagnostic():
    result = riddle.check(RIDDLE + "solve with models fancy\n")
    assert not result.ok
    message = result.render_diagnostics()
    assert "models" in message and "coupled" in message and ":5:" in message


@pytest.mark.slow
def test_solve_takes_the_family_over_a_check_made_without_it():
    checked = riddle.check(RIDDLE)
    result = riddle.solve(checked, models="coupled", method="amortised", restarts=8, seed=0)
    assert result.solution.models == "coupled" and result.to_json()["models"] == "coupled"


@pytest.mark.slow
def test_cli_flag_solves_134_with_the_coupled_network(capsys):
    code = main(["solve", str(ROOT / "puzzles" / "134.rdl"), "--models", "coupled", "--method", "amortised",
                 "--restarts", "30", "--seed", "0", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["models"] == "coupled"
    assert out["answer"] == [1, 3, 4] and out["answer_correct"]
    assert out["success_rate"] >= 0.8                        # the outside judge agrees on the samples


def test_riddle_models_lists_the_family_and_its_card(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "coupled" in out and "CoupledNet" in out                          # its card
    families = out.split("model families")[1]
    assert "default" in families and "coupled" in families and "seed 003" in families


@pytest.mark.slow
def test_riddle_train_coupled_writes_the_weights_and_a_card_with_its_baseline(tmp_path, capsys):
    import gzip
    import struct

    import numpy as np

    from riddle.models import store
    from riddle.models.data import load_bundled

    digits = load_bundled()                               # 300 real digits, 30 a class, as a user's IDX files
    pick = np.concatenate([np.flatnonzero(digits.labels.numpy() == k)[:30] for k in range(10)])
    images = (digits.images[pick].numpy() * 255).round().astype(np.uint8)
    labels = digits.labels[pick].numpy().astype(np.uint8)
    for prefix, part in (("train", slice(0, None, 2)), ("t10k", slice(1, None, 2))):
        for kind, array in (("images-idx3", images[part]), ("labels-idx1", labels[part])):
            header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
            with gzip.open(tmp_path / f"{prefix}-{kind}-ubyte.gz", "wb") as f:
                f.write(header + array.tobytes())
    out = tmp_path / "weights"
    assert main(["train", "--coupled", "--data", str(tmp_path), "--out", str(out)]) == 0
    assert "held-out accuracy" in capsys.readouterr().out
    net = store.load("coupled", out)
    assert isinstance(net, CoupledNet) and net.sizes == (784, 512, 512, 10)
    card = store.card("coupled", out)
    m = card["metrics"]
    assert {"accuracy", "discriminative_accuracy", "judge_read_right", "variety_real"} <= set(m)
    assert 0 <= m["accuracy"] <= 1 and len(m["judge_read_right_per_class"]) == 10
    assert "discriminatively" in card["baseline"] and "300 digits" in card["data"]["source"]


def test_riddle_sample_draws_from_the_familys_generator(tmp_path, capsys):
    import numpy as np
    assert main(["sample", "--models", "coupled", "--n", "40", "--seed", "1", "--out", str(tmp_path / "c.npz")]) == 0
    assert "of models coupled" in capsys.readouterr().out
    images = np.load(tmp_path / "c.npz")["images"]
    assert images.shape == (40, 28, 28) and 0 <= images.min() and images.max() <= 1
    assert main(["sample", "--n", "40", "--seed", "1", "--out", str(tmp_path / "d.npz")]) == 0
    assert not np.allclose(images, np.load(tmp_path / "d.npz")["images"])          # another generator's draws


@pytest.mark.slow
@pytest.mark.parametrize("method", ["advi", "sequential", "rejection", "hmc", "mgvi", "fullrank", "flow",
                                    "amortised"])
def test_every_method_solves_with_the_coupled_family(method):
    """The family's generator is a map of ξ ~ N(0, I) like the default one, so no method needs to know it.
    What each kind of method guarantees differs, and the test asserts that, not a lucky seed's outcome
    (measured over seeds 0-9 on an AMD EPYC, 6 restarts each; issue 37's closing note):
    - the sampling methods weigh drawings by the family's networks: the judge reads 93 % of their draws
      as 7 (112 of 120). With 16 draws, 9 or more misread has probability below 1e-6 at that rate.
    - the optimisers move the drawing until the family's forward model reads 7: it did in 298 of 300
      restarts. Whether riddle's judge then agrees is luck of the seed (advi 0-67 %, mgvi 0-33 % of
      restarts, a reported answer of 3 on 1-5 seeds in 10 per method): a dense sigmoid net is easy to
      fool (docs/MODELS.md), so the judge's answer is not asserted for them. At most 3 of 6 restarts
      misread by the forward model: below 1e-4 at the measured 1 %."""
    sampling = method in ("rejection", "amortised")
    small = {"restarts": 16 if sampling else 6, "steps": 40}
    if method == "sequential":
        small["restarts"] = 2
    result = riddle.solve("digit x\nx is 7\n", models="coupled", method=method, seed=0, rounds=1, max_seconds=60,
                          **small)
    assert result.to_json()["models"] == "coupled"
    assert len(result.solution.images) == small["restarts"]
    if sampling:
        assert result.answer == [7] and result.success_rate >= 0.5, result.answers
        return
    forward = result.solution.graph.unknowns[0].domain.load_classifier()
    assert isinstance(forward, CoupledNet)                       # the family's network, not the default one
    import torch
    with torch.no_grad():
        read = forward(torch.as_tensor(result.solution.images[:, 0])).argmax(-1)
    assert (read == 7).float().mean() >= 0.5, read


def test_a_checked_riddle_is_bound_again_to_the_family_asked_for():
    from riddle.lang import load_text
    plain = load_text(RIDDLE)                              # bound to the default networks by the checker
    assert_coupled(riddle.check(plain, models="coupled"))
    assert_coupled(riddle.check(load_text(RIDDLE + "solve with models coupled\n")))
    assert isinstance(networks(riddle.check(plain)).generators["digit"], Generator)


def test_each_family_is_one_description_that_the_registry_and_the_faces_read():
    """registry.FAMILIES describes every family of the vocabulary once; the registry a riddle is checked
    against takes the family's networks, misfit and origin from it, and `riddle train --family` its trainer."""
    from riddle import vocabulary
    from riddle.models.families import FAMILIES, registry
    assert set(FAMILIES) == set(vocabulary.MODEL_FAMILIES)
    for name, family in FAMILIES.items():
        digit = registry(name).domains["digit"]
        assert (digit.misfit_rms, digit.misfit_length) == (family.misfit_rms, family.misfit_length)
        module, function = family.trainer.split(":")
        import importlib
        assert callable(getattr(importlib.import_module(module), function))
    assert FAMILIES["coupled"].weights == ("coupled",)
    assert isinstance(FAMILIES["coupled"].generator(), CoupledGenerator)
    assert isinstance(FAMILIES["coupled"].sampler(), CoupledLabelSampler)
    assert isinstance(FAMILIES["default"].generator(), Generator)

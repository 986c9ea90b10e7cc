"""bench/ as a registry: every script is registered, sections are replaced in place, provenance is kept."""
from __future__ import annotations

import json
import sys

import pytest

from .conftest import ROOT

sys.path.insert(0, str(ROOT))                       # bench/ is a package at the repository's root

from bench.common import replace_section, save_json  # noqa: E402
from bench.registry import BENCHES  # noqa: E402

HELPERS = {"__init__", "__main__", "common", "registry", "runs"}


def test_every_bench_script_is_registered():
    scripts = {p.stem for p in (ROOT / "bench").glob("*.py")} - HELPERS
    assert scripts == {name for name, bench in BENCHES.items() if bench.script}


def test_a_section_is_replaced_in_place_or_appended_and_must_carry_its_heading():
    text = "# Benchmarks\n\nintro\n\n## A\n\nold a\n\n## B\n\nb\n"
    assert replace_section(text, "## A", "## A\n\nnew a\n") == "# Benchmarks\n\nintro\n\n## A\n\nnew a\n\n## B\n\nb\n"
    assert replace_section(text, "## C", "## C\n\nc\n").endswith("## B\n\nb\n\n## C\n\nc\n")
    with pytest.raises(ValueError, match="written into the slot"):
        replace_section(text, "## A", "## B\n\nwrong\n")


def test_kept_results_record_their_provenance(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(ROOT / "bench" / "solve.py"), "--seeds", "3"])
    save_json(tmp_path / "x.json", {"rows": [1]})
    p = json.loads((tmp_path / "x.json").read_text())["provenance"]
    assert {"commit", "dirty", "torch", "machine", "threads", "precision", "command", "date"} <= set(p)
    assert p["command"] == "python -m bench.solve --seeds 3" and p["precision"] in ("float32", "bfloat16")
    save_json(tmp_path / "y.json", {"rows": [], "provenance": {"commit": "abc"}}, keep=True)   # a render keeps it
    assert json.loads((tmp_path / "y.json").read_text())["provenance"] == {"commit": "abc"}


def _idx(path, array) -> None:
    """An IDX file as MNIST's are written: magic 0 0 8 ndim, big-endian sizes, unsigned bytes."""
    import struct
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    path.write_bytes(header + array.astype("uint8").tobytes())


@pytest.mark.parametrize("form", ["idx", "npy"])
def test_the_papers_protocol_runs_on_a_users_mnist(tmp_path, form):
    """bench/learn.py --mnist DIR: train and test digits stay apart, ⌊train / 2N⌋ rows each using every
    training digit once, and a learner runs on them (a small synthetic set: no full MNIST here)."""
    import numpy as np

    from bench.learn import Recipe, published, run_riddle, write_task
    rng = np.random.default_rng(0)
    sets = {"train": (rng.integers(0, 256, (61, 28, 28)), rng.integers(0, 10, 61)),
            "t10k": (rng.integers(0, 256, (20, 28, 28)), rng.integers(0, 10, 20))}
    data = tmp_path / "mnist"
    data.mkdir()
    for stem, (x, y) in sets.items():
        if form == "idx":
            _idx(data / f"{stem}-images-idx3-ubyte", x)
            _idx(data / f"{stem}-labels-idx1-ubyte", y)
        else:
            part = "train" if stem == "train" else "test"
            np.save(data / f"{part}-images.npy", x.astype("uint8"))
            np.save(data / f"{part}-labels.npy", y)
    digits = published(data)
    assert len(digits.train) == 61 and len(digits.test) == 20 and not set(digits.train) & set(digits.test)
    assert (digits.labels[digits.test] == sets["t10k"][1]).all()
    task = write_task(digits, 2, tmp_path / "task")
    assert task.train_rows.shape == (61 // 4, 4) and len(set(task.train_rows.ravel())) == 60
    assert set(task.test_rows.ravel()) <= set(digits.test)
    lines = task.train.read_text().splitlines()
    assert lines[0] == "a1,a0,b1,b0,sum" and len(lines) == 1 + 15
    ids = task.train_rows[0]
    y = digits.labels[ids]
    assert int(lines[1].split(",")[-1]) == 10 * y[0] + y[1] + 10 * y[2] + y[3]
    out = run_riddle(digits, task, Recipe(epochs=1, batch=4))
    assert out["epochs"] == 1 and 0 <= out["digit_accuracy"] <= 1 and out["curve"][0]["digits"] == 20


@pytest.mark.slow
def test_deepproblog_runs_the_same_rows_in_its_child_process(tmp_path):
    """bench/learn.py's baseline: DeepProbLog 2.1's exact engine on the task's rows, in a child process that
    reports each epoch and is killed at its limit (a small synthetic set: the protocol, not the figures)."""
    import numpy as np

    from bench.learn import Recipe, run_dpl
    rng = np.random.default_rng(0)
    data = tmp_path / "mnist"
    data.mkdir()
    for part, count in (("train", 16), ("test", 8)):
        np.save(data / f"{part}-images.npy", rng.integers(0, 256, (count, 28, 28)).astype("uint8"))
        np.save(data / f"{part}-labels.npy", rng.integers(0, 10, count))
    out = run_dpl(tmp_path / "dpl", 1, Recipe(epochs=2, augment=False), limit=240, digits_from=str(data))
    assert out["epochs"] == 2 and not out["timed_out"], out
    assert [c["epoch"] for c in out["curve"]] == [1, 2] and out["curve"][0]["digits"] == 8
    assert 0 <= out["sum_accuracy"] <= 1

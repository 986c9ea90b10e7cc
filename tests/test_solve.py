"""`riddle solve` end to end with the bundled models, on a small budget."""
import json

import numpy as np
import pytest

from riddle.cli import main
from riddle.infer.base import RunConfig
from riddle.infer.solve import solve
from riddle.lang import load

from .conftest import ROOT
from .test_models import needs_weights

SMALL = dict(restarts=24, pairs=1, steps=150)


@pytest.mark.slow
@needs_weights
def test_a_riddle_of_connectives_is_solved_with_the_bundled_models():
    """puzzles/liars.rdl: `exactly one of`, `if … then`, `and`, `or` — one exact solution, 1 6 5."""
    sol = solve(load(ROOT / "puzzles" / "liars.rdl"), RunConfig(seed=0, **SMALL), device="cpu")
    assert sol.answer.answer == (1, 6, 5) and sol.answer.correct
    # the default (auto → amortised at α 80): measured on seeds 0-5 (AMD EPYC), 100 % of 24 samples right on
    # every seed; bench/connectives.py measures the rate
    assert sol.success_rate >= 0.3
    assert [g.plan for g in sol.logic.groups] == ["enumerate"] and sol.logic.exact


@pytest.mark.slow
@needs_weights
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_134_is_solved_on_several_seeds(seed):
    sol = solve(load(ROOT / "puzzles" / "134.rdl"), RunConfig(seed=seed, **SMALL), device="cpu")
    assert sol.answer.answer == (1, 3, 4) and sol.answer.correct
    # the default (auto → amortised at α 80): measured on seeds 0-8 (AMD EPYC), 100 % of 24 samples right on
    # every seed; the bar itself is measured in bench/
    assert sol.success_rate >= 0.15
    assert sol.answers.shape == (24, 3) and sol.images.shape == (24, 3, 28, 28)
    assert 0 <= sol.images.min() and sol.images.max() <= 1
    lo, hi = sol.interval
    assert lo <= sol.success_rate <= hi


@pytest.mark.slow
@needs_weights
def test_solve_command_writes_json_png_and_npz(in_repo, tmp_path, capsys):
    status = main(["solve", "puzzles/358.rdl", "--restarts", "8", "--steps", "60", "--seed", "4", "--quiet",
                   "--out", str(tmp_path)])
    assert status == 0
    out = capsys.readouterr().out
    assert "riddle 358.rdl" in out and "success" in out and "answer" in out
    doc = json.loads((tmp_path / "358.json").read_text())
    for key in ("answer", "success_rate", "restarts", "answers", "seconds", "device", "seed"):
        assert key in doc
    assert doc["restarts"] == 8 and doc["seed"] == 4 and doc["device"] == "cpu"
    assert doc["logic"]["mode"] == "joint" and doc["logic"]["groups"][0]["plan"] == "enumerate"
    assert "logic    joint · 1 logic term (1 enumerate)" in out
    if doc["answer_correct"]:                            # the variety of the drawings that reached it
        dv = doc["diversity"]
        assert dv["restarts"] >= 1 and set(dv["prior"]) == {"first", "second", "third"}
        assert all(v is None or 0 < v < 1 for v in dv["prior"].values())
    assert sum(row["restarts"] for row in doc["answers"]) == 8
    npz = np.load(tmp_path / "samples.npz")
    assert npz["images"].shape == (8, 3, 28, 28) and npz["answers"].shape == (8, 3)
    assert list(tmp_path.glob("358-1-*.png"))


@pytest.mark.slow
@needs_weights
def test_out_points_at_the_reported_answers_picture_wherever_it_ranks(tmp_path):
    """The reported answer need not be the most common one (a verified answer wins): the picture
    the report names is the reported answer's, drawn even when it ranks below the tenth row."""
    from dataclasses import replace as copy_row

    from riddle.report import write_outputs
    sol = solve(load(ROOT / "puzzles" / "134.rdl"), RunConfig(seed=0, restarts=12, steps=6), device="cpu",
                method="advi")
    # whatever the solve reached, the last restart is made to hold a rare answer, ranked twelfth and reported
    rare = (2, 2, 2) if sol.rows[0].answer != (2, 2, 2) else (5, 5, 5)
    sol.answers[-1] = rare
    sol.answer = copy_row(sol.rows[0], answer=rare, restarts=1)
    sol.rows = [sol.rows[0]] + [copy_row(sol.rows[0], answer=(9, 9, 9))] * 10 + [sol.answer]
    written = write_outputs(sol, tmp_path)
    wanted = f"134-{len(sol.rows)}-{'-'.join(map(str, sol.answer.answer))}.png"
    assert written["samples"] == str(tmp_path / wanted) and (tmp_path / wanted).exists()


@pytest.mark.slow
@needs_weights
def test_same_seed_same_answer_table(in_repo, capsys):
    args = ["solve", "puzzles/product.rdl", "--restarts", "6", "--steps", "40", "--seed", "9", "--json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(args) == 0
    second = json.loads(capsys.readouterr().out)
    assert first["answers"] == second["answers"] and first["per_restart"] == second["per_restart"]


def test_unsatisfiable_riddle_is_reported_without_optimising(tmp_path, capsys):
    bad = tmp_path / "bad.rdl"
    bad.write_text("digits a, b\na is odd\nb = a + 2\nb is even\n")
    assert main(["solve", str(bad), "--json"]) == 2
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["answer"] is None and doc["symbolic"]["solution_count"] == 0 and doc["symbolic"]["conflict"] == [2, 3, 4]
    assert "R050" in captured.err


def test_bad_flags_are_errors_not_tracebacks(in_repo, capsys):
    assert main(["solve", "puzzles/134.rdl", "--restarts", "0"]) == 2
    assert "`--restarts` must lie between" in capsys.readouterr().err
    assert main(["solve", "puzzles/134.rdl", "--rounds", "0"]) == 2
    assert "`--rounds` must lie between 1 and 1000" in capsys.readouterr().err


@pytest.mark.slow
@needs_weights
@pytest.mark.parametrize("method", ["sequential", "rejection"])
def test_baseline_methods_run_from_the_command_line(in_repo, capsys, method):
    args = ["solve", "puzzles/134.rdl", "--method", method, "--restarts", "2", "--steps", "8"]
    if method == "rejection":
        args += ["--max-seconds", "3"]
    assert main(args + ["--quiet"]) == 0
    out = capsys.readouterr().out
    assert ("one at a time" in out) if method == "sequential" else ("prior draws" in out and "accepted" in out)
    assert main(args + ["--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["method"] == method and doc["restarts"] <= 2
    if method == "rejection":
        assert doc["diagnostics"]["drawn"] > 0 and 0 <= doc["diagnostics"]["acceptance"] <= 1


@pytest.mark.slow
@needs_weights
def test_the_console_command_ends_without_the_interpreters_teardown_and_loses_no_output(tmp_path):
    """`python -m riddle solve` ends with os._exit once its streams are flushed (cli.QUICK_EXIT): the report
    reaches a pipe whole, the files it names exist, and the exit code is the command's."""
    import subprocess
    import sys
    bad = tmp_path / "bad.rdl"
    bad.write_text("digits a\na is 12\n")
    run = subprocess.run([sys.executable, "-m", "riddle", "solve", str(ROOT / "puzzles" / "134.rdl"), "--restarts",
                          "20", "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.rstrip().splitlines()[-1].startswith("variety") and "answer 1 3 4" in run.stdout
    assert json.loads((tmp_path / "out" / "134.json").read_text())["answer"] == [1, 3, 4]
    failed = subprocess.run([sys.executable, "-m", "riddle", "check", str(bad)], capture_output=True, text=True,
                            timeout=60)
    assert failed.returncode == 2 and "bad.rdl:2:" in failed.stderr

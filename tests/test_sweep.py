"""`riddle sweep`: the grid, the results file (append, resume, torn lines), failure rows, local
workers, the CLI, a sweep killed halfway, and the local Ray path."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from riddle import sweep
from riddle.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = {"restarts": [2], "steps": [8]}          # a real solve, seconds long; its answers are not asserted right
# where a test needs right answers: 8 exact posterior samples, each read right by the judge ~98 % of the time
# (bench/amortised), so a row with no verified sample has probability ~1e-13
SAMPLED = ("amortised", {"restarts": [8]})


@pytest.fixture
def riddles(tmp_path):
    (tmp_path / "seven.rdl").write_text("digit x\nx is 7\n")
    (tmp_path / "sum.rdl").write_text("digits a, b\na + b = 3\na < b\n")
    (tmp_path / "broken.rdl").write_text("digits a\na is od\n")
    return tmp_path


def test_seeds_sets_and_the_grid():
    assert sweep.parse_seeds("0-2,5") == [0, 1, 2, 5] and sweep.parse_seeds(3) == [3]
    assert sweep.parse_seeds([4, 1]) == [1, 4]
    for bad in ("2-1", "a", "", "-1"):
        with pytest.raises(sweep.SweepError, match="--seeds"):
            sweep.parse_seeds(bad)
    sets = sweep.parse_sets(["restarts=50,100", "anneal=0.5:1:10,1:10", "logic=joint"])
    assert sets == {"restarts": [50, 100], "anneal": [[0.5, 1.0, 10.0], [1.0, 10.0]], "logic": ["joint"]}
    with pytest.raises(sweep.SweepError, match="did you mean `restarts`"):
        sweep.parse_sets(["restart=5"])
    tasks = sweep.grid(["a.rdl", "b.rdl"], [0, 1, 2], ["advi", "hmc"], {"restarts": [50, 100]})
    assert len(tasks) == 2 * 3 * 2 * 2 and len({t.key for t in tasks}) == len(tasks)
    assert tasks[0] == sweep.Task("a.rdl", 0, "advi", (("restarts", 50),))
    assert tasks[0].setting_text == "restarts=50"
    with pytest.raises(sweep.SweepError, match="unknown method"):
        sweep.grid(["a.rdl"], [0], ["magic"], {})
    with pytest.raises(sweep.SweepError, match="`restarts` must lie between"):
        sweep.grid(["a.rdl"], [0], ["advi"], {"restarts": [0]})


def test_a_study_file_gives_the_same_grid(riddles):
    study = riddles / "study.toml"
    study.write_text('riddles = ["*.rdl"]\nseeds = "0-1"\nmethods = ["advi", "flow"]\nout = "runs"\n'
                     '[settings]\nrestarts = [2, 4]\n')
    spec = sweep.load_toml(study)
    assert [Path(r).name for r in spec["riddles"]] == ["broken.rdl", "seven.rdl", "sum.rdl"]
    assert spec["seeds"] == [0, 1] and spec["methods"] == ["advi", "flow"] and spec["out"] == str(riddles / "runs")
    assert len(sweep.grid(spec["riddles"], spec["seeds"], spec["methods"], spec["sets"])) == 3 * 2 * 2 * 2
    study.write_text('riddles = ["*.rdl"]\nsteps = 3\n')
    with pytest.raises(sweep.SweepError, match="unknown key"):
        sweep.load_toml(study)


def test_results_keep_whole_lines_and_drop_a_torn_one(tmp_path):
    results = sweep.Results(tmp_path)
    results.append({"key": "a", "x": 1})
    with open(results.path, "ab") as f:
        f.write(b'{"key": "b", "x"')                 # a crash mid-line
    again = sweep.Results(tmp_path)
    assert [r["key"] for r in again.rows] == ["a"]
    assert results.path.read_bytes() == b'{"key": "a", "x": 1}\n'
    again.append({"key": "c", "error": "boom"})
    assert sweep.Results(tmp_path).done() == {"a", "c"} and sweep.Results(tmp_path).done(retry_failed=True) == {"a"}


def test_the_summary_plot_takes_equal_successes():
    """Three seeds at 5 %: their mean rounds to a hair above the maximum; the error bars must not go
    negative (matplotlib refuses them, and the sweep's summary failed that way once)."""
    import tempfile
    rows = [{"key": str(i), "riddle": "a.rdl", "method": "advi", "settings": {}, "success": 0.05, "seconds": 1.0,
             "right": True, "error": None} for i in range(3)]
    folder = Path(tempfile.mkdtemp())
    sweep.write_summary(rows, folder)
    assert (folder / "summary.png").stat().st_size > 1000 and "| a.rdl | advi | defaults | 3/3 | 5% (5%–5%)" in (
        folder / "summary.md").read_text()


@pytest.mark.slow
def test_a_sweep_solves_writes_rows_and_a_summary_and_resumes(riddles, tmp_path):
    files = [str(riddles / "seven.rdl"), str(riddles / "broken.rdl")]
    tasks = sweep.grid(files, [0, 1], [SAMPLED[0]], SAMPLED[1])
    out = tmp_path / "out"
    rows = sweep.sweep(tasks, out, workers=1, stream=open(os.devnull, "w"))
    assert len(rows) == 4
    good = [r for r in rows if r["riddle"].endswith("seven.rdl")]
    assert all(r["answer"] == [7] and r["error"] is None and r["restarts"] == 8 for r in good)
    assert {r["seed"] for r in good} == {0, 1} and all(r["node"] and r["logic"] for r in good)
    bad = [r for r in rows if r["riddle"].endswith("broken.rdl")]
    assert len(bad) == 2 and all("R011" in r["error"] and r["right"] is False for r in bad)
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 4 and all(json.loads(x)["key"] for x in lines)
    summary = (out / "summary.md").read_text()
    assert "| seven.rdl | amortised | restarts=8 | " in summary and "| broken.rdl | amortised |" in summary
    assert (out / "summary.png").stat().st_size > 1000
    # the same sweep again: nothing to do; with --retry-failed only the failed rows run again
    assert len(sweep.sweep(tasks, out, workers=1, stream=open(os.devnull, "w"))) == 4
    assert len((out / "results.jsonl").read_text().splitlines()) == 4
    sweep.sweep(tasks, out, workers=1, retry_failed=True, stream=open(os.devnull, "w"))
    assert len((out / "results.jsonl").read_text().splitlines()) == 6


@pytest.mark.slow
def test_rows_come_in_task_order_with_the_solves_figures_and_saved_files(riddles):
    """What the bench scripts read: one row per task in the tasks' order (no folder kept without
    `out`), the restarts' answer counts, the oracle's solution count, plans; `save` keeps each
    solve's files."""
    tasks = sweep.grid([str(riddles / "sum.rdl"), str(riddles / "seven.rdl")], [1, 0], ["advi"], TINY)
    rows = sweep.sweep(tasks, workers=1, save=True, stream=open(os.devnull, "w"))
    assert [(Path(r["riddle"]).name, r["seed"]) for r in rows] == [("sum.rdl", 1), ("sum.rdl", 0),
                                                                   ("seven.rdl", 1), ("seven.rdl", 0)]
    for r in rows:
        assert sum(r["answers"].values()) == r["restarts"] == 2 and r["successes"] == round(r["success"] * 2)
        assert r["logic"] == [["enumerate", 2 if r["riddle"].endswith("sum.rdl") else 1]]
        assert r["solutions"] == (2 if r["riddle"].endswith("sum.rdl") else 1)
        assert not Path(r["saved"]).exists()                        # the temporary folder is gone
    kept = sweep.sweep(tasks[:1], riddles / "kept", workers=1, save=True, stream=open(os.devnull, "w"))
    assert (Path(kept[0]["saved"]) / "samples.npz").exists() and Path(kept[0]["saved"]).parent.name == "solves"


@pytest.mark.slow
def test_local_worker_processes_give_the_same_answers(riddles, tmp_path):
    tasks = sweep.grid([str(riddles / "sum.rdl")], [0, 1], ["advi"], TINY)
    one = {r["seed"]: r for r in sweep.sweep(tasks, tmp_path / "one", workers=1, stream=open(os.devnull, "w"))}
    two = {r["seed"]: r for r in sweep.sweep(tasks, tmp_path / "two", workers=2, stream=open(os.devnull, "w"))}
    assert {s: r["answer"] for s, r in one.items()} == {s: r["answer"] for s, r in two.items()}
    assert len({r["pid"] for r in two.values()} - {os.getpid()}) >= 1       # solved in other processes


@pytest.mark.slow
def test_the_cli_runs_a_sweep_and_says_what_failed(riddles, tmp_path, capsys):
    out = tmp_path / "cli"
    status = main(["sweep", str(riddles / "seven.rdl"), str(riddles / "broken.rdl"), "--seeds", "0",
                   "--set", "restarts=2", "--set", "steps=8", "--out", str(out), "--workers", "1", "--save"])
    captured = capsys.readouterr()
    assert status == 1 and "| seven.rdl | auto | restarts=2 steps=8 | 1/1 |" in captured.out   # riddle solve's default
    assert len(list((out / "solves").glob("*/samples.npz"))) == 1          # the solve that ran, not the failure
    assert "2 solves · 1 failed" in captured.err
    assert main(["sweep", str(riddles / "seven.rdl"), "--set", "stepz=3"]) == 2
    assert "did you mean `steps`" in capsys.readouterr().err
    assert main(["sweep", str(tmp_path / "nothing-*.rdl")]) == 2


@pytest.mark.slow
def test_a_sweep_killed_halfway_resumes_without_redoing_rows(riddles, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "riddle", "sweep", str(riddles / "seven.rdl"), "--seeds", "0-5",
           "--set", "restarts=2", "--set", "steps=8", "--out", str(out), "--workers", "1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = out / "results.jsonl"
    deadline = time.monotonic() + 120
    while not (results.exists() and results.read_text().count("\n") >= 2):
        assert time.monotonic() < deadline and proc.poll() is None, "the sweep did not get going"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = [json.loads(x) for x in results.read_text().splitlines() if x.endswith("}")]
    assert 2 <= len(before) < 6
    assert subprocess.run(cmd, cwd=ROOT, capture_output=True).returncode == 0
    after = [json.loads(x) for x in results.read_text().splitlines()]
    assert sorted(r["seed"] for r in after) == list(range(6))                  # each seed once
    assert after[:len(before)] == before                                        # the old rows untouched


@pytest.mark.slow
def test_the_local_ray_path_gives_the_same_answers(riddles, tmp_path):
    try:
        import ray  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("the Ray test cannot run in CI: Ray is not installed (pip install -e '.[cluster]')")
        pytest.skip("Ray is not installed (the `cluster` extra)")
    import ray
    tasks = sweep.grid([str(riddles / "sum.rdl")], [0, 1], ["advi"], TINY)
    local = {r["seed"]: r["answer"] for r in sweep.sweep(tasks, tmp_path / "local", workers=1,
                                                          stream=open(os.devnull, "w"))}
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
        rows = sweep.sweep(tasks, tmp_path / "ray", ray="local", stream=open(os.devnull, "w"))
        node = ray.get_runtime_context().get_node_id()
    finally:
        ray.shutdown()
    assert {r["seed"]: r["answer"] for r in rows} == local
    assert all(r["error"] is None and r["node"] == node for r in rows)


@pytest.mark.slow
def test_a_two_node_ray_cluster_runs_solves_on_both_nodes(riddles, tmp_path):
    """Two Ray nodes on this machine (Ray's own Cluster utility starts a head and a second node, each
    with its own CPU): the rows say which node solved each task, and both did."""
    try:
        import ray
        from ray.cluster_utils import Cluster
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("the Ray test cannot run in CI: Ray is not installed (pip install -e '.[cluster]')")
        pytest.skip("Ray is not installed (the `cluster` extra)")
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
        nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
        assert len(nodes) == 2
        tasks = sweep.grid([str(riddles / "sum.rdl")], [0, 1, 2, 3], [SAMPLED[0]], SAMPLED[1])
        rows = sweep.sweep(tasks, tmp_path / "cluster", ray=cluster.address, stream=open(os.devnull, "w"))
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert len(rows) == 4 and all(r["error"] is None and r["right"] for r in rows)   # 0 3 or 1 2
    assert {r["node"] for r in rows} == nodes

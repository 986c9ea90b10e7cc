"""Solves in worker processes (riddle/serve/workers.py, jobs.Solver): a worker killed mid-solve fails its one job
and is replaced; one that falls silent past its budget is stopped; a cancel reaches the process; a worker killed
from outside while idle is replaced within 10 s. The solves here are fakes without networks, defined at module
level so that a spawned worker can import them."""
from __future__ import annotations

import os
import signal
import time

import pytest

from riddle import api
from riddle.serve import jobs
from riddle.serve.jobs import Solver
from riddle.serve.workers import NICE, Worker

LOOP = "digits a, b\na is 6\nb = a - 3\n"


def counting_solve(checked, progress=None, steps: int = 20, **_):
    """Reports `steps` steps 20 ms apart, then fails on purpose (a fake has no result to give)."""
    for step in range(1, steps + 1):
        progress(api.ProgressEvent(step=step, total=steps, alpha=1.0))
        time.sleep(0.02)
    raise RuntimeError(f"the fake solve ends after {steps} steps")


def silent_solve(checked, progress=None, **_):
    """Never answers: no progress, no end."""
    time.sleep(3600)


def marking_warm_up(solve, models):
    """A stand-in for jobs.warm_up: leaves a mark (where $RIDDLE_TEST_WARM_MARK says) that the solve can see."""
    with open(os.environ["RIDDLE_TEST_WARM_MARK"], "w") as f:
        f.write(f"warmed for {models}")


def mark_reading_solve(checked, progress=None, **_):
    """Fails with what the warm-up left, so that the job's end says whether the warm-up came first."""
    with open(os.environ["RIDDLE_TEST_WARM_MARK"]) as f:
        raise RuntimeError(f.read())


def wait_for(predicate, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def progressed(job) -> bool:
    return any(e["event"] == "progress" for e in job.events)


def last(job) -> dict:
    return job.events[-1]


@pytest.fixture
def pool():
    solver = Solver(max_queue=4, solve=counting_solve, workers=1)
    yield solver
    solver.close()


def test_a_killed_worker_fails_its_one_job_with_the_signal_and_the_next_job_runs(pool):
    job = pool.submit(LOOP, {}, {"steps": 100_000})
    wait_for(lambda: progressed(job))
    [worker] = pool.stats()["workers"]
    assert worker["job"] == job.id and worker["alive"] and worker["pid"] != os.getpid()
    waiting = pool.submit(LOOP, {}, {"steps": 3})                 # queued behind it
    os.kill(worker["pid"], signal.SIGKILL)
    wait_for(lambda: waiting.finished)
    assert job.state == "failed" and last(job)["event"] == "error"
    assert last(job)["data"]["message"] == "the solver process ended: signal 9 (SIGKILL)"
    # the next job ran on the new worker, to its own end (the fake's failure, not the kill)
    assert waiting.state == "failed"
    assert last(waiting)["data"]["message"] == "RuntimeError: the fake solve ends after 3 steps"
    stats = pool.stats()
    assert stats["workers"][0]["pid"] != worker["pid"] and stats["workers_replaced"] == 1
    assert stats["accepted"] == stats["failed"] == 2 and stats["running"] == 0 and stats["waiting"] == 0


def test_a_worker_warms_up_before_its_first_job(tmp_path, monkeypatch):
    monkeypatch.setenv("RIDDLE_TEST_WARM_MARK", str(tmp_path / "mark"))       # the child inherits it
    worker = Worker(jobs.run_job, mark_reading_solve, marking_warm_up, "coupled")
    try:
        worker.conn.send(("j1", "solve", LOOP, {}, {}, None))       # sent at once: it waits for the warm-up
        messages = []
        while not messages or messages[-1][0] != "end":
            assert worker.conn.poll(30), "the worker said nothing for 30 s"
            messages.append(worker.conn.recv())
        assert messages[-1][1:3] == ("failed", "error")
        assert messages[-1][3]["message"] == "RuntimeError: warmed for coupled"
    finally:
        worker.stop()


def test_a_solver_process_runs_at_batch_priority_below_the_servers(tmp_path, monkeypatch):
    """Checks (what a person editing waits for) go first where they and a solve both want the CPU."""
    monkeypatch.setenv("RIDDLE_TEST_WARM_MARK", str(tmp_path / "mark"))
    worker = Worker(jobs.run_job, mark_reading_solve, marking_warm_up, "coupled")
    try:
        worker.conn.send(("j1", "solve", LOOP, {}, {}, None))
        assert worker.conn.poll(30)                        # it has started and reniced itself
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, worker.pid) == min(19, ours + NICE) and NICE == 19
    finally:
        worker.stop()


def test_riddles_own_warm_up_leaves_a_stand_in_solve_alone():
    calls = []
    jobs.warm_up(lambda *a, **k: calls.append(a), None)
    assert calls == []


def test_a_cancel_reaches_the_worker_which_lives_on(pool):
    job = pool.submit(LOOP, {}, {"steps": 100_000})
    wait_for(lambda: progressed(job))
    pid = pool.stats()["workers"][0]["pid"]
    pool.cancel(job.id)
    wait_for(lambda: job.finished, seconds=jobs.CANCEL_GRACE_S / 2)   # by the process itself, not by a kill
    assert job.state == "cancelled" and last(job)["data"] == {"while": "running"}
    assert pool.stats()["workers"][0]["pid"] == pid and pool.stats()["workers_replaced"] == 0


def test_a_worker_killed_from_outside_while_idle_is_replaced_within_ten_seconds(pool):
    job = pool.submit(LOOP, {}, {"steps": 1})
    wait_for(lambda: job.finished)
    pid = pool.stats()["workers"][0]["pid"]
    os.kill(pid, signal.SIGKILL)
    started = time.monotonic()
    wait_for(lambda: pool.stats()["workers"][0]["pid"] != pid and pool.stats()["workers"][0]["alive"], seconds=10)
    assert time.monotonic() - started < 10
    after = pool.submit(LOOP, {}, {"steps": 1})
    wait_for(lambda: after.finished)
    assert "ends after 1 steps" in last(after)["data"]["message"]


class DiesOnStart:
    """A solve a worker cannot even receive: unpickling it ends the child at once (exit code 3), as a broken
    install or a machine out of memory would."""

    def __reduce__(self):
        return os._exit, (3,)


@pytest.mark.slow
def test_a_worker_that_cannot_start_is_respawned_ever_more_slowly():
    """No spawning in a loop: each worker that ends before its first job, soon after its start, makes the next
    wait twice as long (1, 2, 4 s …, at most 60 s); /api/status shows the wait."""
    solver = Solver(max_queue=1, solve=DiesOnStart(), workers=1)
    try:
        wait_for(lambda: solver.replaced >= 3, seconds=60)
        assert solver.stats()["workers"][0]["respawn_wait_s"] >= 4.0
    finally:
        solver.close()


@pytest.mark.slow
def test_a_worker_silent_past_its_jobs_budget_is_stopped_and_replaced(monkeypatch):
    monkeypatch.setattr(jobs, "SILENCE_GRACE_S", 1.0)
    solver = Solver(max_queue=2, solve=silent_solve, workers=1)
    try:
        job = solver.submit(LOOP, {}, {"max_seconds": 1.0})
        wait_for(lambda: job.finished)
        assert job.state == "failed" and "said nothing for 2 s" in last(job)["data"]["message"]
        assert solver.stats()["workers_replaced"] == 1
    finally:
        solver.close()


def test_a_riddle_with_errors_fails_in_the_worker_with_its_diagnostics(pool):
    job = pool.submit("digits a\na is od\n", {}, {})
    wait_for(lambda: job.finished)
    assert job.state == "failed" and last(job)["data"]["diagnostics"][0]["code"] == "R011"
    assert not job.downloads


def ray_or_skip():
    try:
        import ray
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("the Ray test cannot run in CI: Ray is not installed (pip install -e '.[cluster]')")
        pytest.skip("Ray is not installed (the `cluster` extra)")
    return ray


@pytest.mark.slow
def test_solves_run_as_ray_tasks_their_events_stream_back_and_a_cancel_cancels_the_task():
    ray = ray_or_skip()
    from .conftest import ROOT
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    solver = Solver(max_queue=2, solve=counting_solve, workers=1, ray="local")
    try:
        job = solver.submit(LOOP, {}, {"steps": 5})
        wait_for(lambda: job.finished, seconds=60)
        assert [e["event"] for e in job.events][:2] == ["queued", "started"] and progressed(job)
        assert job.state == "failed"
        assert last(job)["data"]["message"] == "RuntimeError: the fake solve ends after 5 steps"
        assert solver.stats()["workers"] == [{"ray": "local", "job": None}]
        long = solver.submit(LOOP, {}, {"steps": 100_000})
        wait_for(lambda: progressed(long), seconds=60)
        solver.cancel(long.id)
        wait_for(lambda: long.finished, seconds=30)
        assert long.state == "cancelled"
    finally:
        solver.close()
        ray.shutdown()


@pytest.mark.slow
def test_a_ray_task_on_a_node_that_goes_away_fails_its_one_job_and_the_next_runs():
    """Ray's two-node local cluster, as the sweep's tests use: the head holds no CPU, so the solve runs on the
    second node; that node is removed mid-solve."""
    ray = ray_or_skip()
    from ray.cluster_utils import Cluster

    from .conftest import ROOT
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    solver = None
    try:
        node = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
        solver = Solver(max_queue=2, solve=counting_solve, workers=1, ray=cluster.address)
        job = solver.submit(LOOP, {}, {"steps": 100_000})
        wait_for(lambda: progressed(job), seconds=90)
        cluster.remove_node(node)
        wait_for(lambda: job.finished, seconds=60)
        assert job.state == "failed" and last(job)["data"]["message"].startswith("the solve's Ray task was lost")
        cluster.add_node(num_cpus=1)                       # a node comes back: the next job runs there
        after = solver.submit(LOOP, {}, {"steps": 2})
        wait_for(lambda: after.finished, seconds=90)
        assert "ends after 2 steps" in last(after)["data"]["message"]
    finally:
        if solver:
            solver.close()
        ray.shutdown()
        cluster.shutdown()

"""The playground's checking processes (serve/checkers.py): checks answered from another process, a process
killed from outside costs at most the checks it held, a stuck one is ended at its timeout."""
from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import time

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from riddle.serve.app import create_app  # noqa: E402
from riddle.serve.checkers import CheckerDied, Checkers, check_json  # noqa: E402
from riddle.serve.jobs import Solver  # noqa: E402

LOCAL = "http://127.0.0.1:8000"
RIDDLE = "digits x, y\nx + y = 3\nx is odd\n"


def pid_and_nap(seconds: float) -> int:
    """What a checking process runs in these tests: its pid, after a nap (a check that takes its time)."""
    time.sleep(seconds)
    return os.getpid()


def many_bytes(n: int) -> bytes:
    return b"x" * n


def test_answers_past_a_pipes_buffer_come_back_whole_on_uvloop():
    """`riddle serve` runs on uvloop, whose poll makes a watched fd non-blocking: an answer larger than the pipe's
    buffer (a Sudoku's check is ~40 KB, a long riddle's more) arrived in parts and was lost."""
    uvloop = pytest.importorskip("uvloop")

    async def go():
        checkers = Checkers(2)
        try:
            return await asyncio.wait_for(asyncio.gather(*(checkers.run(many_bytes, 300_000 + k) for k in range(4))),
                                          60)
        finally:
            checkers.close()
    assert [len(a) for a in uvloop.run(go())] == [300_000 + k for k in range(4)]


def test_a_check_runs_in_a_checking_process_and_answers_as_on_a_thread():
    async def go():
        checkers = Checkers(1)
        try:
            there = json.loads(await checkers.run(check_json, RIDDLE, {}))
            pid = await checkers.run(pid_and_nap, 0.0)
            frozen = await checkers.run(gc.get_freeze_count)
            return there, pid, checkers.pids, frozen
        finally:
            checkers.close()
    there, pid, pids, frozen = asyncio.run(go())
    assert there == json.loads(check_json(RIDDLE, {}))
    assert there["ok"] and there["solution_count"] == 2        # x = 1, y = 2 and x = 3, y = 0
    assert pid != os.getpid() and pids == [pid]
    assert frozen > 10_000         # the warmed-up heap is out of the collector's sight (torch alone is more)


@pytest.mark.slow
def test_a_checking_process_killed_mid_check_fails_that_check_and_the_next_runs_on_a_new_one():
    async def go():
        checkers = Checkers(1)
        try:
            first = await checkers.run(pid_and_nap, 0.0)
            held = asyncio.ensure_future(checkers.run(pid_and_nap, 30.0))
            await asyncio.sleep(0.5)
            os.kill(first, signal.SIGKILL)
            with pytest.raises(CheckerDied, match="ended while it checked"):
                await asyncio.wait_for(held, 20)
            after = await checkers.run(pid_and_nap, 0.0)
            return first, after, checkers.replaced
        finally:
            checkers.close()
    first, after, replaced = asyncio.run(go())
    assert after != first and replaced == 1


@pytest.mark.slow
def test_an_idle_checking_process_killed_costs_no_check():
    async def go():
        checkers = Checkers(1)
        try:
            first = await checkers.run(pid_and_nap, 0.0)
            os.kill(first, signal.SIGKILL)
            await asyncio.sleep(1.0)                  # the pool has seen it go
            after = await checkers.run(pid_and_nap, 0.0)     # sent to a new pool, not failed
            return first, after, checkers.replaced
        finally:
            checkers.close()
    first, after, replaced = asyncio.run(go())
    assert after != first and replaced == 1


@pytest.mark.slow
def test_a_stuck_check_is_ended_at_its_timeout():
    async def go():
        checkers = Checkers(1)
        try:
            await checkers.run(pid_and_nap, 0.0)         # started and warm (its start-up may take seconds: spawn,
            checkers.timeout = 1.0                       # imports, a first check); the timeout then times the nap
            with pytest.raises(CheckerDied, match="longer than 1 s"):
                await checkers.run(pid_and_nap, 60.0)
            checkers.timeout = 30.0                      # the new pool starts up within the timeout as well
            return await checkers.run(pid_and_nap, 0.0), checkers.replaced
        finally:
            checkers.close()
    pid, replaced = asyncio.run(go())
    assert pid > 0 and replaced == 1


@pytest.mark.slow
def test_the_api_checks_and_formats_in_checking_processes_and_lists_them():
    app = create_app(Solver(max_queue=1, solve=lambda *a, **k: None, workers=0), checkers=1)
    with TestClient(app, base_url=LOCAL) as client:
        r = client.post("/api/check", content=RIDDLE)
        assert r.status_code == 200 and r.json()["ok"]
        broken = client.post("/api/format", content="digits x\nx is\n")
        assert broken.status_code == 422 and "line 2" in broken.json()["detail"]   # the FormatError came back whole
        status = client.get("/api/status").json()
        assert len(status["checkers"]) == 1 and status["checkers"][0] != os.getpid()
        os.kill(status["checkers"][0], signal.SIGKILL)
        time.sleep(1.0)
        again = client.post("/api/check", content=RIDDLE)
        assert again.status_code == 200 and again.json()["ok"]                   # on a new process
        status = client.get("/api/status").json()
        assert status["checkers_replaced"] == 1 and len(status["checkers"]) == 1


@pytest.mark.slow
def test_a_checking_process_that_dies_before_it_ever_answers_is_respawned_ever_more_slowly():
    """One that ends soon after its start without having answered failed to start (a broken install): the next
    waits 1 s, then twice as long, so the server never spawns in a loop."""
    async def go():
        checkers = Checkers(1)
        try:
            checkers.start()
            waits = []
            for _ in range(2):
                [pid] = checkers.pids
                before = checkers.replaced
                os.kill(pid, signal.SIGKILL)
                while checkers.replaced == before:
                    await asyncio.sleep(0.05)
                waits.append(checkers._respawn_wait)
                while not checkers.pids:                  # the next one comes after the wait
                    await asyncio.sleep(0.05)
            return waits, await checkers.run(pid_and_nap, 0.0)
        finally:
            checkers.close()
    waits, pid = asyncio.run(go())
    assert waits == [1.0, 2.0] and pid > 0

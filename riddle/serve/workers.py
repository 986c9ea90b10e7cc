"""Solver processes for the playground: each job runs in a child process, so that a solve neither holds the
server's interpreter lock (checks stay fast while it runs) nor takes the server down when it dies.

A `Worker` is one child (multiprocessing, spawn: a fresh interpreter, no state copied from the server's
threads) and the pipe to it. The child imports riddle once and warms up before its first job (jobs.warm_up: the
networks loaded, torch's first-call costs paid), so that no job pays for a fresh process; then it runs jobs
one at a time: the parent sends `(job id, kind, text, files, settings, models)`; the child
answers with `("emit", event, data)` as the solve goes (jobs.run_job's events: started, progress) and one
`("end", state, event, data, downloads)`. The parent may send `("cancel", job id)` at any time; the child
reads it at the solve's next progress call (a cancel for another job than the running one is dropped).

What can go wrong is the parent's to see (jobs.Solver._run_in): the child's process ends (killed, out of
memory, a native crash) — the pipe closes and its sentinel is ready; or it says nothing for longer than the
job's budget — the parent kills it. Either way its one job fails with the reason, and a new child takes
its place.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Callable

CONTEXT = multiprocessing.get_context("spawn")   # fork would copy the server's threads and locks mid-use
NICE = 19                                        # a solve is batch work: where it and the server's checks both want
                                                 # the CPU, the checks (interactive) go first. At nice 10 a solve
                                                 # still took a fifth of a core from saturated checks (bench/load);
                                                 # on an idle machine the level changes nothing
RESPAWN_FIRST_S = 1.0              # a process that ended before its first job (or check), within START_S of its start,
RESPAWN_MAX_S = 60.0               # failed to start (a broken install, no memory): the next waits this long, then twice
START_S = 30.0                     # as long each time up to RESPAWN_MAX_S, so the server does not spawn in a loop


def respawn_wait(previous: float, started: float, served: bool) -> float:
    """How long to wait before replacing a process that ended: 0 where it served (a job, a check) or lived past
    START_S; else the back-off above, after `previous` (this slot's last wait)."""
    if served or time.monotonic() - started >= START_S:
        return 0.0
    return min(RESPAWN_MAX_S, max(RESPAWN_FIRST_S, 2 * previous))


def _child(conn: Connection, run_job: Callable, solve: Callable, warm_up: Callable | None, models: str | None) -> None:
    """The child's loop (runs in the worker process). `run_job` is jobs.run_job, passed in: its module, with
    torch and riddle, is imported as the child unpickles it — once, before the first job. `warm_up(solve,
    models)`: what to do before it (a job sent meanwhile waits in the pipe)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)          # Ctrl-C is the server's to handle: it closes us
    os.nice(NICE)
    if warm_up is not None:
        warm_up(solve, models)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):                       # the server went away
            return
        if message is None or not _run_one(conn, message, run_job, solve):       # asked to stop
            return


def _run_one(conn: Connection, message: tuple, run_job: Callable, solve: Callable) -> bool:
    """One job in the child; False where the server asked it to stop meanwhile."""
    job_id, kind, text, files, settings, models = message
    cancelled, stop = [False], [False]

    def is_cancelled() -> bool:
        while conn.poll():
            order = conn.recv()
            stop[0] |= order is None
            cancelled[0] |= order is None or order == ("cancel", job_id)
        return cancelled[0]

    def emit(event: str, data: dict) -> None:
        conn.send(("emit", event, data))
    state, event, data, files_ = run_job(job_id, kind, text, files, settings, models, solve, emit, is_cancelled)
    files_.pop("result", None)                            # the solve itself stays here: its bytes are what go
    conn.send(("end", state, event, data, files_))
    return not stop[0]


@dataclass(eq=False)
class Worker:
    """One solver process and the server's end of its pipe. `run_job`: jobs.run_job; `solve`: what it calls;
    `warm_up`, `models`: what the child does before its first job (jobs.warm_up), and with which networks."""
    run_job: Callable
    solve: Callable
    warm_up: Callable | None = None
    models: str | None = None
    process: multiprocessing.process.BaseProcess = field(init=False)
    conn: Connection = field(init=False)
    job: str | None = None                                # the id of the job it runs now
    ran: bool = False                                     # it was given a job (it started, then)
    started: float = field(init=False)                    # time.monotonic() at its start

    def __post_init__(self):
        self.started = time.monotonic()
        self.conn, child = CONTEXT.Pipe()
        self.process = CONTEXT.Process(target=_child, args=(child, self.run_job, self.solve, self.warm_up, self.models),
                                       name="riddle-solver",
                                       daemon=True)
        self.process.start()
        child.close()                                     # the child's end lives in the child only

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.is_alive()

    def ended_how(self) -> str:
        """Why the process ended, in words the page can show."""
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = "an unknown signal"
            return f"the solver process ended: signal {-code} ({name})"
        return f"the solver process ended: exit code {code}"

    def kill(self) -> None:
        if self.process.is_alive():
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(timeout=10)
        self.conn.close()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask it to finish (after its job), then make sure it has."""
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(timeout=timeout)
        if self.process.is_alive():
            self.kill()
        else:
            self.conn.close()


def _ray_job(run_job: Callable, solve: Callable, events, job_id: str, kind: str, text: str, files: dict,
             settings: dict, models: str | None) -> tuple:
    """A job as a Ray task: its events go to `events` (a queue actor on the server's node) as they happen."""
    def emit(event: str, data: dict) -> None:
        events.put((job_id, event, data))
    state, event, data, files_ = run_job(job_id, kind, text, files, settings, models, solve, emit, lambda: False)
    files_.pop("result", None)
    return state, event, data, files_


class RaySlot:
    """One solve at a time as a Ray task (`riddle serve --ray ADDRESS|local`), reaching Ray as the sweep does
    (sweep.connect_ray). Its events come back through a queue actor pinned to the server's node (a node that
    goes away takes its task, never the queue); a cancel cancels the task (force: its worker process ends)."""

    def __init__(self, address: str, run_job: Callable, solve: Callable):
        from ..sweep import connect_ray
        ray = connect_ray(address)
        from ray.util.queue import Queue
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
        here = ray.get_runtime_context().get_node_id()
        self.ray, self.run_job, self.solve, self.address = ray, run_job, solve, address
        self.events = Queue(actor_options={"num_cpus": 0,
                                           "scheduling_strategy": NodeAffinitySchedulingStrategy(here, soft=False)})
        self.remote = ray.remote(_ray_job).options(num_cpus=1, max_retries=0)
        self.job: str | None = None
        self.ref = None

    def submit(self, job_id: str, kind: str, text: str, files: dict, settings: dict, models: str | None) -> None:
        self.job = job_id
        self.ref = self.remote.remote(self.run_job, self.solve, self.events, job_id, kind, text, files, settings,
                                      models)

    def drain(self) -> list[tuple[str, dict]]:
        """The running job's events that came in (another job's stragglers are dropped)."""
        out = []
        while not self.events.empty():
            job_id, event, data = self.events.get_nowait()
            if job_id == self.job:
                out.append((event, data))
        return out

    def wait(self, timeout: float) -> bool:
        ready, _ = self.ray.wait([self.ref], timeout=timeout)
        return bool(ready)

    def result(self) -> tuple[str, str, dict, dict]:
        """The task's outcome, or the job's end in words where the task did not give one."""
        try:
            return self.ray.get(self.ref)
        except self.ray.exceptions.TaskCancelledError:
            return "cancelled", "cancelled", {"while": "running"}, {}
        except self.ray.exceptions.RayError as e:         # a lost node, a dead worker: this job fails, not the server
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            return "failed", "error", {"message": f"the solve's Ray task was lost ({type(e).__name__}): {reason}"}, {}
        finally:
            self.job, self.ref = None, None

    def cancel(self) -> None:
        if self.ref is not None:
            self.ray.cancel(self.ref, force=True)

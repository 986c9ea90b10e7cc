"""The playground's checks (`/api/check`, `/api/format`, and what `/api/solve` reads of a riddle before it
queues it) in checking processes of their own, beside the solver processes (workers.py).

Why processes: a check is parser and numpy work in Python, and on one thread of the server it shares the
interpreter lock with the event loop that answers every other request. In processes, N checks run at once
on N cores, and the server's own thread only passes bytes. They run at the server's priority, ahead of the
solver processes (nice 10): a check is what a person editing waits for.

`Checkers(0)` keeps the old way, one thread of the server (what tests and the Python API use by default).
A checking process that dies (killed, out of memory, a native crash) fails the checks it held with
`CheckerDied` (the API answers 503: check again) and the pool is replaced; the next check runs on fresh
processes. Each process imports riddle and checks one riddle before the first request, so the first
check does not pay for the parser's tables.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

from .workers import CONTEXT

CHECK_ORACLE_SECONDS = 2.0         # the oracle's budget per check here (the CLI's: 10 s): one wide riddle holds
                                   # a checking process at most this long
CHECK_TIMEOUT = 30.0               # s: a check past this is stuck (the oracle stops at its budget; the parser and
                                   # the checker are bounded by the input's limits): its process is killed. Counted
                                   # from when the check is sent, so it also covers a new pool's start-up (2–3 s)
WARM_RIDDLE = "digits x, y\nx + y = 3\nx is odd\n"


class CheckerDied(RuntimeError):
    """A checking process ended while it held this check."""


def check_json(text: str, files: dict[str, bytes]) -> bytes:
    """`riddle check --json` of a client's text, as the bytes of the answer."""
    from .. import api
    result = api.check(text, files=files, name="riddle.rdl", text=True, oracle_seconds=CHECK_ORACLE_SECONDS)
    return json.dumps(result.to_json()).encode()


def _warm() -> None:
    """Each checking process, once as it starts: riddle imported and the parser's tables built."""
    check_json(WARM_RIDDLE, {})


class Checkers:
    """`processes` checking processes (0: one thread of this process). `run(fn, *args)` runs a module-level
    function on them and awaits its answer (at most `timeout` s in a process); `close()` ends them."""

    def __init__(self, processes: int = 0, timeout: float = CHECK_TIMEOUT):
        self.processes, self.timeout = processes, timeout
        self.replaced = 0                          # pools replaced after a checking process died
        self._lock = threading.Lock()
        self._pool: Executor | None = None         # made on the first use, or by start()

    def start(self) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = self._new_pool()

    def _new_pool(self) -> Executor:
        if not self.processes:
            # one thread: several threads doing parser work in one process only fight over the interpreter
            # lock (bench/load: 93 checks/s on six threads, 172 on one)
            return ThreadPoolExecutor(1, thread_name_prefix="riddle-check")
        pool = ProcessPoolExecutor(self.processes, mp_context=CONTEXT, initializer=_warm)
        for _ in range(self.processes):            # start them now, not on the first client's check
            pool.submit(int)
        return pool

    @property
    def pids(self) -> list[int]:
        processes = getattr(self._pool, "_processes", None) or {}
        return sorted(processes)

    async def run(self, fn: Callable, *args):
        """fn(*args) where checks run. CheckerDied where a checking process ended while this ran (every check in
        flight then fails: the pool is replaced), or where it ran past `timeout` (its processes are killed)."""
        for _ in range(2):
            self.start()
            pool = self._pool
            try:
                future = asyncio.get_running_loop().run_in_executor(pool, fn, *args)
            except BrokenProcessPool:              # it broke before this check was sent: send it to a new one
                self._replace(pool)
                continue
            try:
                return await asyncio.wait_for(future, self.timeout) if self.processes else await future
            except BrokenProcessPool:
                self._replace(pool)
                raise CheckerDied("a checking process ended while it checked this riddle; check again") from None
            except asyncio.TimeoutError:
                self._kill(pool)
                self._replace(pool)
                raise CheckerDied(f"the check took longer than {self.timeout:g} s; its process was ended") from None
        raise CheckerDied("the checking processes could not start")

    def _replace(self, pool: Executor) -> None:
        with self._lock:
            if self._pool is pool:                 # the first to see it replaces it; the others use the new one
                self._pool = self._new_pool()
                self.replaced += 1
        pool.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def _kill(pool: Executor) -> None:
        for pid in list(getattr(pool, "_processes", None) or {}):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        """End the processes (or the thread); a later `run` starts new ones (an app's lifespan may run again)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

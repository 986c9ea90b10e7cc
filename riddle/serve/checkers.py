"""The playground's checks (`/api/check`, `/api/format`, and what `/api/solve` reads of a riddle before it
queues it) in checking processes of their own, beside the solver processes (workers.py).

Why processes: a check is parser and numpy work in Python, and on one thread of the server it shares the
interpreter lock with the event loop that answers every other request. In processes, N checks run at once
on N cores, and the server's own thread only passes bytes. They run at the server's priority, ahead of the
solver processes (nice 19): a check is what a person editing waits for.

`Checkers(0)` keeps the old way, one thread of the server (what tests and the Python API use by default).
A checking process that dies (killed, out of memory, a native crash) fails the checks it held with
`CheckerDied` (the API answers 503: check again) and the process is replaced; the next check runs on a fresh
one. Each process imports riddle and checks one riddle before the first request, so the first
check does not pay for the parser's tables.
"""
from __future__ import annotations

import asyncio
import collections
import gc
import json
import os
import pickle
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Callable

from .workers import CONTEXT, respawn_wait

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


def _serve(conn: Connection) -> None:
    """A checking process: warm, then answer `(fn, args)` with `("ok", value)` or `("err", exception)` until
    told to stop (None) or its pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)          # Ctrl-C is the server's to handle: it closes us
    _warm()
    # what the warm-up left (torch's and riddle's modules, the networks: 230,000 objects) is never garbage:
    # out of the collector's sight, a check's collections look at its own objects only (gc took 0.30 ms of a
    # 7.9 ms check, the oldest generation's pass 115 ms; frozen, 0.06 ms)
    gc.freeze()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        fn, args = message
        try:
            answer = ("ok", fn(*args))
        except Exception as e:                             # the caller's to see (a FormatError pickles whole)
            answer = ("err", e)
        try:
            conn.send(answer)
        except (pickle.PicklingError, TypeError, AttributeError):
            conn.send(("err", RuntimeError(f"{type(answer[1]).__name__}: {answer[1]}")))


class _Process:
    """One checking process, the server's end of its pipe, and the check it holds."""

    def __init__(self):
        self.conn, child = CONTEXT.Pipe()
        self.process = CONTEXT.Process(target=_serve, args=(child,), name="riddle-checker", daemon=True)
        self.process.start()
        child.close()
        self.job: asyncio.Future | None = None            # the check it runs now
        self.timer: asyncio.TimerHandle | None = None     # its timeout
        self.started, self.answered = time.monotonic(), False


class Checkers:
    """`processes` checking processes (0: one thread of this process). `run(fn, *args)` runs a module-level
    function on them and awaits its answer (at most `timeout` s in a process); `close()` ends them.

    The processes are fed from the event loop itself: each one's pipe and sentinel are watched with
    `loop.add_reader`, and a check is written to an idle one's pipe as it comes (or waits in line). A
    concurrent.futures process pool cost the server ~0.5 ms of CPU a check in its manager and feeder threads
    (bench/load's saturated phase sends ~140 checks a second). A process that dies fails only the check it
    held; one past `timeout` is killed; either is replaced."""

    def __init__(self, processes: int = 0, timeout: float = CHECK_TIMEOUT):
        self.processes, self.timeout = processes, timeout
        self.replaced = 0                          # processes replaced after one died or was killed
        self._thread: ThreadPoolExecutor | None = None
        self._procs: list[_Process] = []
        self._idle: list[_Process] = []
        self._line: collections.deque = collections.deque()   # (fn, args, future) waiting for an idle process
        self._loop: asyncio.AbstractEventLoop | None = None
        self._respawn_wait = 0.0

    def start(self) -> None:
        """Start the processes (or the thread) now, not on the first client's check: from the event loop that
        will run the checks (a process pool needs it), or from any thread for the thread."""
        if not self.processes:
            if self._thread is None:
                # one thread: several threads doing parser work in one process only fight over the interpreter
                # lock (bench/load: 93 checks/s on six threads, 172 on one)
                self._thread = ThreadPoolExecutor(1, thread_name_prefix="riddle-check")
            return
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self.close()
            self._loop = loop
            for _ in range(self.processes):
                self._add(_Process())

    @property
    def pids(self) -> list[int]:
        return sorted(p.process.pid for p in list(self._procs))

    async def run(self, fn: Callable, *args):
        """fn(*args) where checks run. CheckerDied where the checking process ended while it ran this, or where it
        ran past `timeout` (its process is killed)."""
        if not self.processes:
            self.start()
            return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)
        self.start()
        future = self._loop.create_future()
        self._line.append((fn, args, future))
        self._dispatch()
        return await future

    # ── the event loop's side ──
    def _add(self, p: _Process) -> None:
        self._procs.append(p)
        self._idle.append(p)
        self._loop.add_reader(p.conn.fileno(), self._answered, p)
        self._loop.add_reader(p.process.sentinel, self._ended, p)
        # uvloop (libuv's poll) makes a watched fd non-blocking; a message is read and written whole (a check's
        # answer may be 100 KB, past a pipe's buffer), which needs it blocking: readiness says a message began (a
        # request past the buffer, an upload, to a process still starting waits for it to read)
        os.set_blocking(p.conn.fileno(), True)

    def _dispatch(self) -> None:
        while self._idle and self._line:
            fn, args, future = self._line.popleft()
            if future.done():                              # its client went away meanwhile
                continue
            p = self._idle.pop()
            try:
                p.conn.send((fn, args))
            except (BrokenPipeError, OSError):             # it died idle: the sentinel replaces it
                self._line.appendleft((fn, args, future))
                continue
            p.job = future
            p.timer = self._loop.call_later(self.timeout, self._timed_out, p)

    def _answered(self, p: _Process) -> None:
        try:
            kind, value = p.conn.recv()
        except (EOFError, OSError):
            self._loop.remove_reader(p.conn.fileno())     # closed: the sentinel says why
            return
        future, p.job, p.answered = p.job, None, True
        if p.timer is not None:
            p.timer.cancel()
        self._idle.append(p)
        if future is not None and not future.done():
            if kind == "ok":
                future.set_result(value)
            else:
                future.set_exception(value)
        self._dispatch()

    def _ended(self, p: _Process) -> None:
        """Its process ended (killed, out of memory, a native crash, or by us at a timeout): fail what it held,
        start another."""
        self._forget(p)
        if p.job is not None and not p.job.done():
            p.job.set_exception(CheckerDied("a checking process ended while it checked this riddle; check again"))
        self.replaced += 1
        # one that ended before it ever answered, soon after its start, failed to start: the solver processes' rule
        self._respawn_wait = respawn_wait(self._respawn_wait, p.started, p.answered)
        if self._respawn_wait:
            self._loop.call_later(self._respawn_wait, self._respawn, self._loop)
        else:
            self._respawn(self._loop)

    def _respawn(self, loop) -> None:
        if self._loop is loop:                             # not closed meanwhile
            self._add(_Process())
            self._dispatch()

    def _timed_out(self, p: _Process) -> None:
        future, p.job = p.job, None
        if future is not None and not future.done():
            future.set_exception(CheckerDied(f"the check took longer than {self.timeout:g} s; its process was ended"))
        try:
            os.kill(p.process.pid, signal.SIGKILL)         # the sentinel then replaces it
        except ProcessLookupError:
            pass

    def _forget(self, p: _Process) -> None:
        for fd in (p.conn.fileno(), p.process.sentinel):
            try:
                self._loop.remove_reader(fd)
            except (ValueError, OSError):
                pass
        if p.timer is not None:
            p.timer.cancel()
        if p in self._procs:
            self._procs.remove(p)
        if p in self._idle:
            self._idle.remove(p)
        p.process.join(timeout=0)
        p.conn.close()

    def close(self) -> None:
        """End the processes (or the thread); a later `run` starts new ones (an app's lifespan may run again)."""
        if self._thread is not None:
            self._thread.shutdown(wait=False, cancel_futures=True)
            self._thread = None
        procs, self._procs = list(self._procs), []
        for p in procs:
            if self._loop is not None and not self._loop.is_closed():
                for fd in (p.conn.fileno(), p.process.sentinel):
                    try:
                        self._loop.remove_reader(fd)
                    except (ValueError, OSError, RuntimeError):
                        pass
            if p.timer is not None:
                p.timer.cancel()
            if p.job is not None and not p.job.done():
                p.job.set_exception(CheckerDied("the server is closing"))
            try:
                p.conn.send(None)
            except (OSError, ValueError):
                pass
            p.process.join(timeout=2)
            if p.process.is_alive():
                p.process.kill()
                p.process.join(timeout=5)
            p.conn.close()
        for _, _, future in self._line:
            if not future.done():
                future.set_exception(CheckerDied("the server is closing"))
        self._idle, self._line, self._loop = [], collections.deque(), None

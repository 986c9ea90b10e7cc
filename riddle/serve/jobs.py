"""Solves for the web playground: each in a solver process (serve/workers.py; `riddle serve --workers N`,
one by default) or, with workers=0, on a thread of the server; the next ones queued.

A `Job` is a riddle's text (and uploaded images) with its settings; as it runs it appends events —
`queued` (with its place in the line), `started`, `progress` (step, α, and every few steps a PNG of
the current drawings of a few restarts), then one of `result`, `error` or `cancelled` — that any
number of listeners read from the start (`Job.events`, append-only). No web framework here: app.py
turns events into server-sent events. The solve function is a parameter, so tests can queue fake
solves without the networks (a module-level function where it runs in a worker process).

`run_job` is one job from text to outcome, the same in a worker process and on the server's thread; a
finished job keeps its downloads as bytes (`Job.downloads`: the JSON, the samples, the PNG), which is all
the server needs of a solve that ran elsewhere.
"""
from __future__ import annotations

import base64
import io
import json
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Callable

import numpy as np

from .. import api
from ..report.images import encode_png, grid
from .workers import RaySlot, Worker, respawn_wait

TERMINAL = ("result", "error", "cancelled")
KEEP_FINISHED = 16                 # finished jobs kept for their downloads; those that ended longest ago are dropped
PROGRESS_EVERY_S = 0.25            # at most this often a progress event without images
SILENCE_S = 600.0                  # a worker that says nothing for its job's max_seconds (this where it has none)
SILENCE_GRACE_S = 60.0             # … plus this (the check, loading networks, the report) is killed: it hangs
CANCEL_GRACE_S = 10.0              # a worker still running this long after a cancel is killed (the job: cancelled)
POLL_S = 0.1                       # how often the server looks at a running job's cancel flag
WATCH_S = 1.0                      # how often an idle slot looks whether its worker still lives


class Cancelled(Exception):
    """Raised from the progress callback to stop a solve (DELETE, or its client went away)."""


class QueueFull(Exception):
    pass


@dataclass(eq=False)                # a job is itself: compared by identity, not by its fields
class Job:
    text: str                                  # a solve's riddle, or a learning run's template
    files: dict[str, bytes]                    # uploads by name (a learning run's table among them)
    settings: dict
    kind: str = "solve"                        # "solve" | "learn" (LEARN_TABLE names its table in `files`)
    id: str = field(default_factory=lambda: secrets.token_urlsafe(9))
    state: str = "queued"                      # queued · running · done · failed · cancelled
    events: list[dict] = field(default_factory=list)
    result: api.Result | None = None           # (on the server's thread only; a worker's stays in the worker)
    downloads: dict[str, bytes | None] = field(default_factory=dict)    # json, npz, png, once solved
    created: float = field(default_factory=time.time)
    ended: float | None = None                 # time.monotonic() at its last word
    cancel_requested: threading.Event = field(default_factory=threading.Event)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")

    def emit(self, event: str, data: dict) -> None:
        self.events.append({"event": event, "data": data})     # list.append is atomic under the GIL


def preview_png(images: np.ndarray, scale: int = 2) -> str:
    """[k, n, H, W] → a data: URL of a PNG grid (a row per restart, a column per unknown)."""
    picture = grid(images.reshape(-1, *images.shape[2:]), columns=images.shape[1], scale=scale)
    return "data:image/png;base64," + base64.b64encode(encode_png(picture)).decode()


def result_event(job_id: str, result: api.Result, full: dict, png: bytes | None) -> dict:
    """The result as the page shows it: the solve's JSON (`full`, Result.to_json) without the per-restart
    arrays (they are in the JSON download), the reported answer's drawings, and where to download the rest."""
    shown = {k: v for k, v in full.items() if k != "per_restart"}
    return {"result": shown, "text": result.text(),
            "image": "data:image/png;base64," + base64.b64encode(png).decode() if png else None,
            "downloads": {"json": f"/api/solve/{job_id}/result.json", "npz": f"/api/solve/{job_id}/samples.npz",
                          **({"png": f"/api/solve/{job_id}/answer.png"} if png else {})}}


def downloads(result: api.Result, full: dict, png: bytes | None) -> dict[str, bytes | None]:
    """What a finished job's download links serve, as bytes (the JSON as Starlette's JSONResponse writes it)."""
    return {"json": json.dumps(full, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode(),
            "npz": samples_npz(result), "png": png or None}


def samples_npz(result: api.Result) -> bytes:
    buffer = io.BytesIO()
    answers = result.solution.answers
    np.savez_compressed(buffer, images=result.images.astype(np.float32),
                        answers=np.zeros((0, len(result.unknowns)), np.int64) if answers is None
                        else answers.astype(np.int64))
    return buffer.getvalue()


def run_job(job_id: str, kind: str, text: str, files: dict[str, bytes], settings: dict, models: str | None,
            solve: Callable, emit: Callable[[str, dict], None],
            cancelled: Callable[[], bool]) -> tuple[str, str, dict, dict]:
    """One job, start to outcome: emits `started` and `progress` events as it goes and returns its end —
    (state, terminal event, its data, downloads). `cancelled()` is asked at every progress call (a solve's
    step, a learning run's epoch)."""
    emit("started", {"settings": settings})
    if kind == "learn":
        return _learn_job(job_id, text, files, settings, models, emit, cancelled)
    return _solve_job(job_id, text, files, settings, models, solve, emit, cancelled)


WARM_UP_RIDDLE = "digits x\nx is 3\n"


def warm_up(solve: Callable, models: str | None) -> None:
    """Before a solver process's first job: one small solve of riddle's own (its networks loaded, torch's
    first-call costs paid: a first 134 then takes what any later one does, not ~2 s more). Only for riddle's
    solve: a stand-in (the tests') is left as it is. A failure here is left to the first job to report."""
    if solve is not api.solve:
        return
    try:
        solve(WARM_UP_RIDDLE, restarts=4, seed=0, models=models).png()
    except Exception:                                       # the first job says why, with its id
        pass


LEARN_TABLE = ("table.csv", "table.jsonl")     # a learning run's table, by its format (POST /api/learn)


def _learn_job(job_id: str, template: str, files: dict[str, bytes], settings: dict, models: str | None,
               emit: Callable[[str, dict], None], cancelled: Callable[[], bool]) -> tuple[str, str, dict, dict]:
    """`riddle learn` on uploads: the template, the table and its images written to a fresh folder (the table's
    image cells name files beside it, never outside), the networks learned there, the model directory zipped."""
    import shutil
    import tempfile
    import zipfile
    from pathlib import Path

    from ..lang import RiddleError
    from ..learn import LearnConfig, LearnError, learn
    from ..tables import TableError
    with tempfile.TemporaryDirectory(prefix="riddle-learn-") as tmp:
        folder = Path(tmp)
        for name, data in files.items():
            (folder / name).write_bytes(data)
        (folder / "template.rdl").write_text(template)
        table = next(folder / n for n in LEARN_TABLE if n in files)
        config = LearnConfig(**{k: tuple(v) if k == "learn" else v for k, v in settings.items() if k != "models"},
                             models=settings.get("models") or models)

        def on_epoch(e) -> None:
            emit("progress", {"epoch": e.epoch, "epochs": config.epochs, "loss": e.loss,
                              "riddle_accuracy": e.riddle_accuracy, "seconds": e.seconds})
            if cancelled():
                raise Cancelled()
        try:
            result = learn(folder / "template.rdl", table, out=folder / "models", config=config, on_epoch=on_epoch)
        except Cancelled:
            return "cancelled", "cancelled", {"while": "running"}, {}
        except RiddleError as e:
            return "failed", "error", {"message": "the template has errors",
                                       "diagnostics": [d.to_json() for d in e.diagnostics]}, {}
        except (TableError, LearnError) as e:
            return "failed", "error", {"message": str(e)}, {}
        except Exception as e:                                  # a failure of riddle: say it, keep serving
            return "failed", "error", {"message": f"{type(e).__name__}: {e}"}, {}
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for f in sorted((folder / "models").rglob("*")):
                if f.is_file():
                    z.write(f, f.relative_to(folder))
        shutil.rmtree(folder / "models", ignore_errors=True)
        return "done", "result", {"card": result.card, "epochs": [e.__dict__ for e in result.epochs],
                                  "downloads": {"models": f"/api/learn/{job_id}/models.zip"}}, \
            {"models": buffer.getvalue()}


def _solve_job(job_id: str, text: str, files: dict[str, bytes], settings: dict, models: str | None, solve: Callable,
               emit: Callable[[str, dict], None], cancelled: Callable[[], bool]) -> tuple[str, str, dict, dict]:
    last = [0.0]

    def progress(e: api.ProgressEvent) -> None:
        if cancelled():
            raise Cancelled()
        now = time.monotonic()
        if e.images is None and now - last[0] < PROGRESS_EVERY_S and e.step < e.total:
            return
        last[0] = now
        data = e.to_json()
        if e.images is not None:
            data["image"] = preview_png(e.images)
        emit("progress", data)
    try:
        checked = api.check(text, files=files, name="riddle.rdl", logic=settings.get("logic"),
                            models=settings.get("models") or models, text=True)    # a client's string: never a path
        if checked.graph is None:
            return "failed", "error", {"message": "the riddle has errors",
                                       "diagnostics": checked.to_json()["diagnostics"]}, {}
        result = solve(checked, progress=progress, **settings)
        full, png = result.to_json(), result.png()          # each once: the page's event and the downloads share them
        return "done", "result", result_event(job_id, result, full, png), {**downloads(result, full, png),
                                                                           "result": result}
    except Cancelled:
        return "cancelled", "cancelled", {"while": "running"}, {}
    except Exception as e:                                  # a failure of riddle: say it, keep serving
        return "failed", "error", {"message": f"{type(e).__name__}: {e}"}, {}


class Solver:
    """Queued jobs run in order on `workers` solver processes (serve/workers.py), each with a thread here
    that feeds it and relays its events; workers=0 runs them on one thread of this process instead. At
    most `max_queue` waiting."""

    def __init__(self, max_queue: int = 4, solve: Callable[..., api.Result] = api.solve, models: str | None = None,
                 workers: int = 1, ray: str | None = None):
        self.max_queue, self._solve = max_queue, solve
        self.models = models                   # `riddle serve --models NAME|DIR`: the operator's default networks
        self._lock = threading.Condition()
        self._waiting: list[Job] = []
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._running: list[Job | None] = [None] * max(1, workers)     # what each slot runs
        self._closed = False
        self.counts = {"accepted": 0, "refused": 0, "done": 0, "failed": 0, "cancelled": 0}   # since start
        self.replaced = 0                      # workers that ended and were replaced
        self._respawn_wait = [0.0] * max(1, workers)    # per slot: the back-off before its next worker (0: none)
        self._workers: list[Worker] = []
        self._rays: list[RaySlot] = []
        if ray:                                 # `riddle serve --ray ADDRESS|local`: `workers` Ray tasks at a time
            self._rays = [RaySlot(ray, run_job, solve) for _ in range(max(1, workers))]
        elif workers:
            self._workers = [Worker(run_job, solve, warm_up, models) for _ in range(workers)]
        self._threads = [threading.Thread(target=self._work, args=(slot,), name=f"riddle-solver-{slot}", daemon=True)
                         for slot in range(len(self._running))]
        for thread in self._threads:
            thread.start()

    # ── what the app calls ──
    def refuse_if_full(self) -> None:
        """QueueFull (counted as refused) where the line is full now: asked before a request's riddle is read,
        so a refused solve costs no checking (submit decides again, under the lock)."""
        with self._lock:
            self._refuse_if_full()

    def _refuse_if_full(self) -> None:                  # (the lock held)
        if len(self._waiting) >= self.max_queue:
            self.counts["refused"] += 1
            raise QueueFull(f"{len(self._waiting)} solves are waiting already; try again when one is done")

    def submit(self, text: str, files: dict[str, bytes], settings: dict, kind: str = "solve") -> Job:
        job = Job(text, files, settings, kind)
        with self._lock:
            self._refuse_if_full()
            self._waiting.append(job)
            self._jobs[job.id] = job
            self.counts["accepted"] += 1
            self._forget_old()
            job.emit("queued", {"position": len(self._waiting) + self._busy() - 1, "id": job.id})
            self._lock.notify_all()
        return job

    def stats(self) -> dict:
        """The line now and what became of every job since the server started: a job accepted is, in
        the end, done, failed or cancelled (accepted = those three + waiting + running); and the solver
        processes, their pids and what each runs (none: solves run on this process's thread)."""
        with self._lock:
            workers = ([{"pid": w.pid, "alive": w.alive(), "job": w.job,
                         **({"respawn_wait_s": self._respawn_wait[k]} if self._respawn_wait[k] else {})}
                        for k, w in enumerate(self._workers)] +
                       [{"ray": r.address, "job": r.job} for r in self._rays])
            return {"running": self._busy(), "waiting": len(self._waiting), "max_queue": self.max_queue,
                    "kept": len(self._jobs), **self.counts, "workers": workers, "workers_replaced": self.replaced}

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def position(self, job: Job) -> int | None:
        """How many solves are ahead of a waiting job (None once it runs or ended)."""
        with self._lock:
            if job not in self._waiting:
                return None
            return self._waiting.index(job) + self._busy()

    def cancel(self, job_id: str) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return False
            if job.finished:
                return True
            job.cancel_requested.set()
            if job in self._waiting:                    # never started: done at once
                self._waiting.remove(job)
                self._end(job, "cancelled", "cancelled", {"while": "queued"})
                self._announce_positions()
        return True

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for job in list(self._waiting):
                job.cancel_requested.set()
            for job in self._running:
                if job is not None:
                    job.cancel_requested.set()
            self._lock.notify_all()
        for thread in self._threads:
            thread.join(timeout=30)
        for worker in self._workers:
            worker.stop()

    # ── the slots ──
    def _busy(self) -> int:
        return sum(job is not None for job in self._running)

    def _end(self, job: Job, state: str, event: str, data: dict) -> None:
        """A job's last word: its state, its count, its terminal event."""
        with self._lock:                                # (reentrant: callers may hold it already)
            job.state, job.ended = state, time.monotonic()
            self.counts[state] += 1
            job.emit(event, data)

    def _forget_old(self) -> None:
        """Drop the finished jobs that ended longest ago, past KEEP_FINISHED: by when they ended, not when they
        came, so a long solve that has just ended keeps its downloads while quick ones come and go."""
        finished = sorted((j for j in self._jobs.values() if j.finished), key=lambda j: j.ended or 0.0)
        for job in finished[:max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job.id]

    def _announce_positions(self) -> None:
        for k, job in enumerate(self._waiting):
            job.emit("queued", {"position": k + self._busy(), "id": job.id})

    def _work(self, slot: int) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._closed:
                    self._lock.wait(timeout=WATCH_S)
                    if self._workers and not self._waiting and not self._workers[slot].alive():
                        break                           # an idle worker ended: replaced below, before a job waits
                if not self._waiting and not self._closed:
                    job = None
                elif self._closed:
                    for job in self._waiting:
                        self._end(job, "cancelled", "cancelled", {"while": "queued"})
                    self._waiting.clear()
                    return
                else:
                    job = self._waiting.pop(0)
                    self._running[slot] = job
                    job.state = "running"
                    self._announce_positions()
            if job is None:
                self._replace(slot)
                continue
            try:
                if self._rays:
                    self._run_on_ray(slot, job)
                elif self._workers:
                    self._run_in(slot, job)
                else:
                    self._run_here(job)
            finally:
                with self._lock:
                    self._running[slot] = None
                    self._announce_positions()

    def _finish(self, job: Job, state: str, event: str, data: dict, files: dict) -> None:
        job.result = files.pop("result", None)
        job.downloads = files
        self._end(job, state, event, data)

    def _run_here(self, job: Job) -> None:
        """The job on this thread (workers=0)."""
        self._finish(job, *run_job(job.id, job.kind, job.text, job.files, job.settings, self.models, self._solve,
                                   job.emit, job.cancel_requested.is_set))

    def _run_in(self, slot: int, job: Job) -> None:
        """The job on the slot's worker process: relay its events, pass on a cancel, and end the job
        failed where the process ends or falls silent past the job's budget (a new process takes its place)."""
        worker = self._workers[slot]
        if not worker.alive():                          # ended between jobs
            worker = self._replace(slot)
        worker.job, worker.ran = job.id, True
        silence = (job.settings.get("max_seconds") or SILENCE_S) + SILENCE_GRACE_S
        try:
            worker.conn.send((job.id, job.kind, job.text, job.files, job.settings, self.models))
        except (OSError, ValueError):
            pass                                        # it died just now: seen below
        heard, cancel_sent = time.monotonic(), None
        while True:
            if job.cancel_requested.is_set() and cancel_sent is None:
                cancel_sent = time.monotonic()
                try:
                    worker.conn.send(("cancel", job.id))
                except (OSError, ValueError):
                    pass
            ready = wait([worker.conn, worker.process.sentinel], timeout=POLL_S)
            if worker.conn in ready:
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    message = None
                if message is not None:
                    heard = time.monotonic()
                    if message[0] == "emit":
                        job.emit(message[1], message[2])
                        continue
                    _, state, event, data, files = message
                    worker.job = None
                    self._finish(job, state, event, data, files)
                    return
            if not worker.alive() or (worker.conn in ready and message is None):
                worker.process.join(timeout=5)
                self._end(job, "failed", "error", {"message": worker.ended_how()})
                self._replace(slot)
                return
            now = time.monotonic()
            if now - heard > silence:
                worker.kill()
                self._end(job, "failed", "error", {"message": f"the solver process said nothing for {silence:g} s "
                                                              "(its budget and a grace): stopped"})
                self._replace(slot)
                return
            if cancel_sent is not None and now - cancel_sent > CANCEL_GRACE_S:
                worker.kill()
                self._end(job, "cancelled", "cancelled", {"while": "running"})
                self._replace(slot)
                return

    def _run_on_ray(self, slot: int, job: Job) -> None:
        """The job as a Ray task: relay its events, cancel the task on a cancel, fail the job where the task
        is lost (its node went away) or falls silent past the job's budget."""
        ray = self._rays[slot]
        ray.submit(job.id, job.kind, job.text, job.files, job.settings, self.models)
        silence = (job.settings.get("max_seconds") or SILENCE_S) + SILENCE_GRACE_S
        heard, cancelled = time.monotonic(), False
        while True:
            if job.cancel_requested.is_set() and not cancelled:
                ray.cancel()
                cancelled = True
            done = ray.wait(POLL_S)
            for event, data in ray.drain():
                heard = time.monotonic()
                job.emit(event, data)
            if done:
                self._finish(job, *ray.result())
                return
            if time.monotonic() - heard > silence:
                ray.cancel()
                ray.result()
                self._end(job, "failed", "error", {"message": f"the solve's Ray task said nothing for {silence:g} s "
                                                              "(its budget and a grace): cancelled"})
                return

    def _replace(self, slot: int) -> Worker:
        old = self._workers[slot]
        if old.alive():
            old.kill()
        wait = self._respawn_wait[slot] = respawn_wait(self._respawn_wait[slot], old.started, old.ran)
        if wait:                                        # (a close ends the wait)
            with self._lock:
                self._lock.wait_for(lambda: self._closed, timeout=wait)
        worker = Worker(run_job, self._solve, warm_up, self.models)   # spawned outside the lock: the server's
        with self._lock:                                                 # event loop reads stats() under it
            self._workers[slot] = worker
            self.replaced += 1
        return worker

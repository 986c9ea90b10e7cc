"""Solves for the web playground: one at a time on a worker thread, the next ones queued.

A `Job` is a riddle's text (and uploaded images) with its settings; as it runs it appends events —
`queued` (with its place in the line), `started`, `progress` (step, α, and every few steps a PNG of
the current drawings of a few restarts), then one of `result`, `error` or `cancelled` — that any
number of listeners read from the start (`Job.events`, append-only). No web framework here: app.py
turns events into server-sent events. The solve function is a parameter, so tests can queue fake
solves without the networks.
"""
from __future__ import annotations

import base64
import io
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import api
from ..report.images import encode_png, grid

TERMINAL = ("result", "error", "cancelled")
KEEP_FINISHED = 16                 # finished jobs kept for their downloads; the oldest are dropped
PROGRESS_EVERY_S = 0.25            # at most this often a progress event without images


class Cancelled(Exception):
    """Raised from the progress callback to stop a solve (DELETE, or its client went away)."""


class QueueFull(Exception):
    pass


@dataclass(eq=False)                # a job is itself: compared by identity, not by its fields
class Job:
    text: str
    files: dict[str, bytes]
    settings: dict
    id: str = field(default_factory=lambda: secrets.token_urlsafe(9))
    state: str = "queued"                      # queued · running · done · failed · cancelled
    events: list[dict] = field(default_factory=list)
    result: api.Result | None = None
    created: float = field(default_factory=time.time)
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


def result_event(job: Job, result: api.Result) -> dict:
    """The result as the page shows it: the solve's JSON without the per-restart arrays (they are in
    the JSON download), the reported answer's drawings, and where to download the rest."""
    full = result.to_json()
    full.pop("per_restart", None)
    png = result.png()
    return {"result": full, "text": result.text(),
            "image": "data:image/png;base64," + base64.b64encode(png).decode() if png else None,
            "downloads": {"json": f"/api/solve/{job.id}/result.json", "npz": f"/api/solve/{job.id}/samples.npz",
                          **({"png": f"/api/solve/{job.id}/answer.png"} if png else {})}}


def samples_npz(result: api.Result) -> bytes:
    buffer = io.BytesIO()
    answers = result.solution.answers
    np.savez_compressed(buffer, images=result.images.astype(np.float32),
                        answers=np.zeros((0, len(result.unknowns)), np.int64) if answers is None
                        else answers.astype(np.int64))
    return buffer.getvalue()


class Solver:
    """One worker thread solving queued jobs in order; at most `max_queue` waiting."""

    def __init__(self, max_queue: int = 4, solve: Callable[..., api.Result] = api.solve, models: str | None = None):
        self.max_queue, self._solve = max_queue, solve
        self.models = models                   # `riddle serve --models NAME|DIR`: the operator's default networks
        self._lock = threading.Condition()
        self._waiting: list[Job] = []
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._running: Job | None = None
        self._closed = False
        self.counts = {"accepted": 0, "refused": 0, "done": 0, "failed": 0, "cancelled": 0}   # since start
        self._thread = threading.Thread(target=self._work, name="riddle-solver", daemon=True)
        self._thread.start()

    # ── what the app calls ──
    def submit(self, text: str, files: dict[str, bytes], settings: dict) -> Job:
        job = Job(text, files, settings)
        with self._lock:
            if len(self._waiting) >= self.max_queue:
                self.counts["refused"] += 1
                raise QueueFull(f"{len(self._waiting)} solves are waiting already; try again when one is done")
            self._waiting.append(job)
            self._jobs[job.id] = job
            self.counts["accepted"] += 1
            self._forget_old()
            job.emit("queued", {"position": len(self._waiting) + (self._running is not None) - 1,
                                "id": job.id})
            self._lock.notify_all()
        return job

    def stats(self) -> dict:
        """The line now and what became of every job since the server started: a job accepted is, in
        the end, done, failed or cancelled (accepted = those three + waiting + running)."""
        with self._lock:
            return {"running": self._running is not None, "waiting": len(self._waiting), "max_queue": self.max_queue,
                    "kept": len(self._jobs), **self.counts}

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def position(self, job: Job) -> int | None:
        """How many solves are ahead of a waiting job (None once it runs or ended)."""
        with self._lock:
            if job not in self._waiting:
                return None
            return self._waiting.index(job) + (self._running is not None)

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
            if self._running is not None:
                self._running.cancel_requested.set()
            self._lock.notify_all()
        self._thread.join(timeout=30)

    # ── the worker ──
    def _end(self, job: Job, state: str, event: str, data: dict) -> None:
        """A job's last word: its state, its count, its terminal event."""
        with self._lock:                                # (reentrant: callers may hold it already)
            job.state = state
            self.counts[state] += 1
            job.emit(event, data)

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.finished]
        for job in finished[:max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job.id]

    def _announce_positions(self) -> None:
        for k, job in enumerate(self._waiting):
            job.emit("queued", {"position": k + (self._running is not None), "id": job.id})

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._closed:
                    self._lock.wait()
                if self._closed:
                    for job in self._waiting:
                        self._end(job, "cancelled", "cancelled", {"while": "queued"})
                    self._waiting.clear()
                    return
                job = self._waiting.pop(0)
                self._running = job
                job.state = "running"
                self._announce_positions()
            try:
                self._run(job)
            finally:
                with self._lock:
                    self._running = None
                    self._announce_positions()

    def _run(self, job: Job) -> None:
        job.emit("started", {"settings": job.settings})
        last = [0.0]

        def progress(e: api.ProgressEvent) -> None:
            if job.cancel_requested.is_set():
                raise Cancelled()
            now = time.monotonic()
            if e.images is None and now - last[0] < PROGRESS_EVERY_S and e.step < e.total:
                return
            last[0] = now
            data = e.to_json()
            if e.images is not None:
                data["image"] = preview_png(e.images)
            job.emit("progress", data)
        try:
            checked = api.check(job.text, files=job.files, name="riddle.rdl", logic=job.settings.get("logic"),
                                models=job.settings.get("models") or self.models,
                                text=True)                     # a client's string: never a path
            if checked.graph is None:
                self._end(job, "failed", "error", {"message": "the riddle has errors",
                                                   "diagnostics": checked.to_json()["diagnostics"]})
                return
            result = self._solve(checked, progress=progress, **job.settings)
            event = result_event(job, result)
        except Cancelled:
            self._end(job, "cancelled", "cancelled", {"while": "running"})
            return
        except Exception as e:                                  # a failure of riddle: say it, keep serving
            self._end(job, "failed", "error", {"message": f"{type(e).__name__}: {e}"})
            return
        job.result = result
        self._end(job, "done", "result", event)


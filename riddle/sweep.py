"""`riddle sweep`: many solves as one job — riddles × seeds × methods × settings — on local worker
processes or a Ray cluster, resumable, with one results table.

    riddle sweep puzzles/*.rdl --seeds 0-2 --method advi,hmc --set restarts=50,100 --out runs/study
    riddle sweep study.toml                       # the same grid in a file (see `load_toml`)

Every combination is one solve, a `Task`. Results are one JSON line per solve in OUT/results.jsonl,
appended as solves finish (each line written whole, then flushed: a crash or Ctrl-C leaves every
line before it valid; a torn last line is dropped on the next run). Re-running the same sweep skips
the tasks whose rows are there already (by `Task.key`), so a stopped sweep resumes where it stopped.
A solve that raises becomes a row with its `error`, not the end of the sweep. OUT/summary.md (and
summary.png) tabulate riddle × method × settings: right on k of n seeds, success mean and range,
mean time.

Where solves run: `workers` local processes (spawned; each solve gets cores / workers threads; by
default one worker per core), or,
with `ray`, one Ray task per solve declaring its CPUs (and a GPU when the device is cuda); results
stream back as tasks finish, a task whose worker dies is retried by Ray (max_retries). This module
sits on top of `api` and below `cli`.
"""
from __future__ import annotations

import glob
import hashlib
import itertools
import json
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from . import api
from .vocabulary import ALL_KEYS, DEFAULT_METHOD, METHODS

SETTING_KEYS = tuple(k for k in ALL_KEYS if k != "method")     # methods are their own axis


class SweepError(ValueError):
    """A sweep that cannot start: a bad grid, file or option (the message says which)."""


# ── the grid ─────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Task:
    riddle: str                                  # the riddle file's path, as given
    seed: int
    method: str
    settings: tuple[tuple[str, object], ...] = ()   # sorted (key, value) pairs
    # the file's text, read once where the sweep starts: a worker on another machine (or in another
    # folder, as Ray's are) needs no copy of the file; not part of the task's identity
    text: str | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        """The task's identity in results.jsonl: riddle, seed, method and settings (not the file's
        contents: edit a riddle and rename it, or use a new --out, to solve it again)."""
        blob = json.dumps([self.riddle, self.seed, self.method, [list(kv) for kv in self.settings]], sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:16]

    @property
    def setting_text(self) -> str:
        return " ".join(f"{k}={_show(v)}" for k, v in self.settings) or "defaults"


def task(riddle: str | Path, seed: int = 0, method: str = DEFAULT_METHOD, text: str | None = None, **settings
         ) -> Task:
    """One task from Python (the bench scripts build their grids this way): `riddle` a file's path,
    or with `text` the name a riddle written in code goes by (its `looks like` paths are relative to
    that name's folder); settings as `api.solve` takes them."""
    unknown = set(settings) - set(SETTING_KEYS)
    if unknown:
        raise SweepError(f"unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(SETTING_KEYS)}")
    if text is None:
        text = Path(riddle).read_text(encoding="utf-8")
    pairs = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in settings.items() if v is not None))
    return Task(str(riddle), seed, method, pairs, text)


def _show(v) -> str:
    return ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)


def parse_seeds(text: str | int | list) -> list[int]:
    """`0-9`, `0,3,7`, `1-3,8` (or a list, or one number) → sorted unique seeds."""
    if isinstance(text, int):
        return [text]
    if isinstance(text, list):
        parts = [str(x) for x in text]
    else:
        parts = [p.strip() for p in str(text).split(",") if p.strip()]
    seeds: set[int] = set()
    for p in parts:
        try:
            lo, _, hi = p.partition("-")
            lo, hi = int(lo), int(hi) if hi else int(lo)
            if lo < 0 or hi < lo or hi - lo > 100_000:
                raise ValueError
            seeds.update(range(lo, hi + 1))
        except ValueError:
            raise SweepError(f"--seeds takes numbers and ranges such as 0-9 or 1,4,7; not `{p}`") from None
    if not seeds:
        raise SweepError("--seeds needs at least one seed")
    return sorted(seeds)


def _value(text: str):
    """A --set value: a number when it reads as one, else the word."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_sets(items: Iterable[str]) -> dict[str, list]:
    """`KEY=V1,V2` … → {key: [values]}; anneal takes one schedule per value, its numbers joined by
    spaces or `:` (`--set anneal=0.5:1:3:10,1:10`)."""
    out: dict[str, list] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not values.strip():
            raise SweepError(f"--set takes KEY=V1,V2,…; not `{item}`")
        if key not in SETTING_KEYS:
            import difflib
            near = difflib.get_close_matches(key, SETTING_KEYS, 1)
            raise SweepError(f"--set: unknown setting `{key}`" + (f"; did you mean `{near[0]}`?" if near else
                                                                  f"; known: {', '.join(SETTING_KEYS)}"))
        if key == "anneal":
            out[key] = [[float(x) for x in v.replace(":", " ").split()] for v in values.split(",")]
        else:
            out[key] = [_value(v.strip()) for v in values.split(",")]
    return out


def grid(riddles: list[str], seeds: list[int], methods: list[str], sets: dict[str, list]) -> list[Task]:
    """Every combination, in a stable order: riddle, then settings, then method, then seed."""
    if not riddles:
        raise SweepError("no riddle to sweep: give riddle files (or globs)")
    for m in methods:
        if m not in METHODS:
            raise SweepError(f"unknown method `{m}`; one of {', '.join(METHODS)}")
    keys = sorted(sets)
    combos = [tuple(zip(keys, values)) for values in itertools.product(*(sets[k] for k in keys))] or [()]
    for combo in combos:
        problem = api.setting_problem(dict(combo), directories=True)     # the operator's: a model directory too
        if problem:
            raise SweepError(f"--set: {problem}")
    texts = {}
    for r in riddles:
        try:
            texts[r] = Path(r).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            texts[r] = None                     # the solve reports it, as a row with its error
    return [Task(r, s, m, tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in combo), texts[r])
            for r in riddles for combo in combos for m in methods for s in seeds]


def expand_riddles(patterns: Iterable[str], base: Path | None = None) -> list[str]:
    out = []
    for p in patterns:
        path = str(base / p) if base and not os.path.isabs(p) else p
        found = sorted(glob.glob(path)) if any(c in path for c in "*?[") else [path]
        if not found:
            raise SweepError(f"no riddle matches `{p}`")
        for f in found:
            if not Path(f).is_file():
                raise SweepError(f"no riddle file `{f}`")
            if f not in out:
                out.append(f)
    return out


def load_toml(path: str | Path) -> dict:
    """A sweep as a TOML file, paths relative to the file:

        riddles = ["puzzles/*.rdl"]
        seeds = "0-9"                    # or [0, 1, 2]
        methods = ["advi", "hmc"]
        out = "runs/study"               # optional
        workers = 2                      # optional; or ray = "auto"
        save = true                      # optional: keep each solve's files in OUT/solves/KEY/
        [settings]
        restarts = [50, 100]
        logic = ["joint", "factored"]
    """
    import tomllib
    path = Path(path)
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise SweepError(f"cannot read `{path}`: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise SweepError(f"{path}: {e}") from None
    known = {"riddles", "seeds", "methods", "settings", "out", "workers", "ray", "save"}
    unknown = set(spec) - known
    if unknown:
        raise SweepError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    settings = spec.get("settings", {})
    if not isinstance(settings, dict):
        raise SweepError(f"{path}: [settings] maps a setting to a list of values")
    sets = {}
    for k, v in settings.items():
        key = k.replace("-", "_")
        if key not in SETTING_KEYS:
            raise SweepError(f"{path}: unknown setting `{k}` in [settings]; known: {', '.join(SETTING_KEYS)}")
        sets[key] = v if isinstance(v, list) else [v]
    riddles = spec.get("riddles", [])
    return {"riddles": expand_riddles(riddles if isinstance(riddles, list) else [riddles], path.parent),
            "seeds": parse_seeds(spec.get("seeds", 0)),
            "methods": ([spec["methods"]] if isinstance(spec.get("methods"), str)
                        else spec.get("methods", [DEFAULT_METHOD])),
            "sets": sets,
            "out": str(path.parent / spec["out"]) if "out" in spec else None,
            "workers": spec.get("workers"), "ray": spec.get("ray"), "save": bool(spec.get("save", False))}


# ── one solve ────────────────────────────────────────────────────────────────

def run_task(task: Task, threads: int | None = None, save: str | Path | None = None) -> dict:
    """Solve one task; never raises: a failure is a row with its error. With `save` (a folder), the
    solve's files (`riddle solve --out`: result.json, samples.npz with every restart's images and
    judged answers, answer images) go to save/<task key>/ and the row names that folder."""
    import torch
    if threads:
        torch.set_num_threads(threads)
    row = {"key": task.key, "riddle": task.riddle, "seed": task.seed, "method": task.method,
           "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in task.settings},
           "node": _node(), "pid": os.getpid(), "started": time.time()}
    began = time.perf_counter()
    try:
        settings = dict(task.settings)
        device = settings.pop("device", None)
        max_seconds = settings.pop("max_seconds", None)
        # by its text when read at the start (named by its absolute path, so diagnostics point at the
        # file and `looks like` finds images beside it on this machine), else from the file
        riddle = task.text if task.text is not None else Path(task.riddle)
        result = api.solve(
            riddle,
            name=str(Path(task.riddle).absolute()),
            seed=task.seed,
            method=task.method,
            device=device,
            max_seconds=max_seconds,
            **{k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
        )
        seconds = time.perf_counter() - began
        row.update(solve_row(result), seconds=round(seconds, 3), error=None)
        if save is not None:
            folder = Path(save) / task.key
            result.save(folder)
            row["saved"] = str(folder)
    except Exception as e:                      # noqa: BLE001 - a failed solve is a row, the sweep goes on
        from .lang.errors import RiddleError
        message = e.render() if isinstance(e, RiddleError) else f"{type(e).__name__}: {e}"
        row.update({"answer": None, "right": False, "success": None, "seconds": round(time.perf_counter() - began, 3),
                    "error": message})
    return row


def solve_row(result: "api.Result") -> dict:
    """A solve's figures as a results.jsonl row's fields (JSON types only)."""
    from collections import Counter
    s = result.solution
    solutions = s.symbolic.solutions
    right = (result.answer is not None and bool(result.correct)
             and (solutions is None or any(list(map(int, r)) == result.answer for r in solutions)))
    judged = Counter(" ".join(map(str, row)) for row in s.answers.tolist()) if s.answers is not None else Counter()
    return {"answer": result.answer, "right": right, "success": result.success_rate,
            "interval": list(result.interval), "restarts": s.restarts, "successes": int(s.successes),
            "lineages": s.lineages, "successful_lineages": s.successful_lineages, "rounds": s.rounds,
            "unsatisfiable": result.unsatisfiable, "solutions": s.symbolic.count,
            # every restart's judged answer, counted: the distribution the restarts reached
            "answers": dict(judged.most_common()),
            # the answer the best-ELBO rule would report (the report uses the vote: stats.reported_answer)
            "elbo_answer": _elbo_answer(s),
            "sample_share": None if s.sample_share is None else round(float(s.sample_share.mean()), 4),
            "solve_seconds": round(s.solve_seconds, 3), "images_per_second": round(s.images_per_second, 1),
            "device": s.device, "precision": s.precision,
            "logic": None if s.logic is None else [[g.plan, int(g.size)] for g in s.logic.groups],
            "variety": (s.diversity or {}).get("ratio"),
            # the lowest, over the unknowns, of the right drawings' spread over real handwriting's
            "variety_real": (s.diversity or {}).get("real_ratio_min"),
            "diagnostics": s.diagnostics}


def _elbo_answer(s) -> list[int] | None:
    from .infer.stats import reported_answer
    if not s.rows or s.elbo is None:
        return None
    return list(map(int, reported_answer(s.rows, "elbo").answer))


def _node() -> str:
    try:
        import ray
        if ray.is_initialized():
            return ray.get_runtime_context().get_node_id()
    except Exception:                          # noqa: BLE001 - outside Ray, or an old Ray
        pass
    return socket.gethostname()


# ── the results file ─────────────────────────────────────────────────────────

class Results:
    """OUT/results.jsonl: read what is there (dropping a torn last line), append rows whole."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "results.jsonl"
        self.rows: list[dict] = []
        if self.path.exists():
            raw = self.path.read_bytes()
            good = 0
            for line in raw.splitlines(keepends=True):
                try:
                    if not line.endswith(b"\n"):
                        raise ValueError("torn")
                    self.rows.append(json.loads(line))
                    good += len(line)
                except ValueError:
                    break
            if good < len(raw):                 # a crash mid-line: keep the valid rows only
                with open(self.path, "r+b") as f:
                    f.truncate(good)

    def done(self, retry_failed: bool = False) -> set[str]:
        return {r["key"] for r in self.rows if not (retry_failed and r.get("error"))}

    def append(self, row: dict) -> None:
        line = (json.dumps(row) + "\n").encode()
        with open(self.path, "ab") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        self.rows.append(row)


# ── running ──────────────────────────────────────────────────────────────────

@dataclass
class Progress:
    total: int
    skipped: int = 0
    done: int = 0
    failed: int = 0
    started: float = field(default_factory=time.perf_counter)
    stream: object = None

    def update(self, row: dict | None = None) -> None:
        if row is not None:
            self.done += 1
            self.failed += bool(row.get("error"))
        left = self.total - self.done
        elapsed = time.perf_counter() - self.started
        eta = f" · ETA {elapsed / self.done * left:,.0f} s" if self.done and left else ""
        line = (f"sweep  {self.done}/{self.total} solved ({self.failed} failed, {left} left"
                f"{f', {self.skipped} already in results.jsonl' if self.skipped else ''}) · {elapsed:,.0f} s{eta}")
        stream = self.stream or sys.stderr
        tty = hasattr(stream, "isatty") and stream.isatty()
        stream.write(("\r\033[K" if tty else "") + line + ("" if tty and left else "\n"))
        stream.flush()


def default_workers(cores: int | None = None) -> int:
    """Local workers: one per core, each solve on one thread: a solve's batched tensors do not keep
    two threads fully busy, so two one-thread workers finish sooner than one two-thread worker
    (docs/history/BENCHMARKS.md, "Sweep")."""
    return max(1, cores or os.cpu_count() or 1)


def run_local(tasks: list[Task], workers: int, on_row: Callable[[dict], None], save: str | None = None) -> None:
    if workers <= 1:                        # in this process, on its threads (the benches' timing conditions)
        for t in tasks:
            on_row(run_task(t, save=save))
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    threads = max(1, (os.cpu_count() or 1) // workers)
    ctx = multiprocessing.get_context("spawn")           # torch and fork do not mix
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        pending = {pool.submit(run_task, t, threads, save): t for t in tasks}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    task = pending.pop(f)
                    try:
                        row = f.result()
                    except Exception as e:           # noqa: BLE001 - the worker process itself died
                        row = _lost_row(task, _node(), f"worker lost: {type(e).__name__}: {e}")
                    on_row(row)
        except KeyboardInterrupt:
            for f in pending:
                f.cancel()
            raise


def _lost_row(task: Task, node: str | None, error: str) -> dict:
    """The row of a task whose solve never reported back (its worker process or Ray task died)."""
    return {"key": task.key, "riddle": task.riddle, "seed": task.seed, "method": task.method,
            "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in task.settings}, "node": node,
            "answer": None, "right": False, "success": None, "error": error}


def connect_ray(address: str):
    """Join the Ray cluster at `address` (`auto`: the one `ray start` began on this machine; `local`: a Ray
    instance of this process's own) unless this process has joined one already; → the ray module. The one
    way riddle reaches Ray: the sweep's tasks and the playground's solves (serve/workers.RaySlot)."""
    try:
        import ray
    except ImportError:
        raise SweepError("--ray needs Ray: pip install -e '.[cluster]'") from None
    if not ray.is_initialized():
        options = dict(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
        if address == "local":                           # a Ray instance of this process's own
            ray.init(**options)
        else:
            try:
                ray.init(address=address, **options)     # `auto`: the cluster `ray start` began here
            except ConnectionError as e:
                raise SweepError(f"--ray {address}: no Ray cluster to join ({e}); start one with "
                                 "`ray start --head`, or use --ray local") from None
    return ray


def run_ray(tasks: list[Task], address: str, on_row: Callable[[dict], None], cpus_per_task: int = 1,
            retries: int = 3, save: str | None = None) -> None:
    """One Ray task per solve, declaring its CPUs (and a GPU for device=cuda); rows as tasks finish.
    A task whose worker or node dies is retried up to `retries` times by Ray."""
    ray = connect_ray(address)
    remote = ray.remote(_ray_task)
    refs = {}
    for t in tasks:
        gpu = 1 if dict(t.settings).get("device") == "cuda" else 0
        ref = remote.options(num_cpus=cpus_per_task, num_gpus=gpu, max_retries=retries).remote(t, cpus_per_task, save)
        refs[ref] = t
    try:
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                task = refs.pop(ref)
                try:
                    row = ray.get(ref)
                except Exception as e:                   # noqa: BLE001 - retries spent: a row, not a crash
                    row = _lost_row(task, None, f"ray task failed: {type(e).__name__}: {e}")
                on_row(row)
    except KeyboardInterrupt:
        for ref in refs:
            ray.cancel(ref, force=True)
        raise


def _ray_task(task: Task, threads: int, save: str | None = None) -> dict:
    row = run_task(task, threads, save)
    row["node"] = _node()
    return row


def sweep(tasks: list[Task], out: str | Path | None = None, workers: int | None = None, ray: str | None = None,
          retry_failed: bool = False, stream=None, save: bool = False,
          on_row: Callable[[dict], None] | None = None) -> list[dict]:
    """Run the tasks not yet in OUT/results.jsonl; write the summary. → one row per task, in the
    tasks' order. `save`: keep each solve's files under OUT/solves/<key>/ (the row's `saved`);
    `on_row(row)` as each solve finishes.
    Without `out`, a temporary folder (gone afterwards, saved files included): for callers that
    only want the rows (the bench scripts run their solves this way, `workers=1` in-process)."""
    if out is None:
        import tempfile
        with tempfile.TemporaryDirectory(prefix="riddle-sweep-") as tmp:
            return sweep(tasks, tmp, workers, ray, retry_failed, stream, save, on_row)
    results = Results(out)
    done = results.done(retry_failed)
    todo = [t for t in tasks if t.key not in done]
    progress = Progress(total=len(todo), skipped=len(tasks) - len(todo), stream=stream)
    progress.update()
    saved = str(results.dir.absolute() / "solves") if save else None

    def finished(row):
        results.append(row)
        progress.update(row)
        if on_row is not None:
            on_row(row)
    try:
        if todo:
            if ray:
                run_ray(todo, ray, finished, save=saved)
            else:
                run_local(todo, workers or default_workers(), finished, save=saved)
    finally:
        latest = {r["key"]: r for r in results.rows}               # a retried task: its last row counts
        rows = [latest[t.key] for t in dict.fromkeys(tasks) if t.key in latest]
        write_summary(rows, results.dir)
    return rows


# ── the summary ──────────────────────────────────────────────────────────────

def summarize(rows: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        setting = " ".join(f"{k}={_show(v)}" for k, v in sorted(r.get("settings", {}).items())) or "defaults"
        groups.setdefault((r["riddle"], r["method"], setting), []).append(r)
    out = []
    for (riddle, method, setting), rs in sorted(groups.items()):
        ok = [r for r in rs if not r.get("error")]
        successes = [r["success"] for r in ok if r.get("success") is not None]
        out.append({"riddle": riddle, "method": method, "settings": setting, "seeds": len(rs),
                    "right": sum(bool(r.get("right")) for r in rs), "failed": len(rs) - len(ok),
                    "success_mean": sum(successes) / len(successes) if successes else None,
                    "success_min": min(successes, default=None), "success_max": max(successes, default=None),
                    "seconds_mean": sum(r["seconds"] for r in ok) / len(ok) if ok else None,
                    "nodes": sorted({str(r.get("node")) for r in rs})})
    return out


def summary_text(summary: list[dict]) -> str:
    lines = ["| riddle | method | settings | right | success mean (range) | mean time | failed |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for s in summary:
        rng = ("–" if s["success_mean"] is None else
               f"{s['success_mean']:.0%} ({s['success_min']:.0%}–{s['success_max']:.0%})")
        time_ = "–" if s["seconds_mean"] is None else f"{s['seconds_mean']:.1f} s"
        lines.append(f"| {Path(s['riddle']).name} | {s['method']} | {s['settings']} | {s['right']}/{s['seeds']} | "
                     f"{rng} | {time_} | {s['failed']} |")
    return "\n".join(lines)


def write_summary(rows: list[dict], directory: Path) -> None:
    summary = summarize(rows)
    text = (f"# Sweep summary\n\n{len(rows)} solves from results.jsonl · right: the reported answer solves the "
            "riddle, on k of n seeds · success: the share of restarts judged right\n\n" + summary_text(summary) + "\n")
    tmp = directory / "summary.md.tmp"
    tmp.write_text(text)
    tmp.replace(directory / "summary.md")
    _plot(summary, directory / "summary.png")


def _plot(summary: list[dict], path: Path) -> None:
    """Success per riddle, one bar per method × settings (matplotlib, when installed)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    rows = [s for s in summary if s["success_mean"] is not None]
    if not rows:
        return
    riddles = list(dict.fromkeys(Path(s["riddle"]).name for s in rows))
    series = list(dict.fromkeys((s["method"], s["settings"]) for s in rows))
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(riddles) * max(1, len(series)) ** 0.5), 3.2))
    width = 0.8 / len(series)
    for j, (method, setting) in enumerate(series):
        xs, ys, lo, hi = [], [], [], []
        for s in rows:
            if (s["method"], s["settings"]) == (method, setting):
                i = riddles.index(Path(s["riddle"]).name)
                xs.append(i + j * width)
                ys.append(s["success_mean"])
                # clamped: a mean of equal figures can land a rounding error outside them
                lo.append(max(0.0, s["success_mean"] - s["success_min"]))
                hi.append(max(0.0, s["success_max"] - s["success_mean"]))
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=f"{method} · {setting}")
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(riddles))], riddles, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("success per restart")
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)

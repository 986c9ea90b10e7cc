"""A bounded load test of the playground (issue 27): `riddle serve` on loopback, many clients at once.

    python -m bench.load [--clients 50] [--seconds 60] [--think 0.5 0] [--queue 4] [--seed 0]

Starts `riddle serve` on a free loopback port (a subprocess, the bundled models), warms it with one
solve, then lets `--clients` clients loose for `--seconds`, once per `--think` value (the mean pause
of a client between its requests: 0.5 s, paced like a person editing; then 0, saturated) — each
picks, at random (seeded), among checking a riddle (the puzzles, and copies with mistakes),
submitting a solve, listening to a solve's events and hanging up early (which cancels it, by
design), cancelling, asking a solve's state, sending an oversized body and sending a cross-site
request. A monitor asks /api/status four times a second, so every check is known to have run while a
solve ran or not. Stops by itself; then:

- every accepted solve ended (the server's counts: accepted = done + failed + cancelled, and equal to
  the 202s the clients got; refused = the 429s they got);
- the queue's positions and 429s, on an idle server: one solve runs, the next `--queue` wait at
  positions 1…queue, the one after is refused;
- the server's resident memory, threads and open files after the run against their baseline (after
  the warm-up solve, before the load): what would show a leak.

Writes docs/bench/load.json and the "Playground under load" section of docs/BENCHMARKS.md."""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx

from bench.common import ROOT, machine, rerender, save_json, write_section
from riddle.serve.workers import NICE

SOLVABLE = ["134.rdl", "358.rdl", "product.rdl", "remainder.rdl", "year.rdl"]
SOLVE_SETTINGS = {"restarts": 20}
ACTIONS = {"check": 50, "solve": 12, "listen": 10, "cancel": 6, "status": 12, "oversized": 5, "cross-site": 5}
EXPECTED = {"check": {200}, "solve": {202, 429}, "listen": {200, 404}, "cancel": {200, 404},
            "status": {200, 404}, "oversized": {413}, "cross-site": {403}}
BIG = b"#" * (2 << 20)                                 # 2 MiB: over the 1 MiB body limit, drained then 413


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_figures(pid: int) -> dict:
    """The server's resident memory (MB), threads and open file descriptors, from /proc."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")      # utime + stime
    return {"rss_mb": int(status["VmRSS"].split()[0]) / 1024, "threads": int(status["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd")), "cpu_s": round(cpu, 2)}


def checker_figures(http: httpx.Client) -> list[dict]:
    """The checking processes' figures (`riddle serve --checkers N`), by the pids /api/status lists."""
    out = []
    for pid in http.get("/api/status").json().get("checkers", []):
        try:
            out.append({"pid": pid, **process_figures(pid)})
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def riddle_texts() -> tuple[list[str], list[str]]:
    """(what the clients check: every puzzle and a copy of each with a mistake, what they solve)."""
    puzzles = sorted((ROOT / "puzzles").glob("*.rdl"))
    texts = [p.read_text() for p in puzzles if "looks like" not in p.read_text()]
    broken = [t.replace("is odd", "is od").replace(" = ", " == ", 1) + "\nq is prime\n" for t in texts]
    return texts + broken, [(ROOT / "puzzles" / name).read_text() for name in SOLVABLE]


def check_names() -> list[str]:
    """The names of riddle_texts()[0], in its order (a broken copy: the puzzle's name + " (broken)")."""
    names = [p.name for p in sorted((ROOT / "puzzles").glob("*.rdl")) if "looks like" not in p.read_text()]
    return names + [f"{n} (broken)" for n in names]


class Load:
    def __init__(self, base: str, clients: int, seconds: float, seed: int, think: float = 0.0,
                 actions: dict[str, int] = ACTIONS, kill_every: float | None = None):
        self.base, self.clients, self.seconds, self.seed, self.think = base, clients, seconds, seed, think
        self.kill_every = kill_every                   # kill a busy solver process by pid this often (None: never)
        self.kills: list[dict] = []                    # {pid, job, at, state}: what each kill hit, and how it ended
        self.actions = actions
        self.checks, self.solvable = riddle_texts()
        self.check_names = check_names()
        self.check_seconds: dict[str, list[tuple[float, float]]] = {}    # text → (start, seconds) of each 200
        self.records: list[dict] = []                  # one per request: action, status, start, seconds
        self.jobs: list[str] = []                      # ids the server accepted
        self.samples: list[tuple[float, bool, int]] = []   # monitor: (time, a solve running, waiting)
        self.errors: list[str] = []                    # transport errors (a connection broken, a timeout)

    async def run(self) -> None:
        # aiohttp, not httpx, for the clients: on 2 cores the load generator shares the machine with the
        # server, and httpx's async client took 4.4 ms of CPU per request (more than the server's check)
        connector = aiohttp.TCPConnector(limit=self.clients + 8)
        async with aiohttp.ClientSession(self.base, connector=connector,
                                         timeout=aiohttp.ClientTimeout(total=60)) as http:
            self.t0 = time.monotonic()
            self.deadline = self.t0 + self.seconds
            monitor = asyncio.create_task(self.monitor(http))
            killer = asyncio.create_task(self.killer(http)) if self.kill_every else None
            await asyncio.gather(*(self.client(http, random.Random(self.seed * 1000 + i))
                                   for i in range(self.clients)))
            monitor.cancel()
            if killer:
                await killer                           # it follows its last kill's job to its end (≤ 10 s)

    async def killer(self, http: aiohttp.ClientSession) -> None:
        """Every `kill_every` s, SIGKILL a solver process that runs a job, by the pid /api/status gives."""
        while True:
            await asyncio.sleep(self.kill_every)
            if time.monotonic() >= self.deadline:      # the phase is over: no kill it would not see end (a kill
                return                                 # just before its end was cut off while asking, and counted
            async with http.get("/api/status") as r:   # as a job failed that was not killed)
                workers = (await r.json())["workers"]
            busy = [w for w in workers if w["job"] and w["alive"]]
            if busy:
                os.kill(busy[0]["pid"], signal.SIGKILL)
                kill = {"pid": busy[0]["pid"], "job": busy[0]["job"], "at": time.monotonic() - self.t0, "state": None}
                self.kills.append(kill)
                for _ in range(40):                    # how its job ended, asked at once (the server forgets old jobs)
                    await asyncio.sleep(0.25)
                    async with http.get(f"/api/solve/{kill['job']}") as r:
                        state = (await r.json())["state"] if r.status == 200 else f"HTTP {r.status}"
                    if state not in ("queued", "running"):
                        kill["state"] = state
                        break

    async def monitor(self, http: aiohttp.ClientSession) -> None:
        while True:
            try:
                async with http.get("/api/status") as r:
                    s = await r.json()
                self.samples.append((time.monotonic() - self.t0, bool(s["running"]), s["waiting"]))
            except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                self.errors.append(f"monitor: {type(e).__name__}")
            await asyncio.sleep(0.25)

    async def client(self, http: aiohttp.ClientSession, rng: random.Random) -> None:
        kinds, weights = list(self.actions), list(self.actions.values())
        while time.monotonic() < self.deadline:
            kind = rng.choices(kinds, weights)[0]
            start = time.monotonic()
            try:
                status = await getattr(self, kind.replace("-", "_"))(http, rng)
            except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                self.errors.append(f"{kind}: {type(e).__name__}: {e}")
                continue
            if status is not None:
                self.records.append({"action": kind, "status": status, "start": start - self.t0,
                                     "seconds": time.monotonic() - start})
            await asyncio.sleep(rng.expovariate(1 / self.think) if self.think else rng.uniform(0, 0.05))

    # ── the actions: each returns the HTTP status it got (None: nothing to do) ──
    async def check(self, http, rng) -> int:
        i = rng.randrange(len(self.checks))
        start = time.monotonic()
        async with http.post("/api/check", json={"text": self.checks[i]}) as r:
            await r.read()
            if r.status == 200:
                self.check_seconds.setdefault(self.check_names[i], []).append(
                    (start - self.t0, time.monotonic() - start))
            return r.status

    async def solve(self, http, rng) -> int:
        async with http.post("/api/solve", json={"text": rng.choice(self.solvable), "settings": SOLVE_SETTINGS}) as r:
            body = await r.json()
            if r.status == 202:
                self.jobs.append(body["id"])
            return r.status

    async def listen(self, http, rng) -> int | None:
        """Read a solve's events; hang up after a few of them half the time (the server then cancels it)."""
        if not self.jobs:
            return None
        job = rng.choice(self.jobs[-8:])
        hang_up_after = rng.choice([1, 3, None, None])
        async with http.get(f"/api/solve/{job}/events") as r:
            if r.status != 200:
                await r.read()
                return r.status
            seen = 0
            async for raw in r.content:
                line = raw.decode().rstrip("\r\n")
                seen += line.startswith("event: ")
                if line.startswith("event: ") and line[7:] in ("result", "error", "cancelled"):
                    break
                if hang_up_after is not None and seen >= hang_up_after:
                    break
                if time.monotonic() > self.deadline + 5:
                    break
        return 200

    async def cancel(self, http, rng) -> int | None:
        if not self.jobs:
            return None
        async with http.delete(f"/api/solve/{rng.choice(self.jobs)}") as r:
            await r.read()
            return r.status

    async def status(self, http, rng) -> int | None:
        if not self.jobs:
            return None
        async with http.get(f"/api/solve/{rng.choice(self.jobs)}") as r:
            await r.read()
            return r.status

    async def oversized(self, http, rng) -> int:
        async with http.post("/api/check", data=BIG, headers={"Content-Type": "text/plain"}) as r:
            await r.read()
            return r.status

    async def cross_site(self, http, rng) -> int:
        async with http.post("/api/solve", data=rng.choice(self.solvable).encode(),
                             headers={"Content-Type": "text/plain", "Origin": "http://evil.example"}) as r:
            await r.read()
            return r.status

    def during_solve(self, t: float) -> bool | None:
        """Was a solve running at time t (the monitor's samples either side agree), None if unsure."""
        before = [s for s in self.samples if s[0] <= t]
        after = [s for s in self.samples if s[0] >= t]
        if not before or not after:
            return None
        a, b = before[-1][1], after[0][1]
        return a if a == b else None


def wait_until(predicate, timeout: float, step: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None


COUNTED = ("accepted", "refused", "done", "failed", "cancelled")


async def warm_checks(base: str, texts: list[str], solvable: list[str]) -> None:
    """Every check text, 16 at a time, and 16 solves at once (cancelled): the server's thread pools
    grow to their size before the baseline, so threads counted after the load are not the pools'."""
    async with aiohttp.ClientSession(base) as http:
        async def one(path, body):
            async with http.post(path, json=body) as r:
                return await r.json()
        for i in range(0, len(texts), 16):
            await asyncio.gather(*(one("/api/check", {"text": t}) for t in texts[i:i + 16]))
        jobs = await asyncio.gather(*(one("/api/solve", {"text": solvable[i % len(solvable)]}) for i in range(16)))
        for job in jobs:
            if "id" in job:
                async with http.delete(f"/api/solve/{job['id']}") as r:
                    await r.read()


def queue_check(http: httpx.Client, queue: int) -> dict:
    """On the idle server: one long solve runs, the next `queue` wait at positions 1…queue, one more is
    refused with 429; all of them cancelled, each ends cancelled."""
    long = (ROOT / "puzzles" / "send-more-money.rdl").read_text()
    first = http.post("/api/solve", json={"text": long, "settings": {"restarts": 200}}).json()
    wait_until(lambda: http.get(f"/api/solve/{first['id']}").json()["state"] == "running", 60)
    waiting = [http.post("/api/solve", json={"text": long}).json() for _ in range(queue)]
    refused = http.post("/api/solve", json={"text": long})
    positions = [w["position"] for w in waiting]
    for job in [first, *waiting]:
        http.delete(f"/api/solve/{job['id']}")
    ends = [wait_until(lambda j=job: http.get(f"/api/solve/{j['id']}").json()["state"] in
                       ("done", "failed", "cancelled") and http.get(f"/api/solve/{j['id']}").json()["state"], 60)
            for job in [first, *waiting]]
    return {"positions": positions, "expected": list(range(1, queue + 1)), "refused_status": refused.status_code,
            "ends": ends, "right": positions == list(range(1, queue + 1)) and refused.status_code == 429
            and all(e == "cancelled" for e in ends)}


def check_costs(repeats: int = 3) -> dict:
    """What one check of the clients' mix costs, each text timed in this process (warm: after one check of
    each), its best of `repeats`; the mean bounds what one checking thread serves."""
    from riddle import api
    texts = riddle_texts()[0]
    names = check_names()
    for t in texts:
        api.check(t, name="riddle.rdl", text=True, oracle_seconds=2.0)
    ms = []
    for t in texts:
        best = math.inf
        for _ in range(repeats):
            start = time.perf_counter()
            api.check(t, name="riddle.rdl", text=True, oracle_seconds=2.0)
            best = min(best, time.perf_counter() - start)
        ms.append(1000 * best)
    order = sorted(range(len(ms)), key=lambda i: -ms[i])
    return {"machine": machine(), "texts": len(texts), "mean_ms": round(statistics.mean(ms), 1),
            "median_ms": round(statistics.median(ms), 1), "dearest": [[names[i], round(ms[i], 1)] for i in order[:4]]}


def _longest_texts(load: Load, count: int = 4) -> list[dict]:
    """/api/check's median and p95 for the longest texts of the mix, while a solve ran: what the line's order
    (serve/checkers.py: short riddles first, by a head start for their length) costs the long ones."""
    longest = sorted(range(len(load.checks)), key=lambda i: -len(load.checks[i]))[:count]
    out = []
    for i in longest:
        name = load.check_names[i]
        xs = sorted(sec for start, sec in load.check_seconds.get(name, []) if load.during_solve(start) is True)
        if xs:
            out.append({"text": name, "chars": len(load.checks[i]), "n": len(xs),
                        "median": round(1000 * xs[len(xs) // 2], 1),
                        "p95": round(1000 * xs[min(len(xs) - 1, int(0.95 * len(xs)))], 1)})
    return out


def phase_summary(load: Load, counts: dict, cpu: dict) -> dict:
    """One phase's figures: per action, /api/check's latency while a solve ran and not, the jobs."""
    by_action = {}
    for kind in ACTIONS:
        rs = [r for r in load.records if r["action"] == kind]
        statuses: dict[str, int] = {}
        for r in rs:
            statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
        unexpected = sum(n for s, n in statuses.items() if int(s) not in EXPECTED[kind])
        by_action[kind] = {"requests": len(rs), "statuses": statuses, "unexpected": unexpected,
                           "median_ms": round(1000 * statistics.median([r["seconds"] for r in rs]), 1) if rs else None}
    checks = [r for r in load.records if r["action"] == "check" and r["status"] == 200]
    during = [r["seconds"] for r in checks if load.during_solve(r["start"]) is True]
    idle = [r["seconds"] for r in checks if load.during_solve(r["start"]) is False]

    def pct(xs, q):
        return round(1000 * sorted(xs)[min(len(xs) - 1, int(q * len(xs)))], 1) if xs else None
    accepted = len(load.jobs)
    refused = by_action["solve"]["statuses"].get("429", 0)
    ended = counts["done"] + counts["failed"] + counts["cancelled"]
    return {
        "think_s": load.think, "seconds": load.seconds, "requests": len(load.records),
        "requests_per_s": round(len(load.records) / load.seconds, 1),
        "transport_errors": load.errors[:20], "transport_error_count": len(load.errors),
        "by_action": by_action,
        "check_ms": {"during_solve": {"n": len(during), "median": pct(during, 0.5), "p95": pct(during, 0.95)},
                     "no_solve": {"n": len(idle), "median": pct(idle, 0.5), "p95": pct(idle, 0.95)}},
        "check_ms_longest": _longest_texts(load),
        "solve_running_share": round(sum(s[1] for s in load.samples) / max(1, len(load.samples)), 3),
        "jobs": {"accepted_by_clients": accepted, "refused_by_clients": refused, "server": counts,
                 "all_ended": counts["accepted"] == accepted == ended and counts["refused"] == refused
                 and not counts["running"] and counts["waiting"] == 0},
        "cpu": cpu,
        "server_errors": sum(r["status"] >= 500 for r in load.records),
        **({"kills": {"every_s": load.kill_every, "count": len(load.kills),
                      "killed_jobs_failed": sum(k["state"] == "failed" for k in load.kills),
                      "failed_not_killed": counts["failed"] - sum(k["state"] == "failed" for k in load.kills),
                      "ended": [k["state"] for k in load.kills]}} if load.kill_every else {}),
    }


def _checkers_cpu(ph: dict) -> float | None:
    """CPU seconds the checking processes spent in a phase (None: none, or one was replaced meanwhile)."""
    before = {c["pid"]: c["cpu_s"] for c in ph.get("checkers_before_phase", [])}
    after = {c["pid"]: c["cpu_s"] for c in ph.get("checkers_after", [])}
    if not before or set(before) != set(after):
        return None
    return round(sum(after[p] - before[p] for p in after), 1)


def section(out: dict) -> str:
    nice = out.get("solver_nice", 10)       # runs before it was kept were all at nice 10
    lines = ["## Playground under load", "",
             f"Measured by `python -m bench.load --clients {out['clients']} --seconds {out['seconds']:g}` on "
             f"{out['machine']}: `riddle serve` on loopback (the bundled models, `--queue {out['queue']}`), "
             f"{out['clients']} clients in one process on the same machine (aiohttp), each solve "
             f"`{json.dumps(out['solve_settings'])}` of a puzzle. Each client picks at random (weights "
             f"{', '.join(f'{k} {w}' for k, w in ACTIONS.items())}); a listener hangs up after 1 or 3 events half "
             "the time (its solve is then cancelled, by design). Solves run in the server's solver process "
             f"(`riddle serve --workers {out.get('workers', 1)}`), "
             + (f"checks in its {out['checkers']} checking processes (`--checkers {out['checkers']}`, at the "
                f"server's priority, ahead of the solves at nice {nice}). " if out.get("checkers") else
                "checks on the server's own thread. ") + "Phases on one server: "
             "**paced** — each client "
             f"pauses a random time (exponential, mean {out['phases'][0]['think_s']:g} s) between requests, as a "
             "person editing in the page does (the page checks 250 ms after the last keystroke) — and "
             "**saturated** — no pause: a closed loop of 50 clients, whose median wait is 50 / the server's "
             "throughput by Little's law, so it measures throughput more than latency — and **saturated with "
             "kills**: the same, while every 10 s a busy solver process is killed by the pid /api/status lists.", ""]
    for ph in out["phases"]:
        name = ("paced" if ph["think_s"] else f"saturated, a solver process killed every {ph['kills']['every_s']:g} s"
                if "kills" in ph else "saturated")
        a, c, j = ph["by_action"], ph["check_ms"], ph["jobs"]
        server = j["server"]
        lines += [f"### {name.capitalize()} ({ph['seconds']:g} s, {ph['requests_per_s']:g} requests/s; a solve ran "
                  f"{100 * ph['solve_running_share']:.0f} % of the time; CPU: server {ph['cpu']['server_s']:g} s, "
                  f"clients {ph['cpu']['clients_s']:g} s"
                  + (f", checking processes {_checkers_cpu(ph):g} s" if _checkers_cpu(ph) is not None else "")
                  + ")", "",
                  "| action | requests | statuses | unexpected | median |", "| --- | --- | --- | --- | --- |"]
        for kind, r in a.items():
            statuses = ", ".join(f"{s}: {n:,}" for s, n in sorted(r["statuses"].items()))
            median = "—" if r["median_ms"] is None else f"{r['median_ms']:.0f} ms"
            lines.append(f"| {kind} | {r['requests']:,} | {statuses or '—'} | {r['unexpected']} | {median} |")
        lines += ["",
                  f"- /api/check while a solve runs: **median {c['during_solve']['median']} ms**, p95 "
                  f"{c['during_solve']['p95']} ms over {c['during_solve']['n']:,} checks"
                  + (f" (no solve running: median {c['no_solve']['median']} ms over {c['no_solve']['n']:,})"
                     if c["no_solve"]["n"] else "") + "; bar: median ≤ 200 ms and p95 ≤ 1 s saturated, no worse than "
                  "30 / 193 ms paced (the figures with solves and checks on the server's own threads, before the "
                  "grids' puzzles joined the mix).",
                  *(["- The longest texts' checks (median / p95): " + "; ".join(
                      f"{t['text']} ({t['chars']:,} characters) {t['median']:g} / {t['p95']:g} ms"
                      for t in ph["check_ms_longest"]) + "."] if ph.get("check_ms_longest") else []),
                  f"- Responses 5xx: {ph.get('server_errors', 0)}.",
                  f"- Every accepted solve ended: **{'yes' if j['all_ended'] else 'NO'}** — clients got "
                  f"{j['accepted_by_clients']} × 202 and {j['refused_by_clients']} × 429; the server counts "
                  f"{server['accepted']} accepted, {server['refused']} refused, {server['done']} done, "
                  f"{server['failed']} failed, {server['cancelled']} cancelled, none left in the line.",
                  f"- Transport errors (connections broken, time-outs): {ph['transport_error_count']}.", ""]
        if "kills" in ph:
            k, mem = ph["kills"], (ph["server_after"]["rss_mb"] / ph["server_before_phase"]["rss_mb"] - 1)
            lines[-1:-1] = [f"- Kills: {k['count']} solver processes killed mid-solve; the jobs they ran ended "
                            f"{', '.join(e or 'still running 10 s after' for e in k['ended']) or '—'} (the server "
                            "replaced each process); jobs failed "
                            f"that were not killed: {k['failed_not_killed']}. The server's resident memory from "
                            f"this phase's start to its end: {ph['server_before_phase']['rss_mb']:.0f} → "
                            f"{ph['server_after']['rss_mb']:.0f} MB ({100 * mem:+.1f} %; bar ±5 %)."]
    base = ROOT / "docs" / "bench" / "load-workers-0.json"
    if base.is_file() and out.get("workers", 0):
        old = json.loads(base.read_text())
        during = [(ph["think_s"], ph["check_ms"]["during_solve"]) for ph in old["phases"]]
        figures = "; ".join(f"{'paced' if t else 'saturated'} median {c['median']} ms, p95 {c['p95']} ms"
                            for t, c in during)
        how = ("`--workers 0 --checkers 0` (solves and checks on threads of the server, as before issue 40; "
               "`python -m bench.load --workers 0 --checkers 0 --kill-every 0 --json load-workers-0`"
               if old.get("checkers") == 0 else
               "`--workers 0` (solves on a thread of the server; `python -m bench.load --workers 0 --kill-every 0 "
               "--json load-workers-0`")
        lines += ["### Beside it: solves and checks on the server's own threads", "",
                  f"The same load and the same checks with {how}, kept in docs/bench/load-workers-0.json, on "
                  f"{old['machine']}, commit {old.get('provenance', {}).get('commit', '?')[:7]}): /api/check while a "
                  f"solve runs, {figures}.", "",
                  ]
    costs_file = ROOT / "docs" / "bench" / "load-check-costs.json"
    if costs_file.is_file():
        c = json.loads(costs_file.read_text())
        dearest = ", ".join(f"{n} {ms:g} ms" for n, ms in c["dearest"][:3])
        lines += ["What a check costs: the clients check every riddle in puzzles/ and a broken copy of each "
                  f"({c['texts']} texts); one check of that mix costs {c['mean_ms']:g} ms on average, median "
                  f"{c['median_ms']:g} ms (the dearest: {dearest}; each timed alone in one process, "
                  "`python -m bench.load --check-costs`, docs/bench/load-check-costs.json, on "
                  f"{c['machine']}). Saturated, 50 clients without pause wait about 50 × that / the checking "
                  "processes' share of the 2 cores, by Little's law: the median is the mix's cost, not a queue "
                  "the server could shorten.", ""]
    q = out["queue_check"]
    marks = [out["server_before"]] + [p["server_after"] for p in out["phases"]]
    lines += ["### After the phases", "",
              f"- Queue (idle server, one solve running): the next {out['queue']} waited at positions "
              f"{q['positions']}, the one after got {q['refused_status']}, each cancelled one ended "
              f"{'cancelled' if q['right'] else 'WRONG: ' + str(q['ends'])}.",
              "- The server's process before the load (after a warm-up solve, checks and a burst of solves) → "
              "after each phase and its jobs ended: resident memory "
              + " → ".join(f"{x['rss_mb']:.0f}" for x in marks) + " MB, threads "
              + " → ".join(str(x["threads"]) for x in marks) + ", open files "
              + " → ".join(str(x["fds"]) for x in marks) + "."]
    if out["phases"] and out["phases"][0].get("checkers_before_phase"):
        first = out["phases"][0]["checkers_before_phase"]
        last = out["phases"][-1].get("checkers_after", [])
        lines += ["- The checking processes' resident memory, before the first phase → after the last: "
                  + ", ".join(f"{a['rss_mb']:.0f} → {b['rss_mb']:.0f} MB" for a, b in zip(first, last))
                  + ("" if [a["pid"] for a in first] == [b["pid"] for b in last] else " (one was replaced)") + "."]
    lines += [""]
    lines += [LESSONS]
    return "\n".join(lines)


LESSONS = """\
What the first runs taught (issue 27; each figure from `python -m bench.load --seconds 15 --no-write
--only check` or `--only cross-site`, before and after the change it names): with httpx's async
client the load generator spent more CPU than the server (4.4 ms a request against the server's 0.5
ms for a refused one); aiohttp's client spends a fifth of that. The server ran checks on asyncio's
default pool (six threads): parser work in six threads of one process only fights over the GIL — 93
checks/s with checks alone; one checking thread serves 172/s (and a check's oracle budget there is 2
s, so one wide riddle holds the others back at most that long); uvicorn's httptools parser and
uvloop (in the `serve` extra) make it 191/s. Saturated, the median is bounded by 50 clients /
throughput: under 200 ms would take 250 checks/s beside a running solve on these 2 cores, which
share the solve, the server and the 50 clients.
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--queue", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--think", type=float, nargs="+", default=[0.5, 0.0], metavar="S",
                    help="a phase per value: the mean pause of a client between its requests (exponential; 0: "
                         "none); default 0.5 then 0")
    ap.add_argument("--workers", type=int, default=1, metavar="N",
                    help="`riddle serve --workers N` (0: solves on the server's own thread, as before issue 40)")
    ap.add_argument("--checkers", type=int, default=2, metavar="N",
                    help="`riddle serve --checkers N` (0: checks on a thread of the server, as before)")
    ap.add_argument("--kill-every", type=float, default=10.0, metavar="S",
                    help="one more saturated phase in which a busy solver process is killed (SIGKILL, by the pid "
                         "/api/status gives) every S seconds; 0: no such phase")
    ap.add_argument("--no-solves", action="store_true", help="checks and cheap requests only: the baseline")
    ap.add_argument("--only", choices=list(ACTIONS), help="one kind of request (to find what costs)")
    ap.add_argument("--no-write", action="store_true", help="print the figures; leave docs/ alone")
    ap.add_argument("--check-costs", action="store_true", help="time each check of the clients' mix in this process "
                    "(no server, no load) and keep it as docs/bench/load-check-costs.json; the section cites it")
    ap.add_argument("--json", metavar="NAME", help="keep the figures as docs/bench/NAME.json only, the section "
                    "untouched (a comparison run: `--workers 0 --kill-every 0 --json load-workers-0`)")
    ap.add_argument("--render", action="store_true", help="rewrite the section from docs/bench/load.json; no run")
    args = ap.parse_args(argv)
    if args.render:
        rerender("load", "## Playground under load", section)
        return 0
    if args.check_costs:
        costs = check_costs()
        save_json(ROOT / "docs" / "bench" / "load-check-costs.json", costs)
        print(json.dumps(costs, indent=1))
        return 0

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile(prefix="riddle-serve-", suffix=".log", delete=False)
    server = subprocess.Popen([sys.executable, "-m", "riddle", "serve", "--port", str(port), "--queue",
                               str(args.queue), "--workers", str(args.workers),
                               "--checkers", str(args.checkers)], cwd=ROOT, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            def up():
                try:
                    return http.get("/api/status").status_code == 200
                except httpx.HTTPError:
                    return False
            if not wait_until(up, 60):
                raise SystemExit(f"riddle serve did not start; its log: {log.name}")
            # warm up: the models load on the first solve; the baseline is taken after it
            job = http.post("/api/solve", json={"text": (ROOT / "puzzles" / "134.rdl").read_text(),
                                                "settings": SOLVE_SETTINGS}).json()
            wait_until(lambda: http.get(f"/api/solve/{job['id']}").json()["done"], 300)
            asyncio.run(warm_checks(base, riddle_texts()[0], riddle_texts()[1]))
            time.sleep(2)
            before = process_figures(server.pid)
            print(f"baseline: {before}", flush=True)
            actions = {k: 0 if args.no_solves and k in ("solve", "listen", "cancel", "status") else w
                       for k, w in ACTIONS.items()}
            if args.only:
                actions = {k: int(k == args.only) for k in ACTIONS}
            phases = []
            plan = [(think, None) for think in args.think] + ([(0.0, args.kill_every)] if args.kill_every else [])
            for think, kill_every in plan:
                counts_before = http.get("/api/status").json()
                load = Load(base, args.clients, args.seconds, args.seed, think, actions, kill_every)
                start_figures = process_figures(server.pid)
                checkers_start = checker_figures(http)
                server_cpu, own_cpu = start_figures["cpu_s"], time.process_time()
                asyncio.run(load.run())
                cpu = {"server_s": round(process_figures(server.pid)["cpu_s"] - server_cpu, 1),
                       "clients_s": round(time.process_time() - own_cpu, 1)}
                print(f"think {think:g} s: {len(load.records):,} requests; waiting for every solve to end", flush=True)
                wait_until(lambda: (lambda s: not s["running"] and s["waiting"] == 0)(http.get("/api/status").json()),
                           600)
                counts = http.get("/api/status").json()
                counts = {k: v - counts_before[k] if k in COUNTED else v for k, v in counts.items()}
                phases.append(phase_summary(load, counts, cpu))
                time.sleep(3)                       # let closed connections and finished threads go
                phases[-1]["server_after"] = process_figures(server.pid)
                phases[-1]["server_before_phase"] = start_figures
                phases[-1]["checkers_before_phase"] = checkers_start
                phases[-1]["checkers_after"] = checker_figures(http)
            after = phases[-1]["server_after"]
            out = {"machine": machine(), "clients": args.clients, "seconds": args.seconds, "queue": args.queue,
                   "workers": args.workers, "checkers": args.checkers, "solver_nice": NICE,
                   "seed": args.seed, "solve_settings": SOLVE_SETTINGS, "phases": phases,
                   "queue_check": queue_check(http, args.queue), "server_before": before, "server_after": after}
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    if args.json:
        save_json(ROOT / "docs" / "bench" / f"{args.json}.json", out)
    elif not args.no_write:
        (ROOT / "docs" / "bench").mkdir(parents=True, exist_ok=True)
        save_json(ROOT / "docs" / "bench" / "load.json", out)
        write_section(ROOT / "docs" / "BENCHMARKS.md", "## Playground under load", section(out))
    print(section(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

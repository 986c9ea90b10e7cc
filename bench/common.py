"""What the bench scripts share: the machine's description, rewriting one section of
docs/BENCHMARKS.md, a puzzle's known answer, and the generated family of riddles with one answer.

Run a bench from the repository's root as a module, e.g. `python -m bench.amortised`: bench/ is a package,
so its scripts import this module and riddle without touching sys.path.
"""
from __future__ import annotations

import os
import platform
import random
import time
from collections import Counter
from pathlib import Path

import torch

from riddle.graph import build, solve_symbolic
from riddle.lang import load_text

ROOT = Path(__file__).resolve().parent.parent
NAMES = "abcdefghij"
CLOSED = {0, 6, 8, 9}                 # the digits with a closed circle


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


STANDING = "## Where riddle stands"


def write_section(path: Path, heading: str, section: str) -> None:
    """Replace one `## ` section of a markdown file in place (or append it), leaving the others alone. In
    docs/BENCHMARKS.md the first section, "Where riddle stands", is composed from every bench's JSON, so it
    is rendered again with it (bench/registry.standing)."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\nEvery figure here comes from a script in `bench/`.\n"
    text = replace_section(text, heading, section)
    if path.name == "BENCHMARKS.md" and heading != STANDING and f"\n{STANDING}\n" in text:
        from bench.registry import standing
        text = replace_section(text, STANDING, standing())
    path.write_text(text)


def replace_section(text: str, heading: str, section: str) -> str:
    """The markdown `text` with its `## ` section `heading` replaced by `section` (or it appended). The
    section must begin with its own heading: a section written into another's slot would leave two
    sections of one name, and the next rerun would keep only the first."""
    first = section.split("\n", 1)[0].strip()
    if first != heading:
        raise ValueError(f"section headed {first!r} written into the slot {heading!r}")
    parts = text.split("\n## ")
    head, sections = parts[0], ["## " + p for p in parts[1:]]
    same = [i for i, s in enumerate(sections) if s.split("\n", 1)[0].strip() == heading]
    if same:
        sections = [section if i == same[0] else s for i, s in enumerate(sections) if i == same[0] or i not in same]
    else:
        sections.append(section)
    return head.rstrip("\n") + "\n\n" + "\n".join(s.rstrip("\n") + "\n" for s in sections)


def provenance() -> dict:
    """Where and how a result was measured, recorded in every bench JSON (asv's lesson: a figure is keyed
    by commit and machine): the commit and whether the tree had changes, torch's version, the machine, the
    threads, what `precision auto` meant there, the command, the date."""
    import subprocess
    import sys
    from datetime import datetime, timezone

    from riddle.infer.objective import pick_precision

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"commit": git("rev-parse", "HEAD") or None,
            "dirty": bool(git("status", "--porcelain", "--", "riddle", "bench", "grammar")),
            "torch": torch.__version__, "machine": machine(), "threads": torch.get_num_threads(),
            "precision": pick_precision("auto", "cpu"),
            "command": " ".join([f"python -m {_module_of(sys.argv[0])}", *sys.argv[1:]]),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def _module_of(argv0: str) -> str:
    """`python -m bench.NAME` puts the script's path in argv[0]; `python -m bench run NAME` its module name."""
    path = Path(argv0)
    if path.suffix == ".py" and path.resolve().is_relative_to(ROOT):
        return ".".join(path.resolve().relative_to(ROOT).with_suffix("").parts)
    return argv0 or "bench"


def save_json(path: Path, data: dict, indent: int = 2, keep: bool = False) -> None:
    """A bench's kept results, with their provenance (keep: a render's rewrite keeps the run's own)."""
    import json
    if not (keep and "provenance" in data):
        data = {**data, "provenance": provenance()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent, default=list) + "\n")


def publish(name: str, heading: str, out: dict, section) -> None:
    """A bench's results: docs/bench/NAME.json and its section (`heading`) of docs/BENCHMARKS.md."""
    save_json(ROOT / "docs" / "bench" / f"{name}.json", out)
    write_section(ROOT / "docs" / "BENCHMARKS.md", heading, section(out))


def rerender(name: str, heading: str, section) -> None:
    """A bench's `--render`: its docs/BENCHMARKS.md section again from docs/bench/NAME.json, without a run
    (after an edit to the section's text)."""
    import json
    out = json.loads((ROOT / "docs" / "bench" / f"{name}.json").read_text())
    write_section(ROOT / "docs" / "BENCHMARKS.md", heading, section(out))


def known_answer(riddle) -> tuple[int, ...]:
    """The answer written in a puzzle's header: `# answer: first=1 second=3 third=4`."""
    line = next(ln for ln in riddle.source.text.splitlines() if ln.startswith("# answer:"))
    pairs = dict(p.split("=") for p in line.split(":", 1)[1].split())
    return tuple(int(pairs[u.name]) for u in riddle.unknowns)


def generate(n: int, seed: int) -> str:
    """A riddle over n digits whose only solution is a random target (see the module doc)."""
    rng = random.Random(1000 * seed + n)
    while True:
        target = [rng.randrange(10) for _ in range(n)]
        names = list(NAMES[:n])
        statements: list[str] = []
        for _ in range(6 * n):
            kind = rng.random()
            i, j = rng.sample(range(n), 2) if n > 1 else (0, 0)
            x, y = names[i], names[j]
            if kind < 0.35:
                x, y = sorted((x, y))
                s = f"{x} + {y} = {target[i] + target[j]}"
            elif kind < 0.6:
                k = target[i] - target[j]
                s = f"{x} = {y} + {k}" if k >= 0 else f"{y} = {x} + {-k}"
            elif kind < 0.75:
                s = f"{x} is {'odd' if target[i] % 2 else 'even'}"
            elif kind < 0.88:
                s = f"{x} has {'a' if target[i] in CLOSED else 'no'} closed circle"
            else:
                s = f"{x} is not {rng.choice([v for v in range(10) if v != target[i]])}"
            if s in statements:
                continue
            statements.append(s)
            text = f"# generated by bench/scaling.py (n={n}, seed={seed})\n# answer: " + \
                " ".join(f"{a}={v}" for a, v in zip(names, target)) + \
                f"\ndigits {', '.join(names)}\n" + "\n".join(statements) + "\n"
            result = solve_symbolic(build(load_text(text)))
            if result.count == 1:
                return text


@torch.no_grad()
def judged_rejection(text: str, accepted: int, log_weight, seed: int = 0, batch: int = 4096) -> tuple[Counter, dict]:
    """Judged answers of `accepted` exact posterior draws by rejection: a prior tuple ξ [B, n, d] kept with
    probability exp(log_weight(objective, xi, images)) ≤ 1, its drawings read by the riddle's judge. The
    exact reference the samplers' answer distributions are compared with (bench/methods.py, bench/amortised.py)."""
    from riddle.api import check
    from riddle.infer.judge import Judge
    from riddle.infer.objective import Networks, Objective
    graph = build(check(text).riddle)
    objective = Objective(graph, Networks.load(graph), "float32")
    judge = Judge(graph, "cpu")
    g = torch.Generator().manual_seed(seed)
    n, d = len(objective.names), objective.d
    answers, drawn, started = Counter(), 0, time.perf_counter()
    while sum(answers.values()) < accepted:
        xi = torch.randn(batch, n, d, generator=g)
        images = objective.images(xi)                                                      # [B, n, H, W]
        keep = torch.rand(batch, generator=g).log() < log_weight(objective, xi, images)
        drawn += batch
        if keep.any():
            labels, _ = judge.read(images[keep])
            answers.update(tuple(int(v) for v in row) for row in labels)
    return answers, {"drawn": drawn, "accepted": sum(answers.values()), "seconds": time.perf_counter() - started}


def tvd(a: Counter, b: Counter) -> float:
    """The total variation distance between two distributions given as counts."""
    na, nb = sum(a.values()), sum(b.values())
    return 0.5 * sum(abs(a[k] / na - b[k] / nb) for k in set(a) | set(b))

"""Every bench script, and for those whose docs come from their kept JSON, how: `render` reads only
docs/bench/*.json (never today's code defaults or a new measurement) and returns the sections it writes,
heading → text. `python -m bench` (bench/__main__.py) lists, runs and renders them."""
from __future__ import annotations

import argparse
import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bench.common import ROOT

DOCS = ROOT / "docs"
BENCHMARKS = DOCS / "BENCHMARKS.md"


def kept(name: str) -> dict:
    """docs/bench/NAME.json, as the bench wrote it."""
    return json.loads((DOCS / "bench" / f"{name}.json").read_text())


def module(name: str):
    return importlib.import_module(f"bench.{name}")


@dataclass(frozen=True)
class Bench:
    headings: tuple[str, ...] = ()                       # the sections of docs/BENCHMARKS.md it renders
    render: Callable[[], dict[str, str]] | None = None   # heading → section text, from its kept JSON alone
    document: Path = BENCHMARKS                          # the file its sections live in
    whole: bool = False                                  # it renders the whole file (MODELS.md), not sections
    script: bool = True                                  # bench/NAME.py runs it (False: a table of other benches')
    notes: tuple[str, ...] = field(default=())


def _one(name: str, heading: str, text: Callable[[dict], str]) -> Bench:
    return Bench((heading,), lambda: {heading: text(kept(name))})


def _connectives() -> dict[str, str]:
    saved = kept("connectives")
    section = module("connectives").section(saved["rows"], saved["machine"], saved["config"]["seed"],
                                            saved.get("notes", []))
    return {"## Connectives": section}


def _joint() -> dict[str, str]:
    saved = kept("joint")
    args = argparse.Namespace(seed=saved["config"]["seed"])
    return {"## Joint logic": module("joint").section(saved["rows"], args, saved["machine"])}


def _models() -> dict[str, str]:
    return {"MODELS.md": module("models").render(kept("models"))}


def _maybe(name: str) -> dict | None:
    """A bench's kept JSON, or None before its first run."""
    path = DOCS / "bench" / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _machine(data: dict) -> str:
    return data.get("machine", "?").replace("Intel(R) Xeon(R) Processor", "Intel Xeon").split(", Python")[0]


def standing() -> str:
    """The first section of docs/BENCHMARKS.md: today's headline figures, each from a bench's kept JSON, with
    the machine it was measured on and the command that measures it again."""
    rows = []

    def row(what: str, figure: str, data: dict, command: str) -> None:
        rows.append(f"| {what} | {figure} | {_machine(data)} | `{command}` |")

    p = kept("proposal")
    auto, rej = (next(r for r in p["rows"] if r["part"] == "defaults" and r["method"] == m)
                 for m in ("auto", "rejection"))
    row("134 with the defaults (auto → amortised), 100 samples",
        f"{auto['success']:.0%} right, {auto['solve_seconds']:.1f} s solving; {auto['seconds_per_correct']:.3f} s per "
        f"right answer against rejection's {rej['seconds_per_correct']:.3f} s (the papers: 88 % of restarts, 2,400 s "
        "each)", p, "python -m bench.proposal")
    a = kept("amortised")
    # `several` (four solutions: a check of the posterior's shape, not of one answer) is left out, as its section does
    mine = [r for r in a["rows"] if r["method"] == "amortised" and r["riddle"] != "several"]
    big = [r for r in mine if r["unknowns"] >= 6]
    row(f"{len(mine)} riddles of {min(r['unknowns'] for r in mine)}–{max(r['unknowns'] for r in mine)} unknowns "
        "with one answer (puzzles, cryptarithms, connectives, generated)",
        f"right on {sum(r['right'] for r in mine)}/{len(mine)}; per-sample success "
        f"{min(r['success'] for r in mine):.0%}–{max(r['success'] for r in mine):.0%}; 6–10 unknowns in "
        f"{max(r['solve_seconds'] for r in big):.1f} s or less; variety over real handwriting "
        f"{min(r['variety_real'] for r in mine):.2f}+", a, "python -m bench.amortised")
    j = kept("joint")
    unseen = [r for r in j["rows"] if r["mode"] == "defaults" and r["kind"] != "reference"]
    if unseen:
        row(f"{len(unseen)} riddles nobody tuned on ({sum(r['kind'] == 'cryptarithm' for r in unseen)} classic "
            f"cryptarithms, {sum(r['kind'] == 'mixed' for r in unseen)} generated), with the defaults",
            f"right on {sum(r['right'] for r in unseen)}/{len(unseen)}; per-sample success "
            f"{min(r['success'] for r in unseen):.0%}–{max(r['success'] for r in unseen):.0%}; "
            f"{max(r['seconds'] for r in unseen):.1f} s or less a riddle, check and judge included", j,
            "python -m bench.joint")
    advi = next(r for r in a["rows"] if r["riddle"] == "134" and r["method"] == "advi")
    row("134 by advi (100 optimised restarts, the papers' objective)",
        f"{advi['success']:.0%} right in {advi['solve_seconds']:.0f} s; drawings near prototypes (variety over real "
        f"{advi['variety_real']:.2f})", a, "python -m bench.amortised")
    s = kept("startup")
    row("`riddle solve puzzles/134.rdl`, cold, launch to exit",
        f"{s['solve_wall']['median']:.1f} s (torch's import {s['import_torch']['median']:.1f} s, sampling "
        f"{s['method']['median']:.1f} s); bar 3 s: {'met' if s['solve_wall']['median'] <= 3.0 else 'not met'}", s,
        "python -m bench.startup")
    m = kept("models")
    row("the label classifier and the judge on the 500 held-out digits",
        f"{m['real_test']['classifier']:.1%} and {m['real_test']['judge']:.1%}", m, "python -m bench.models")
    ms = kept("measure")
    proj = next(r for r in ms["rows"] if r["instrument"] == "projection, m = 100")
    row("a held-out digit seen through 100 random projections (σ 0.1)",
        f"squared error {proj['mse']['riddle']:.4f} per pixel against least squares' "
        f"{proj['mse']['least squares']:.3f}", ms, "python -m bench.measure")
    lr = _maybe("learn")
    if lr:
        by_n = {r["n"]: r for r in lr["rows"]}
        one, dpl = by_n[1]["riddle"], by_n[1].get("deepproblog", {})
        figure = (f"N = 1: {one['digit_accuracy']:.1%} of digits, {one['sum_accuracy']:.1%} of sums, "
                  f"{one['epoch_seconds']:.2f} s an epoch")
        if dpl.get("epochs"):
            figure += (f"; DeepProbLog 2.1 on the same rows {dpl['digit_accuracy']:.1%} / {dpl['sum_accuracy']:.1%}, "
                       f"{dpl['epoch_seconds']:.0f} s an epoch")
        for n in (15, 100):
            if n in by_n:
                r = by_n[n]["riddle"]
                figure += f"; N = {n}: {r['digit_accuracy']:.1%} of digits in {r['curve'][-1]['seconds']:.0f} s"
        row("MNIST-addition learned from sums alone (bundled digits, from scratch)", figure, lr,
            "python -m bench.learn")
    gr = _maybe("grids")
    if gr:
        s9 = gr["summary"]["9/30"]
        row(f"9 × 9 Sudoku, 30 givens handwritten with held-out digits ({s9['boards']} boards)",
            f"{s9['board_right']:.0%} of boards read and completed right against {s9['by_hand']['right']:.0%} by "
            f"argmax + CP-SAT; `riddle solve` launch to exit {s9['cli_wall_median']:.1f} s median; bar 98 %: "
            f"{'met' if s9['board_right'] >= 0.98 else 'not met'}",
            gr, "python -m bench.grids")
    ld = kept("load")
    paced, saturated = (next(ph for ph in ld["phases"] if ph["think_s"] == t) for t in (0.5, 0.0))
    row(f"the playground under {ld['clients']} clients: `/api/check` median",
        f"{paced['by_action']['check']['median_ms']:.0f} ms paced, {saturated['by_action']['check']['median_ms']:.0f} "
        "ms saturated (a solve always running)", ld, "python -m bench.load")
    return "\n".join([
        "## Where riddle stands", "",
        "Today's headline figures, each rendered from its bench's kept JSON (docs/bench/) by `python -m bench "
        "render`; the sections below give the protocols and the whole tables. Figures from different machines "
        "are not comparable in time.", "",
        "| what | figure | machine (2 cores) | command |", "| --- | --- | --- | --- |", *rows])


BENCHES: dict[str, Bench] = {
    "amortised": _one("amortised", "## Amortised", lambda d: module("amortised").section(d)),
    "boards": Bench(),
    "connectives": Bench(("## Connectives",), _connectives),
    "coupled": _one("coupled", "## Coupled network", lambda d: module("coupled").section(d)),
    "grids": _one("grids", "## Grids", lambda d: module("grids").section(d)),
    "joint": Bench(("## Joint logic",), _joint),
    "learn": _one("learn", "## Learning from riddles", lambda d: module("learn").section(d)),
    "load": _one("load", "## Playground under load", lambda d: module("load").section(d)),
    "logic": Bench(),
    "measure": _one("measure", "## Measurements", lambda d: module("measure").section(d)),
    "methods": _one("methods", "## Methods", lambda d: module("methods").section(d)),
    "misfit": _one("misfit", "## Generator misfit", lambda d: module("misfit").section(d)),
    "models": Bench(("MODELS.md",), _models, DOCS / "MODELS.md", whole=True),
    "observe": _one("observe", "## Observations", lambda d: module("observe").section(d)),
    "proposal": Bench(("## Amortised: defaults", "## Amortised: proposal", "## Amortised: seen images"),
                      lambda: module("proposal").sections(kept("proposal"))),
    "sdd": Bench(),
    "startup": _one("startup", "## Start-up", lambda d: module("startup").section(d)),
    "standing": Bench(("## Where riddle stands",), lambda: {"## Where riddle stands": standing()}, script=False),
    "symbolic_scale": Bench(),
    "throughput": Bench(),
    "train": _one("train", "## Training", lambda d: module("train").section(d)),
}
# the coupled family's misfit is the misfit bench run with --models coupled: its own JSON and section
BENCHES["misfit"] = Bench(("## Generator misfit", "## Generator misfit: coupled family"), lambda: {
    "## Generator misfit": module("misfit").section(kept("misfit")),
    "## Generator misfit: coupled family": module("misfit").section(kept("misfit-coupled"))})


def rendered_docs(names: list[str]) -> dict[Path, str]:
    """The documents as the named benches render them from their JSON: path → the file's new text (the
    sections no bench renders kept as they are)."""
    from bench.common import replace_section
    out: dict[Path, str] = {}
    for name in names:
        bench = BENCHES[name]
        if bench.render is None:
            continue
        sections = bench.render()
        if bench.whole:
            out[bench.document] = sections[bench.headings[0]]
            continue
        text = out.get(bench.document) or bench.document.read_text()
        for heading, section in sections.items():
            text = replace_section(text, heading, section)
        out[bench.document] = text
    return out

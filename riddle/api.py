"""The Python API: `riddle.check` and `riddle.solve`, for notebooks, scripts and the web playground.

    import riddle
    result = riddle.solve("puzzles/134.rdl", restarts=50, seed=1)
    result.answer            # [1, 3, 4]
    result.success_rate      # the share of restarts whose judged answer solves the riddle
    result.images            # numpy [R, n, 28, 28]: every restart's digits
    result                   # in Jupyter: the answer table and the digits, inline

A riddle is given as a path (a `pathlib.Path`, or a string naming an existing file) or as its text
(any other string). The `riddle` command goes through these same functions: what the CLI prints is
`CheckResult.text()` / `Result.text()`, what `--json` prints is `to_json()`, what `--out` writes is
`Result.save(dir)`. This module sits on top of lang → graph → infer → report and below cli/serve.
"""
from __future__ import annotations

import base64
import html
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from .graph import FactorGraph, build, solve_symbolic
from .graph.joint import LogicProgram, compile_logic
from .graph.symbolic import ORACLE_SECONDS, SymbolicResult, conflict_diagnostic, ignored_diagnostic
from .lang import CheckedRiddle, load, load_text
from .lang.errors import Diagnostic, RiddleError, render_all
from .vocabulary import ALL_KEYS, DEFAULT_METHOD, DEFAULT_MODELS, RUN_SETTINGS, settings_problem

JSON_SOLUTION_CAP = 1000
PREVIEW_RESTARTS = 4          # progress events carry the current drawings of this many restarts
PREVIEW_EVERY = 10            # … every this many steps (and at a run's last step)


# ── check ────────────────────────────────────────────────────────────────────

@dataclass
class CheckResult:
    """What riddle understood of a riddle: the checked riddle, its diagnostics (errors, warnings,
    notes, each with its span), and — when it has no error — the factor graph, the exact symbolic
    oracle's reading (how many solutions; which statements conflict) and the logic plan."""
    riddle: CheckedRiddle
    diagnostics: list[Diagnostic]
    graph: FactorGraph | None = None
    symbolic: SymbolicResult | None = None
    logic: LogicProgram | None = None
    models: str = DEFAULT_MODELS          # the model family its networks come from (riddle/models/families.py)

    @property
    def ok(self) -> bool:
        """No error (warnings allowed): the riddle can be solved."""
        return self.graph is not None and not any(d.is_error for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def solution_count(self) -> int | None:
        return None if self.symbolic is None else self.symbolic.count

    @property
    def solutions(self) -> list[tuple] | None:
        """Every solution's labels when the oracle listed them (None when there are too many to list)."""
        if self.symbolic is None or self.symbolic.solutions is None:
            return None
        return [tuple(int(v) for v in row) for row in self.symbolic.solutions]

    def render_diagnostics(self, color: bool = False) -> str:
        """The diagnostics as `riddle check` prints them: file:line:col, the line, a caret, help."""
        return render_all(self.diagnostics, self.riddle.source, color=color)

    def text(self) -> str:
        return check_text(self.riddle, self.symbolic, self.logic) if self.riddle.ok else self.render_diagnostics()

    def to_json(self) -> dict:
        """The object `riddle check --json` prints."""
        return {**check_json(self.riddle, self.symbolic, self.diagnostics, self.logic), "models": self.models}

    def raise_for_errors(self) -> None:
        """Raise RiddleError unless the riddle can go to the solver (a contradiction can: its result
        then says that nothing satisfies the riddle, as the CLI does)."""
        if self.graph is None:
            raise RiddleError(self.errors or self.diagnostics, self.riddle.source)

    def __str__(self) -> str:
        return "\n\n".join(x for x in (self.render_diagnostics(), self.riddle.ok and self.text()) if x)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


def _is_path(riddle) -> bool:
    if isinstance(riddle, os.PathLike):
        return True
    return isinstance(riddle, str) and "\n" not in riddle and len(riddle) < 4096 and (
        riddle.endswith(".rdl") or Path(riddle).is_file())


def check(riddle: str | os.PathLike | CheckedRiddle, *, files: Mapping[str, bytes] | None = None,
          name: str = "<riddle>", logic: str | None = None, models: str | None = None, text: bool = False,
          oracle_seconds: float = ORACLE_SECONDS, template: bool = False) -> CheckResult:
    """Load (a path or the text), check, build the factor graph and read it symbolically. Never raises
    for a bad riddle: every problem is a diagnostic in the result. `files` ({name: bytes}) are the
    only images `looks like` may read (uploads); `name` names a riddle given as text in diagnostics.
    `text=True`: `riddle` is the riddle's text whatever it looks like, never a path to read — what a
    server must say of a client's string (a one-line body naming a file would otherwise be read).
    `oracle_seconds`: the symbolic oracle's time budget (it says what it could not finish within it).
    `models`: the model family (vocabulary.MODEL_FAMILIES) whose networks the riddle is bound to; None:
    the riddle's own `solve with models …`, else the default. A riddle given as a CheckedRiddle is read
    again from its text to bind a family's networks (one without its text keeps those it has).
    `template`: `$name` placeholders are allowed (a template for `riddle learn`): its numbers compile as
    given variables, and the oracle, which needs a row's numbers, does not run."""
    if problem := _models_problem(models):
        raise ValueError(problem)
    if isinstance(riddle, CheckedRiddle) and riddle.source is not None and (
            models is not None or riddle.settings.get("models", DEFAULT_MODELS) != DEFAULT_MODELS):
        riddle, name, text = riddle.source.text, riddle.file, True     # read again, to bind the family's networks

    def read(registry=None) -> CheckedRiddle:
        if not text and _is_path(riddle):
            return load(riddle, registry, template=template)
        return load_text(riddle, name, registry, files=files, template=template)

    checked = riddle if isinstance(riddle, CheckedRiddle) else read()
    family = models or checked.settings.get("models", DEFAULT_MODELS)
    if family != DEFAULT_MODELS and checked.ok and not isinstance(riddle, CheckedRiddle):
        from .models.families import registry
        checked = read(registry(family))               # checked again, bound to the family's networks
    diagnostics = list(checked.diagnostics)
    if not checked.ok:
        return CheckResult(checked, diagnostics, models=family)
    try:
        graph = build(checked)
    except RiddleError as e:
        return CheckResult(checked, diagnostics + list(e.diagnostics), models=family)
    if graph.unread:                                   # a sheet's cells: the classifier reads them before the oracle
        from .infer.cells import read_cells
        graph = read_cells(graph)
    if checked.template:                               # each row's numbers decide its solutions: no oracle here
        return CheckResult(checked, diagnostics, graph, None, compile_logic(graph, logic or "joint"), family)
    symbolic = solve_symbolic(graph, budget=oracle_seconds)
    diagnostics += [ignored_diagnostic(s) for s in symbolic.ignored]
    if symbolic.count == 0:
        diagnostics.append(conflict_diagnostic(symbolic))
    program = compile_logic(graph, logic or checked.settings.get("logic", "joint"), symbolic.solutions,
                            too_many=symbolic.solutions is None) if symbolic.count != 0 else None
    return CheckResult(checked, diagnostics, graph, symbolic, program, family)


def check_json(r: CheckedRiddle, result: SymbolicResult | None, diagnostics: list[Diagnostic],
               program: LogicProgram | None = None) -> dict:
    out = {
        "file": r.file,
        "ok": r.ok,
        "unknowns": [u.name for u in r.unknowns],
        "domains": {u.name: u.domain.name for u in r.unknowns},
        "statements": [
            {"line": s.span.line, "kind": s.kind, "text": s.text(), "unknowns": list(s.unknowns),
             "strength": s.strength, "source": r.source.line_text(s.span.line).strip() if r.source else None,
             **({"normal_form": s.normal_form()} if s.parts else {})}
            for s in r.statements],
        "settings": r.settings,
        "diagnostics": [d.to_json() for d in diagnostics],
    }
    if result is not None:
        out.update(result.to_json())
        out["solutions"] = (None if result.solutions is None else
                            result.solutions[:JSON_SOLUTION_CAP].tolist())
        out["solutions_capped"] = result.solutions is not None and len(result.solutions) > JSON_SOLUTION_CAP
    if program is not None:
        out["logic"] = program.to_json()
    return out


LISTED = 40                       # unknowns and statements `riddle check` lists (a grid has hundreds)
TEXT_WIDTH = 80                   # a statement's text in that list, clipped with "…"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def check_text(r: CheckedRiddle, result: SymbolicResult | None = None, program: LogicProgram | None = None) -> str:
    lines = [f"{r.file} · {len(r.unknowns)} unknown{'s' if len(r.unknowns) != 1 else ''} · "
             f"{len(r.statements)} statement{'s' if len(r.statements) != 1 else ''}"]
    lines.append("unknowns")
    width = max((len(u.name) for u in r.unknowns), default=0)
    for u in r.unknowns[:LISTED]:
        labels = u.domain.labels
        lines.append(f"  {u.name:<{width}}  {u.domain.name} ({min(labels)}..{max(labels)})")
    if len(r.unknowns) > LISTED:
        lines.append(f"  … and {len(r.unknowns) - LISTED} more")
    lines.append("statements")
    texts = [_clip(s.text() + (f"  × {s.strength:g}" if s.strength != 1 else ""), TEXT_WIDTH) for s in r.statements]
    tw = max((len(t) for t in texts[:LISTED]), default=0)
    kw = max((len(s.kind) for s in r.statements), default=0)
    for s, text in list(zip(r.statements, texts))[:LISTED]:
        ties = ", ".join(s.unknowns[:8]) + (f", … (+{len(s.unknowns) - 8})" if len(s.unknowns) > 8 else "")
        lines.append(f"  {s.span.line:>3}  {s.kind:<{kw}}  {text:<{tw}}  ties {ties}")
        if s.parts:
            lines.append(f"       {'':<{kw}}  normal form: {_clip(s.normal_form(), TEXT_WIDTH)}")
    if len(r.statements) > LISTED:
        lines.append(f"  … and {len(r.statements) - LISTED} more (`riddle check --json` lists every one)")
    if r.settings:
        lines.append("solve settings")
        for key, value in r.settings.items():
            shown = " ".join(f"{v:g}" for v in value) if isinstance(value, list) else value
            lines.append(f"  {key} {shown}")
    if r.template:
        lines.append("template: " + ", ".join(f"${c} ({kind})" for c, kind in r.placeholders.items())
                     + " · filled from each row of a data table (riddle learn, docs/LEARNING.md)")
    if result is not None:
        lines.append(f"symbolic: {result.describe()}")
    if program is not None:
        lines += _reads_line(program) + program.describe()
    return "\n".join(lines)


def _reads_line(program: LogicProgram) -> list[str]:
    """What the classifier read in a sheet's cells, and the readings' mass the logic leaves out."""
    from .graph.build import READ_FLOOR, ReadFactor
    reads = list({id(f): f for g in program.groups for f in g.factors if isinstance(f, ReadFactor)}.values())
    if not reads:
        return []
    kept = np.prod([float(f.evidence[f.logic.table].sum()) for f in reads])
    sheets = ", ".join(dict.fromkeys(f.statement.path for f in reads))
    return [f"read: {len(reads)} cell{'s' if len(reads) != 1 else ''} of {sheets} by the label classifier · "
            f"labels it gives < {READ_FLOOR:g} ruled out ({1 - kept:.1e} of the readings' joint mass)"]


# ── solve ────────────────────────────────────────────────────────────────────

@dataclass
class ProgressEvent:
    """One step of a solve, as `solve(progress=callable)` reports it. advi and sequential: a step of
    annealing (`images`, the decoded means of the first PREVIEW_RESTARTS restarts [k, n, H, W],
    every PREVIEW_EVERY steps and at a run's end, else None); rejection: a batch of prior draws."""
    step: int                         # steps done, over all rounds (rejection: samples accepted)
    total: int                        # steps planned (it grows when another round starts)
    alpha: float | None = None        # the annealing temperature of this step
    round: int = 1
    restart: int | None = None        # sequential: the restart being solved
    drawn: int | None = None          # rejection: prior draws so far
    images: np.ndarray | None = None  # [k, n, H, W] or None

    def to_json(self) -> dict:
        return {"step": self.step, "total": self.total, "alpha": self.alpha, "round": self.round,
                "restart": self.restart, "drawn": self.drawn}


# riddle.solve's keywords beyond restarts, steps, method, seed, device, max_seconds: the vocabulary's run settings
SETTING_ARGS = RUN_SETTINGS


def _models_problem(models) -> str | None:
    """A family's name (the language's rule) or, from Python and the command line only, a model directory."""
    from .models.families import is_model_directory
    return None if models is None or is_model_directory(models) else settings_problem({"models": models})


def setting_problem(settings: Mapping, directories: bool = False) -> str | None:
    """Why these solve settings cannot be used (the language's own rule, `vocabulary.setting_problem`), or None.
    `directories`: `models` may also be a model directory (the command line, a sweep's --set, Python) — never
    for a server's client, who must not name paths on the server."""
    if directories and "models" in settings:
        rest = {k: v for k, v in settings.items() if k != "models"}
        return _models_problem(settings["models"]) or settings_problem(rest)
    return settings_problem(settings)


@dataclass
class Result:
    """A solve's result: the reported answer, how sure riddle is, every restart's images."""
    solution: object                                   # riddle.infer.solve.Solution: everything, for the curious
    check: CheckResult

    @property
    def unknowns(self) -> list[str]:
        return [u.name for u in self.solution.riddle.unknowns]

    @property
    def unsatisfiable(self) -> bool:
        return self.solution.unsatisfiable

    @property
    def answer(self) -> list[int] | None:
        """The reported answer's labels, one per unknown, in declaration order (None: no answer)."""
        a = self.solution.answer
        return None if a is None else [int(v) for v in a.answer]

    @property
    def correct(self) -> bool | None:
        """Does the reported answer, as the judge reads it, satisfy the riddle?"""
        a = self.solution.answer
        return None if a is None else bool(a.correct)

    @property
    def success_rate(self) -> float:
        return self.solution.success_rate

    @property
    def interval(self) -> tuple[float, float]:
        """The 95 % Wilson interval of the per-restart success rate."""
        return self.solution.interval

    @property
    def answers(self) -> list[dict]:
        """The answer table's rows: answer, restarts, share, mean and best ELBO, correct, broken statements."""
        return self.to_json().get("answers", [])

    @property
    def images(self) -> np.ndarray:
        """Every restart's digits, G(μ): float32 [R, n, H, W] in [0, 1]."""
        s = self.solution
        if s.images is None:
            shape = s.riddle.unknowns[0].domain.image_shape if s.riddle.unknowns else (28, 28)
            return np.zeros((0, len(self.unknowns), *shape), np.float32)
        return s.images

    @property
    def seconds(self) -> float:
        return self.solution.seconds

    def to_json(self) -> dict:
        """The object `riddle solve --json` prints."""
        from .report import solution_json
        return solution_json(self.solution)

    def text(self, files: dict | None = None) -> str:
        """The report `riddle solve` prints."""
        from .report import solution_text
        return solution_text(self.solution, files)

    def save(self, directory: str | os.PathLike) -> dict[str, str]:
        """Write what `riddle solve --out DIR` writes (a PNG per answer, the JSON, samples.npz); returns
        {what: path}."""
        from .report import write_outputs
        return write_outputs(self.solution, directory)

    def answer_images(self, answer=None, limit: int = 8) -> np.ndarray:
        """[k, n, H, W]: the drawings of up to `limit` restarts that reached `answer` (default: the reported one)."""
        s = self.solution
        answer = self.answer if answer is None else list(answer)
        if answer is None or s.answers is None:
            return self.images[:0]
        members = np.nonzero((s.answers == np.asarray(answer)).all(axis=1))[0][:limit]
        return self.images[members]

    def png(self, answer=None, limit: int = 8, scale: int = 3) -> bytes:
        """A PNG grid of `answer_images` (one row per restart, one column per unknown)."""
        from .report.images import encode_png, grid
        imgs = self.answer_images(answer, limit)
        if not len(imgs):
            return b""
        return encode_png(grid(imgs.reshape(-1, *imgs.shape[2:]), columns=imgs.shape[1], scale=scale))

    def __str__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        """For Jupyter: the answer table and the reported answer's drawings, inline."""
        esc = html.escape
        s = self.solution
        head = f"<p><b>{esc(Path(s.riddle.file).name)}</b> · {len(self.unknowns)} unknowns · " \
               f"{s.restarts} restarts · {s.seconds:.1f} s</p>"
        if self.unsatisfiable:
            return head + "<p>No answer: the statements contradict each other.</p>"
        rows = "".join(
            f"<tr><td><code>{esc(' '.join(map(str, r['answer'])))}</code></td><td>{r['restarts']}</td>"
            f"<td>{r['share']:.0%}</td><td>{r['mean_elbo']:.1f}</td>"
            f"<td>{'✓ solution' if r['correct'] else '✗ ' + esc('; '.join(r['broken'][:2]))}</td></tr>"
            for r in self.answers[:8])
        lo, hi = self.interval
        answer = "none" if self.answer is None else " ".join(map(str, self.answer))
        table = (f"<table><thead><tr><th>answer ({esc(', '.join(self.unknowns))})</th><th>restarts</th>"
                 f"<th>share</th><th>ELBO</th><th>judged</th></tr></thead><tbody>{rows}</tbody></table>")
        summary = (f"<p>answer <b>{esc(answer)}</b>{' ✓' if self.correct else ' ✗' if self.correct is False else ''}"
                   f" · success {self.success_rate:.0%} per restart (95 % CI {lo:.0%}–{hi:.0%})</p>")
        png = self.png()
        picture = (f'<img alt="the drawings of answer {esc(answer)}" style="image-rendering: pixelated" '
                   f'src="data:image/png;base64,{base64.b64encode(png).decode()}"/>' if png else "")
        return head + table + summary + picture


def solve(riddle: str | os.PathLike | CheckResult, *, restarts: int | None = None, steps: int | None = None,
          method: str | None = None, seed: int | None = None, device: str | None = None,
          progress: bool | Callable[[ProgressEvent], None] | None = None, files: Mapping[str, bytes] | None = None,
          max_seconds: float | None = None, name: str = "<riddle>", models: str | None = None,
          **settings) -> Result:
    """Solve a riddle (a path, its text, or a `check` result) with the bundled models.

    Keyword settings override the file's `solve with` line, as the CLI's flags do: restarts, steps,
    method (any of `riddle.vocabulary.METHODS`: advi, hmc, mgvi, …), seed, device (auto, cpu, cuda), and any of pairs,
    anneal, lr, clone, rounds, search, precision, logic. `progress`: True draws a bar on stderr; a callable
    gets a `ProgressEvent` per step (it may raise to stop the solve: the exception comes out of
    `solve`). Raises `RiddleError` (with every diagnostic) for a riddle with an error, ValueError
    for a setting out of its range. A riddle whose statements contradict each other is not an error:
    the result has no answer and `unsatisfiable` is True. `name` names a riddle given as text (its
    diagnostics' file; `looks like` paths are relative to its folder). `models`: the networks that draw
    and read the digits (`riddle.vocabulary.MODEL_FAMILIES`: default, coupled), over the file's
    `solve with models …`."""
    # the solver's layers load here, not at `import riddle`: checking a riddle needs no torch
    from .infer.base import method as find_method
    from .infer.solve import solve as run_solve
    unknown = set(settings) - set(SETTING_ARGS)
    if unknown:
        raise TypeError(f"solve() got unexpected settings: {', '.join(sorted(unknown))}; "
                        f"known: {', '.join(ALL_KEYS)}")
    settings = {**settings, "restarts": restarts, "steps": steps, "seed": seed}
    problem = setting_problem({**settings, "method": method, "device": device, "max_seconds": max_seconds}) \
        or _models_problem(models)
    if problem:
        raise ValueError(problem)
    if isinstance(riddle, CheckResult) and models is not None and models != riddle.models:
        riddle = check(riddle.riddle, logic=settings.get("logic"), models=models)   # bound to that family's networks
    checked = riddle if isinstance(riddle, CheckResult) else check(riddle, files=files, name=name,
                                                                     logic=settings.get("logic"), models=models)
    checked.raise_for_errors()
    r = checked.riddle
    device = device or r.settings.get("device", "auto")
    # the check's graph (its sheet cells read), oracle and plan serve the solve: none is worked out twice
    name, graph, auto = method or r.settings.get("method", DEFAULT_METHOD), checked.graph, None
    if name == "auto":                     # decided before the settings apply, so they are the chosen method's
        from .infer.auto import resolve
        name, auto = resolve(name, graph)
    chosen = find_method(name)
    cfg = chosen.config(r.settings, {**settings, "max_seconds": max_seconds})
    if chosen.name == "amortised" and settings.get("restarts") is None and r.settings.get("restarts") is None:
        from .infer.amortised import default_samples
        cfg = replace(cfg, restarts=default_samples(graph))           # a wide riddle: fewer samples, same drawings
    report = _progress_bar() if progress is True else progress or None
    step_fn, preview_fn = _progress_adapters(report, cfg, chosen)
    sol = run_solve(r, cfg, device=device, progress=step_fn, method=chosen.name, preview=preview_fn,
                    preview_restarts=PREVIEW_RESTARTS, graph=graph, auto=auto, models=checked.models,
                    symbolic=checked.symbolic, program=checked.logic)
    if progress is True and hasattr(report, "close"):
        report.close()
    sol.unread = chosen.unread(r.settings, settings)
    return Result(sol, checked)


def _progress_adapters(report, cfg, method):
    """The method's typed progress events (infer/events.py) → ProgressEvents; and the preview (step, α,
    images) where the method has one."""
    if report is None:
        return None, None
    state = {"total": cfg.steps, "images": None}

    def preview(t, alpha, images):
        if t % PREVIEW_EVERY == 0 or (t + 1) % cfg.steps == 0:
            state["images"] = images()
        else:
            state["images"] = None

    def step(e):                                        # infer.events.Annealed or Drawn
        from .infer.events import Drawn
        if isinstance(e, Drawn):
            report(ProgressEvent(step=e.accepted, total=cfg.restarts, drawn=e.drawn))
            return
        if e.restart is not None:                       # one restart at a time: steps over all of them
            report(ProgressEvent(step=e.restart * cfg.steps + e.step + 1, total=cfg.steps * cfg.restarts,
                                 alpha=e.alpha, restart=e.restart))
            return
        if e.step >= state["total"]:                    # another round: the total grows by one run
            state["total"] += cfg.steps
        images, state["images"] = state["images"], None
        report(ProgressEvent(step=e.step + 1, total=state["total"], alpha=e.alpha, round=e.step // cfg.steps + 1,
                             images=images))
    return step, (preview if method.preview else None)


class _progress_bar:
    """`progress=True`: the CLI's bar on stderr, made at the first event, when what is counted is known (a
    chooser such as auto's pilot learns its method only then)."""

    def __init__(self):
        self.bar = None
        self.accepted = False

    def __call__(self, e: ProgressEvent) -> None:
        from .models.progress import Progress as Bar
        if self.bar is None:
            self.accepted = e.drawn is not None
            self.bar = Bar(e.total, "sampling (accepted)" if self.accepted else "solving")
        if self.accepted:
            self.bar.update(e.step - self.bar.done, f"{e.drawn:,} drawn")
            return
        self.bar.total = max(self.bar.total, e.total)
        note = f"α {e.alpha:g}" + (f" · round {e.round}" if e.round > 1 else "")
        self.bar.update(e.step - self.bar.done, note)

    def close(self):                                   # the bar ends its own line when its count is reached
        pass


def writable_folder(directory: str | os.PathLike) -> str | None:
    """Why `directory` cannot receive a solve's files (None when it can): checked before a solve, so
    a long solve never ends in a failed write. Creates the folder, as --out would."""
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".riddle-", suffix=".probe"):
            pass
    except OSError as e:
        return f"cannot write to `{directory}`: {e.strerror or e}"
    return None


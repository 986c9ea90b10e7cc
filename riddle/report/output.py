"""The three faces of a solve: a terminal report, a JSON document, and files (PNG grids of the
decoded digits per answer, samples.npz with every restart's images and judged labels)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..infer.base import method as find_method
from ..infer.solve import Solution
from ..vocabulary import DEFAULT_MODELS
from .images import board_shape, boards, grid, write_png


def _setting(value) -> str:
    """A setting's value as a `solve with` line writes it (anneal: its numbers)."""
    return " ".join(f"{v:g}" for v in value) if isinstance(value, tuple) else f"{value:g}" \
        if isinstance(value, float) else str(value)


def _answer(labels) -> str:
    return " ".join(str(v) for v in labels)


def _mean(per_unknown: dict) -> float:
    values = [v for v in per_unknown.values() if v is not None]
    return float(np.mean(values)) if values else float("nan")


def header(sol: Solution) -> str:
    r = sol.riddle
    domains = sorted({u.domain.plural for u in r.unknowns})
    latent = f" · {len(r.unknowns)} × {sol.latent} latent dims" if sol.latent else ""
    return (f"riddle {Path(r.file).name} · {len(r.unknowns)} {'/'.join(domains)} · {len(r.statements)} statements"
            f"{latent}{'' if sol.models == DEFAULT_MODELS else f' · models {sol.models}'} · {sol.device}"
            f"{' bf16' if sol.precision == 'bfloat16' else ''} · seed {sol.config.seed}")


def solution_text(sol: Solution, files: dict | None = None) -> str:
    lines = [header(sol), f"symbolic: {sol.symbolic.describe()}"]
    if sol.unsatisfiable:
        lines.append("nothing to solve: the statements contradict each other (see the error above)")
        return "\n".join(lines)
    c = sol.config
    if sol.logic is not None:
        g = sol.logic.groups
        plans = ", ".join(f"{k} {p}" for p, k in sorted(
            {p: sum(x.plan == p for x in g) for p in {x.plan for x in g}}.items()))
        lines.append(f"logic    {sol.logic.mode} · {len(g)} logic term{'s' if len(g) != 1 else ''} ({plans})"
                     + ("" if sol.logic.mode == "factored" or sol.logic.exact
                        else f" · {sol.logic.shortfall}: approximate"))
    if sol.auto:
        a = sol.auto
        if "reason" in a:
            lines.append(f"method   auto → {a['choice']}: {a['reason']}")
        else:
            lines.append(f"method   auto → {a['choice']}: a pilot of {a['pilot_draws']:,} prior draws accepted "
                         f"{a['pilot_acceptance']:.3%}; projected {a['projected_rejection_s']:.3g} s by rejection, "
                         f"{a['projected_advi_s']:.3g} s by advi")
    method = find_method(sol.method)
    if sol.unread:
        given = ", ".join(f"`{k} {_setting(getattr(c, k))}`" for k in sol.unread)
        lines.append(f"note     {given} {'is' if len(sol.unread) == 1 else 'are'} not read by {sol.method}, which "
                     f"reads {', '.join(method.reads or ())} besides restarts, seed and precision")
    lines.append(method.solved_line(sol))
    if sol.rounds > 1:
        first = "the first run" if sol.rounds == 2 else f"the first {sol.rounds - 1} runs"
        lines.append(f"rounds   no restart of {first} reached an answer that satisfies the riddle, so riddle "
                     f"ran all restarts again with a fresh seed (at most {c.rounds} runs)")
    if not sol.rows:
        lines.append("no sample was accepted: raise --max-seconds, or try --method advi")
        return "\n".join(lines)
    width = max(len(_answer(row.answer)) for row in sol.rows)
    lines.append(f"{'answer':<{max(width, 6)}}  {method.unit:>8}  share    ELBO   judged")
    shown = sol.rows[:8]
    for row in shown:
        verdict = "✓ solution" if row.correct else "✗ " + "; ".join(row.broken[:2])
        lines.append(f"{_answer(row.answer):<{max(width, 6)}}  {row.restarts:>8}  {row.share:>5.0%}  "
                     f"{row.mean_elbo:>7.1f}   {verdict}")
    if len(sol.rows) > len(shown):
        rest = sum(r.restarts for r in sol.rows[len(shown):])
        lines.append(f"… {len(sol.rows) - len(shown)} more answers from {rest} restarts")
    lo, hi = sol.interval
    answer = _answer(sol.answer.answer) if sol.answer else "none"
    mark = "" if sol.answer is None else (" ✓" if sol.answer.correct else " ✗ (not a solution)")
    if sol.answer is not None and sol.answer is not sol.rows[0] and sol.answer.correct:
        mark += " (the most common verified answer; more restarts settled on answers that break a statement)"
    per = f" · {sol.solve_seconds / sol.successes:.2f} s per judge-confirmed answer" if sol.successes else ""
    tail = f"success {sol.success_rate:.0%} {method.per_row} (95 % CI {lo:.0%}–{hi:.0%}){per} · answer {answer}{mark}"
    if files:
        tail += " · " + " · ".join(f"{k}: {v}" for k, v in files.items())
    lines.append(tail)
    shape = board_shape([u.name for u in sol.graph.unknowns])
    if sol.answer is not None and shape is not None:               # a grid's answer as its grid
        lines += _board_lines(sol.answer.answer, shape,
                              {f.scope[0] for f in sol.graph.reads}, [u.name for u in sol.graph.unknowns])
    for ob in sol.observations:
        through = f" through {', '.join(ob['through'])}" if ob.get("through") else ""
        entries = "entries" if through else "pixels"
        lines.append(f"seen     {ob['unknown']} looks like \"{ob['path']}\"{through} (line {ob['line']}): "
                     f"{ob['seen_pixels']} {entries} seen, σ {ob['noise']:g} · {ob['kept']} of {ob['restarts']} "
                     f"restarts keep them (χ² per seen entry ≤ {ob['threshold_chi2']:g} against the noise and the "
                     f"generator's misfit, RMS {ob['expected_rms']:.3f}; median χ² {ob['chi2_median']:.2f}, "
                     f"RMS {ob['rms_median']:.3f})")
    lines += method.report_lines(sol.diagnostics)
    dv = sol.diversity
    if dv and dv["ratio"] is not None:
        real = ""
        if dv.get("real_ratio"):
            real = (f"; real handwriting of those digits: ratio {np.mean(list(dv['real_ratio'].values())):.2f}, "
                    f"lowest {dv['real_ratio_min']:.2f}")
        lines.append(f"variety  the {dv['restarts']} drawings of answer {answer} differ by "
                     f"{_mean(dv['per_unknown']):.3f} RMS per pixel (the prior's own drawings of those digits: "
                     f"{_mean(dv['prior']):.3f}; ratio {dv['ratio']:.2f}{real})")
    if sol.lineages < sol.restarts:
        lines.append(f"cloning: the {sol.restarts} restarts descend from {sol.lineages} of the initial ones "
                     f"({sol.successful_lineages} of them reached a solution); the interval treats restarts as "
                     "independent")
    lines += [f"note: domain `{d}` has no independent judge; its label classifier judged the answers"
              for d in sol.self_judged]
    return "\n".join(lines)


def solution_json(sol: Solution) -> dict:
    names = [u.name for u in sol.riddle.unknowns]
    c = sol.config
    out = {
        "file": sol.riddle.file,
        "unknowns": names,
        "device": sol.device,
        "precision": sol.precision,
        "seed": c.seed,
        "method": sol.method,
        "models": sol.models,
        "restarts": sol.restarts if not sol.unsatisfiable else c.restarts,
        # what a row of the answer table is for this method (samples, restarts or chains) and how its success
        # rate reads: "restarts" above keeps its name for every method (an API field), the unit says what they are
        "unit": find_method(sol.method).unit,
        "per_row": find_method(sol.method).per_row,
        "settings": {
            "pairs": c.pairs,
            "steps": c.steps,
            "anneal": list(c.anneal),
            "lr": c.lr,
            "init_sigma": c.init_sigma,
            "init_candidates": c.init_candidates,
            "search": c.search,
            "clone": c.clone,
            "clone_per_stage": c.clone_per_stage,
            "start": c.start,
            "rounds": c.rounds,
            "logic": c.logic,
        },
        "rounds": sol.rounds,
        "symbolic": {
            **sol.symbolic.to_json(),
            "solutions": None if sol.symbolic.solutions is None else sol.symbolic.solutions[:100].tolist(),
            "conflict": [s.span.line for s in sol.symbolic.conflict],
        },
        "seconds": round(sol.seconds, 3),
        "solve_seconds": round(sol.solve_seconds, 3),
        "images_per_second": round(sol.images_per_second, 1),
    }
    if sol.logic is not None:
        out["logic"] = sol.logic.to_json()
    if sol.observations:
        out["observations"] = sol.observations
    if sol.diagnostics:
        out["diagnostics"] = sol.diagnostics
    if sol.auto:
        out["auto"] = sol.auto
    if sol.unread:
        out["unread_settings"] = list(sol.unread)
    if sol.unsatisfiable:
        out.update(answer=None, success_rate=0.0, answers=[])
        return out
    lo, hi = sol.interval
    out.update({
        "answer": list(sol.answer.answer) if sol.answer else None,
        "answer_correct": sol.answer.correct if sol.answer else None,
        "success_rate": sol.success_rate,
        "success_interval_95": [lo, hi],
        "seconds_per_correct": sol.solve_seconds / sol.successes if sol.successes else None,
        "lineages": sol.lineages,
        "diversity": sol.diversity,
        "successful_lineages": sol.successful_lineages,
        "self_judged_domains": sol.self_judged,
        "answers": [{"answer": list(r.answer), "restarts": r.restarts, "share": r.share, "mean_elbo": r.mean_elbo,
                     "best_elbo": r.best_elbo, "correct": r.correct, "broken": list(r.broken)} for r in sol.rows],
        "per_restart": {"answer": sol.answers.tolist(), "elbo": [round(float(e), 3) for e in sol.elbo],
                        "judge_confidence": np.round(sol.confidence, 4).tolist(),
                        "sample_share": np.round(sol.sample_share, 4).tolist(),
                        "ancestor": sol.ancestors.tolist()},
    })
    if sol.kept is not None and sol.observations:
        out["per_restart"]["pixels_kept"] = sol.kept.tolist()
    return out


def _board_lines(answer, shape: tuple[int, int], read: set[str], names: list[str]) -> list[str]:
    """The answer laid out as its grid, boxes apart where the side is a square (a Sudoku's 3 × 3), the
    cells read from a sheet marked with a dot after the digit."""
    rows, cols = shape
    box = int(round(cols ** 0.5)) if int(round(cols ** 0.5)) ** 2 == cols and cols > 3 else cols
    band = int(round(rows ** 0.5)) if int(round(rows ** 0.5)) ** 2 == rows and rows > 3 else rows
    width = max(len(str(v)) for v in answer) + 1
    out = []
    for r in range(rows):
        if r and r % band == 0:
            out.append("         " + "┼".join("─" * (box * (width + 1) + 1) for _ in range(cols // box))[1:])
        cells = [f"{answer[r * cols + c]}{'·' if names[r * cols + c] in read else ''}".ljust(width)
                 for c in range(cols)]
        groups = [" ".join(cells[k:k + box]) for k in range(0, cols, box)]
        out.append(("board    " if r == 0 else "         ") + " │ ".join(groups).rstrip())
    if read:
        out[0] += "      (· read from the sheet)"
    return out


def write_outputs(sol: Solution, directory: str | Path) -> dict[str, str]:
    """PNG per answer (up to 8 restarts × the unknowns), the JSON, samples.npz. Returns what it wrote."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = Path(sol.riddle.file).stem
    written = {}
    if not sol.unsatisfiable:
        # the ten most common answers and the reported one, wherever it ranks; `samples` names the
        # reported answer's picture (it need not be the most common answer: stats.reported_answer)
        reported = sol.answer.answer if sol.answer else None
        ranked = [(k, row) for k, row in enumerate(sol.rows) if k < 10 or row.answer == reported]
        shape = board_shape([u.name for u in sol.graph.unknowns])
        for k, row in ranked:
            members = np.nonzero((sol.answers == np.asarray(row.answer)).all(axis=1))[0][:8]
            if shape is not None:                          # a grid's answers as boards, side by side
                picture = boards(sol.images[members], shape, scale=2)
            else:
                picture = grid(sol.images[members].reshape(-1, *sol.images.shape[2:]), columns=sol.images.shape[1],
                               scale=3)
            # the labels name the file where they are few; a board's 81 would not make a name
            name = f"{stem}-{k + 1}-{'-'.join(map(str, row.answer))}.png" if len(row.answer) <= 16 else \
                f"{stem}-{k + 1}.png"
            write_png(directory / name, picture)
            if row.answer == reported or (k == 0 and "samples" not in written):
                written["samples"] = str(directory / name)
        np.savez_compressed(directory / "samples.npz", images=sol.images.astype(np.float32),
                            answers=sol.answers.astype(np.int64))
    path = directory / f"{stem}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(solution_json(sol), indent=2) + "\n")
    tmp.replace(path)
    written["details"] = str(path)
    return written

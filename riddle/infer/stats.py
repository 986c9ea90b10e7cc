"""Statistics over restarts: the answer table, the per-restart success rate with its 95 % Wilson
interval, and the riddle's reported answer."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..models.variety import pairwise_rms  # noqa: F401 (re-exported: the report's measure)


def wilson(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval for a binomial proportion."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    lo, hi = max(0.0, centre - half), min(1.0, centre + half)
    # exact at the ends (the formula gives 1 − 1e-16 for p = 1)
    return (0.0 if successes == 0 else lo), (1.0 if successes == trials else hi)


@dataclass(frozen=True)
class AnswerRow:
    answer: tuple[int, ...]
    restarts: int
    share: float
    mean_elbo: float
    best_elbo: float
    correct: bool | None               # under the truth tables; None if the oracle cannot say
    broken: tuple[str, ...]            # statements (normal form) the answer breaks


def answer_table(answers: np.ndarray, elbo: np.ndarray, judge, checks: np.ndarray | None = None) -> list[AnswerRow]:
    """answers [R, n] (judged labels per restart), elbo [R]; judge(answer, check) → (correct, broken).
    checks [R, m] (optional): per restart, which of the riddle's m pixel checks its images pass —
    restarts with the same labels but different checks are different rows. Rows sorted by restarts,
    then mean ELBO."""
    R = len(answers)
    plain = checks is None                                 # judge(answer) alone, as before observations
    checks = np.ones((R, 0), bool) if plain else np.asarray(checks, bool).reshape(R, -1)
    keys, inverse = np.unique(np.concatenate([answers, checks.astype(answers.dtype)], 1), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    n = answers.shape[1]
    rows = []
    for k, key in enumerate(keys):
        members = inverse == k
        labels = tuple(int(v) for v in key[:n])
        correct, broken = judge(labels) if plain else judge(labels, tuple(bool(v) for v in key[n:]))
        rows.append(AnswerRow(labels, int(members.sum()), float(members.mean()),
                              float(elbo[members].mean()), float(elbo[members].max()), correct, tuple(broken)))
    return sorted(rows, key=lambda r: (-r.restarts, -r.mean_elbo))


def reported_answer(rows: list[AnswerRow], rule: str = "vote", weight=None) -> AnswerRow | None:
    """The riddle's answer. Answers are first narrowed to the best-verified ones: those whose judged
    labels satisfy every statement with a truth table, if any restart reached one; else those the
    oracle cannot check; else all. Among them, `vote` takes the answer most restarts reached (ties:
    higher mean ELBO), `elbo` the answer of the restart with the highest final ELBO. `weight` (labels →
    its log-probability, known exactly; a sheet's readings) overrides both: the most probable of them.

    Why verified first: on a hard riddle (SEND + MORE = MONEY) most restarts can settle on one
    wrong answer while a few reach the solution; the report should show the answer riddle can
    check, not the popular one it knows breaks a statement (docs/ARCHITECTURE.md)."""
    if not rows:
        return None
    candidates = ([r for r in rows if r.correct] or [r for r in rows if r.correct is None] or rows)
    if weight is not None:                 # max is stable: among equal weights, the most reached (rows' order)
        return max(candidates, key=lambda r: weight(r.answer))
    if rule == "elbo":
        return max(candidates, key=lambda r: r.best_elbo)
    return candidates[0]



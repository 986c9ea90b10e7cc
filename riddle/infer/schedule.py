"""The annealing schedule: the global strength α rises stage by stage (paper: 0.5 → 1 → 3 → 10).
Too strong too early and the solver freezes in the first mode it meets; too weak and the answer
is blurred. Steps are shared equally among the stages."""
from __future__ import annotations


def alpha_at(step: int, steps: int, stages: tuple[float, ...]) -> float:
    stage = min(len(stages) - 1, step * len(stages) // max(1, steps))
    return float(stages[stage])


def stage_starts(steps: int, stages: tuple[float, ...]) -> list[int]:
    return [k * steps // len(stages) for k in range(len(stages))]

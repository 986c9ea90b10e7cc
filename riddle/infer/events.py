"""What a method reports as it works: typed progress events, which the faces render (riddle.solve's
ProgressEvent, the CLI's bar, the playground's stream). Every method's `progress` callback receives one."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Annealed:
    """Progress of an annealed run: step `step` (from 0) done at strength α; `restart` where one restart
    runs at a time (sequential), else None. The solver numbers steps across its rounds."""
    step: int
    alpha: float
    restart: int | None = None


@dataclass(frozen=True)
class Drawn:
    """Progress of a sampler: `drawn` draws so far, `accepted` samples done of the ones asked for."""
    drawn: int
    accepted: int


Progress = Annealed | Drawn

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# `precision auto` means bfloat16 on a CPU with native bf16 and float32 elsewhere, so the same seed could
# take other paths on an AMD EPYC and an Intel Xeon. The suite pins it (set before riddle is imported, and
# inherited by the CLI, sweep and Ray processes the tests start); the tests that are about bfloat16 name it.
os.environ["RIDDLE_AUTO_PRECISION"] = "float32"


@pytest.fixture
def in_repo(monkeypatch):
    """Run with the repository root as working directory, so file names in diagnostics are stable."""
    monkeypatch.chdir(ROOT)
    return ROOT


def update_golden() -> bool:
    return os.environ.get("RIDDLE_UPDATE_GOLDEN") == "1"

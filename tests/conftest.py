import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def in_repo(monkeypatch):
    """Run with the repository root as working directory, so file names in diagnostics are stable."""
    monkeypatch.chdir(ROOT)
    return ROOT


def update_golden() -> bool:
    return os.environ.get("RIDDLE_UPDATE_GOLDEN") == "1"

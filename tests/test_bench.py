"""bench/ as a registry: every script is registered, sections are replaced in place, provenance is kept."""
from __future__ import annotations

import json
import sys

import pytest

from .conftest import ROOT

sys.path.insert(0, str(ROOT))                       # bench/ is a package at the repository's root

from bench.common import replace_section, save_json  # noqa: E402
from bench.registry import BENCHES  # noqa: E402

HELPERS = {"__init__", "__main__", "common", "registry", "runs"}


def test_every_bench_script_is_registered():
    scripts = {p.stem for p in (ROOT / "bench").glob("*.py")} - HELPERS
    assert scripts == {name for name, bench in BENCHES.items() if bench.script}


def test_a_section_is_replaced_in_place_or_appended_and_must_carry_its_heading():
    text = "# Benchmarks\n\nintro\n\n## A\n\nold a\n\n## B\n\nb\n"
    assert replace_section(text, "## A", "## A\n\nnew a\n") == "# Benchmarks\n\nintro\n\n## A\n\nnew a\n\n## B\n\nb\n"
    assert replace_section(text, "## C", "## C\n\nc\n").endswith("## B\n\nb\n\n## C\n\nc\n")
    with pytest.raises(ValueError, match="written into the slot"):
        replace_section(text, "## A", "## B\n\nwrong\n")


def test_kept_results_record_their_provenance(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(ROOT / "bench" / "solve.py"), "--seeds", "3"])
    save_json(tmp_path / "x.json", {"rows": [1]})
    p = json.loads((tmp_path / "x.json").read_text())["provenance"]
    assert {"commit", "dirty", "torch", "machine", "threads", "precision", "command", "date"} <= set(p)
    assert p["command"] == "python -m bench.solve --seeds 3" and p["precision"] in ("float32", "bfloat16")
    save_json(tmp_path / "y.json", {"rows": [], "provenance": {"commit": "abc"}}, keep=True)   # a render keeps it
    assert json.loads((tmp_path / "y.json").read_text())["provenance"] == {"commit": "abc"}

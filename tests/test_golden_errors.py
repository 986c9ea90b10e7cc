"""Every file in tests/errors/ is a mistake a user makes; beside it, NAME.expected is exactly what
`riddle check` must say (stderr, no colour). Regenerate after a deliberate change with
RIDDLE_UPDATE_GOLDEN=1 and read the diff."""
from pathlib import Path

import pytest

from riddle.cli import main
from riddle.lang import load
from riddle.lang.errors import render_all

from .conftest import ROOT, update_golden

CASES = sorted((ROOT / "tests" / "errors").glob("*.rdl"))


def test_enough_distinct_mistakes():
    assert len(CASES) >= 25
    codes = {d.code for case in CASES for d in load(case).diagnostics}
    assert len(codes) >= 15, codes


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_diagnostics_match_golden(case: Path, in_repo):
    riddle = load(case.relative_to(ROOT))
    assert riddle.diagnostics, "a file in tests/errors must produce a diagnostic"
    text = render_all(riddle.diagnostics, riddle.source) + "\n"
    expected = case.with_suffix(".expected")
    if update_golden():
        expected.write_text(text, encoding="utf-8")
    assert text == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_cli_exit_status(case: Path, in_repo, capsys):
    riddle = load(case.relative_to(ROOT))
    status = main(["check", str(case.relative_to(ROOT))])
    err = capsys.readouterr().err
    assert status == (2 if not riddle.ok else 0)
    assert "Traceback" not in err
    first = riddle.diagnostics[0]
    assert f"{first.severity}[{first.code}]" in err

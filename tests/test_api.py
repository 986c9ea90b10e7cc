"""The Python API (riddle.check, riddle.solve → Result) and the CLI going through it."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import riddle
from riddle.cli import main
from riddle.lang.errors import RiddleError

ROOT = Path(__file__).resolve().parents[1]
LOOP = ROOT / "puzzles" / "loop.rdl"
SMALL = {"restarts": 12, "steps": 50, "seed": 0}


@pytest.fixture(scope="module")
def loop_result():
    events = []
    result = riddle.solve(LOOP, progress=events.append, method="advi", **SMALL)
    return result, events


def test_check_reads_text_and_paths_alike():
    from_path = riddle.check(LOOP)
    from_name = riddle.check(str(LOOP))
    from_text = riddle.check(LOOP.read_text())
    for r in (from_path, from_name, from_text):
        assert r.ok and r.solution_count == 1 and r.solutions == [(6, 3)]
    assert from_text.riddle.file == "<riddle>"
    assert from_path.to_json()["statements"] == from_text.to_json()["statements"]


def test_check_json_is_what_the_cli_prints(capsys):
    assert main(["check", "--json", str(LOOP)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(riddle.check(LOOP).to_json()))


def test_check_reports_every_mistake_with_its_span_and_never_raises():
    r = riddle.check("digits a, b\na + b = 17\na is od\nb is eveen\n")
    assert not r.ok
    codes = [(d.code, d.span.line, d.span.column) for d in r.errors]
    assert codes == [("R011", 3, 6), ("R011", 4, 6)]
    text = r.render_diagnostics()
    assert "<riddle>:3:6" in text and "^^" in text and "did you mean `odd`?" in text
    with pytest.raises(RiddleError):
        r.raise_for_errors()
    assert "<pre>" in r._repr_html_()


def test_a_contradiction_is_checked_ok_to_solve_but_has_no_answer():
    text = "digits a\na > 5\na < 3\n"
    r = riddle.check(text)
    assert r.solution_count == 0 and not r.ok and r.graph is not None
    result = riddle.solve(text, restarts=2, steps=2)
    assert result.unsatisfiable and result.answer is None and result.images.shape == (0, 1, 28, 28)
    assert result.to_json()["answer"] is None


@pytest.mark.slow
def test_solve_returns_the_answer_images_and_the_cli_json(loop_result, tmp_path):
    result, _ = loop_result
    assert result.answer == [6, 3] and result.correct
    assert result.unknowns == ["u", "v"]
    assert result.images.shape == (12, 2, 28, 28) and result.images.dtype == np.float32
    assert 0 < result.success_rate <= 1
    lo, hi = result.interval
    assert lo <= result.success_rate <= hi
    rows = result.answers
    assert rows[0]["answer"] == [6, 3] and sum(r["restarts"] for r in rows) == 12
    data = result.to_json()
    assert data["answer"] == [6, 3] and data["restarts"] == 12 and len(data["per_restart"]["answer"]) == 12
    json.dumps(data)                                            # plain JSON all through
    written = result.save(tmp_path / "out")
    assert Path(written["details"]).is_file() and Path(written["samples"]).suffix == ".png"
    with np.load(tmp_path / "out" / "samples.npz") as npz:
        assert npz["images"].shape == (12, 2, 28, 28)
    assert "answer 6 3 ✓" in result.text()


def test_the_html_repr_has_the_table_and_an_inline_png(loop_result):
    result, _ = loop_result
    page = result._repr_html_()
    assert "<table>" in page and "<code>6 3</code>" in page and "✓ solution" in page
    assert 'src="data:image/png;base64,' in page
    png = result.png()
    assert png.startswith(b"\x89PNG")
    picture = result.answer_images()
    assert picture.shape[1:] == (2, 28, 28) and 1 <= len(picture) <= 8


def test_progress_reports_every_step_and_the_current_drawings(loop_result):
    _, events = loop_result
    assert [e.step for e in events] == list(range(1, 51))
    assert all(e.total == 50 and e.round == 1 for e in events)
    assert [e.alpha for e in events][0] == 0.5 and events[-1].alpha == 10
    shown = [e for e in events if e.images is not None]
    assert [e.step for e in shown] == [1, 11, 21, 31, 41, 50]
    assert all(e.images.shape == (4, 2, 28, 28) for e in shown)
    assert not np.allclose(shown[0].images, shown[-1].images)      # they anneal


def test_progress_may_stop_a_solve():
    class Stop(Exception):
        pass

    def progress(e):
        if e.step == 3:
            raise Stop()
    with pytest.raises(Stop):
        riddle.solve(LOOP, restarts=2, steps=100, method="advi", progress=progress)


def test_bad_settings_and_bad_riddles_raise_clear_errors():
    with pytest.raises(ValueError, match="`restarts` must lie between 1"):
        riddle.solve(LOOP, restarts=0)
    with pytest.raises(ValueError, match="whole number"):
        riddle.solve(LOOP, steps=10.5)
    with pytest.raises(ValueError, match="`method` must be one of"):
        riddle.solve(LOOP, method="magic")
    with pytest.raises(TypeError, match="unexpected settings: stepz"):
        riddle.solve(LOOP, stepz=3)
    with pytest.raises(RiddleError, match="R011"):
        riddle.solve("digits a\na is od\n")


@pytest.mark.slow
def test_settings_override_the_files_solve_with_line():
    result = riddle.solve("digits a\na = 4\nsolve with 3 restarts, 9 steps\n", restarts=2)
    assert result.solution.restarts == 2 and result.solution.config.steps == 9


def test_uploaded_images_only_never_the_disk():
    seen = (ROOT / "puzzles" / "seen" / "two.png").read_bytes()
    ok = riddle.check('digits a\na looks like "two.png"\na < 5\n', files={"two.png": seen})
    assert ok.ok, ok.render_diagnostics()
    # a path that exists on this machine is not read when uploads are the rule
    path = str(ROOT / "puzzles" / "seen" / "two.png")
    refused = riddle.check(f'digits a\na looks like "{path}"\n', files={"two.png": seen})
    assert [d.code for d in refused.errors] == ["R060"]
    assert "no uploaded image named" in refused.errors[0].message
    typo = riddle.check('digits a\na looks like "tow.png"\n', files={"two.png": seen})
    assert typo.errors[0].help == "did you mean `two.png`?"
    broken = riddle.check('digits a\na looks like "two.png"\n', files={"two.png": b"not a png"})
    assert "not an image riddle can read" in broken.errors[0].message


def test_the_cli_checks_out_before_it_solves(tmp_path, capsys, monkeypatch):
    import riddle.api

    def no_solve(*a, **k):
        raise AssertionError("solved before finding --out unwritable")
    monkeypatch.setattr(riddle.api, "solve", no_solve)
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    assert main(["solve", str(LOOP), "--out", str(blocker / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--out: cannot write to" in err and "internal error" not in err

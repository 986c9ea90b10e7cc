"""Arrays, slices, loops, sheets and statements over several lines (riddle/lang/expand.py, the post-lexer)."""
from __future__ import annotations

from pathlib import Path

import pytest

from riddle.lang import load_text
from riddle.lang.format import format_text

ROOT = Path(__file__).resolve().parents[1]

SUDOKU_4 = """\
digits cell[4][4]
cell >= 1
cell <= 4
for r in 1..4: all different cell[r]
for c in 1..4: all different cell[1..4][c]
for br in 0..1, bc in 0..1: all different cell[2*br+1..2*br+2][2*bc+1..2*bc+2]
"""


def texts(riddle):
    return [s.text() for s in riddle.statements]


def test_an_array_declares_one_unknown_per_element_rows_first():
    r = load_text("digits cell[2][3]\ncell[2][3] is 4\nx[0..2]: digit\nx[0] = 1\n")
    assert [u.name for u in r.unknowns] == ["cell[1][1]", "cell[1][2]", "cell[1][3]", "cell[2][1]", "cell[2][2]",
                                           "cell[2][3]", "x[0]", "x[1]", "x[2]"]
    assert [d.code for d in r.diagnostics if d.is_error] == []


def test_loops_slices_and_boxes_write_out_the_sudoku_groups():
    r = load_text(SUDOKU_4)
    assert not [d for d in r.diagnostics if d.is_error]
    distinct = [s for s in r.statements if s.kind == "distinct"]
    assert len(distinct) == 12 and len(r.statements) == 16 + 16 + 12
    assert distinct[0].unknowns == ("cell[1][1]", "cell[1][2]", "cell[1][3]", "cell[1][4]")       # row 1 (cell[1])
    assert distinct[4].unknowns == ("cell[1][1]", "cell[2][1]", "cell[3][1]", "cell[4][1]")       # column 1
    assert distinct[11].unknowns == ("cell[3][3]", "cell[3][4]", "cell[4][3]", "cell[4][4]")      # the last box


def test_a_bound_may_use_an_earlier_binding_and_a_loop_name_is_a_number_in_a_relation():
    r = load_text("digits x[4]\nfor i in 1..3, j in i+1..4: x[i] < x[j]\nfor i in 1..4: x[i] != i\n")
    assert not [d for d in r.diagnostics if d.is_error]
    assert len(r.statements) == 6 + 4
    assert texts(r)[:2] == ["x[1] < x[2]", "x[1] < x[3]"] and texts(r)[-1] == "label(x[4]) != 4"


def test_slices_broadcast_element_by_element_and_a_slice_in_a_list_is_its_parts():
    r = load_text("digits a[3], b[3]\na[1..3] = b[1..3] + 1\nexactly 1 of { a[1..3] is 7 }\nnum(b[1..3]) = 123\n")
    assert not [d for d in r.diagnostics if d.is_error]
    assert texts(r)[:3] == ["a[1] = b[1] + 1", "a[2] = b[2] + 1", "a[3] = b[3] + 1"]
    assert len(r.statements[3].parts) == 3
    assert r.statements[4].unknowns == ("b[1]", "b[2]", "b[3]")


@pytest.mark.parametrize("text, code", [
    ("digits c[3][3]\nc[4][1] is 2\n", "R080"),
    ("digits c[3][3]\nc[1][0..5] is 2\n", "R080"),
    ("digits c[9]\nfor i in 1..1000000: c[1] is 2\n", "R083"),
    ("digits c[9]\nfor i in 1..1000, j in 1..1000: c[1] is 2\n", "R083"),
    ("digits c[100000000]\n", "R083"),
    ("digits c[3][3]\nnum(c[1..2][1..3]) = 12\n", "R085"),
    ("digits c[9]\nfor i in 5..1: c[i] is 2\n", "R084"),
    ("digits c[9]\nc[5..1] is 2\n", "R084"),
    ("digits c[9]\nfor i in 1..9: c[j] is 2\n", "R082"),
    ("digits c[9]\nc[c[1]] is 2\n", "R082"),
    ("digits c[2][2][2][2][2]\n", "R081"),
    ("digits c[9]\nc[1][2] is 2\n", "R081"),
    ("digits c[9]\nfor c in 1..9: c[1] is 2\n", "R086"),
    ("digits c[9]\nc[10000000000] is 1\n", "R083"),
])
def test_hostile_forms_get_one_clear_error_each_and_never_hang(text, code):
    import time
    started = time.perf_counter()
    r = load_text(text)
    errors = [d for d in r.diagnostics if d.is_error]
    assert [d.code for d in errors] == [code], [d.message for d in errors]
    assert errors[0].span is not None and time.perf_counter() - started < 2


def test_a_statement_runs_over_lines_inside_parentheses_not_inside_braces():
    r = load_text("digits a, b, c\n(a +\n  b) = c\nexactly 1 of {\n  a is odd\n  b is odd\n}\nc = (1 +\n  a)\n")
    assert not [d for d in r.diagnostics if d.is_error]
    assert texts(r)[0] == "a + b = c" and len(r.statements[1].parts) == 2 and texts(r)[2] == "c = 1 + a"


def test_fmt_keeps_loops_and_indexes_tight_and_lays_a_long_sum_over_lines():
    text = ("digits cell[ 4 ][4]\n"
            "for br in 0 .. 1 , bc in 0..1: all different cell[ 2 * br+1 .. 2*br+2 ][2*bc+1..2*bc+2]\n"
            "digits a, b, c, d, e\n" + " + ".join(["num(a, b, c, d, e)"] * 8) + " = num(e, d, c, b, a)\n")
    out = format_text(text)
    lines = out.splitlines()
    assert lines[:2] == ["digits cell[4][4]",
                         "for br in 0..1, bc in 0..1: all different cell[2*br+1..2*br+2][2*bc+1..2*bc+2]"]
    assert lines[3] == "(" and lines[-1] == ") = num(e, d, c, b, a)" and all(len(x) <= 100 for x in lines)
    assert format_text(out) == out


def test_the_199_addend_alphametic_checks_to_its_one_solution():
    from riddle.api import check
    result = check(ROOT / "puzzles" / "alphametic-199.rdl")
    assert result.symbolic.count == 1
    assert tuple(result.symbolic.solutions[0]) == (1, 0, 5, 8, 7, 2, 6, 3, 4, 9)           # a e f h i l o r s t


def test_a_sheet_is_cut_into_cells_ink_seen_and_blank_cells_unseen(tmp_path):
    """A synthetic 2 x 3 sheet with pencil grid lines: known strokes in three cells, three left blank."""
    import numpy as np
    from PIL import Image
    cell = 40                                            # pixels per cell side; 12 % margins crop the lines
    sheet = np.zeros((2 * cell, 3 * cell), np.uint8)
    sheet[::cell, :] = 120                               # grid lines, dimmer than ink, on the cut edges
    sheet[:, ::cell] = 120
    strokes = {(0, 0): (slice(10, 30), slice(18, 22)),  # a vertical bar
               (1, 1): (slice(18, 22), slice(10, 30)),  # a horizontal bar
               (1, 2): (slice(10, 30), slice(10, 30))}  # a filled square
    for (r, c), (ys, xs) in strokes.items():
        sheet[r * cell:(r + 1) * cell][ys, c * cell:(c + 1) * cell][:, xs] = 255
    Image.fromarray(sheet).save(tmp_path / "board.png")
    (tmp_path / "grid.rdl").write_text('digits g[2][3]\ng looks like "board.png" split 2 x 3\n')
    from riddle.lang import load
    r = load(tmp_path / "grid.rdl")
    assert not [d for d in r.diagnostics if d.is_error], [d.message for d in r.diagnostics]
    seen = {s.unknowns[0]: s for s in r.statements}
    assert sorted(seen) == ["g[1][1]", "g[2][2]", "g[2][3]"]   # the blank cells are unseen, not observed white
    bar = seen["g[1][1]"].pixels
    assert bar.shape == (28, 28)
    cols = bar.mean(0)
    assert cols.argmax() in range(12, 16) and bar[:, :6].max() < 0.1    # the stroke in the middle, no grid line
    assert seen["g[2][2]"].pixels.mean(1).argmax() in range(12, 16)     # a horizontal bar stays horizontal
    assert seen["g[2][3]"].pixels.mean() > seen["g[1][1]"].pixels.mean()


@pytest.mark.parametrize("text, plain", [
    ("digits a, b\na + b = 3\n", True),
    ("digits a, b\n(a + b) * 2 = 6 or a is odd\n", True),
    ("digits cell[2]\ncell[1] = 1\n", False),                         # an array reference
    ("digits a, b\nfor i in 1..2: a = i\n", False),                     # a loop
    ("digits c[2][2]\nc looks like \"b.png\" split 2 x 2\n", False),    # a sheet (and a reference)
])
def test_the_parser_says_whether_a_riddle_uses_arrays_loops_or_sheets(text, plain):
    """`Riddle.plain` spares the expander a walk of every statement: it must never call a riddle with forms plain."""
    from riddle.lang.errors import Source
    from riddle.lang.expand import needs_expansion
    from riddle.lang.parser import parse
    riddle, _ = parse(Source("r.rdl", text))
    assert riddle.plain is plain and needs_expansion(riddle) is not plain

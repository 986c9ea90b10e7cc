"""Sheets read: a cell's picture is its unknown's image, P(label | picture) its evidence; the most probable
valid boards are enumerated (graph/build.ReadFactor, graph/search.most_probable, graph/joint, infer/cells)."""
from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from riddle.graph import build, joint, search
from riddle.graph.build import READ_FLOOR, ReadFactor
from riddle.graph.logic import DenseLogic
from riddle.lang import load_text

from .test_models import needs_weights
from .test_search import LATIN_3 as LATIN


def latin_squares() -> np.ndarray:
    """Every 3 x 3 Latin square over 1..3, rows [12, 9] in the riddle's order (g[1][1], g[1][2], …)."""
    out = []
    for cells in itertools.product((1, 2, 3), repeat=9):
        g = np.array(cells).reshape(3, 3)
        if all(len(set(g[r])) == 3 for r in range(3)) and all(len(set(g[:, c])) == 3 for c in range(3)):
            out.append(cells)
    return np.array(out, np.int64)


def with_reads(graph, evidence: dict[str, np.ndarray], puzzle: bool = False):
    """The Latin-square graph with read cells of made-up evidence (10 labels, 0..9) on some unknowns."""
    statement = graph.factors[0].statement
    reads = tuple(ReadFactor(f"read.{n}", statement, (n,), 1.0, DenseLogic((n,), e >= READ_FLOOR),
                             np.zeros((28, 28), np.float32), e, puzzle) for n, e in evidence.items())
    return replace(graph, factors=graph.factors + reads)


def made_up_evidence(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for n in ("g[1][1]", "g[2][2]", "g[3][1]"):
        e = rng.dirichlet(np.full(10, 0.3))
        e[0] = 1e-9                                     # a label the domain rules out anyway (g >= 1)
        out[n] = e / e.sum()
    return out


def brute_weights(squares: np.ndarray, names, evidence) -> np.ndarray:
    total = np.zeros(len(squares))
    for n, e in evidence.items():
        total += np.log(np.maximum(e[squares[:, names.index(n)]], 1e-300))
    return total


@pytest.mark.parametrize("seed", range(4))
def test_most_probable_lists_every_square_within_the_bound_and_no_other(seed):
    """CP-SAT's MAP and its list within e^-Δ of it, against brute force over all 3^9 fillings."""
    graph = build(load_text(LATIN))
    evidence = made_up_evidence(seed)
    g = with_reads(graph, evidence)
    factors = [f for f in g.factors if joint.label_level(f)]
    names = list(g.names)
    squares = latin_squares()
    weights = brute_weights(squares, names, evidence)
    allowed = np.ones(len(squares), bool)
    for n, e in evidence.items():
        allowed &= e[squares[:, names.index(n)]] >= READ_FLOOR
    squares, weights = squares[allowed], weights[allowed]
    for limit in (1, 3, 12):
        found = search.most_probable(g, factors, names, limit, (1.0, 3.0, 10.0, 40.0))
        if found is None:                                                   # not even the tightest list fits
            assert (weights >= weights.max() - 1.0 - 1e-2).sum() > limit
            continue
        rows, delta = found
        expect = squares[weights >= weights.max() - delta + 1e-2]             # the integer weights' resolution
        assert len(rows) <= limit
        assert {tuple(r) for r in expect} <= {tuple(r) for r in rows}
        assert all(brute_weights(rows, names, evidence) >= weights.max() - delta - 1e-2)


def test_a_plan_too_long_to_list_keeps_the_most_probable_and_says_what_it_left_out(monkeypatch):
    graph = build(load_text(LATIN))
    evidence = {}
    for n, top in (("g[1][1]", 1), ("g[2][2]", 3), ("g[3][1]", 2)):      # sure readings: the squares weigh
        e = np.full(10, 1e-4)                                            # 1, e^-6.9 or e^-13.8 of the best, 4 each
        e[1:4], e[top] = 1e-3, 0.99
        evidence[n] = e / e.sum()
    g = with_reads(graph, evidence)
    squares = latin_squares()
    monkeypatch.setattr(joint, "ENUMERATE_LIMIT", 9 * 9)          # 9 rows of 9 unknowns at most: not all 12
    program = joint.compile_logic(g, solutions=squares)
    (group,) = program.groups
    assert group.within == 10 and not group.exact and not program.exact        # e^-14 would take all 12
    names = list(g.names)
    weights = brute_weights(squares, names, evidence)
    keep = weights >= weights.max() - group.within
    assert group.size == keep.sum() == 8
    share = np.exp(weights - weights.max())
    assert group.left_out == pytest.approx(share[~keep].sum() / share.sum())
    assert "most probable" in group.describe() and "most probable" in program.describe()[0]


def test_a_read_cell_allows_the_labels_its_reading_gives_at_least_the_floor():
    graph = build(load_text(LATIN))
    e = np.array([0.5, 0.3, 0.2 - 1e-7, 1e-7] + [0.0] * 6)
    g = with_reads(graph, {"g[1][1]": e})
    read = g.reads[0]
    assert read.logic.table.tolist() == [True, True, True, False] + [False] * 6
    assert g.unread_mass() == pytest.approx(1e-7)


@needs_weights
def test_a_handwritten_4x4_is_read_whole_and_completed(tmp_path):
    """bench/boards' seed-2 4 x 4 board, its 6 givens written with held-out digits and said `with one solution`:
    the check reads them and plans one board — the written one, whatever the sampler weighs — and a small solve
    keeps each given's picture as its image and draws the blank cells."""
    import riddle
    from bench.boards import Ink, make_board, write
    board = make_board(4, 6, 2)
    path = write(board, Ink(2), tmp_path)
    checked = riddle.check(path)
    assert checked.ok
    reads = checked.graph.reads
    assert len(reads) == 6 and all(abs(f.evidence.sum() - 1) < 1e-9 for f in reads) and all(f.puzzle for f in reads)
    assert checked.logic.exact and checked.logic.groups[0].plan == "enumerate"
    truth = board.solution.reshape(-1)
    rows = checked.logic.groups[0].rows
    labels = np.asarray(checked.graph.unknowns[0].domain.labels)[rows]
    # the readings' boards of one completion: the written one carries all but < 10⁻³ of their weight
    scope = checked.logic.groups[0].scope
    weight = sum(np.log(f.evidence)[labels[:, scope.index(f.scope[0])]] for f in reads)          # [m]
    share = np.exp(weight - weight.max()) / np.exp(weight - weight.max()).sum()
    assert labels[share.argmax()].tolist() == truth.tolist() and share.max() > 1 - 1e-3
    result = riddle.solve(checked, restarts=8, seed=0)
    sol = result.solution
    given = board.givens.reshape(-1)
    assert (sol.answers[:, given] == truth[given]).all()   # every sample: the rest weigh < 10⁻³ together
    index = {n: i for i, n in enumerate(checked.graph.names)}
    for f in reads:                                  # the picture itself, not a drawing
        assert np.array_equal(sol.images[:, index[f.scope[0]]], np.broadcast_to(f.pixels, sol.images[:, 0].shape))
    drawn = sol.images[:, ~given]
    assert drawn.std(axis=0).mean() > 0.01           # the blank cells are drawn, each sample its own
    assert "read: 6 cells" in riddle.api.check_text(checked.riddle, checked.symbolic, checked.logic)


def test_a_board_of_answers_is_laid_out_as_its_grid():
    from riddle.report.images import board_shape, boards
    names = [f"cell[{r}][{c}]" for r in range(1, 3) for c in range(1, 4)]
    assert board_shape(names) == (2, 3)
    assert board_shape(names[::-1]) is None                    # not in row-major order: a row, as before
    assert board_shape(["a", "b", "c", "d"]) is None
    images = np.zeros((2, 6, 28, 28), np.float32)
    picture = boards(images, (2, 3))
    one = 2 + 2 * 30                                          # two rows of 28 + 2 padding, and the edge
    assert picture.shape == (one, 2 * (2 + 3 * 30) + 8)


def test_bench_boards_are_unique_and_their_sheets_hold_the_held_out_digits(tmp_path):
    from bench.boards import CELL, Ink, completions, make_board, sheet
    from riddle.lang.observe import read_sheet_cell
    board = make_board(9, 30, 3)
    assert board.givens.sum() == 30
    clues = {(r, c): int(board.solution[r, c]) for r, c in zip(*np.nonzero(board.givens))}
    assert completions(9, clues) == 1
    ink = Ink(3)
    picture, used = sheet(board, ink)
    assert picture.shape == (9 * CELL, 9 * CELL) and len(used) == 30
    from PIL import Image
    Image.fromarray((picture * 255).round().astype(np.uint8)).save(tmp_path / "s.png")
    (r, c), k = next(iter(used.items()))
    cut, _ = read_sheet_cell(tmp_path / "s.png", (r, c, 9, 9), (28, 28))
    assert np.abs(cut - ink.images[k]).max() <= 0.5 / 255 + 1e-6             # the digit itself, 8-bit
    blank = next((i, j) for i in range(9) for j in range(9) if not board.givens[i, j])
    assert read_sheet_cell(tmp_path / "s.png", (*blank, 9, 9), (28, 28)) is None


def test_with_one_solution_keeps_the_readings_that_one_board_completes():
    """3 x 3 Latin squares: g[1][1] = 1 alone is completed by 4 squares, g[1][1] = 1 with g[2][2] = 2 by one.
    The oracle and the plan keep only the readings of the givens that have one completion."""
    from riddle.graph import solve_symbolic
    from riddle.graph.symbolic import one_completion
    graph = build(load_text(LATIN))
    sure = np.zeros(10)
    sure[1:4] = 1 / 3                                                  # any of 1..3, alike
    g = with_reads(graph, {"g[1][1]": sure, "g[2][2]": sure}, puzzle=True)
    squares = latin_squares()
    names = list(g.names)
    kept = one_completion(g, squares, names)
    cols = [names.index("g[1][1]"), names.index("g[2][2]")]
    readings, counts = np.unique(squares[:, cols], axis=0, return_counts=True)
    completions = {tuple(r): c for r, c in zip(readings.tolist(), counts)}
    assert len(kept) == (counts == 1).sum() > 0                         # (a, a) has two completions, (a, b) one
    assert all(completions[tuple(r)] == 1 for r in kept[:, cols].tolist())
    oracle = solve_symbolic(g)
    assert oracle.count == len(kept)
    assert {tuple(r) for r in oracle.solutions} == {tuple(r) for r in kept}
    assert joint.compile_logic(g, solutions=oracle.solutions).groups[0].size == len(kept)
    plain = with_reads(graph, {"g[1][1]": sure, "g[2][2]": sure})
    assert len(one_completion(plain, squares, names)) == len(squares)   # without the promise: every square


def test_a_grid_answer_is_printed_as_its_grid_with_the_read_cells_marked():
    from riddle.report.output import _board_lines
    names = [f"c[{r}][{c}]" for r in range(1, 5) for c in range(1, 5)]
    answer = (1, 2, 3, 4, 3, 4, 1, 2, 4, 3, 2, 1, 2, 1, 4, 3)
    lines = _board_lines(answer, (4, 4), {"c[1][1]", "c[4][4]"}, names)
    assert lines[0].startswith("board    1· 2  │ 3  4") and lines[0].endswith("(· read from the sheet)")
    assert lines[2].strip().startswith("─") and "┼" in lines[2]          # the 2 x 2 boxes apart
    assert lines[-1].split() == ["2", "1", "│", "4", "3·"]
    assert len(lines) == 5


def test_a_sheets_blank_cells_get_a_uniform_label_prior_and_other_riddles_keep_z(monkeypatch):
    """The board of a riddle that reads a sheet is weighed by its readings and rules alone: the sampler gives a
    blank cell (one only the logic speaks of) a flat label prior, not its Z (how readily the generator draws each
    label); a read cell keeps its reading, and a riddle without a sheet keeps Z. Under fake networks."""
    import torch

    from riddle.infer import collapsed
    from riddle.infer.objective import Networks, Objective

    from .test_infer import fake_registry
    registry, _ = fake_registry()
    graph = build(load_text(LATIN, registry=registry))
    seen: list = []
    real = collapsed.sample_labels
    monkeypatch.setattr(collapsed, "sample_labels", lambda o, log_z, *a: seen.append(log_z) or real(o, log_z, *a))
    config = collapsed.CollapsedConfig(pool=256, max_seconds=0.5)   # only the label priors are looked at: they are
                                                                     # passed before any draw the budget bounds
    evidence = made_up_evidence(0)
    for g in (with_reads(graph, evidence), graph):
        collapsed.sample(Objective(g, Networks.load(g)), 4, seed=0, config=config)
    on_sheet, plain = seen
    names = graph.names
    in_domain = [1, 2, 3]
    for i, name in enumerate(names):
        if name in evidence:                          # the reading itself, up to a constant
            e = np.log(evidence[name][in_domain])
            assert on_sheet[i][in_domain].double().numpy() - on_sheet[i][1].item() == pytest.approx(e - e[0], abs=1e-5)
        else:
            assert torch.all(on_sheet[i][in_domain] == 0), name
    assert any(not torch.all(z[in_domain] == z[1]) for z in plain)      # Z tilts the same cells without a sheet


def test_fixed_views_are_the_picture_then_the_same_distortions_for_every_image():
    import torch

    from riddle.models.views import fixed_views
    x = torch.rand(3, 28, 28, generator=torch.Generator().manual_seed(0))
    v = fixed_views(x, 4)
    assert v.shape == (5, 3, 28, 28) and torch.equal(v[0], x)
    assert torch.equal(fixed_views(x[1:2], 4)[:, 0], v[:, 1])       # a picture's views depend on it alone
    assert torch.equal(fixed_views(x, 4), v) and not torch.equal(v[1], v[2])


@needs_weights
def test_a_cell_is_read_as_the_calibrated_mean_over_its_views():
    import torch

    from riddle.infer.cells import read_cells
    from riddle.models import data as data_mod
    from riddle.models.views import fixed_views
    from riddle.models.zoo import outputs_of
    graph = build(load_text(LATIN))
    digits = data_mod.load_bundled()
    picture = digits.images[data_mod.make_splits(digits.labels, 0).test[0]]
    statement = graph.factors[0].statement
    read = ReadFactor("read.g", statement, ("g[1][1]",), 1.0, DenseLogic(("g[1][1]",), np.ones(10, bool)),
                      picture.numpy(), None)
    graph = replace(graph, factors=graph.factors + (read,))
    domain = graph.unknowns[0].domain
    card = domain.load_reading()
    assert card["views"] > 0 and card["temperature"] > 0
    evidence = read_cells(graph).reads[0].evidence
    net = domain.load_classifier()
    with torch.no_grad():
        logits = torch.stack([outputs_of(net, v)[:, :10].double() for v in fixed_views(picture[None], card["views"])])
    assert evidence == pytest.approx((logits / card["temperature"]).softmax(-1).mean(0)[0].numpy(), abs=1e-9)


def test_the_reported_board_is_the_most_probable_by_its_readings():
    """reading_weight, by which the report picks among the valid boards the samples reached, is log Π of the
    read cells' readings at the board's labels (the board posterior's order: blank cells are a priori flat)."""
    from riddle.infer.solve import reading_weight
    graph = with_reads(build(load_text(LATIN)), made_up_evidence(1))
    weight = reading_weight(graph)
    names = list(graph.names)
    evidence = made_up_evidence(1)
    for square in latin_squares()[:6]:
        expected = sum(np.log(e[square[names.index(n)]]) for n, e in evidence.items())
        assert weight(tuple(int(v) for v in square)) == pytest.approx(expected)
    best = max(latin_squares(), key=lambda sq: weight(tuple(int(v) for v in sq)))
    assert np.array_equal(best, latin_squares()[np.argmax(brute_weights(latin_squares(), names, evidence))])

"""CP-SAT lists what the join cannot hold (riddle/graph/search.py): checked against brute force."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from riddle.graph import build
from riddle.graph.joint import compile_logic
from riddle.graph.search import solutions
from riddle.graph.symbolic import satisfies, solve_symbolic
from riddle.lang import load_text

ROOT = Path(__file__).resolve().parents[1]

LATIN_3 = """\
digits g[3][3]
g >= 1
g <= 3
for r in 1..3: all different g[r]
for c in 1..3: all different g[1..3][c]
"""


@pytest.mark.parametrize("extra, expected", [
    ("", 12),                                  # every 3 x 3 Latin square
    ("g[1][1] is 1\n", 4),
    ("g[1][1] is 1\ng[2][2] = g[1][1] + 1\n", 1),
    ("g[1][1] + g[2][2] + g[3][3] = 9\n", 2),  # a linear constraint beside the tables: diagonal 3 3 3
    ("g[1][1] is 1\ng[1][2] is 1\n", 0),
])
def test_cpsat_lists_exactly_the_boards_brute_force_finds(extra, expected):
    graph = build(load_text(LATIN_3 + extra))
    names = list(graph.names)
    rows = solutions(graph, list(graph.factors), names, limit=1000)
    # brute force: every statement's own truth over all 3^9 boards at once (satisfies() asks one board at a time)
    boards = np.array(list(itertools.product(range(1, 4), repeat=9)))                 # [19683, 9]
    env = {n: boards[:, i] for i, n in enumerate(names)}
    ok = np.ones(len(boards), bool)
    for s in {id(f.statement): f.statement for f in graph.factors}.values():
        ok &= np.broadcast_to(s.holds(env), ok.shape)
    brute = sorted(map(tuple, boards[ok].tolist()))
    assert len(rows) == len(brute) == expected
    assert sorted(map(tuple, rows.tolist())) == brute
    assert all(not satisfies(graph, b) for b in brute[:3])    # the oracle's own check agrees where it is asked


def test_cpsat_says_when_there_are_more_than_its_limit():
    graph = build(load_text(LATIN_3))
    assert solutions(graph, list(graph.factors), list(graph.names), limit=5) is None


@pytest.mark.parametrize("puzzle, size", [("sudoku-4x4.rdl", 16), ("sudoku.rdl", 81)])
def test_a_sudoku_is_one_exact_enumerate_group_and_the_oracle_finds_its_one_board(puzzle, size):
    graph = build(load_text((ROOT / "puzzles" / puzzle).read_text(), str(ROOT / "puzzles" / puzzle)))
    program = compile_logic(graph)
    assert program.exact and [g.plan for g in program.groups] == ["enumerate"]
    assert program.groups[0].size == 1 and len(program.groups[0].unknowns) == size
    result = solve_symbolic(graph)
    assert result.count == 1 and not satisfies(graph, result.solutions[0])
    assert np.all(result.solutions[0] >= 1)


@pytest.mark.slow
def test_a_riddle_of_countless_solutions_is_counted_not_listed_at_length(monkeypatch):
    """60 digits tied by `or`s have 2.1 · 10^52 solutions: the oracle asks CP-SAT first for at most
    FIRST_SEARCH_SECONDS, then counts by contraction, and the planner does not search again for a group of every
    unknown (those searches, in vain, had made `riddle check` of it 1.3 → 9.8 s)."""
    from riddle.graph import search, symbolic
    names = [f"x{i}" for i in range(60)]
    text = "\n".join(["digits " + ", ".join(names[i:i + 15]) for i in range(0, 60, 15)]
                     + [f"x{i} is odd or x{i + 1} > x{i}" for i in range(59)]
                     + ["at least 2 of { " + "; ".join(f"x{i} = 3" for i in range(30)) + " }"]) + "\n"
    asked = []
    real = search.solutions

    def recorded(graph, factors, scope, limit, seconds=search.SEARCH_SECONDS):
        asked.append((set(scope) >= set(graph.names), seconds))
        return real(graph, factors, scope, limit, seconds)
    monkeypatch.setattr(search, "solutions", recorded)
    graph = build(load_text(text, "wide.rdl"))
    result = solve_symbolic(graph)
    assert result.count is None and result.estimate == pytest.approx(2.0956e52, rel=1e-3)
    assert asked == [(True, symbolic.FIRST_SEARCH_SECONDS)]           # the oracle's one brief search
    compile_logic(graph, "joint", result.solutions, too_many=result.solutions is None)
    assert not any(every for every, _ in asked[1:]), asked                   # no group of every unknown searched again

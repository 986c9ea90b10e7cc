"""Sudoku boards for bench/grids.py and the tests: unique-solution puzzles from a seed, their givens written
as a sheet of handwritten digits (the bundled held-out MNIST digits), and the riddle that reads the sheet.

    python -m bench.boards --size 9 --givens 30 --seed 4 --out /tmp/board     writes board.png, board.rdl

A board of side N = b² (4 or 9): the pattern (b·(r mod b) + ⌊r / b⌋ + c) mod N + 1, its bands, stacks,
rows within a band and columns within a stack shuffled and its digits relabelled, from the seed. The puzzle
removes cells in a seeded random order while CP-SAT still finds exactly one completion, until `givens`
remain (a cell whose removal would allow two is kept). The sheet: cells of 36 pixels with a pencil grid
(grey lines 2 pixels wide on the cell borders: within the 12 % margin riddle crops) and each given a
held-out digit of its label, drawn without replacement, in the middle 28 × 28 of its cell.
"""
from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CELL = 36                  # pixels per cell of a sheet; the digit is the middle 28 × 28 (riddle crops 12 %)
GRID_INK = 0.5             # the pencil grid's grey


@dataclass(frozen=True)
class Board:
    size: int                       # N: 4 or 9
    solution: np.ndarray            # int64 [N, N], 1..N
    givens: np.ndarray              # bool [N, N]: the cells written on the sheet
    seed: int

    @property
    def box(self) -> int:
        return int(round(self.size ** 0.5))


def full_board(size: int, rng: random.Random) -> np.ndarray:
    b = int(round(size ** 0.5))
    bands = rng.sample(range(b), b)
    rows = [band * b + r for band in bands for r in rng.sample(range(b), b)]
    stacks = rng.sample(range(b), b)
    cols = [stack * b + c for stack in stacks for c in rng.sample(range(b), b)]
    digits = rng.sample(range(1, size + 1), size)
    return np.array([[digits[(b * (r % b) + r // b + c) % size] for c in cols] for r in rows], np.int64)


def sudoku_model(size: int, clues: dict[tuple[int, int], int]):
    """The CP-SAT model of a board of side `size` with these clues: (model, cells [size][size])."""
    from ortools.sat.python import cp_model
    b = int(round(size ** 0.5))
    model = cp_model.CpModel()
    x = [[model.NewIntVar(1, size, f"x{r}{c}") for c in range(size)] for r in range(size)]
    for r in range(size):
        model.AddAllDifferent(x[r])
    for c in range(size):
        model.AddAllDifferent([x[r][c] for r in range(size)])
    for br in range(b):
        for bc in range(b):
            model.AddAllDifferent([x[br * b + i][bc * b + j] for i in range(b) for j in range(b)])
    for (r, c), v in clues.items():
        model.Add(x[r][c] == v)
    return model, x


def completions(size: int, clues: dict[tuple[int, int], int], limit: int = 2) -> int:
    """How many completions the clues allow, counted up to `limit` (CP-SAT)."""
    from ortools.sat.python import cp_model
    model, _ = sudoku_model(size, clues)

    class Count(cp_model.CpSolverSolutionCallback):
        def __init__(self):
            super().__init__()
            self.found = 0

        def on_solution_callback(self):
            self.found += 1
            if self.found >= limit:
                self.StopSearch()
    solver = cp_model.CpSolver()
    solver.parameters.enumerate_all_solutions = True
    solver.parameters.num_workers = 1
    count = Count()
    solver.Solve(model, count)
    return count.found


def solve_clues(size: int, clues: dict[tuple[int, int], int]) -> np.ndarray | None:
    """One completion of the clues (CP-SAT), or None: what a user's own pipeline does after reading."""
    from ortools.sat.python import cp_model
    model, x = sudoku_model(size, clues)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    if solver.Solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return np.array([[solver.Value(x[r][c]) for c in range(size)] for r in range(size)], np.int64)


def make_board(size: int, givens: int, seed: int) -> Board:
    rng = random.Random(7919 * seed + size)
    solution = full_board(size, rng)
    keep = np.ones((size, size), bool)
    cells = [(r, c) for r in range(size) for c in range(size)]
    rng.shuffle(cells)
    for r, c in cells:
        if keep.sum() <= givens:
            break
        keep[r, c] = False
        clues = {(i, j): int(solution[i, j]) for i, j in zip(*np.nonzero(keep))}
        if completions(size, clues) != 1:
            keep[r, c] = True
    return Board(size, solution, keep, seed)


class Ink:
    """Held-out digits by label, each used once (a sheet never repeats a picture), in a seeded order."""

    def __init__(self, seed: int):
        from riddle.models.registry import held_out_digits
        images, labels = held_out_digits()
        rng = np.random.default_rng(seed)
        self.images = images
        self.by_label = {k: list(rng.permutation(np.nonzero(labels == k)[0])) for k in range(10)}

    def take(self, label: int) -> tuple[int, np.ndarray]:
        if not self.by_label[label]:
            raise ValueError(f"no held-out digit {label} left")
        k = int(self.by_label[label].pop())
        return k, self.images[k]


def sheet(board: Board, ink: Ink) -> tuple[np.ndarray, dict[tuple[int, int], int]]:
    """The board's givens in handwriting: float32 [N·CELL, N·CELL] in [0, 1], and which held-out digit
    (its index in the test split) each given cell shows."""
    n = board.size
    picture = np.zeros((n * CELL, n * CELL), np.float32)
    used = {}
    pad = (CELL - 28) // 2
    for r, c in zip(*np.nonzero(board.givens)):
        k, img = ink.take(int(board.solution[r, c]))
        picture[r * CELL + pad:r * CELL + pad + 28, c * CELL + pad:c * CELL + pad + 28] = img
        used[(int(r), int(c))] = k
    for j in range(n + 1):                                  # the grid: 2 px on each border
        at = min(j * CELL, n * CELL - 1)
        picture[max(at - 1, 0):at + 1, :] = np.maximum(picture[max(at - 1, 0):at + 1, :], GRID_INK)
        picture[:, max(at - 1, 0):at + 1] = np.maximum(picture[:, max(at - 1, 0):at + 1], GRID_INK)
    return picture, used


def riddle_text(size: int, sheet_name: str) -> str:
    b = int(round(size ** 0.5))
    return (f"# A {size} x {size} Sudoku whose givens are handwritten on {sheet_name} (bench/boards.py)\n"
            f"digits cell[{size}][{size}]\n"
            f"cell >= 1\n" + (f"cell <= {size}\n" if size < 9 else "") +
            f"for r in 1..{size}: all different cell[r]\n"
            f"for c in 1..{size}: all different cell[1..{size}][c]\n"
            f"for br in 0..{b - 1}, bc in 0..{b - 1}: "
            f"all different cell[{b}*br+1..{b}*br+{b}][{b}*bc+1..{b}*bc+{b}]\n"
            f'cell looks like "{sheet_name}" split {size} x {size} with one solution\n')


def write(board: Board, ink: Ink, folder: Path, name: str = "board") -> Path:
    """board.png and board.rdl in `folder`; returns the riddle's path."""
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    picture, _ = sheet(board, ink)
    Image.fromarray((picture * 255).round().astype(np.uint8)).save(folder / f"{name}.png")
    path = folder / f"{name}.rdl"
    path.write_text(riddle_text(board.size, f"{name}.png"))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=9, choices=(4, 9))
    parser.add_argument("--givens", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    board = make_board(args.size, args.givens, args.seed)
    path = write(board, Ink(args.seed), args.out)
    print(f"{path}  ({int(board.givens.sum())} givens)\nsolution:\n" +
          "\n".join(" ".join(map(str, row)) for row in board.solution))


if __name__ == "__main__":
    main()

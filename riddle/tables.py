"""Data tables for templates: the rows that fill a template's `$name`s (`riddle learn`, `riddle check
--data`; docs/LEARNING.md).

A table is CSV with a header row (`.csv`) or JSON Lines (`.jsonl`, one object per line). Its columns are
the template's placeholder names, without the `$`. An image cell is a PNG path or `FILE.npy#INDEX` (an
index into a stack of images [N, H, W]), relative to the table's folder and never outside it; a number
cell is a whole number of any size. A test table may also give an image's true label in a column
`NAME.label` (for the digit accuracy of a learned classifier); a training table may not: learning sees
riddle-level truth only.

Every problem is reported at once, each with the table, the row (1 = the first data row) and the column,
and nothing is learned from a table with any problem.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .lang.observe import ObservationError, read_observation

MAX_ROWS = 200_000            # rows of one table (the papers' protocol at N = 1 is 30,000): a bound on memory
MAX_PROBLEMS = 20             # problems listed before "… and N more"
MAX_BYTES = 200_000_000       # the table file itself
LABEL_SUFFIX = ".label"
_INTEGER = re.compile(r"[+-]?[0-9]+")


class TableError(ValueError):
    """A table that cannot fill its template, in words: every problem with its table, row and column."""

    def __init__(self, table: str, problems: list[str]):
        self.table, self.problems = table, problems
        shown = problems[:MAX_PROBLEMS]
        more = f"\n  … and {len(problems) - MAX_PROBLEMS} more" if len(problems) > MAX_PROBLEMS else ""
        super().__init__("\n".join(f"  {p}" for p in shown) + more)

    def __str__(self) -> str:
        count = len(self.problems)
        return f"{self.table}: {count} problem{'s' if count != 1 else ''}\n" + super().__str__()


@dataclass
class Table:
    """A table read against a template: its images and numbers by column, all rows checked."""
    path: Path
    rows: int
    images: dict[str, np.ndarray] = field(default_factory=dict)    # column → float32 [R, H, W] in [0, 1]
    numbers: dict[str, list[int]] = field(default_factory=dict)    # column → Python ints (any size) [R]
    labels: dict[str, np.ndarray] = field(default_factory=dict)    # image column → int64 [R] true labels (test)


def read_table(path: str | Path, placeholders: dict[str, str], *, labels_allowed: bool = False,
               shape: tuple[int, ...] = (28, 28), max_rows: int = MAX_ROWS) -> Table:
    """Read and check a whole table against a template's placeholders ({column: "image" | "number"}).
    Raises TableError listing every problem."""
    path = Path(path)
    name = str(path)
    records = _records(path, name, max_rows)
    header = list(records[0].keys()) if records else []
    problems: list[str] = []
    missing = [c for c in placeholders if c not in header]
    for c in missing:
        problems.append(f"column `{c}` is missing: the template's `${c}` reads it "
                        f"(the table has: {', '.join(header) or 'no columns'})")
    image_cols = [c for c, kind in placeholders.items() if kind == "image" and c in header]
    label_cols = [c for c in header if c.endswith(LABEL_SUFFIX)]
    for c in label_cols:
        owner = c[:-len(LABEL_SUFFIX)]
        if not labels_allowed:
            problems.append(f"column `{c}` gives true labels: learning sees riddle-level truth only (labels belong "
                            "in a --test table, for the digit accuracy)")
        elif owner not in image_cols:
            problems.append(f"column `{c}` labels `{owner}`, which is not an image column of the template")
    if problems:
        raise TableError(name, problems)
    stacks: dict[Path, np.ndarray | str] = {}
    folder = path.resolve().parent
    table = Table(path, len(records))
    images = {c: np.zeros((len(records), *shape), np.float32) for c in image_cols}
    numbers: dict[str, list[int]] = {c: [] for c, kind in placeholders.items() if kind == "number"}
    true_labels = {c[:-len(LABEL_SUFFIX)]: np.zeros(len(records), np.int64) for c in label_cols}
    for r, record in enumerate(records, start=1):
        where = f"row {r}"
        for c in image_cols:
            def problem(msg, c=c, where=where):
                problems.append(f"{where}, column `{c}`: {msg}")
            pixels = _image(record.get(c), folder, shape, stacks, problem)
            if pixels is not None:
                images[c][r - 1] = pixels
        for c in numbers:
            value = _integer(record.get(c))
            if value is None:
                problems.append(f"{where}, column `{c}`: {_shown(record.get(c))} is not a whole number "
                                f"(`${c}` stands where a number does)")
                value = 0
            numbers[c].append(value)
        for owner in true_labels:
            value = _integer(record.get(owner + LABEL_SUFFIX))
            if value is None:
                problems.append(f"{where}, column `{owner}{LABEL_SUFFIX}`: {_shown(record.get(owner + LABEL_SUFFIX))} "
                                "is not a label")
                value = 0
            true_labels[owner][r - 1] = value
        if len(problems) > 10 * MAX_PROBLEMS:
            break
    if problems:
        raise TableError(name, problems)
    table.images, table.numbers, table.labels = images, numbers, true_labels
    return table


def _records(path: Path, name: str, max_rows: int) -> list[dict]:
    if not path.is_file():
        raise TableError(name, ["no such file" if not path.exists() else "not a file"])
    if path.stat().st_size > MAX_BYTES:
        raise TableError(name, [f"the file has {path.stat().st_size:,} bytes (at most {MAX_BYTES:,})"])
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        raise TableError(name, ["a table is `.csv` (with a header row) or `.jsonl` (JSON Lines), "
                                f"not `{suffix or 'no suffix'}`"])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise TableError(name, [f"not UTF-8 text (byte {e.start})"]) from None
    records: list[dict] = []
    if suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames:
            raise TableError(name, ["the table is empty: it needs a header row naming the template's placeholders, "
                                    "then one row per riddle"])
        blank = [k for k, f in enumerate(reader.fieldnames, start=1) if not (f or "").strip()]
        if blank:
            raise TableError(name, [f"header column {blank[0]} has no name"])
        for k, row in enumerate(reader, start=1):
            if k > max_rows:
                raise TableError(name, [f"more than {max_rows:,} rows (at most {max_rows:,} per table): split it"])
            if None in row:
                raise TableError(name, [f"row {k} has more cells than the header has columns"])
            records.append({key.strip(): (v.strip() if isinstance(v, str) else v) for key, v in row.items()})
    else:
        for k, line in enumerate((ln for ln in text.splitlines() if ln.strip()), start=1):
            if k > max_rows:
                raise TableError(name, [f"more than {max_rows:,} rows (at most {max_rows:,} per table): split it"])
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise TableError(name, [f"row {k}: not JSON ({e.msg} at character {e.pos + 1})"]) from None
            if not isinstance(obj, dict):
                raise TableError(name, [f"row {k}: a JSON Lines row is an object {{\"column\": value, …}}"])
            records.append(obj)
    if not records:
        raise TableError(name, ["the table has no rows: one row per riddle, below the header"])
    return records


def _shown(value) -> str:
    text = json.dumps(value) if not isinstance(value, str) else f"`{value[:40]}`"
    return "an empty cell" if value in (None, "") else text


def _integer(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()) and len(value) <= 1001:
        return int(value)
    return None


def _image(cell, folder: Path, shape, stacks: dict, problem) -> np.ndarray | None:
    """One image cell → float32 [H, W] in [0, 1], or None (the problem reported)."""
    if not isinstance(cell, str) or not cell:
        if isinstance(cell, (int, float)) and not isinstance(cell, bool):
            problem(f"{cell} is a number where an image belongs (a PNG path, or FILE.npy#INDEX)")
        else:
            problem(f"{_shown(cell)}: an image is a PNG path or FILE.npy#INDEX")
        return None
    if _INTEGER.fullmatch(cell):
        problem(f"{cell} is a number where an image belongs (a PNG path, or FILE.npy#INDEX)")
        return None
    file, _, index = cell.partition("#")
    target = (folder / file).resolve()
    if not target.is_relative_to(folder):
        problem(f"`{file}` lies outside the table's folder: images are read from beside the table only")
        return None
    if target.suffix.lower() == ".npy":
        stack = stacks.get(target)
        if stack is None:
            stack = stacks[target] = _stack(target, shape)
        if isinstance(stack, str):
            problem(stack)
            return None
        if not index:
            problem(f"`{cell}` names a stack of {len(stack)} images: pick one with `{file}#INDEX`")
            return None
        if not index.isdigit() or not 0 <= int(index) < len(stack):
            problem(f"`#{index}` is not an index of `{file}` (0 … {len(stack) - 1})")
            return None
        pixels = np.asarray(stack[int(index)])
        return pixels.astype(np.float32) / 255 if pixels.dtype == np.uint8 else pixels.astype(np.float32)
    if index:
        problem(f"`#{index}` picks one image of a .npy stack; `{file}` is not one")
        return None
    if not target.is_file():
        problem(f"`{file}`: no such file beside the table")
        return None
    try:
        pixels, seen = read_observation(target, shape)
    except ObservationError as e:
        problem(f"`{file}`: {e}")
        return None
    if not seen.all():
        problem(f"`{file}` has transparent pixels: a data image is seen whole")
        return None
    return pixels


def _stack(path: Path, shape) -> np.ndarray | str:
    """A .npy stack of images (memory-mapped), or what is wrong with it."""
    if not path.is_file():
        return f"`{path.name}`: no such file"
    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as e:
        return f"`{path.name}`: not a .npy array riddle can read ({type(e).__name__})"
    if data.ndim != len(shape) + 1 or tuple(data.shape[1:]) != tuple(shape):
        return (f"`{path.name}` holds an array of shape {list(data.shape)}; images here are "
                f"{' x '.join(map(str, shape))}, stacked as [N, {', '.join(map(str, shape))}]")
    if data.dtype != np.uint8:
        if not np.issubdtype(data.dtype, np.floating):
            return f"`{path.name}`: pixels must be uint8 or floats in [0, 1], not {data.dtype}"
        lo, hi = float(np.min(data)), float(np.max(data))
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi > 1:
            return f"`{path.name}`: pixels must be finite and in [0, 1] (or uint8)"
    return data

"""Digit images for training and evaluation, in MNIST's convention everywhere: white digit on
black, float32 in [0, 1], shape [N, 28, 28]; labels int64 [N].

Sources: the 5,000 MNIST digits bundled with riddle (see data/NOTICE.md), or a user's full MNIST
as the four standard IDX files (gzipped or not). Splits are fixed by a seed and stratified by class.
"""
from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch

BUNDLED = "mnist_5k.csv.gz"


@dataclass(frozen=True)
class Digits:
    images: torch.Tensor          # float32 [N, 28, 28] in [0, 1]
    labels: torch.Tensor          # int64 [N]
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index) -> "Digits":
        index = torch.as_tensor(index, dtype=torch.long)
        return Digits(self.images[index], self.labels[index], self.source)


class DataError(ValueError):
    pass


def load_bundled() -> Digits:
    with resources.files("riddle.models").joinpath("data", BUNDLED).open("rb") as f:
        raw = np.loadtxt(gzip.open(f), delimiter=",", dtype=np.float32)
    images = torch.from_numpy(raw[:, :784].reshape(-1, 28, 28) / 255.0)
    labels = torch.from_numpy(raw[:, 784].astype(np.int64))
    return Digits(images.contiguous(), labels, f"bundled MNIST subset ({BUNDLED}, {len(labels)} digits)")


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"cannot read {path}: {e}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{path} is not an IDX file (bad magic number)")
    dtype_code, ndim = data[2], data[3]
    if dtype_code != 0x08:
        raise DataError(f"{path}: expected unsigned bytes (type 0x08), found type 0x{dtype_code:02x}")
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise DataError(f"{path}: header says {shape} but holds {body.size} values")
    return body.reshape(shape)


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise DataError(f"{directory} has no `{stem}` (or `{stem}.gz`): expected the four MNIST IDX files")


def load_idx(directory: str | Path) -> Digits:
    """A full MNIST in IDX format: train and test files are pooled; riddle makes its own splits."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory} is not a directory")
    parts = []
    for prefix in ("train", "t10k"):
        images = _read_idx(_find(directory, f"{prefix}-images-idx3-ubyte"))
        labels = _read_idx(_find(directory, f"{prefix}-labels-idx1-ubyte"))
        if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels):
            raise DataError(f"{directory}: {prefix} images {images.shape} do not match labels {labels.shape}")
        parts.append((images, labels))
    images = np.concatenate([p[0] for p in parts]).astype(np.float32) / 255.0
    labels = np.concatenate([p[1] for p in parts]).astype(np.int64)
    return Digits(
        torch.from_numpy(images), torch.from_numpy(labels), f"MNIST IDX files in {directory} ({len(labels)} digits)"
    )


def load(data_dir: str | Path | None = None) -> Digits:
    return load_bundled() if data_dir is None else load_idx(data_dir)


def stratified_split(labels: torch.Tensor, fraction: float, seed: int, pool=None) -> tuple[np.ndarray, np.ndarray]:
    """Indices (taken, rest) of `pool` (default: all), `fraction` of each class taken, by `seed`."""
    rng = np.random.default_rng(seed)
    pool = np.arange(len(labels)) if pool is None else np.asarray(pool)
    y = labels.numpy()[pool]
    taken = []
    for k in np.unique(y):
        members = pool[y == k]
        rng.shuffle(members)
        taken.append(members[:int(round(fraction * len(members)))])
    taken = np.sort(np.concatenate(taken))
    return taken, np.setdiff1d(pool, taken)


@dataclass(frozen=True)
class Splits:
    """test: shared by every model, never trained on. Split A (train_a/val_a) trains the generator,
    the label classifier and the predicates; split B (train_b/val_b) trains the judge."""
    test: np.ndarray
    train_a: np.ndarray
    val_a: np.ndarray
    train_b: np.ndarray
    val_b: np.ndarray

    def describe(self) -> dict:
        return {k: int(len(getattr(self, k))) for k in ("test", "train_a", "val_a", "train_b", "val_b")}


def make_splits(labels: torch.Tensor, seed: int = 0) -> Splits:
    test, pool = stratified_split(labels, 0.1, seed)
    val_a, train_a = stratified_split(labels, 1 / 9, seed + 1, pool)
    val_b, train_b = stratified_split(labels, 1 / 9, seed + 2, pool)
    return Splits(test, train_a, val_a, train_b, val_b)

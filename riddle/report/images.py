"""Pictures the report writes: grids of digits as 8-bit greyscale PNG. Pillow does the format work
(it replaced a hand-written zlib writer: docs/ARCHITECTURE.md)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image


def grid(images: np.ndarray, columns: int | None = None, pad: int = 2, scale: int = 1) -> np.ndarray:
    """images [N, H, W] in [0, 1] → one [rows·(H+pad)+pad, cols·(W+pad)+pad] array, grey padding."""
    images = np.asarray(images, dtype=np.float32)
    n, h, w = images.shape
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    out = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad), 0.35, dtype=np.float32)
    for i, img in enumerate(images):
        r, c = divmod(i, columns)
        out[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = img
    if scale > 1:
        out = out.repeat(scale, axis=0).repeat(scale, axis=1)
    return out


def board_shape(names) -> tuple[int, int] | None:
    """(rows, columns) where the unknowns are one 2-D array in row-major order (`cell[1][1]` … `cell[R][C]`,
    as `digits cell[R][C]` declares them), else None: such answers are drawn as boards, not as a row."""
    import re
    cells = [re.fullmatch(r"([A-Za-z_]\w*)\[(\d+)\]\[(\d+)\]", n) for n in names]
    if len(names) < 4 or not all(cells) or len({m.group(1) for m in cells}) != 1:
        return None
    rows, cols = max(int(m.group(2)) for m in cells), max(int(m.group(3)) for m in cells)
    expected = [(r, c) for r in range(1, rows + 1) for c in range(1, cols + 1)]
    return (rows, cols) if [(int(m.group(2)), int(m.group(3))) for m in cells] == expected else None


def boards(images: np.ndarray, shape: tuple[int, int], scale: int = 1) -> np.ndarray:
    """images [K, R·C, H, W] (K answers of one board) → the K boards side by side, each R × C, a wider
    gap between boards than between cells."""
    rows, cols = shape
    pictures = [grid(one, columns=cols) for one in np.asarray(images, np.float32)]
    h, w = pictures[0].shape
    gap = 8
    out = np.full((h, len(pictures) * (w + gap) - gap), 0.15, np.float32)
    for k, p in enumerate(pictures):
        out[:, k * (w + gap):k * (w + gap) + w] = p
    if scale > 1:
        out = out.repeat(scale, axis=0).repeat(scale, axis=1)
    return out


def encode_png(image: np.ndarray, seen: np.ndarray | None = None) -> bytes:
    """A 2-D array in [0, 1] as the bytes of an 8-bit greyscale PNG (see write_png)."""
    buffer = io.BytesIO()
    _png(image, seen).save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def _png(image: np.ndarray, seen: np.ndarray | None) -> Image.Image:
    pixels = (np.clip(np.asarray(image, dtype=np.float32), 0, 1) * 255 + 0.5).astype(np.uint8)
    if seen is None:
        img = Image.fromarray(pixels)                       # uint8 [H, W]: "L"
    else:
        img = Image.fromarray(np.stack([pixels, np.where(seen, 255, 0).astype(np.uint8)], -1))   # "LA"
    return img


def write_png(path: str | Path, image: np.ndarray, seen: np.ndarray | None = None) -> None:
    """Write a 2-D array in [0, 1] as an 8-bit greyscale PNG (with `seen`: grey + alpha, alpha 0 where
    unseen — the form `looks like` reads). Written beside and renamed, so no half-written file is left."""
    img = _png(image, seen)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    img.save(tmp, format="PNG", optimize=False, compress_level=6)
    tmp.replace(path)

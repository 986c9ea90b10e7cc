"""Observed images, read for `x looks like "PATH"` — PNG (or any image Pillow reads) and .npy — by the
checker, which reports what is wrong with one at the statement's span. Pillow does the format work;
writing pictures is the report's (riddle/report/images.py)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import suggest

MAX_IMAGE_BYTES = 4 << 20          # an observation is one small picture, not a photo album


class ObservationError(ValueError):
    """An observed image that cannot be used; `help` says what to do."""

    def __init__(self, message: str, label: str, help: str | None = None):
        super().__init__(message)
        self.label, self.help = label, help


def read_observation(path: str | Path, shape: tuple[int, ...], data: bytes | None = None,
                     chain: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """An observed image → (pixels float32 [H, W] in [0, 1], seen bool [H, W]).

    PNG and other images through Pillow: grey as is, colour converted to grey (ITU-R 601 luma),
    8-bit values / 255 and 16-bit / 65535; **alpha 0 marks an unseen pixel** (a palette's transparent
    entry too). `.npy`: a 2-D array, floats in [0, 1] with NaN for unseen pixels, or uint8 / 255.
    The size must equal `shape`: nothing is resized. With `data` (an upload's bytes) the file is
    never looked for on disk: `path` only names it."""
    path = Path(path)
    if data is None:
        if path.is_dir():
            raise ObservationError(f"`{path}` is a directory, not an image", "a directory",
                                   "give the path of a .png or .npy file, relative to the riddle's folder")
        if not path.is_file():
            folder = path.parent if path.parent.is_dir() else None
            near = suggest(path.name, [q.name for q in folder.iterdir() if q.is_file()]) if folder else None
            raise ObservationError(f"no such image: `{path}`", "not found",
                                   f"did you mean `{near}`?" if near else
                                   "the path is relative to the riddle file's folder")
        size = path.stat().st_size
    else:
        size = len(data)
    if size > MAX_IMAGE_BYTES:
        raise ObservationError(f"`{path.name}` is {size / 2 ** 20:.1f} MiB; an observed image may be at most "
                               f"{MAX_IMAGE_BYTES >> 20} MiB", "too large",
                               f"save the {shape[0]} x {shape[1]} image alone")
    source = path if data is None else io.BytesIO(data)
    if len(shape) == 1:                                 # a projection's measurements: a vector of any numbers
        if path.suffix.lower() != ".npy":
            raise ObservationError(f"`{path.name}` is not a .npy file; a projection's {shape[0]} measurements are "
                                   "a vector", "not a vector", "save them with numpy.save (NaN where unmeasured)")
        values = _load_npy(path.name, source)
        if values.ndim != 1 or values.shape[0] != shape[0]:
            raise ObservationError(f"`{path.name}` holds an array of shape {values.shape}; `{chain}` makes "
                                   f"{shape[0]} measurements", "wrong size",
                                   f"give a vector of {shape[0]} numbers, or change the matrix")
        values = values.astype(np.float64)
        seen = ~np.isnan(values)
        if np.isinf(values).any():
            raise ObservationError(f"`{path.name}` has infinite entries", "not finite", "NaN marks an unmeasured one")
        if not seen.any():
            raise ObservationError(f"`{path.name}` has no measured entry (every one is NaN)", "nothing seen")
        return np.where(seen, values, 0).astype(np.float32), seen
    if path.suffix.lower() == ".npy":
        pixels, seen = _read_npy(path.name, source)
    else:
        pixels, seen = _read_picture(path.name, source)
    if pixels.shape != tuple(shape) and chain:
        raise ObservationError(f"`{path.name}` is {pixels.shape[-1]} x {pixels.shape[0]} pixels; `{chain}` makes "
                               f"{shape[1]} x {shape[0]} of the domain's images", "wrong size",
                               f"give the measured image at {shape[1]} x {shape[0]}, or change the instruments")
    if pixels.shape != tuple(shape):
        raise ObservationError(f"`{path.name}` is {pixels.shape[-1]} x {pixels.shape[0]} pixels; the domain's images "
                               f"are {shape[1]} x {shape[0]}", "wrong size",
                               f"riddle does not resize: crop or scale it to {shape[1]} x {shape[0]} yourself, or "
                               f"say how it was made (`through downsample 4`)")
    if not seen.any():
        raise ObservationError(f"`{path.name}` has no seen pixel (every alpha is 0)", "nothing seen",
                               "alpha 0 marks an unseen pixel; make the seen part opaque")
    return np.where(seen, pixels, 0).astype(np.float32), seen


def _load_npy(name: str, source) -> np.ndarray:
    try:
        data = np.load(source, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise ObservationError(f"`{name}` is not a numpy array file ({e})", "not an array",
                               "save it with numpy.save, or as a PNG") from None
    if data.dtype.kind not in "fbiu":
        raise ObservationError(f"`{name}` holds {data.dtype} values, not numbers", "not numbers")
    return data


def read_matrix(path: str | Path, width: int, data: bytes | None = None) -> np.ndarray:
    """A projection's matrix → float32 [m, width]: a .npy of finite numbers whose rows have `width`
    entries (the flattened, row-major data it multiplies). With `data` (an upload's bytes) the file is
    never looked for on disk."""
    path = Path(path)
    if data is None and not path.is_file():
        raise ObservationError(f"no such matrix: `{path}`", "not found", "the path is relative to the riddle file's "
                               "folder; save the matrix with numpy.save")
    size = path.stat().st_size if data is None else len(data)
    if size > MAX_IMAGE_BYTES:
        raise ObservationError(f"`{path.name}` is {size / 2 ** 20:.1f} MiB; a matrix may be at most "
                               f"{MAX_IMAGE_BYTES >> 20} MiB", "too large", "use fewer measurements, or float32")
    if path.suffix.lower() != ".npy":
        raise ObservationError(f"`{path.name}` is not a .npy file", "not a matrix", "save it with numpy.save")
    matrix = _load_npy(path.name, path if data is None else io.BytesIO(data))
    if matrix.ndim != 2 or matrix.shape[1] != width:
        raise ObservationError(f"`{path.name}` has shape {matrix.shape}; it must be [m, {width}] to multiply the "
                               f"{width} values it is given (row-major)", "wrong width",
                               f"one row per measurement, {width} columns")
    if not np.isfinite(matrix).all():
        raise ObservationError(f"`{path.name}` has entries that are not finite numbers", "not finite")
    return matrix.astype(np.float32)


def _read_npy(name: str, source) -> tuple[np.ndarray, np.ndarray]:
    data = _load_npy(name, source)
    if data.ndim != 2:
        raise ObservationError(f"`{name}` holds an array of shape {data.shape}; an image is 2-D", "not 2-D")
    if data.dtype == np.uint8:
        return data.astype(np.float32) / 255, np.ones(data.shape, bool)
    data = data.astype(np.float64)
    seen = ~np.isnan(data)
    if seen.any() and (np.nanmin(data) < 0 or np.nanmax(data) > 1):
        raise ObservationError(f"`{name}` has values outside [0, 1] ({np.nanmin(data):g} … {np.nanmax(data):g})",
                               "out of range", "scale the pixels to [0, 1] (white ink 1 on black 0), NaN where unseen")
    return np.nan_to_num(data).astype(np.float32), seen


def _read_picture(name: str, source) -> tuple[np.ndarray, np.ndarray]:
    try:
        with Image.open(source) as img:
            img.load()
            if img.mode == "P":                               # a palette: its transparency becomes alpha
                img = img.convert("RGBA")
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                pixels = np.asarray(img, dtype=np.float64) / 65535
                return pixels.astype(np.float32), np.ones(pixels.shape, bool)
            if img.mode == "F":
                pixels = np.asarray(img, dtype=np.float64)
                return np.clip(pixels, 0, 1).astype(np.float32), np.ones(pixels.shape, bool)
            alpha = np.asarray(img.getchannel("A")) if img.mode in ("LA", "RGBA", "PA") else None
            grey = np.asarray(img.convert("L"), dtype=np.float32) / 255
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ObservationError(f"`{name}` is not an image riddle can read ({type(e).__name__})", "not an image",
                               "give a PNG (grey, or with alpha 0 where unseen) or a .npy array") from None
    seen = alpha > 0 if alpha is not None else np.ones(grey.shape, bool)
    return grey, seen


SHEET_MARGIN = 0.12               # of a cell's side, cropped from each edge: a pencil grid's lines fall there
SHEET_INK = 0.25                  # a cell whose brightest pixel is below this (on 0..1) holds no ink: unseen


def read_sheet_cell(path: str | Path, cell: tuple[int, int, int, int], shape: tuple[int, int],
                    data: bytes | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """One cell of a sheet (`x looks like "board.png" split 9 x 9`): cell = (row, column, rows, columns),
    from 0. The picture is cut into rows × columns equal cells; SHEET_MARGIN of each cell's side is
    cropped from every edge (grid lines), the rest scaled to `shape` (box filter). Returns (pixels, seen)
    as read_observation does, or None where the cell holds no ink (its unknown is unseen: riddle draws it).
    Raises ObservationError as read_observation does."""
    from PIL import Image
    path = Path(path)
    if data is None and not path.is_file():
        raise ObservationError(f"no such image: `{path}`", "not found",
                               "the path is relative to the riddle file's folder")
    source = path if data is None else io.BytesIO(data)
    pixels, seen = _load_sheet(path.name, source)
    r, c, rows, cols = cell
    h, w = pixels.shape
    if h < rows * 4 or w < cols * 4:
        raise ObservationError(f"`{path.name}` is {w} x {h} pixels: too small to cut into {rows} x {cols} cells",
                               "too small", "give the whole grid's picture, at least 4 pixels a cell")
    top, bottom = round(r * h / rows), round((r + 1) * h / rows)
    left, right = round(c * w / cols), round((c + 1) * w / cols)
    dy, dx = round((bottom - top) * SHEET_MARGIN), round((right - left) * SHEET_MARGIN)
    part = pixels[top + dy:bottom - dy, left + dx:right - dx]
    if part.size == 0 or part.max() < SHEET_INK:
        return None
    scaled = Image.fromarray((part * 255).astype(np.uint8)).resize((shape[1], shape[0]), Image.Resampling.BOX)
    return np.asarray(scaled, np.float32) / 255.0, np.ones(shape, bool)


def _load_sheet(name: str, source) -> tuple[np.ndarray, np.ndarray]:
    if name.lower().endswith(".npy"):
        return _read_npy(name, source)
    return _read_picture(name, source)


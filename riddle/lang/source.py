"""Bytes → source text, or the diagnostics of why not: a file that is missing, too large, binary or
not UTF-8 never reaches the parser, and reading never raises for bad input."""
from __future__ import annotations

from pathlib import Path

from .errors import ERROR, Diagnostic, Source, Span, suggest

MAX_FILE_BYTES = 1 << 20          # 1 MiB: a riddle is a page, not a data set


def read_source(path: str | Path) -> tuple[Source | None, list[Diagnostic]]:
    """Read a riddle file. Anything that is not a readable UTF-8 text becomes a diagnostic."""
    name = str(path)
    p = Path(path)
    try:
        if p.is_dir():
            return None, [_file_error("R005", f"`{name}` is a directory, not a riddle file",
                                      "give the path of a `.rdl` file, for example `puzzles/134.rdl`")]
        with open(p, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        near = suggest(p.name, [q.name for q in p.parent.glob("*.rdl")]) if p.parent.is_dir() else None
        return None, [_file_error("R005", f"no such file: `{name}`",
                                  f"did you mean `{p.parent / near}`?" if near else None)]
    except OSError as e:
        return None, [_file_error("R005", f"cannot read `{name}`: {e.strerror or e}")]
    if len(data) > MAX_FILE_BYTES:
        return None, [
            _file_error(
                "R006",
                f"`{name}` is larger than {MAX_FILE_BYTES >> 20} MiB; a riddle is a short text",
                "is this the right file?",
            )
        ]
    return decode_source(data, name)


def decode_source(data: bytes, name: str = "<riddle>") -> tuple[Source | None, list[Diagnostic]]:
    if b"\x00" in data:
        return None, [_file_error("R004", f"`{name}` looks like a binary file, not a riddle (it holds NUL bytes)")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        column = len(data[:e.start].rsplit(b"\n", 1)[-1].decode("utf-8", "replace")) + 1
        span = Span(name, line, column, line, column + 1)
        shown = data.decode("utf-8", "replace")
        return Source(name, shown.replace("\r\n", "\n")), [Diagnostic(
            ERROR, "R004", f"`{name}` is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})",
            span, "not UTF-8", help="save the file as UTF-8")]
    if text.startswith("\ufeff"):
        text = text[1:]                                   # a byte-order mark is harmless
    return Source(name, text.replace("\r\n", "\n").replace("\r", "\n")), []


def _file_error(code: str, message: str, help: str | None = None) -> Diagnostic:
    return Diagnostic(ERROR, code, message, None, help=help)



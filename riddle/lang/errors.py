"""Diagnostics: what riddle says about a riddle file, rendered the way rustc does.

    error[R010]: unknown name `fisrt`
     --> puzzles/x.rdl:3:1
      |
    3 | fisrt is odd
      | ^^^^^ not declared
      |
      = help: did you mean `first`?

Every diagnostic carries a `Span` (file, 1-based line and column, exclusive end column) so a
user can find the mistake; `render` draws the source line with carets, `to_json` gives the
same facts to a program.
"""
from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field
from typing import Iterable, Sequence

ERROR, WARNING, NOTE = "error", "warning", "note"


@dataclass(frozen=True)
class Span:
    """A region of a source file. Lines and columns start at 1; `end_column` is exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def to(self, other: "Span") -> "Span":
        """The span from the start of self to the end of other."""
        return Span(self.file, self.line, self.column, other.end_line, other.end_column)


@dataclass(frozen=True)
class Source:
    """A riddle's text with its file name, for locating and drawing spans."""

    file: str
    text: str

    @functools.cached_property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 1 <= line <= len(self.lines) else ""


@dataclass(frozen=True)
class Diagnostic:
    severity: str                 # "error" | "warning" | "note"
    code: str                     # "R010"; the catalogue is in docs/LANGUAGE.md
    message: str
    span: Span | None = None      # None for problems with the file as a whole
    label: str = ""               # short text written after the carets
    help: str | None = None
    related: tuple[tuple[Span, str], ...] = field(default=())   # other places worth showing

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def to_json(self) -> dict:
        s = self.span
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": s.file if s else None,
            "line": s.line if s else None,
            "column": s.column if s else None,
            "end": {"line": s.end_line, "column": s.end_column} if s else None,
            "label": self.label or None,
            "help": self.help,
            "related": [{"line": r.line, "column": r.column, "label": text} for r, text in self.related],
        }


class RiddleError(Exception):
    """Raised by the library when a riddle cannot go on; carries every diagnostic found."""

    def __init__(self, diagnostics: Sequence[Diagnostic], source: Source | None = None):
        self.diagnostics = tuple(diagnostics)
        self.source = source
        first = next((d for d in self.diagnostics if d.is_error), self.diagnostics[0])
        super().__init__(f"{first.code}: {first.message}" + (f" at {first.span}" if first.span else ""))

    def render(self, color: bool = False) -> str:
        return render_all(self.diagnostics, self.source, color=color)


def suggest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate closest to `word`, if one is close enough to be a likely typo."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=cutoff)
    return matches[0] if matches else None


# ── rendering ────────────────────────────────────────────────────────────────

_COLORS = {ERROR: "\033[1;31m", WARNING: "\033[1;33m", NOTE: "\033[1;36m"}
_BOLD, _BLUE, _RESET = "\033[1m", "\033[1;34m", "\033[0m"
_MAX_SHOWN = 120  # columns of a source line shown around a span; a 1 MB line must not flood the terminal


def render(diag: Diagnostic, source: Source | None, color: bool = False) -> str:
    c = (lambda code, s: f"{code}{s}{_RESET}") if color else (lambda code, s: s)
    head = c(_COLORS.get(diag.severity, ""), f"{diag.severity}[{diag.code}]") + c(_BOLD, f": {diag.message}")
    out = [head]
    spans = ([(diag.span, diag.label, "^")] if diag.span else []) + [(s, t, "-") for s, t in diag.related]
    if not spans:
        if diag.help:
            out.append(c(_BLUE, "  = ") + f"help: {diag.help}")
        return "\n".join(out)
    width = len(str(max(s.line for s, _, _ in spans)))
    pad = " " * width
    out.append(f"{pad}{c(_BLUE, '-->')} {diag.span or spans[0][0]}")
    out.append(f"{pad} {c(_BLUE, '|')}")
    by_line: dict[int, list] = {}
    for span, label, mark in spans:
        by_line.setdefault(span.line, []).append((span, label, mark))
    for line in sorted(by_line):
        out.extend(
            _draw_line(
                source.line_text(line) if source else "",
                line,
                sorted(by_line[line], key=lambda t: t[0].column),
                width,
                diag.severity,
                c,
            )
        )
    if diag.help:
        out.append(f"{pad} {c(_BLUE, '|')}")
        out.append(f"{pad} {c(_BLUE, '=')} help: {diag.help}")
    return "\n".join(out)


def _draw_line(text: str, line: int, marks: list, width: int, severity: str, c) -> list[str]:
    """One source line and, under it, the marks of every span on it: the rightmost mark's label
    inline, the others' labels on lines of their own below."""
    pad = " " * width
    # Long lines are cut to a window around the first span.
    offset = max(0, marks[0][0].column - 1 - _MAX_SHOWN // 2) if len(text) > _MAX_SHOWN else 0
    shown = text[offset:offset + _MAX_SHOWN].replace("\t", " ")
    if offset:
        shown = "…" + shown[1:]
    if len(text) > offset + _MAX_SHOWN:
        shown = shown[:-1] + "…"
    under, position, placed = [], 0, []        # position: plain width of `under` so far
    for span, label, mark in marks:
        start = max(span.column - 1 - offset, position)
        end = span.end_column - 1 - offset if span.end_line == span.line else len(text) - offset
        end = min(max(end, start + 1), max(_MAX_SHOWN, start + 1))
        color = _COLORS.get(severity, "") if mark == "^" else _BLUE
        under.append(" " * (start - position) + c(color, mark * (end - start)))
        position = end
        placed.append((start, label, color))
    _, last_label, last_color = placed[-1]
    out = [f"{line:>{width}} {c(_BLUE, '|')} {shown}",
           f"{pad} {c(_BLUE, '|')} {''.join(under)}" + (" " + c(last_color, last_label) if last_label else "")]
    for start, label, color in reversed(placed[:-1]):
        if label:
            out.append(f"{pad} {c(_BLUE, '|')} {' ' * start}{c(color, label)}")
    return out


def render_all(diagnostics: Iterable[Diagnostic], source: Source | None, color: bool = False) -> str:
    return "\n\n".join(render(d, source, color) for d in diagnostics)

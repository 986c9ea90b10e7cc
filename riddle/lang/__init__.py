"""Text → checked riddle: reading bytes (`source`), the parser (`parser`) and its syntax errors in the
language's words (`syntax`), the syntax tree (`ast`), the checker (`check`) and what it makes (`checked`),
observed images (`observe`), and the diagnostics they all report (`errors`)."""
import sys
from dataclasses import replace

from .check import check
from .checked import CheckedRiddle
from .errors import Diagnostic, RiddleError, Source, Span
from .expand import expand
from .parser import parse
from .source import decode_source, read_source

# A sum of hundreds of terms is a syntax tree hundreds of levels deep, and the frozen dataclasses' hash,
# equality and repr walk it recursively (about two levels of Python's count per node). The parser bounds
# a statement to MAX_OPERATORS (600) operators, so 8,000 levels always suffice; CPython's frames at this
# depth need a few MB of the 8 MB stack.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 8_000))

__all__ = ["CheckedRiddle", "Diagnostic", "RiddleError", "Source", "Span", "check", "decode_source", "load",
           "load_text", "parse", "read_source"]


def load(path, registry=None, template: bool = False) -> CheckedRiddle:
    """Read, parse and check a riddle file. Never raises for bad input: look at `.diagnostics`.
    `template`: `$name` placeholders are allowed (a template for `riddle learn`)."""
    source, diagnostics = read_source(path)
    return _load(source, diagnostics, str(path), registry, template=template)


def load_text(text: str, file: str = "<riddle>", registry=None, files=None, template: bool = False) -> CheckedRiddle:
    """Parse and check a riddle's text. `files` ({name: bytes}): the images `looks like` may name,
    instead of files beside the riddle (uploads; the disk is then never read for them)."""
    source, diagnostics = decode_source(text.encode("utf-8", "surrogatepass"), file)
    return _load(source, diagnostics, file, registry, files, template)


def _load(source, diagnostics, file, registry, files=None, template=False) -> CheckedRiddle:
    if source is None or any(d.is_error for d in diagnostics):
        return CheckedRiddle(file, source, (), (), {}, tuple(diagnostics))
    riddle, syntax = parse(source)
    riddle, written = expand(riddle)                      # arrays, loops and sheets → plain statements
    syntax = [*syntax, *written]
    checked = check(riddle, registry, source, broken_statements=riddle.unread, files=files, template=template)
    all_diags = sorted(
        [*syntax, *checked.diagnostics], key=lambda d: (d.span.line, d.span.column) if d.span else (0, 0)
    )
    return replace(checked, source=source, diagnostics=tuple(all_diags))

"""Text → checked riddle: reading bytes (`source`), the parser (`parser`) and its syntax errors in the
language's words (`syntax`), the syntax tree (`ast`), the checker (`check`) and what it makes (`checked`),
observed images (`observe`), and the diagnostics they all report (`errors`)."""
from dataclasses import replace

from .check import check
from .checked import CheckedRiddle
from .errors import Diagnostic, RiddleError, Source, Span
from .parser import parse
from .source import decode_source, read_source

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
    checked = check(riddle, registry, source, broken_statements=riddle.unread, files=files, template=template)
    all_diags = sorted(
        [*syntax, *checked.diagnostics], key=lambda d: (d.span.line, d.span.column) if d.span else (0, 0)
    )
    return replace(checked, source=source, diagnostics=tuple(all_diags))

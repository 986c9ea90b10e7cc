"""The grammar's one source, `grammar/riddle.lark`, and the LALR parser built from it once per process
(used by the parser and, to lex a statement that failed, by the syntax help)."""
from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from lark import Lark

GRAMMAR_FILE = "riddle.lark"


@functools.cache
def grammar_path():
    """The grammar's one source, `grammar/riddle.lark` at the repository's top level. A wheel packages
    that folder as `riddle.grammar` (pyproject.toml's package-dir); a checkout reads it in place."""
    try:
        packaged = resources.files("riddle.grammar").joinpath(GRAMMAR_FILE)
        if packaged.is_file():
            return packaged
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "grammar" / GRAMMAR_FILE


@functools.cache
def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")


@functools.cache
def lark_parser() -> Lark:
    """The LALR parser, built once per process (strict: conflicts and collisions are errors)."""
    # lexer="basic": keywords are reserved everywhere, not only where the parser expects them
    # cache=True: Lark keeps the analysed tables in a temporary file keyed by the grammar's hash, so
    # `riddle check` starts in milliseconds; tests build it uncached to keep strict mode honest.
    return Lark(grammar_text(), parser="lalr", lexer="basic", strict=True, propagate_positions=True,
                maybe_placeholders=False, start=["start", "statement"], cache=True)

"""The grammar's one source, `grammar/riddle.lark`, and the LALR parser built from it once per process
(used by the parser and, to lex a statement that failed, by the syntax help). Both live in
riddle/vocabulary.py, the bottom layer, because the registry needs the grammar's keywords too; this module
is the language layer's name for them."""
from __future__ import annotations

from ..vocabulary import GRAMMAR_FILE, grammar_path, grammar_text, keywords
from ..vocabulary import language as lark_parser

__all__ = ["GRAMMAR_FILE", "grammar_path", "grammar_text", "keywords", "lark_parser"]

"""A tighter loop over Lark's own LALR tables, for a text that parses: what most checks are (each keystroke
in the playground or an editor is a check).

Lark stays the grammar's owner: its analysed parse table, its lexer's regular expression, its keyword list,
its post-lexer (vocabulary.Brackets) and its callbacks (the AST builder in parser.py) are used as they are.
Only the loop that drives them is ours: one regex match, one Token and one table lookup per token, without
the bookkeeping Lark's loop keeps for its interactive parser and its error recovery. A 4,300-character riddle
(puzzles/alphametic-199.rdl) parses in ~12 ms instead of ~20 ms, the 28 texts of bench/load's mix in 1.9 ms
instead of 3.0 on average; parsing was two fifths of a check.

What it cannot read (a character no terminal matches, a token the table does not expect), it does not
explain: it raises NotParsed, and the caller asks Lark's own parser, whose UnexpectedInput every syntax
diagnostic is written from. So an error reads exactly as before, and a text that parses gives exactly the
tree Lark would give: tests/test_language.py compares tokens and trees over every riddle file in the repository,
so a Lark release that changes what this reads fails there. Where Lark's internals are not as expected,
`Driver.of` answers None and the parser uses Lark's loop.
"""
from __future__ import annotations

import itertools

from lark import Lark, Token
from lark.lexer import BasicLexer, PatternStr, UnlessCallback
from lark.parse_tree_builder import ExpandSingleChild
from lark.parsers.lalr_analysis import Shift

END = "$END"


class NotParsed(Exception):
    """The text is not a riddle of this start rule: ask Lark's parser why."""


class Driver:
    """Lark's tables and lexer of one `Lark(parser="lalr", lexer="basic")`, run by a loop of our own."""

    def __init__(self, lark: Lark):
        frontend = lark.parser
        lexer: BasicLexer = frontend.lexer.lexer
        (self._match,) = (m.match for m in lexer.scanner._mres)   # one regex of every terminal, in Lark's order
        self._ignore = lexer.ignore_types
        self._multiline = lexer.newline_types
        self._postlex = frontend.lexer.postlexer
        # keywords: a NAME that spells one is that keyword's token (Lark's UnlessCallback, read as a dict)
        (unless,) = lexer.callback.values()
        self._keywords = {t.pattern.value: t.name for t in unless.scanner.terminals}
        parser = frontend.parser.parser
        callbacks = parser.callbacks                              # rule → the AST builder's method
        # a reduction as (children it takes, the builder's method, the rule's name): no Rule hashed per step.
        # A unit rule (`?expr: term`, 40 % of the reductions) whose callback is Lark's ExpandSingleChild alone
        # makes its one child stand for it: no method (None), its child stays on the stack
        def reduction(rule):
            unit = len(rule.expansion) == 1 and type(callbacks[rule]) is ExpandSingleChild
            return len(rule.expansion), None if unit else callbacks[rule], rule.origin.name
        self._states = {state: {kind: (action, arg if action is Shift else reduction(arg))
                                for kind, (action, arg) in actions.items()}
                        for state, actions in parser.parse_table.states.items()}
        self._start = parser.parse_table.start_states
        self._end = parser.parse_table.end_states
        self._token_callbacks = {k: f for k, f in callbacks.items() if isinstance(k, str)}

    @classmethod
    def of(cls, lark: Lark) -> Driver | None:
        """The driver, or None where Lark's internals are not what this module reads."""
        try:
            lexer = lark.parser.lexer.lexer
            scanner = lexer.scanner                                # built when first asked, with lexer.callback
            callbacks = list(lexer.callback.items())
            if not (isinstance(lexer, BasicLexer) and len(scanner._mres) == 1 and len(callbacks) == 1
                    and isinstance(callbacks[0][1], UnlessCallback)
                    and all(isinstance(t.pattern, PatternStr) and not t.pattern.flags
                            for t in callbacks[0][1].scanner.terminals)):
                return None
            return cls(lark)
        except (AttributeError, TypeError, ValueError):
            return None

    def tokens(self, text: str):
        """Lark's tokens of `text`, with their positions, before the post-lexer."""
        match, ignore, multiline, keywords = self._match, self._ignore, self._multiline, self._keywords
        pos, line, column, end = 0, 1, 1, len(text)
        while pos < end:
            m = match(text, pos)
            if m is None:
                raise NotParsed
            value, kind, after = m.group(0), m.lastgroup, m.end()
            if kind in multiline and "\n" in value:
                end_line, end_column = line + value.count("\n"), after - text.rindex("\n", pos, after)
            else:
                end_line, end_column = line, column + after - pos
            if kind not in ignore:
                if kind == "NAME":
                    kind = keywords.get(value, kind)
                token = str.__new__(Token, value)                  # Token's fields, without its __new__'s checks
                token.type, token.value, token.start_pos, token.end_pos = kind, value, pos, after
                token.line, token.column, token.end_line, token.end_column = line, column, end_line, end_column
                yield token
            pos, line, column = after, end_line, end_column

    def parse(self, text: str, start: str):
        """What Lark's `parse(text, start=start)` returns, or NotParsed."""
        states, token_callbacks, end = self._states, self._token_callbacks, self._end[start]
        state_stack, value_stack = [self._start[start]], []
        try:
            for token in itertools.chain(self._postlex.process(self.tokens(text)), (None,)):  # None: the text's end
                kind = END if token is None else token.type
                action, arg = states[state_stack[-1]][kind]
                while action is not Shift:                        # reduce by rules until the token shifts
                    size, build, name = arg
                    if build is None:                             # a unit rule: its child stands for it
                        del state_stack[-1]
                    else:
                        children = value_stack[-size:] if size else []
                        if size:
                            del state_stack[-size:], value_stack[-size:]
                        value_stack.append(build(children))
                    state_stack.append(states[state_stack[-1]][name][1])
                    if token is None and state_stack[-1] == end:
                        return value_stack[-1]
                    action, arg = states[state_stack[-1]][kind]
                if token is None:
                    raise NotParsed
                state_stack.append(arg)
                value_stack.append(token_callbacks[kind](token) if kind in token_callbacks else token)
        except KeyError:
            raise NotParsed from None
        raise NotParsed                                           # (not reached: the end returns or raises above)

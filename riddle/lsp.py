"""`riddle lsp`: a Language Server (stdio) for riddle files, on pygls 2 (lsprotocol types).

It reuses what the command line uses — `api.check` for diagnostics, the oracle and the logic plan;
the registry (plugins included) for predicates; `lang.format` for formatting — and adds only what an
editor needs on top: positions, the word under the cursor, and edits.

    diagnostics       on open, change (debounced) and save: every diagnostic, its code, help and
                      related spans; warnings as warnings
    hover             a predicate: truth table, description, origin · an unknown: domain, the labels
                      the oracle leaves it, the lines that tie it · a statement: its normal form and plan
    completion        keywords, the unknown's domain's predicates, unknowns, domains after `:`,
                      settings after `solve with`, a choice's values after its key
    definition, references, rename      for unknowns (rename refuses a taken or reserved name)
    code actions      the diagnostics' did-you-mean fixes; "declare `x`" for an undeclared name
    symbols, semantic tokens, formatting (riddle fmt)

Lines and columns: the language's spans are 1-based code points, LSP's 0-based UTF-16 units; the
two agree on every character but those outside the Basic Multilingual Plane (which riddle's
grammar allows only in comments and strings).
"""
from __future__ import annotations

import asyncio
import functools
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from . import __version__, api
from .lang.checked import INSTRUMENTS, Statement
from .lang.errors import ERROR, WARNING, Diagnostic
from .lang.format import KEYWORDS, FormatError, format_text
from .models.registry import default_registry
from .vocabulary import ALL_KEYS, SETTINGS

DEBOUNCE_S = 0.3
ORACLE_SECONDS = 2.0               # an editor asks often: a wide riddle is "not counted within 2 s"
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TOKEN = re.compile(r'"[^"\n]*"|#[^\n]*|[0-9]+(?:\.[0-9]+)?|[A-Za-z_][A-Za-z0-9_]*|==|!=|<=|>=|[-+*%=<>]|\S')
SEMANTIC_TYPES = ["keyword", "variable", "function", "number", "string", "comment", "operator", "type", "property"]
DID_YOU_MEAN = re.compile(r"did you mean `([^`]+)`\?")


@dataclass
class Analysis:
    """A document's text and what riddle makes of it."""
    text: str
    result: api.CheckResult

    @property
    def riddle(self):
        return self.result.riddle

    @functools.cached_property
    def unknowns(self) -> dict:                      # asked once per token by semantic tokens: built once
        return {u.name: u for u in self.riddle.unknowns}


def path_of(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


def analyse(uri: str, text: str) -> Analysis:
    # `looks like` paths are relative to the riddle's folder: the document's own path names it
    return Analysis(text, api.check(text, name=path_of(uri), text=True, oracle_seconds=ORACLE_SECONDS))


# ── positions ────────────────────────────────────────────────────────────────

def to_range(span) -> lsp.Range:
    if span is None:
        return lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
    return lsp.Range(lsp.Position(span.line - 1, span.column - 1), lsp.Position(span.end_line - 1, span.end_column - 1))


def tokens(line: str):
    """(start column 0-based, text) of each token of one line, comments and strings as one token."""
    for m in TOKEN.finditer(line):
        yield m.start(), m.group()


def word_at(text: str, pos: lsp.Position) -> tuple[str, lsp.Range] | None:
    lines = text.split("\n")
    if pos.line >= len(lines):
        return None
    for start, tok in tokens(lines[pos.line]):
        if start <= pos.character <= start + len(tok) and WORD.fullmatch(tok):
            return tok, lsp.Range(lsp.Position(pos.line, start), lsp.Position(pos.line, start + len(tok)))
    return None


INDEXED = re.compile(r"[A-Za-z_]\w*(?:\s*\[\s*\d+\s*\])+")


def name_at(text: str, pos: lsp.Position) -> tuple[str, lsp.Range] | None:
    """The name under the cursor: one cell of an array with whole-number indexes (`cell[3][4]`, spaces
    dropped) where the cursor is on it, else the word (word_at)."""
    lines = text.split("\n")
    if pos.line < len(lines):
        code = list(lines[pos.line])
        for start, tok in tokens(lines[pos.line]):              # comments and strings: blanks, columns kept
            if tok.startswith(("#", '"')):
                code[start:start + len(tok)] = " " * len(tok)
        for m in INDEXED.finditer("".join(code)):
            if m.start() <= pos.character <= m.end():
                return re.sub(r"\s+", "", m.group()), lsp.Range(lsp.Position(pos.line, m.start()),
                                                               lsp.Position(pos.line, m.end()))
    return word_at(text, pos)


def occurrences(text: str, name: str) -> list[lsp.Range]:
    """Every use of a name as a word (not inside a comment or a string)."""
    out = []
    for i, line in enumerate(text.split("\n")):
        for start, tok in tokens(line):
            if tok == name:
                out.append(lsp.Range(lsp.Position(i, start), lsp.Position(i, start + len(tok))))
    return out


def contains(span, pos: lsp.Position) -> bool:
    start = (span.line - 1, span.column - 1)
    end = (span.end_line - 1, span.end_column - 1)
    return start <= (pos.line, pos.character) <= end


def innermost(statements, pos) -> Statement | None:
    found = None
    for s in statements:
        if contains(s.span, pos):
            found = s
            if s.parts:
                found = innermost(s.parts, pos) or s
    return found


# ── what the server says ─────────────────────────────────────────────────────

def lsp_diagnostic(uri: str, d: Diagnostic) -> lsp.Diagnostic:
    severity = {ERROR: lsp.DiagnosticSeverity.Error, WARNING: lsp.DiagnosticSeverity.Warning}.get(
        d.severity, lsp.DiagnosticSeverity.Information)
    message = d.message + (f"\nhelp: {d.help}" if d.help else "")
    related = [lsp.DiagnosticRelatedInformation(lsp.Location(uri, to_range(span)), label or "here")
               for span, label in d.related]
    return lsp.Diagnostic(range=to_range(d.span), message=message, severity=severity, code=d.code, source="riddle",
                          related_information=related or None, data={"help": d.help, "label": d.label})


def hover_text(a: Analysis, pos: lsp.Position) -> str | None:
    word = name_at(a.text, pos)
    registry = default_registry()
    cells = [u for n, u in a.unknowns.items() if word and n.startswith(word[0] + "[")]
    if word and word[0] not in a.unknowns and cells:              # an array's own name: what it holds
        return (f"**{word[0]}**: an array of {len(cells)} {cells[0].domain.plural} "
                f"({cells[0].name} … {cells[-1].name}); `{cells[0].name}` names one of them")
    if word and word[0] in a.unknowns:
        u = a.unknowns[word[0]]
        lines = [f"**{u.name}**: {u.domain.name} (labels {', '.join(map(str, u.domain.labels))})"]
        sym = a.result.symbolic
        if sym is not None and sym.solutions is not None and len(sym.solutions):
            values = sorted({int(v) for v in sym.solutions[:, u.index]})
            lines.append(f"the truth tables leave it: {', '.join(map(str, values))}")
        tied = [s.span.line for s in a.riddle.statements if u.name in s.unknowns]
        if tied:
            lines.append(f"tied by line{'s' if len(tied) > 1 else ''} {', '.join(map(str, tied))}")
        return "\n\n".join(lines)
    s = innermost(a.riddle.statements, pos)
    if s is None:
        return None
    if s.reading is not None and word and word[0] not in KEYWORDS:
        p = s.reading.predicate
        table = ("truth table: holds for " + ", ".join(map(str, sorted(p.truth_table)))
                 if p.truth_table is not None else "no truth table: only its network says")
        origin = next((q.origin for q in registry.predicates_of(p.domain) if q.name == p.name), p.origin)
        return (f"**{p.name}** — a predicate of {p.domain}s ({origin})\n\n{table}"
                + (f"\n\n{p.description}" if p.description else ""))
    lines = [f"{s.kind}: `{s.text()}`"]
    if s.parts:
        lines.append(f"normal form: `{s.normal_form()}`")
    program = a.result.logic
    if program is not None:
        groups = [g for g in program.groups if any(f.statement is s for f in g.factors)]
        lines += [f"plan {g.id}: {g.describe()}" for g in groups]
    return "\n\n".join(lines)


def completions(a: Analysis, pos: lsp.Position) -> list[lsp.CompletionItem]:
    line = a.text.split("\n")[pos.line] if pos.line < len(a.text.split("\n")) else ""
    before = line[:pos.character]
    registry = default_registry()
    words = before.split()
    item = lsp.CompletionItem
    if re.search(r"\bthrough\b(?:[^#]*,)?\s*\w*$", before) and "looks" in before:
        return [item(k, kind=lsp.CompletionItemKind.Function, documentation=what) for k, what in INSTRUMENTS.items()]
    if re.match(r"\s*solve\s+with\b", before):
        key = re.search(r"\b(\w+)\s+\w*$", before)             # after a choice's key: its values
        spec = SETTINGS.get(key.group(1)) if key else None
        if spec is not None and spec.kind == "choice":
            return [item(c, kind=lsp.CompletionItemKind.EnumMember, documentation=spec.help) for c in spec.choices]
        return [item(k, kind=lsp.CompletionItemKind.Property) for k in ALL_KEYS]
    if re.search(r":\s*\w*$", before) and not re.search(r"\b(is|has|contains)\b", before):
        return [item(d.name, kind=lsp.CompletionItemKind.Class) for d in registry.domains.values()]
    m = re.search(r"\b([A-Za-z_]\w*)\s+(is|has|contains)(\s+(?:not|no))?(?:\s+(?:a\s+)?[\w ]*)?$", before)
    if m and m.group(1) not in KEYWORDS:
        # the unknown's domain; one not (yet) declared: every domain's predicates
        domains = [a.unknowns[m.group(1)].domain.name] if m.group(1) in a.unknowns else list(registry.domains)
        out = [item(p.name, kind=lsp.CompletionItemKind.Function, detail=f"{p.domain} · {p.origin}",
                    documentation=p.description or None) for d in domains for p in registry.predicates_of(d)]
        if not m.group(3):                                # `not` after is, `no` after has / contains
            out.append(item("not" if m.group(2) == "is" else "no", kind=lsp.CompletionItemKind.Keyword))
        return out
    out = [item(n, kind=lsp.CompletionItemKind.Variable, detail=u.domain.name) for n, u in a.unknowns.items()]
    starts = ["digits", "all different", "exactly", "at least", "at most", "if", "solve with"] if len(words) <= 1 else \
        ["is", "is not", "has", "has no", "contains", "or", "and", "then", "of", "with strength", "looks like", "num"]
    out += [item(k, kind=lsp.CompletionItemKind.Keyword) for k in starts]
    if len(words) <= 1:
        out += [item(d.plural, kind=lsp.CompletionItemKind.Class) for d in registry.domains.values()]
    return out


def quick_fixes(uri: str, a: Analysis, diagnostics: list[lsp.Diagnostic]) -> list[lsp.CodeAction]:
    lines = a.text.split("\n")
    actions = []
    for d in diagnostics:
        data = d.data if isinstance(d.data, dict) else {}
        help_text = data.get("help") or ""
        m = DID_YOU_MEAN.search(help_text)
        r = d.range
        if m and r.start.line == r.end.line and r.start.line < len(lines):
            marked = lines[r.start.line][r.start.character:r.end.character]
            want = m.group(1)
            if "…" not in want and marked:
                # replace as many trailing words of the marked text as the suggestion has
                parts, k = marked.split(), len(want.split())
                keep = " ".join(parts[:-k]) if len(parts) > k else ""
                new = f"{keep} {want}" if keep else want
                edit = lsp.TextEdit(r, new)
                actions.append(lsp.CodeAction(f"change to `{want}`", kind=lsp.CodeActionKind.QuickFix,
                                              diagnostics=[d], is_preferred=True,
                                              edit=lsp.WorkspaceEdit(changes={uri: [edit]})))
        if d.code == "R010" and r.start.line == r.end.line:
            name = lines[r.start.line][r.start.character:r.end.character]
            if WORD.fullmatch(name) and name not in KEYWORDS:
                domain = next(iter(a.unknowns.values())).domain.name if a.unknowns else "digit"
                at = _after_declarations(a)
                edit = lsp.TextEdit(lsp.Range(lsp.Position(at, 0), lsp.Position(at, 0)), f"{name}: {domain}\n")
                actions.append(lsp.CodeAction(f"declare `{name}` as a {domain}", kind=lsp.CodeActionKind.QuickFix,
                                              diagnostics=[d], edit=lsp.WorkspaceEdit(changes={uri: [edit]})))
    return actions


def _after_declarations(a: Analysis) -> int:
    """The 0-based line after the last declaration (or after the leading comments)."""
    if a.riddle.unknowns:
        return max(u.span.line for u in a.riddle.unknowns)
    lines = a.text.split("\n")
    i = 0
    while i < len(lines) and lines[i].lstrip().startswith("#"):
        i += 1
    return i


def semantic_tokens(a: Analysis) -> list[int]:
    registry = default_registry()
    domains = {w for d in registry.domains.values() for w in (d.name, d.plural)}
    predicate_words = {w for d in registry.domains.values() for p in registry.predicates_of(d.name)
                       for w in p.name.split()}
    data, prev_line, prev_col = [], 0, 0
    for i, line in enumerate(a.text.split("\n")):
        setting_line = bool(re.match(r"\s*solve\s+with\b", line))
        for start, tok in tokens(line):
            if tok.startswith("#"):
                kind = "comment"
            elif tok.startswith('"'):
                kind = "string"
            elif tok[0].isdigit():
                kind = "number"
            elif tok in KEYWORDS:
                kind = "keyword"
            elif tok in a.unknowns:
                kind = "variable"
            elif tok in domains:
                kind = "type"
            elif setting_line and WORD.fullmatch(tok):
                kind = "property"
            elif tok in predicate_words:
                kind = "function"
            elif tok in "+-*%=<>!=<=>===":
                kind = "operator"
            else:
                continue
            delta_line = i - prev_line
            delta_col = start - prev_col if delta_line == 0 else start
            data += [delta_line, delta_col, len(tok), SEMANTIC_TYPES.index(kind), 0]
            prev_line, prev_col = i, start
    return data


def symbols(a: Analysis) -> list[lsp.DocumentSymbol]:
    lines = a.text.split("\n")
    out = [lsp.DocumentSymbol(name=u.name, kind=lsp.SymbolKind.Variable, range=to_range(u.span),
                              selection_range=to_range(u.span), detail=u.domain.name) for u in a.riddle.unknowns]
    for s in a.riddle.statements:
        text = lines[s.span.line - 1].split("#")[0].strip() if s.span.line - 1 < len(lines) else s.text()
        out.append(lsp.DocumentSymbol(name=text or s.text(), kind=lsp.SymbolKind.Event, range=to_range(s.span),
                                      selection_range=to_range(s.span), detail=s.kind))
    return out


# ── the server ───────────────────────────────────────────────────────────────

class RiddleServer(LanguageServer):
    def __init__(self):
        super().__init__("riddle-lsp", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Full)
        self.analyses: dict[str, Analysis] = {}
        self.pending: dict[str, asyncio.Task] = {}

    def analysis(self, uri: str) -> Analysis:
        text = self.workspace.get_text_document(uri).source
        a = self.analyses.get(uri)
        if a is None or a.text != text:
            a = self.analyses[uri] = analyse(uri, text)
        return a

    def publish(self, uri: str) -> None:
        a = self.analysis(uri)
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
            uri=uri, diagnostics=[lsp_diagnostic(uri, d) for d in a.result.diagnostics]))

    def schedule(self, uri: str) -> None:
        """Check after DEBOUNCE_S of quiet: typing does not run the checker on every key."""
        if uri in self.pending:
            self.pending[uri].cancel()

        async def later():
            await asyncio.sleep(DEBOUNCE_S)
            self.publish(uri)
        self.pending[uri] = asyncio.get_event_loop().create_task(later())


server = RiddleServer()


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: RiddleServer, params: lsp.DidOpenTextDocumentParams):
    ls.publish(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: RiddleServer, params: lsp.DidChangeTextDocumentParams):
    ls.schedule(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: RiddleServer, params: lsp.DidSaveTextDocumentParams):
    ls.publish(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: RiddleServer, params: lsp.DidCloseTextDocumentParams):
    ls.analyses.pop(params.text_document.uri, None)
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def hover(ls: RiddleServer, params: lsp.HoverParams):
    text = hover_text(ls.analysis(params.text_document.uri), params.position)
    return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, text)) if text else None


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=[" ", ":"]))
def completion(ls: RiddleServer, params: lsp.CompletionParams):
    return lsp.CompletionList(is_incomplete=False,
                              items=completions(ls.analysis(params.text_document.uri), params.position))


def unknown_at(ls: RiddleServer, params) -> tuple[Analysis, str, lsp.Range] | None:
    """The document's analysis, and the unknown under the cursor with its range (None: not an unknown)."""
    a = ls.analysis(params.text_document.uri)
    word = name_at(a.text, params.position)
    return (a, *word) if word and word[0] in a.unknowns else None


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
def definition(ls: RiddleServer, params: lsp.DefinitionParams):
    found = unknown_at(ls, params)
    if found is None:
        return None
    a, name, _ = found
    return lsp.Location(params.text_document.uri, to_range(a.unknowns[name].span))


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
def references(ls: RiddleServer, params: lsp.ReferenceParams):
    found = unknown_at(ls, params)
    if found is None:
        return None
    return [lsp.Location(params.text_document.uri, r) for r in occurrences(found[0].text, found[1])]


@server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
def prepare_rename(ls: RiddleServer, params: lsp.PrepareRenameParams):
    found = unknown_at(ls, params)
    return found[2] if found else None


@server.feature(lsp.TEXT_DOCUMENT_RENAME)
def rename(ls: RiddleServer, params: lsp.RenameParams):
    found = unknown_at(ls, params)
    if found is None:
        raise JsonRpcInvalidParams("only an unknown can be renamed")
    a, old, _ = found
    new = params.new_name
    registry = default_registry()
    reserved = KEYWORDS | {w for d in registry.domains.values() for w in (d.name, d.plural)}
    if not WORD.fullmatch(new):
        raise JsonRpcInvalidParams(f"`{new}` is not a name: letters, digits and `_`, not starting with a digit")
    if new in reserved:
        raise JsonRpcInvalidParams(f"`{new}` is reserved: a keyword or a domain's name")
    if new in a.unknowns and new != old:
        raise JsonRpcInvalidParams(f"`{new}` is taken: another unknown has that name")
    edits = [lsp.TextEdit(r, new) for r in occurrences(a.text, old)]
    return lsp.WorkspaceEdit(changes={params.text_document.uri: edits})


@server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
def code_action(ls: RiddleServer, params: lsp.CodeActionParams):
    return quick_fixes(params.text_document.uri, ls.analysis(params.text_document.uri), params.context.diagnostics)


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbol(ls: RiddleServer, params: lsp.DocumentSymbolParams):
    return symbols(ls.analysis(params.text_document.uri))


@server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
                lsp.SemanticTokensLegend(token_types=SEMANTIC_TYPES, token_modifiers=[]))
def semantic_tokens_full(ls: RiddleServer, params: lsp.SemanticTokensParams):
    return lsp.SemanticTokens(data=semantic_tokens(ls.analysis(params.text_document.uri)))


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
def formatting(ls: RiddleServer, params: lsp.DocumentFormattingParams):
    text = ls.workspace.get_text_document(params.text_document.uri).source
    try:
        formatted = format_text(text, path_of(params.text_document.uri))
    except FormatError:
        return None                                   # it does not parse: the diagnostics say why
    if formatted == text:
        return []
    end = lsp.Position(len(text.split("\n")), 0)
    return [lsp.TextEdit(lsp.Range(lsp.Position(0, 0), end), formatted)]


def main() -> None:
    server.start_io()


if __name__ == "__main__":
    main()

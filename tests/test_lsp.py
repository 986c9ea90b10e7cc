"""`riddle lsp`, driven as an editor drives it (pytest-lsp: the server in a subprocess over stdio):
diagnostics that appear and clear, hover, completion, definition, references, rename, quick fixes
whose edits make `riddle check` accept the file, symbols, semantic tokens, formatting — on real
puzzle files — and a plugin's predicate in completion and hover."""
from __future__ import annotations

import sys

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

from riddle import api

from .conftest import ROOT

pytestmark = [pytest.mark.asyncio(loop_scope="function")]

PLUGIN = ROOT / "tests" / "fixtures" / "square_plugin.py"
SERVER = [sys.executable, "-m", "riddle", "lsp", "--plugin", str(PLUGIN)]


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=lsp.ClientCapabilities(),
                                                             root_uri=ROOT.as_uri()))
    yield
    await lsp_client.shutdown_session()


def open_doc(client: LanguageClient, path, text: str | None = None, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(
        uri=uri, language_id="riddle", version=version, text=path.read_text() if text is None else text)))
    return uri


async def diagnostics_of(client: LanguageClient, uri: str) -> list[lsp.Diagnostic]:
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return client.diagnostics.get(uri, [])


def change(client, uri, text, version):
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
        [lsp.TextDocumentContentChangeWholeDocument(text=text)]))


def apply(text: str, edits: list[lsp.TextEdit]) -> str:
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    at = lambda p: offsets[p.line] + p.character  # noqa: E731
    for e in sorted(edits, key=lambda e: at(e.range.start), reverse=True):
        text = text[:at(e.range.start)] + e.new_text + text[at(e.range.end):]
    return text


PUZZLE = ROOT / "puzzles" / "134.rdl"


@pytest.mark.slow
async def test_diagnostics_appear_and_clear_as_the_text_is_fixed(client: LanguageClient, tmp_path):
    path = tmp_path / "typo.rdl"
    good = PUZZLE.read_text()
    bad = good.replace("third has no closed circle", "third has no closed circel")
    path.write_text(bad)
    uri = open_doc(client, path)
    (d,) = [d for d in await diagnostics_of(client, uri) if d.severity == lsp.DiagnosticSeverity.Error]
    assert d.code == "R012" or "closed circel" in d.message
    assert "did you mean `closed circle`?" in d.message and d.source == "riddle"
    line = bad.split("\n").index(next(x for x in bad.split("\n") if "circel" in x))
    assert d.range.start.line == line
    change(client, uri, good, 2)
    assert [x for x in await diagnostics_of(client, uri) if x.severity == lsp.DiagnosticSeverity.Error] == []


@pytest.mark.slow
async def test_a_quick_fix_makes_the_file_check(client: LanguageClient, tmp_path):
    path = tmp_path / "typos.rdl"
    text = "digits first, second\nfisrt is odd\nsecond has no closed circel\nfirst + second = 9\n"
    path.write_text(text)
    uri = open_doc(client, path)
    errors = [d for d in await diagnostics_of(client, uri) if d.severity == lsp.DiagnosticSeverity.Error]
    assert len(errors) == 2
    fixed = text
    for d in errors:
        actions = await client.text_document_code_action_async(lsp.CodeActionParams(
            lsp.TextDocumentIdentifier(uri), d.range, lsp.CodeActionContext(diagnostics=[d])))
        (fix,) = [a for a in actions if a.title.startswith("change to")]
        fixed = apply(fixed, fix.edit.changes[uri])
    assert fixed == "digits first, second\nfirst is odd\nsecond has no closed circle\nfirst + second = 9\n"
    assert api.check(fixed, text=True).ok


@pytest.mark.slow
async def test_declare_an_undeclared_unknown(client: LanguageClient, tmp_path):
    path = tmp_path / "undeclared.rdl"
    text = "# two digits\ndigits a\na + zed = 9\n"
    uri = open_doc(client, path, text)
    (d,) = [d for d in await diagnostics_of(client, uri) if d.code == "R010"]
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(uri), d.range, lsp.CodeActionContext(diagnostics=[d])))
    (declare,) = [a for a in actions if a.title.startswith("declare")]
    fixed = apply(text, declare.edit.changes[uri])
    assert fixed == "# two digits\ndigits a\nzed: digit\na + zed = 9\n" and api.check(fixed, text=True).ok


@pytest.mark.slow
async def test_hover_says_what_a_predicate_an_unknown_and_a_statement_are(client: LanguageClient):
    uri = open_doc(client, PUZZLE)
    await diagnostics_of(client, uri)
    lines = PUZZLE.read_text().split("\n")
    row = next(i for i, x in enumerate(lines) if x.startswith("third has no closed circle"))

    async def hover(line, word):
        return (await client.text_document_hover_async(lsp.HoverParams(
            lsp.TextDocumentIdentifier(uri), lsp.Position(line, lines[line].index(word) + 1)))).contents.value
    predicate = await hover(row, "circle")
    assert "closed circle" in predicate and "holds for 0, 6, 8, 9" in predicate and "built in" in predicate
    unknown = await hover(row, "third")
    assert "digit" in unknown and "the truth tables leave it: 4" in unknown and "tied by lines" in unknown
    relation_row = next(i for i, x in enumerate(lines) if x.startswith("first + second = third"))
    statement = await hover(relation_row, "=")
    assert "logic relation" in statement and "plan" in statement


@pytest.mark.slow
async def test_completion_knows_predicates_unknowns_domains_and_settings(client: LanguageClient, tmp_path):
    path = tmp_path / "c.rdl"
    text = "digits a, b\na has no \nb is \nc: \nsolve with \nsolve with 9 restarts, models \n"
    uri = open_doc(client, path, text)
    await diagnostics_of(client, uri)

    async def labels(line):
        pos = lsp.Position(line, len(text.split("\n")[line]))
        result = await client.text_document_completion_async(lsp.CompletionParams(lsp.TextDocumentIdentifier(uri), pos))
        return {i.label for i in result.items}
    assert {"closed circle", "odd", "square"} <= await labels(1)          # square: the plugin's
    assert "not" in await labels(2)
    assert "digit" in await labels(3)
    assert {"restarts", "method", "seed", "models"} <= await labels(4)
    assert await labels(5) == {"default", "coupled"}                       # a choice's values after its key


@pytest.mark.slow
async def test_a_plugin_predicate_shows_in_hover(client: LanguageClient, tmp_path):
    path = tmp_path / "p.rdl"
    text = "digits a\na is square\n"
    uri = open_doc(client, path, text)
    assert [d for d in await diagnostics_of(client, uri) if d.severity == lsp.DiagnosticSeverity.Error] == []
    h = await client.text_document_hover_async(lsp.HoverParams(lsp.TextDocumentIdentifier(uri), lsp.Position(1, 7)))
    assert "square" in h.contents.value and "holds for 0, 1, 4, 9" in h.contents.value
    assert "a perfect square" in h.contents.value and "square_plugin" in h.contents.value


@pytest.mark.slow
async def test_definition_references_and_rename(client: LanguageClient):
    uri = open_doc(client, PUZZLE)
    await diagnostics_of(client, uri)
    text = PUZZLE.read_text()
    lines = text.split("\n")
    row = next(i for i, x in enumerate(lines) if x.startswith("second = first + 2"))
    pos = lsp.Position(row, lines[row].index("first"))
    where = await client.text_document_definition_async(lsp.DefinitionParams(
        text_document=lsp.TextDocumentIdentifier(uri), position=pos))
    declared = next(i for i, x in enumerate(lines) if x.startswith("digits"))
    assert where.range.start.line == declared and lines[declared][where.range.start.character:].startswith("first")
    refs = await client.text_document_references_async(lsp.ReferenceParams(
        context=lsp.ReferenceContext(include_declaration=True), text_document=lsp.TextDocumentIdentifier(uri),
        position=pos))
    assert len(refs) == 4                                          # declared, odd, second = first + 2, first + …
    edit = await client.text_document_rename_async(lsp.RenameParams(
        text_document=lsp.TextDocumentIdentifier(uri), position=pos, new_name="one"))
    renamed = apply(text, edit.changes[uri])
    assert "digits one, second, third" in renamed and "# I.   the first number is odd" in renamed
    result = api.check(renamed, text=True)
    assert result.ok and result.solutions == [(1, 3, 4)]
    for taken in ("second", "digit", "odd or"):
        with pytest.raises(JsonRpcException, match="taken|reserved|not a name"):
            await client.text_document_rename_async(lsp.RenameParams(
                text_document=lsp.TextDocumentIdentifier(uri), position=pos, new_name=taken))
    with pytest.raises(JsonRpcException, match="reserved"):       # `is` is a keyword
        await client.text_document_rename_async(lsp.RenameParams(
            text_document=lsp.TextDocumentIdentifier(uri), position=pos, new_name="is"))


@pytest.mark.slow
async def test_symbols_semantic_tokens_and_formatting(client: LanguageClient):
    path = ROOT / "puzzles" / "send-more-money.rdl"
    uri = open_doc(client, path)
    await diagnostics_of(client, uri)
    symbols = await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(uri)))
    names = [s.name for s in symbols]
    assert names[:8] == ["s", "e", "n", "d", "m", "o", "r", "y"] and "all different s, e, n, d, m, o, r, y" in names
    tokens = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(
        lsp.TextDocumentIdentifier(uri)))
    assert len(tokens.data) % 5 == 0 and len(tokens.data) > 50
    kinds = {tokens.data[i + 3] for i in range(0, len(tokens.data), 5)}
    assert {0, 1, 3, 5} <= kinds                                   # keyword, variable, number, comment
    same = await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        lsp.TextDocumentIdentifier(uri), lsp.FormattingOptions(tab_size=4, insert_spaces=True)))
    assert list(same) == []                                        # the puzzle is formatted already
    messy = tmp_messy = "digits a,b\na+b=9   # nine\n"
    uri2 = open_doc(client, ROOT / "tmp-messy.rdl", tmp_messy)
    edits = await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        lsp.TextDocumentIdentifier(uri2), lsp.FormattingOptions(tab_size=4, insert_spaces=True)))
    assert apply(messy, edits) == "digits a, b\na + b = 9  # nine\n"


ERROR_FILES = sorted((ROOT / "tests" / "errors").glob("*.rdl"))


@pytest.mark.slow
async def test_diagnostics_are_exactly_riddle_checks(client: LanguageClient):
    """Every error file of the golden tests: the server's diagnostics are `riddle check --json`'s —
    code, line, column and end (LSP counts from 0) — what an editor shows is what the CLI says."""
    compared = 0
    for path in ERROR_FILES:
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue                                    # an editor would not open it as text either
        expected = api.check(str(path)).to_json()["diagnostics"]
        if any(d["line"] is None for d in expected) or "\r" in text:
            continue                                    # a whole-file problem, or line endings an editor rewrites
        uri = open_doc(client, path, text)
        got = await diagnostics_of(client, uri)
        for _ in range(3):                              # a notification for the document closed before
            if len(got) == len(expected):
                break
            got = await diagnostics_of(client, uri)
        assert sorted((d.code, d.range.start.line + 1, d.range.start.character + 1, d.range.end.line + 1,
                       d.range.end.character + 1) for d in got) == sorted(
            (d["code"], d["line"], d["column"], d["end"]["line"], d["end"]["column"]) for d in expected), path.name
        client.text_document_did_close(lsp.DidCloseTextDocumentParams(lsp.TextDocumentIdentifier(uri)))
        compared += 1
    assert compared >= 40


@pytest.mark.slow
async def test_hover_and_definition_know_one_cell_of_an_array(client: LanguageClient):
    """`cell[2][4]` names one unknown of `digits cell[9][9]`: hover says which, go-to-definition finds the
    declaration; the array's own name says what it holds."""
    sudoku = PUZZLE.parent / "sudoku.rdl"
    uri = open_doc(client, sudoku)
    await diagnostics_of(client, uri)
    lines = sudoku.read_text().split("\n")
    row = next(i for i, x in enumerate(lines) if "cell[2][4] is 1" in x)
    at = lsp.Position(row, lines[row].index("cell[2][4]") + 6)              # on the first index
    hover = (await client.text_document_hover_async(lsp.HoverParams(lsp.TextDocumentIdentifier(uri), at))).contents
    assert hover.value.startswith("**cell[2][4]**: digit") and "the truth tables leave it: 1" in hover.value
    where = await client.text_document_definition_async(lsp.DefinitionParams(lsp.TextDocumentIdentifier(uri), at))
    declared = next(i for i, x in enumerate(lines) if x.startswith("digits cell[9][9]"))
    assert where.range.start.line == declared
    loop = next(i for i, x in enumerate(lines) if x.startswith("for r in"))
    array = (await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), lsp.Position(loop, lines[loop].index("cell") + 1)))).contents
    assert array.value.startswith("**cell**: an array of 81 digits")

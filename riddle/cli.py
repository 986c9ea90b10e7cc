"""The `riddle` command. The library never imports this module.

Exit status: 0 when all is well, 2 for a bad riddle (or bad command line), 1 when riddle itself failed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

from . import __version__
from .lang import CheckedRiddle, load
from .lang.errors import render

EXIT_OK, EXIT_FAILURE, EXIT_BAD_RIDDLE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):                             # argparse exits 2 too; keep its message short
        self.print_usage(sys.stderr)
        print(f"riddle: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_RIDDLE)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="riddle", description="Solve riddles whose unknowns are handwritten digits.")
    p.add_argument("--version", action="version", version=f"riddle {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    c = sub.add_parser("check", help="parse and check riddle files; print what riddle understood",
                       description="Parse and check riddle files and print what riddle understood of each.")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.add_argument("--json", action="store_true", help="print one JSON object per file")
    c.set_defaults(run=cmd_check)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("riddle: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:                                # a bug in riddle, not in the riddle
        if os.environ.get("RIDDLE_DEBUG"):
            traceback.print_exc()
        print(f"riddle: internal error: {type(e).__name__}: {e}\n"
              "This is a bug in riddle, not in your riddle. Set RIDDLE_DEBUG=1 to see the traceback.",
              file=sys.stderr)
        return EXIT_FAILURE


def _color(stream) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


# ── riddle check ─────────────────────────────────────────────────────────────

def cmd_check(args) -> int:
    status = EXIT_OK
    for path in args.files:
        riddle = load(path)
        if not riddle.ok:
            status = EXIT_BAD_RIDDLE
        if args.json:
            print(json.dumps(check_json(riddle)), flush=True)
            continue
        if riddle.diagnostics:
            color = _color(sys.stderr)
            print("\n\n".join(render(d, riddle.source, color) for d in riddle.diagnostics) + "\n", file=sys.stderr,
                  flush=True)
        if riddle.ok:
            print(check_text(riddle), flush=True)
        else:
            n = sum(d.is_error for d in riddle.diagnostics)
            print(f"{path}: {n} error{'s' if n != 1 else ''}", file=sys.stderr)
    return status


def check_json(r: CheckedRiddle) -> dict:
    return {
        "file": r.file,
        "ok": r.ok,
        "unknowns": [u.name for u in r.unknowns],
        "domains": {u.name: u.domain.name for u in r.unknowns},
        "statements": [
            {"line": s.span.line, "kind": s.kind, "text": s.text(), "unknowns": list(s.unknowns),
             "strength": s.strength, "source": r.source.line_text(s.span.line).strip() if r.source else None}
            for s in r.statements],
        "settings": r.settings,
        "diagnostics": [d.to_json() for d in r.diagnostics],
    }


def check_text(r: CheckedRiddle) -> str:
    lines = [f"{r.file} · {len(r.unknowns)} unknown{'s' if len(r.unknowns) != 1 else ''} · "
             f"{len(r.statements)} statement{'s' if len(r.statements) != 1 else ''}"]
    lines.append("unknowns")
    width = max((len(u.name) for u in r.unknowns), default=0)
    for u in r.unknowns:
        labels = u.domain.labels
        lines.append(f"  {u.name:<{width}}  {u.domain.name} ({min(labels)}..{max(labels)})")
    lines.append("statements")
    texts = [s.text() + (f"  × {s.strength:g}" if s.strength != 1 else "") for s in r.statements]
    tw = max((len(t) for t in texts), default=0)
    kw = max((len(s.kind) for s in r.statements), default=0)
    for s, text in zip(r.statements, texts):
        lines.append(f"  {s.span.line:>3}  {s.kind:<{kw}}  {text:<{tw}}  ties {', '.join(s.unknowns)}")
    if r.settings:
        lines.append("solve settings")
        for key, value in r.settings.items():
            shown = " ".join(f"{v:g}" for v in value) if isinstance(value, list) else value
            lines.append(f"  {key} {shown}")
    return "\n".join(lines)

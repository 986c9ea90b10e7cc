"""The `riddle` command. The library never imports this module.

Exit status: 0 when all is well, 2 for a bad riddle (or bad command line), 1 when riddle itself failed.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import socket
import sys
import traceback
from pathlib import Path

from . import __version__
from .api import check, check_text, setting_problem, writable_folder
from .lang import CheckedRiddle
from .lang.errors import Diagnostic, render, render_all
from .lang.source import read_source
from .vocabulary import (
    ALL_KEYS,
    DEFAULT_METHOD,
    DEFAULT_MODELS,
    EVERY_METHOD_READS,
    LIMITS,
    METHODS,
    MODEL_FAMILIES,
    RUN_SETTINGS,
    SETTINGS,
    read_by,
)

EXIT_OK, EXIT_FAILURE, EXIT_BAD_RIDDLE = 0, 1, 2


class LearnDefaults:                  # riddle/learn.py's LearnConfig, without importing torch to build the parser
    epochs, batch, lr, seed, learn, init = 1, 16, 1e-3, 0, ("classifier",), "scratch"


class _Parser(argparse.ArgumentParser):
    def error(self, message):                             # argparse exits 2 too; keep its message short
        self.print_usage(sys.stderr)
        print(f"riddle: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_RIDDLE)


METAVARS = {"int": "N", "float": "X", "floats": "X"}


def _number(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def each_with_help(names: dict[str, str]) -> str:
    """A registry's names with their line of help (methods, model families), for a flag's help."""
    return "; ".join(f"{name}: {what}" for name, what in names.items())


def family_or_directory(value: str) -> str:
    """`--models`: a family's name, or a model directory that `riddle learn --out DIR` wrote."""
    from .models.families import is_model_directory
    if value in MODEL_FAMILIES or is_model_directory(value):
        return value
    hint = " (it has no family.json: `riddle learn --out DIR` writes one)" if Path(value).is_dir() else ""
    raise argparse.ArgumentTypeError(f"`{value}` is neither a model family ({', '.join(MODEL_FAMILIES)}) nor a model "
                                     f"directory{hint}")


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per setting of the vocabulary (SETTINGS, then LIMITS): its type, choices and help come from
    there, and its range is checked by the same validator as a file's `solve with` line (_check_flags)."""
    for key, spec in {**SETTINGS, **LIMITS}.items():
        flag = f"--{key.replace('_', '-')}"
        # whose setting it is (vocabulary.METHOD_READS): a method that does not read it says so in its report
        whose = f"; read by {', '.join(read_by(key))}" if key in RUN_SETTINGS and key not in EVERY_METHOD_READS else ""
        if key == "models":                 # a family, or (here, not in a file) a model directory
            parser.add_argument(flag, type=family_or_directory, metavar="NAME|DIR",
                                help=each_with_help(MODEL_FAMILIES) + "; or a model directory (riddle learn --out DIR)")
            continue
        if spec.kind == "choice":
            helps = METHODS if key == "method" else None
            detail = each_with_help(helps) if helps else spec.help
            parser.add_argument(flag, choices=spec.choices, help=detail + whose)
            continue
        span = (f"{_number(spec.low)} to {_number(spec.high)}" if math.isfinite(spec.high)
                else f"at least {_number(spec.low)}")
        kind = {"int": "a whole number", "float": "a number", "floats": f"1 to {spec.most} numbers"}[spec.kind]
        parser.add_argument(flag, type=int if spec.kind == "int" else float, metavar=METAVARS[spec.kind],
                            nargs="+" if spec.kind == "floats" else None, help=f"{spec.help} ({kind}, {span}){whose}")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="riddle", description="Solve riddles whose unknowns are handwritten digits.")
    p.add_argument("--version", action="version", version=f"riddle {__version__}")
    # every command takes --plugin (argparse's `parents`: the option is shown in each command's help)
    plugin = argparse.ArgumentParser(add_help=False)
    plugin.add_argument("--plugin", action="append", default=[], metavar="PATH",
                        help="load predicates or domains from a plugin: a .py file, or a folder holding a package "
                             "or one .py file (repeatable; installed plugins load by themselves)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add = sub.add_parser
    sub.add_parser = lambda *a, **k: _add(*a, parents=[plugin], **k)  # noqa: E731

    c = sub.add_parser("check", help="parse and check riddle files; print what riddle understood",
                       description="Parse and check riddle files and print what riddle understood of each.")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.add_argument("--json", action="store_true", help="print one JSON object per file")
    c.add_argument("--data", action="append", metavar="TABLE",
                   help="the files are templates: check each row of this table too (CSV or JSON Lines; repeatable)")
    c.add_argument("--models", type=family_or_directory, default=None, metavar="NAME|DIR",
                   help="check against this model family's or model directory's networks (default: the file's "
                        "own `solve with models …`, else default)")
    c.set_defaults(run=cmd_check)

    lr = sub.add_parser("learn", help="learn the networks from riddles: a template, a table of rows, their truth",
                        description="Train the networks a template reads (the label classifier with its heads, "
                                    "predicates) from riddle-level truth alone: each row's riddle holds, nothing "
                                    "more. The loss is the exact −log P(the riddle holds | the row's images), one "
                                    "batched tensor program per mini-batch (docs/LEARNING.md).")
    lr.add_argument("template", metavar="TEMPLATE", help="a riddle file with `$name` placeholders")
    lr.add_argument("--data", required=True, metavar="TABLE", help="the training rows (CSV with a header, or .jsonl)")
    lr.add_argument("--test", metavar="TABLE", help="held-out rows: riddle accuracy, and digit accuracy where the "
                                                    "table gives `COLUMN.label`")
    lr.add_argument("--out", metavar="DIR", help="write the learned model directory here (`--models DIR` takes it)")
    lr.add_argument("--epochs", type=int, default=LearnDefaults.epochs)
    lr.add_argument("--batch", type=int, default=LearnDefaults.batch, help="rows per step")
    lr.add_argument("--lr", type=float, default=LearnDefaults.lr, help="Adam's learning rate")
    lr.add_argument("--seed", type=int, default=LearnDefaults.seed)
    lr.add_argument("--learn", nargs="+", metavar="NAME", default=list(LearnDefaults.learn),
                    help="which networks learn (default: classifier); the rest stay frozen")
    lr.add_argument("--init", choices=("scratch", "pretrained"), default=LearnDefaults.init,
                    help="scratch: freshly initialised networks (default); pretrained: start from --models'")
    lr.add_argument("--net", choices=("labelnet", "lenet"), default=None,
                    help="with scratch, the classifier's architecture: labelnet (riddle's; the default) or lenet "
                         "(DeepProbLog's MNIST network, as bench/learn.py compares)")
    lr.add_argument("--schedule", choices=("constant", "cosine"), default="constant",
                    help="the learning rate: constant (default), or cosine (falls to 0 over all epochs' steps)")
    lr.add_argument("--augment", action="store_true",
                    help="distort the table's images as a hand would (rotation, scale, shear, shift) each time "
                         "they are read")
    lr.add_argument("--max-seconds", type=float, default=None, metavar="S",
                    help="stop after the epoch in which training time passes S seconds")
    lr.add_argument("--starts", type=int, default=1, metavar="K",
                    help="K independent starts, each learning for a fifth of the epochs; the one with the lowest "
                         "training loss goes on (long sums have local optima some starts fall into)")
    lr.add_argument("--resume", action="store_true",
                    help="continue from the checkpoint in --out (written after every epoch; the same template, "
                         "table and settings, --epochs may grow)")
    lr.add_argument("--models", type=family_or_directory, default=None, metavar="NAME",
                    help="the base family: its generator goes with the learned classifier into --out")
    lr.add_argument("--device", default="cpu", help="cpu or cuda")
    lr.add_argument("--json", action="store_true", help="print the result as JSON")
    lr.set_defaults(run=cmd_learn)

    g = sub.add_parser("graph", help="print the factor graph a riddle compiles to",
                       description="Print the factor graph of a riddle: unknowns, generators, networks, factors "
                                   "and their logic tensors.")
    g.add_argument("file", metavar="FILE")
    g.add_argument("--dot", action="store_true", help="print Graphviz DOT instead (pipe it to `dot -Tpng`)")
    g.set_defaults(run=cmd_graph)

    so = sub.add_parser("solve", help="solve a riddle: digits that satisfy it, and how sure riddle is",
                        description="Solve a riddle with the bundled models and print the answer table: by "
                                    "default independent posterior samples (method auto), or many restarts of the "
                                    "method you name, in one batch. Flags override the file's `solve with` "
                                    "settings; each takes what the line takes (docs/LANGUAGE.md, \"Solve settings\").")
    so.add_argument("file", metavar="FILE")
    add_setting_flags(so)
    so.add_argument("--json", action="store_true", help="print the result as JSON")
    so.add_argument("--out", metavar="DIR", help="write PNG grids per answer, the JSON and samples.npz here")
    so.add_argument("--quiet", action="store_true", help="no progress bar")
    so.set_defaults(run=cmd_solve)

    sv = sub.add_parser("serve", help="a web playground on this machine: edit, check and solve riddles in a browser",
                        description="Serve the playground page and its JSON API (docs/API.md): an editor with "
                                    "live diagnostics, solves with live progress, downloads. Loopback only unless "
                                    "--host says otherwise. Needs the `serve` extra: pip install -e '.[serve]'.")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--host", default="127.0.0.1",
                    help="the address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to "
                         "your network: then every request needs the token in the URL it prints)")
    sv.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                    help="another name browsers reach this server by (a reverse proxy's public name, for one); "
                         "requests naming any other Host are refused (repeatable)")
    sv.add_argument("--models", type=family_or_directory, default=None, metavar="NAME|DIR",
                    help="the networks solves use unless a request names a family (a model directory from riddle "
                         "learn --out DIR; a client can never name a path)")
    sv.add_argument("--queue", type=int, default=4, metavar="N",
                    help="solves that may wait behind the running one; more are refused with 429 (default 4)")
    sv.add_argument("--workers", type=int, default=1, metavar="N",
                    help="solver processes, each running one solve at a time (default 1); a worker that dies "
                         "fails its one job and is replaced. 0: solves run on a thread of the server itself")
    sv.add_argument("--checkers", type=int, default=2, metavar="N",
                    help="checking processes for /api/check and /api/format, at the server's priority, ahead of "
                         "the solves (default 2); 0: checks run on a thread of the server itself")
    sv.add_argument("--ray", default=None, metavar="ADDRESS|local",
                    help="run solves as Ray tasks on a cluster (`auto`: the one `ray start` began here; `local`: a "
                         "Ray of the server's own), --workers of them at a time; a task whose node goes away fails "
                         "its one job. Needs the `cluster` extra")
    sv.add_argument("--max-work", type=int, default=20_000_000, metavar="N",
                    help="the most restarts × steps × unknowns one solve may ask for; more is refused with 422 "
                         "(default 20,000,000)")
    sv.add_argument("--max-seconds", type=float, default=600.0, metavar="S",
                    help="the longest time budget one solve may ask for, and the one it gets when it asks for "
                         "none (default 600)")
    sv.set_defaults(run=cmd_serve)

    ls = sub.add_parser("lsp", help="a language server for editors (stdio): diagnostics, hover, completion, rename…",
                        description="Speak the Language Server Protocol over standard input and output: what an "
                                    "editor needs to check, explain, complete and format riddle files "
                                    "(docs/EDITORS.md). Needs the `lsp` extra: pip install -e '.[lsp]'.")
    ls.set_defaults(run=cmd_lsp)

    fm = sub.add_parser("fmt", help="lay riddle files out the one canonical way (spaces only: the meaning stays)",
                        description="Rewrite riddle files in the canonical layout (docs/LANGUAGE.md, \"Layout\"): "
                                    "spacing, indentation inside multi-line { … } lists, one blank line between "
                                    "groups. Comments and line breaks stay. A file that does not parse is left "
                                    "alone (exit 2). `-` reads standard input and writes standard output.")
    fm.add_argument("files", nargs="+", metavar="FILE", help="riddle files, folders (their .rdl files) or -")
    fm.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    fm.add_argument("--diff", action="store_true", help="change nothing; print what would change as a diff")
    fm.set_defaults(run=cmd_fmt)

    sw = sub.add_parser("sweep", help="many solves as one job: riddles × seeds × methods × settings, resumable",
                        description="Solve every combination of riddles, seeds, methods and settings on local "
                                    "worker processes or a Ray cluster; one JSON line per solve in OUT/results.jsonl "
                                    "(re-running skips the rows already there), a summary in OUT/summary.md. "
                                    "Give riddle files, or one STUDY.toml with the grid (docs/SWEEP.md).")
    sw.add_argument("riddles", nargs="+", metavar="RIDDLE", help="riddle files (or globs), or one study .toml")
    sw.add_argument("--seeds", metavar="LIST", help="e.g. 0-9 or 1,4,7 (default 0)")
    sw.add_argument("--method", metavar="LIST", help=f"methods, comma-separated (default {DEFAULT_METHOD}), of: "
                                                    + ", ".join(METHODS))
    sw.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2",
                    help="a setting and its values, repeatable (restarts=50,100; anneal=0.5:1:3:10,1:10); the keys "
                         "are riddle solve's flags: " + ", ".join(k for k in (*SETTINGS, *LIMITS) if k != "method")
                         + ", each with the same values and limits")
    sw.add_argument("--out", metavar="DIR", help="where results.jsonl and summary.md go (default ./sweep)")
    sw.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: one per core)")
    sw.add_argument("--ray", metavar="auto|ADDRESS|local",
                    help="run each solve as a Ray task: join the cluster at ADDRESS (auto: the one `ray start` "
                         "began here), or start a local instance (needs the `cluster` extra)")
    sw.add_argument("--retry-failed", action="store_true", help="solve again the rows that failed before")
    sw.add_argument("--save", action="store_true", help="keep each solve's files (result.json, samples.npz with "
                    "every restart's images, answer images) in OUT/solves/KEY/")
    sw.set_defaults(run=cmd_sweep)

    t = sub.add_parser("train", help="train every model of the zoo (CPU, minutes)",
                       description="Train the generator, label classifier, predicates and judge, and write "
                                   "NAME.safetensors + NAME.json cards.")
    t.add_argument("--data", metavar="DIR", help="a directory with MNIST's four IDX files (default: the 5,000 "
                                                 "bundled digits)")
    t.add_argument("--out", metavar="DIR", default="weights", help="where to write the weights (default: ./weights)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--only", choices=("sampler", "variety", "calibration"),
                   help="sampler: retrain only the learned per-label sampler, for the generator and classifier "
                        "already in --models (default: the bundled ones), in about 10 minutes; variety: measure "
                        "the report's variety yardsticks for the generators in --models and write them into "
                        "their cards (seconds; the weights stay); calibration: fit the classifier's reading "
                        "temperature on its validation split and write it into its card (a second)")
    t.add_argument("--models", metavar="DIR", help="with --only sampler: where the generator and classifier are; "
                                                   "with --coupled: where the judge is")
    t.add_argument("--family", choices=tuple(MODEL_FAMILIES),
                   help="train one model family's networks with its own trainer (default: the whole zoo, judge "
                        "included; coupled: seed 003's coupled network, 2-3 minutes, and its discriminative "
                        "baseline); the family's weights and card go to --out")
    t.add_argument("--coupled", action="store_const", const="coupled", dest="family",
                   help="the same as --family coupled: train only seed 003's coupled network (2-3 minutes) and the "
                        "same network trained discriminatively as its card's baseline")
    t.set_defaults(run=cmd_train)

    m = sub.add_parser("models", help="list the models and their cards")
    m.add_argument(
        "--weights", metavar="DIR", help="a directory of weights (default: $RIDDLE_WEIGHTS or the bundled ones)"
    )
    m.add_argument("--json", action="store_true")
    m.set_defaults(run=cmd_models)

    rd = sub.add_parser("read", help="what riddle's networks read in pictures: labels, predicates, the judge",
                        description="Read images with a model family's networks: each image's label distribution "
                                    "(the label classifier, softmax), the probability of each predicate of the "
                                    "domain, and the independent judge's label. PNG, or .npy (one image, a stack "
                                    "[N, 28, 28], or FILE.npy#INDEX for one image of a stack).")
    rd.add_argument("images", nargs="+", metavar="IMAGE")
    rd.add_argument("--models", type=family_or_directory, default=DEFAULT_MODELS, metavar="NAME|DIR",
                    help="whose networks read: " + each_with_help(MODEL_FAMILIES) + "; or a model directory")
    rd.add_argument("--json", action="store_true", help="print a JSON list: per image its label, probabilities, "
                                                        "predicates and the judge's label")
    rd.set_defaults(run=cmd_read)

    sa = sub.add_parser(
        "sample",
        help="draw digits from the generator's prior",
        description="Draw N prior samples G(ξ), ξ ~ N(0, I): a PNG grid, or an .npz with `images` [N, 28, 28].",
    )
    sa.add_argument("--n", type=int, default=64)
    sa.add_argument("--seed", type=int, default=0)
    sa.add_argument("--out", metavar="FILE", required=True, help="FILE.png (a grid) or FILE.npz")
    sa.add_argument("--weights", metavar="DIR")
    sa.add_argument("--models", choices=tuple(MODEL_FAMILIES), default="default",
                    help="whose generator: " + each_with_help(MODEL_FAMILIES))
    sa.set_defaults(run=cmd_sample)

    pr = sub.add_parser("predicates", help="list the domains and their predicates, with where each comes from",
                        description="List the domains (what an unknown can be) and their neural predicates: truth "
                                    "tables, descriptions, and where each comes from (built in, or which plugin).")
    pr.add_argument("--domain", metavar="NAME", help="only this domain")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(run=cmd_predicates)

    tp = sub.add_parser("train-predicate", help="train a neural predicate from label-derived targets; write a plugin",
                        description="Train a predicate network of a domain on the bundled data (targets: whether "
                                    "an image's label is among --true-labels), on real digits and the generator's "
                                    "reconstructions; report its held-out accuracy; write DIR/NAME.py (a plugin "
                                    "registering it with its truth table) and its weights.")
    tp.add_argument("name", metavar="NAME", help="the predicate's name as riddles write it, e.g. \"prime\" or "
                                                 "\"is prime\" (quote several words)")
    tp.add_argument("--true-labels", required=True, metavar="LIST", help="the labels for which it holds, e.g. 2,3,5,7")
    tp.add_argument("--domain", default="digit", metavar="NAME")
    tp.add_argument("--out", required=True, metavar="DIR")
    tp.add_argument("--data", metavar="DIR", help="MNIST IDX files to train on (default: the 5,000 bundled digits)")
    tp.add_argument("--epochs", type=int, default=30)
    tp.add_argument("--seed", type=int, default=0)
    tp.set_defaults(run=cmd_train_predicate)
    return p


# Commands whose process is over once they have printed. With torch loaded, the interpreter's own
# teardown (collecting and clearing thousands of modules' objects) took ~0.6 s on 2 cores, a fifth of
# a cold `riddle solve`; run from the console script these end with os._exit once stdout and stderr are
# flushed. None of them leaves work to atexit: no child process, every file written and closed.
QUICK_EXIT = frozenset({"solve", "check", "fmt", "graph", "read", "models", "predicates"})


def entry() -> None:
    """The console script and `python -m riddle`: `main`, then the quick exit (QUICK_EXIT)."""
    raise SystemExit(main(quick_exit=True))


def main(argv: list[str] | None = None, quick_exit: bool = False) -> int:
    args = build_parser().parse_args(argv)
    code = _run(args)
    if quick_exit and args.command in QUICK_EXIT:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:                           # a reader that left early (`| head`) is no error
            pass
        os._exit(code)
    return code


def _run(args) -> int:
    from .plugins import PluginError, load_plugins
    try:
        load_plugins(args.plugin, entry_points=not os.environ.get("RIDDLE_NO_ENTRY_POINTS"))
        return args.run(args)
    except PluginError as e:                              # the user's plugin, not riddle, failed
        return _fail(str(e))
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

def print_diagnostics(riddle: CheckedRiddle, diagnostics: list[Diagnostic]) -> None:
    if diagnostics:
        color = _color(sys.stderr)
        print("\n\n".join(render(d, riddle.source, color) for d in diagnostics) + "\n", file=sys.stderr, flush=True)


def cmd_check(args) -> int:
    status = EXIT_OK
    for path in args.files:
        result = check(Path(path), template=bool(args.data), models=args.models)
        failed = bool(result.errors)
        if failed:
            status = EXIT_BAD_RIDDLE
        if args.json:
            print(json.dumps(result.to_json()), flush=True)
            continue
        print_diagnostics(result.riddle, result.diagnostics)
        if result.riddle.ok:
            print(check_text(result.riddle, result.symbolic, result.logic), flush=True)
        if failed:
            n = len(result.errors)
            print(f"{path}: {n} error{'s' if n != 1 else ''}", file=sys.stderr)
        elif args.data:
            status = max(status, _check_tables(result, args.data))
    return status


def _check_tables(result, tables: list[str]) -> int:
    """`riddle check TEMPLATE --data TABLE…`: every row of every table, read and fed to the template's logic."""
    if not result.riddle.template:
        return _fail(f"{result.riddle.file} has no `$name` placeholders: --data fills a template's")
    from .learn import LearnConfig, LearnError, RiddleLikelihood, check_rows, networks, rows_of
    from .tables import TableError, read_table
    try:
        model = RiddleLikelihood(result.graph, *networks(result.graph, LearnConfig(init="pretrained"))[:2])
        for table in tables:
            rows = rows_of(read_table(table, result.riddle.placeholders, labels_allowed=True), model)
            check_rows(rows, model)
            print(f"table {table}: {len(rows):,} rows · each one can hold", flush=True)
    except (TableError, LearnError) as e:
        return _fail(str(e))
    return EXIT_OK


def cmd_lsp(args) -> int:
    try:
        import pygls  # noqa: F401
    except ImportError as e:
        return _fail(f"riddle lsp needs the `lsp` extra ({e.name} is missing): pip install -e '.[lsp]'", EXIT_FAILURE)
    from .lsp import main as serve_lsp
    serve_lsp()
    return EXIT_OK


def _riddle_files(paths: list[str]) -> list[str]:
    """Files as given; a folder stands for the `.rdl` files under it (sorted); `-` for standard input."""
    out = []
    for path in paths:
        p = Path(path)
        out += sorted(str(q) for q in p.rglob("*.rdl")) if path != "-" and p.is_dir() else [path]
    return out


def cmd_fmt(args) -> int:
    import difflib

    from .lang.format import FormatError, format_text
    from .lang.source import decode_source
    status = EXIT_OK
    for path in _riddle_files(args.files):
        raw = sys.stdin.buffer.read() if path == "-" else None
        source, diagnostics = decode_source(raw, "<stdin>") if raw is not None else read_source(path)
        try:
            if source is None or any(d.is_error for d in diagnostics):
                raise FormatError(diagnostics)
            formatted = format_text(source.text, str(path))
        except FormatError as e:
            if e.diagnostics:
                color = _color(sys.stderr)
                print("\n\n".join(render(d, source, color) for d in e.diagnostics) + "\n", file=sys.stderr)
            print(f"{path}: not formatted: it does not parse", file=sys.stderr, flush=True)
            status = EXIT_BAD_RIDDLE
            continue
        raw = raw if raw is not None else Path(path).read_bytes()
        text = raw.decode("utf-8")
        if b"\r\n" in raw:                                # a Windows file keeps its line endings
            formatted = formatted.replace("\n", "\r\n")
        if path == "-" and not (args.check or args.diff):
            sys.stdout.write(formatted)
            continue
        if formatted == text:
            continue
        if args.diff:
            sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), formatted.splitlines(True),
                                                       f"{path}", f"{path} (formatted)"))
        if args.check or args.diff:
            print(f"would reformat {path}", file=sys.stderr)
            status = max(status, EXIT_FAILURE) if status != EXIT_BAD_RIDDLE else status
            continue
        target = Path(path)                              # written whole, then moved: never half a file
        temporary = target.with_name(f".{target.name}.riddle-fmt")
        temporary.write_bytes(formatted.encode("utf-8"))
        os.replace(temporary, target)
        print(f"reformatted {path}", file=sys.stderr)
    return status


def cmd_graph(args) -> int:
    result = check(Path(args.file))
    if result.graph is None:
        print_diagnostics(result.riddle, result.diagnostics)
        return EXIT_BAD_RIDDLE
    from .report.graph import graph_dot, graph_text
    print(graph_dot(result.graph) if args.dot else graph_text(result.graph, result.logic), flush=True)
    return EXIT_OK


def _fail(message: str, status: int = EXIT_BAD_RIDDLE) -> int:
    print(f"riddle: error: {message}", file=sys.stderr)
    return status


def _check_flags(args) -> str | None:
    """The flags through the settings' one validator, the problem in the flags' own names."""
    # models: its flag's type took a family or a model directory already
    flags = {k: getattr(args, k) for k in ALL_KEYS if k not in ("method", "device", "precision", "logic", "models")}
    problem = setting_problem({k: tuple(v) if isinstance(v, list) else v for k, v in flags.items()})
    for key in flags:
        problem = problem and problem.replace(f"`{key}`", f"`--{key.replace('_', '-')}`")
    return problem


def cmd_solve(args) -> int:
    from .api import solve
    from .infer.base import MethodError
    from .models.store import ModelError
    problem = _check_flags(args)
    if problem:
        return _fail(problem)
    checked = check(Path(args.file), logic=args.logic, models=args.models)
    print_diagnostics(checked.riddle, checked.diagnostics)
    if checked.graph is None:
        return EXIT_BAD_RIDDLE
    if args.out and (problem := writable_folder(args.out)):          # before the solve, not after it
        return _fail(f"--out: {problem}")
    settings = {k: getattr(args, k) for k in RUN_SETTINGS if k not in ("restarts", "steps", "seed")}
    try:
        result = solve(checked, restarts=args.restarts, steps=args.steps, method=args.method, seed=args.seed,
                       device=args.device, max_seconds=args.max_seconds,
                       progress=not args.quiet and not args.json, **settings)
    except ModelError as e:
        return _fail(str(e), EXIT_FAILURE)
    except MethodError as e:                                        # this riddle and this method do not go together
        return _fail(str(e))
    except RuntimeError as e:
        if "CUDA" in str(e) or "cuda" in str(e):
            return _fail(str(e), EXIT_FAILURE)
        raise
    try:
        files = result.save(args.out) if args.out else None
    except OSError as e:
        return _fail(f"--out: cannot write the results to `{args.out}`: {e.strerror or e}", EXIT_FAILURE)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(result.text(files), flush=True)
    return EXIT_BAD_RIDDLE if result.unsatisfiable else EXIT_OK


def cmd_serve(args) -> int:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        return _fail(f"riddle serve needs the `serve` extra ({e.name} is missing): pip install -e '.[serve]'",
                     EXIT_FAILURE)
    from .serve import is_loopback, port_free, run
    if not 1 <= args.port <= 65535:
        return _fail(f"--port must lie between 1 and 65535, not {args.port}")
    if not 0 <= args.queue <= 1000:
        return _fail(f"--queue must lie between 0 and 1000, not {args.queue}")
    if args.max_work < 1:
        return _fail(f"--max-work must be at least 1, not {args.max_work}")
    if not 0 <= args.workers <= 64:
        return _fail(f"--workers must lie between 0 and 64, not {args.workers}")
    if not 0 <= args.checkers <= 64:
        return _fail(f"--checkers must lie between 0 and 64, not {args.checkers}")
    if problem := setting_problem({"max_seconds": args.max_seconds}):
        return _fail(f"--max-seconds: {problem}")
    token = None if is_loopback(args.host) else secrets.token_urlsafe(24)   # like Jupyter's, off this machine
    if not port_free(args.host, args.port):
        return _fail(f"cannot listen on {args.host}:{args.port}: the port is in use or the address is not this "
                     "machine's; choose another with --port")
    # a wildcard bind is reached by this machine's name (the Host allowlist knows it; 0.0.0.0 it does not)
    shown = socket.gethostname() if args.host in ("0.0.0.0", "::") else args.host
    shown = f"[{shown}]" if ":" in shown else shown
    query = f"?token={token}" if token else ""
    print(f"riddle playground on http://{shown}:{args.port}/{query}  (Ctrl-C stops it)", file=sys.stderr, flush=True)
    if token:
        print("riddle: not on loopback: every request needs the token in that URL (the page keeps it as a cookie; "
              "scripts send it as the X-Riddle-Token header)", file=sys.stderr, flush=True)
    bad = [n for n in args.allow_host if not n or any(c in n for c in "/ @?#")]
    if bad:
        return _fail(f"--allow-host takes a host name or address (no scheme, path or port), not {bad[0]!r}")
    from .sweep import SweepError
    try:
        run(args.host, args.port, args.queue, max_work=args.max_work, max_seconds=args.max_seconds, token=token,
            allow_hosts=tuple(args.allow_host), models=args.models, workers=args.workers, ray=args.ray,
            checkers=args.checkers)
    except SweepError as e:                          # --ray: no Ray, or no cluster at that address
        return _fail(str(e), EXIT_FAILURE)
    return EXIT_OK


def cmd_sweep(args) -> int:
    from . import sweep
    try:
        if len(args.riddles) == 1 and args.riddles[0].endswith(".toml"):
            spec = sweep.load_toml(args.riddles[0])
        else:
            spec = {"riddles": sweep.expand_riddles(args.riddles), "seeds": [0], "methods": [DEFAULT_METHOD],
                    "sets": {}, "out": None, "workers": None, "ray": None, "save": False}
        if args.seeds is not None:
            spec["seeds"] = sweep.parse_seeds(args.seeds)
        if args.method:
            spec["methods"] = [m.strip() for m in args.method.split(",") if m.strip()]
        spec["sets"].update(sweep.parse_sets(args.set))
        tasks = sweep.grid(spec["riddles"], spec["seeds"], spec["methods"], spec["sets"])
        out = args.out or spec["out"] or "sweep"
        workers = args.workers or spec["workers"]
        if workers is not None and not 1 <= workers <= 1024:
            return _fail(f"--workers must lie between 1 and 1024, not {workers}")
        ray = args.ray or spec["ray"]
        if args.out and (problem := writable_folder(out)):
            return _fail(f"--out: {problem}")
        rows = sweep.sweep(tasks, out, workers=workers, ray=ray, retry_failed=args.retry_failed,
                           save=args.save or bool(spec["save"]))
    except sweep.SweepError as e:
        return _fail(str(e))
    print(sweep.summary_text(sweep.summarize(rows)))
    failed = sum(bool(r.get("error")) for r in rows)
    print(f"{len(rows)} solves · {failed} failed · {out}/results.jsonl · {out}/summary.md", file=sys.stderr)
    return EXIT_FAILURE if failed else EXIT_OK


def cmd_train(args) -> int:
    from .models.data import DataError
    from .models.families import FAMILIES
    from .models.store import ModelError
    from .models.train import TrainConfig, refresh_variety_references, train_all, train_sampler
    try:
        if args.family not in (None, "default"):
            card = FAMILIES[args.family].train(args.out, args.data, args.seed, args.models)
            m = card.get("metrics", {})
            figures = [f"held-out accuracy {m['accuracy']:.1%}"] if "accuracy" in m else []
            if "discriminative_accuracy" in m:
                figures[-1] += f" (discriminative {m['discriminative_accuracy']:.1%})"
            if "judge_read_right" in m:
                figures.append(f"samples the judge reads as their class {m['judge_read_right']:.0%}")
            print(" · ".join([f"trained the {args.family} family in {card['training_seconds']:.0f} s → {args.out}",
                              *figures]))
            return EXIT_OK
        if args.only == "variety":
            refresh_variety_references(args.models)
            return EXIT_OK
        if args.only == "calibration":
            from .models.train import refresh_reading_temperature
            refresh_reading_temperature(args.models)
            return EXIT_OK
        if args.only == "sampler":
            card = train_sampler(args.out, args.models, TrainConfig(seed=args.seed))
            m = card["metrics"]
            print(f"trained the label sampler in {card['training_seconds']:.0f} s → {args.out} · judge agreement "
                  f"{min(m['judge_agreement']):.1%}+ · variety over real {min(m['variety_real']):.2f}+")
            return EXIT_OK
        train_all(args.out, args.data, TrainConfig(seed=args.seed))
    except ModelError as e:
        return _fail(str(e), EXIT_FAILURE)
    except DataError as e:
        return _fail(str(e))
    return EXIT_OK


def cmd_models(args) -> int:
    from .models import store
    from .models.registry import weights_dir
    directory = args.weights or weights_dir()
    cards = store.cards(directory)
    if args.json:
        print(json.dumps(cards, indent=2))
        return EXIT_OK
    if not cards:
        return _fail(f"no models in {directory}: run `riddle train --out {directory}`", EXIT_FAILURE)
    print(f"models in {directory}")
    for c in cards:
        metrics = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                            for k, v in c.get("metrics", {}).items() if not isinstance(v, list))
        print(f"  {c['name']:<14} {c['architecture']:<13} {c['parameters']:>8,} parameters · "
              f"{c.get('training_seconds', 0):>5.0f} s · {metrics}")
        print(f"  {'':<14} {c.get('role', '')}")
    print("model families (`riddle solve FILE --models NAME`, `solve with models NAME`)")
    for name, what in MODEL_FAMILIES.items():
        print(f"  {name:<14} {what}")
    return EXIT_OK


def cmd_learn(args) -> int:
    from .lang import RiddleError
    from .learn import LearnConfig, LearnError, learn
    from .models.store import ModelError
    from .tables import TableError
    config = LearnConfig(epochs=args.epochs, batch=args.batch, lr=args.lr, seed=args.seed, learn=tuple(args.learn),
                         init=args.init, models=args.models, net=args.net, schedule=args.schedule,
                         augment=args.augment, max_seconds=args.max_seconds, starts=args.starts,
                         device=args.device)

    def report(epoch):
        test = epoch.test
        line = (f"epoch {epoch.epoch}: loss {epoch.loss:.4f} · training riddles held {epoch.riddle_accuracy:.1%} · "
                f"{epoch.seconds:.1f} s")
        if test:
            line += f" · test riddles {test['riddle_accuracy']:.1%}"
            if "digit_accuracy" in test:
                line += f" · test digits {test['digit_accuracy']:.1%}"
        print(line, file=sys.stderr, flush=True)
    try:
        result = learn(args.template, args.data, out=args.out, test=args.test, config=config,
                       progress=not args.json, on_epoch=report, resume=args.resume)
    except RiddleError as e:
        print(render_all(e.diagnostics, e.source), file=sys.stderr)
        return EXIT_BAD_RIDDLE
    except (TableError, LearnError, ValueError) as e:
        return _fail(f"{e}\nnothing was learned{', and nothing written to ' + args.out if args.out else ''}")
    except KeyboardInterrupt:
        where = (f"; the last epoch's checkpoint is in {args.out}: add --resume to go on" if args.out else
                 "; nothing was written (give --out DIR for a checkpoint after every epoch)")
        print(f"\nlearning interrupted{where}", file=sys.stderr)
        return 130
    except ModelError as e:
        return _fail(str(e), EXIT_FAILURE)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    elif args.out:
        print(f"wrote {args.out}: solve with `riddle solve FILE --models {args.out}`")
    return EXIT_OK


def cmd_read(args) -> int:
    from .models.store import ModelError
    from .reading import ReadError, read
    try:
        readings = read(args.images, models=args.models)
    except ReadError as e:
        return _fail(str(e))
    except ModelError as e:
        return _fail(str(e), EXIT_FAILURE)
    if args.json:
        print(json.dumps([r.to_json() for r in readings], indent=2))
    else:
        print("\n".join(r.text() for r in readings))
    return EXIT_OK


def cmd_sample(args) -> int:
    import numpy as np
    import torch

    from .models import store
    from .models.registry import weights_dir
    from .report.images import grid, write_png
    if not 1 <= args.n <= 100_000:
        return _fail("--n must be between 1 and 100000")
    out = args.out
    if not out.endswith((".png", ".npz")):
        return _fail(f"--out must end in .png or .npz, not `{out}`")
    from .models.families import FAMILIES
    try:                                             # the family's own prior (coupled: each class a tenth)
        gen = FAMILIES[args.models].generator(args.weights or weights_dir())
    except store.ModelError as e:
        return _fail(str(e), EXIT_FAILURE)
    g = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        images = torch.cat([gen(torch.randn(min(1000, args.n - i), gen.latent, generator=g))
                            for i in range(0, args.n, 1000)]).numpy()
    if out.endswith(".png"):
        write_png(out, grid(images, scale=2))
    else:
        np.savez_compressed(out, images=images.astype(np.float32))
    print(f"{args.n} prior samples{'' if args.models == 'default' else f' of models {args.models}'} "
          f"(seed {args.seed}) → {out}")
    return EXIT_OK


# ── riddle predicates, riddle train-predicate ───────────────────────────────

def cmd_train_predicate(args) -> int:
    from .models.data import DataError
    from .models.registry import canonical, default_registry
    from .models.store import ModelError
    from .models.train import train_predicate
    from .vocabulary import keywords
    registry = default_registry()
    name = canonical(args.name)
    if args.domain != "digit":
        known = registry.domain_named(args.domain)
        return _fail(f"train-predicate trains on MNIST digits; domain `{args.domain}` "
                     + ("has no bundled training data: train its network yourself and register it "
                        "(docs/PREDICATES.md)" if known else "does not exist"))
    words = name.split()
    if not words or any(w in keywords() or not (w.isidentifier() and w.isascii()) for w in words):
        return _fail(f"`{args.name}` cannot name a predicate: use words of ASCII letters, digits and `_`, none of "
                     f"them a keyword ({', '.join(keywords())})")
    if registry.predicate("digit", name) is not None:
        return _fail(f"a predicate `{name}` of `digit` exists already ({registry.predicate('digit', name).origin}); "
                     "choose another name")
    try:
        labels = tuple(sorted({int(v) for v in args.true_labels.replace(" ", ",").split(",") if v}))
    except ValueError:
        return _fail(f"--true-labels takes digits separated by commas, e.g. 2,3,5,7; not `{args.true_labels}`")
    if not labels or not set(labels) <= set(range(10)) or len(labels) == 10:
        return _fail("--true-labels must name some but not all of the digits 0..9")
    if not 1 <= args.epochs <= 1000:
        return _fail("--epochs must be between 1 and 1000")
    try:
        card = train_predicate(
            name,
            labels,
            args.out,
            args.data,
            epochs=args.epochs,
            seed=args.seed,
            limit=int(os.environ["RIDDLE_TRAIN_LIMIT"]) if os.environ.get("RIDDLE_TRAIN_LIMIT") else None,
        )
    except (DataError, ModelError) as e:
        return _fail(str(e), EXIT_FAILURE)
    m = card["metrics"]
    generated = "" if m["generated_accuracy"] is None else \
        f", {m['generated_accuracy']:.1%} on {m['generated_size']} generated digits"
    print(f"predicate `{name}` (true for {', '.join(map(str, labels))}): {m['test_accuracy']:.1%} on "
          f"{m['test_size']} held-out real digits{generated} · trained in {card['training_seconds']:.0f} s\n"
          f"wrote {card['plugin']}, {card['weights']} and its card\n"
          f"use it:  riddle solve --plugin {card['plugin']} FILE.rdl")
    return EXIT_OK


def cmd_predicates(args) -> int:
    from .models.registry import default_registry
    registry = default_registry()
    domains = list(registry.domains.values())
    if args.domain:
        d = registry.domain_named(args.domain)
        if d is None:
            import difflib
            near = difflib.get_close_matches(args.domain, [x.name for x in domains], 1)
            hint = f"; did you mean `{near[0]}`?" if near else f"; known: {', '.join(x.name for x in domains)}"
            return _fail(f"no domain named `{args.domain}`{hint}")
        domains = [d]
    if args.json:
        print(json.dumps([{"domain": d.name, "plural": d.plural, "labels": list(d.labels),
                           "image_shape": list(d.image_shape), "origin": d.origin, "description": d.description,
                           "judge": "independent" if d.has_judge else "the classifier",
                           "predicates": [{"name": p.name, "origin": p.origin, "description": p.description,
                                           "truth_table": None if p.truth_table is None else sorted(p.truth_table)}
                                          for p in registry.predicates_of(d.name)]} for d in domains], indent=2))
        return EXIT_OK
    out = []
    for d in domains:
        labels = (
            f"{min(d.labels)}..{max(d.labels)}"
            if list(d.labels) == list(range(min(d.labels), max(d.labels) + 1))
            else " ".join(map(str, d.labels))
        )
        shape = " x ".join(map(str, d.image_shape))
        out.append(f"domain {d.name} (plural {d.plural}) · labels {labels} · images {shape} · {d.origin}")
        if d.description:
            out.append(f"  {d.description}")
        if not d.has_judge:
            out.append("  no independent judge: its classifier judges answers")
        preds = registry.predicates_of(d.name)
        if not preds:
            out.append("  no predicates")
            continue
        tables = ["(not a function of the label)" if p.truth_table is None else "true for " + " ".join(
            map(str, sorted(p.truth_table))) for p in preds]
        nw, tw, ow = (max(len(x) for x in col) for col in ([p.name for p in preds], tables, [p.origin for p in preds]))
        for p, t in zip(preds, tables):
            out.append(f"  {p.name:<{nw}}  {t:<{tw}}  {p.origin:<{ow}}  {p.description}".rstrip())
        out.append("")
    print("\n".join(out).rstrip())
    return EXIT_OK

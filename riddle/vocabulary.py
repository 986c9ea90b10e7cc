"""The words riddle's faces share, each written once: the language's keywords (read from the grammar),
inference methods, devices, precisions, logic modes, and the solve settings with their ranges — and the
one validator for them.

The checker (`solve with …`), the CLI's flags, the Python API, the playground's JSON API and
`riddle sweep` all accept exactly what `setting_problem` accepts. This module sits at the bottom of
the house: it imports nothing of riddle's, so every layer may import it.

Adding an inference method: write `riddle/infer/NAME.py` with a `METHOD` (see `riddle/infer/base.py`)
and add its name and one line of help to `METHODS` below — the registration (docs/ARCHITECTURE.md,
"Adding an inference method").
"""
from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

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
    return Path(__file__).resolve().parents[1] / "grammar" / GRAMMAR_FILE


@functools.cache
def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")


class Brackets:
    """Lark post-lexer: a line break inside `( … )` or `[ … ]` is only a space (Python's rule), so a long
    statement may run over several lines. Inside a `{ … }` list a line break still separates its statements
    (unless a `(` opened within the list is still open). Unbalanced closers are left for the parser to report."""
    always_accept = ("_SEP",)
    OPEN = {"LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE"}

    def process(self, stream):
        stack: list[str] = []
        for tok in stream:
            if tok.type in self.OPEN:
                stack.append(tok.type)
            elif stack and tok.type == self.OPEN[stack[-1]]:
                stack.pop()
            elif tok.type == "_SEP" and tok.value == "\n" and stack and stack[-1] != "LBRACE":
                continue
            yield tok


@functools.cache
def language(transformer=None):
    """The LALR parser of the grammar, built once per process (strict: conflicts and collisions are errors).
    lang/grammar.py parses with it; keywords() reads its terminals, so the registry, the formatter, the LSP
    and the editor grammar's test share the grammar's own list of words. `transformer`: Lark's inline
    transformer, called as each rule is reduced (lang/parser.py's builds the AST so, with no tree between)."""
    from lark import Lark
    # lexer="basic": keywords are reserved everywhere, not only where the parser expects them
    # cache=True: Lark keeps the analysed tables in a temporary file keyed by the grammar's hash, so
    # `riddle check` starts in milliseconds; tests build it uncached to keep strict mode honest.
    return Lark(grammar_text(), parser="lalr", lexer="basic", strict=True, propagate_positions=False,
                maybe_placeholders=False, start=["start", "statement"], cache=True, postlex=Brackets(),
                transformer=transformer)


@functools.cache
def keywords() -> tuple[str, ...]:
    """The language's keywords, in the grammar's order: its literal terminals that look like words (`is`,
    `not`, …, `through`). The lexer reserves them everywhere, so a predicate's name may not contain one."""
    return tuple(t.pattern.value for t in language().terminals
                 if t.pattern.type == "str" and t.pattern.value.isalpha())

# name → one line of help; the registration of every inference method (riddle/infer/NAME.py)
METHODS: dict[str, str] = {
    "advi": "mean-field Gaussian VI, all restarts batched",
    "sequential": "the same VI one restart at a time (the papers' way; a baseline)",
    "rejection": "prior draws that every network accepts (a baseline)",
    "auto": "amortised where the riddle can be sampled exactly, else rejection where a pilot projects it faster, "
            "else advi (the default)",
    "hmc": "Hamiltonian Monte Carlo chains, batched",
    "mgvi": "metric Gaussian VI: CG samples of the inverse Fisher metric",
    "fullrank": "full-rank Gaussian VI (a Cholesky factor per restart)",
    "flow": "planar normalizing-flow VI",
    "amortised": "independent posterior samples: labels exactly from the logic, digits by rejection per unknown",
}
DEFAULT_METHOD = "auto"
# the methods that draw samples and take no steps (their infer.base.Method's unit is "samples": a test ties
# the two); the playground greys its steps field for them
SAMPLING_METHODS = ("rejection", "amortised")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "float32", "bfloat16")          # auto: bfloat16 where it pays (infer.objective.pick_precision)
LOGIC_MODES = ("joint", "factored")                   # graph/joint.py compiles each
STARTS = ("prior", "amortised")                       # where a restart starts (infer.base.start_strategy)
PROPOSALS = ("prior", "learned")                      # what method amortised draws digits from (infer/collapsed.py)
# name → one line of help; the model families an unknown of `digit` can be drawn and read with
# (riddle/models/families.py binds each to its networks)
MODEL_FAMILIES: dict[str, str] = {
    "default": "riddle's zoo: a VAE generator with a flow prior, a CNN label classifier and its heads",
    "coupled": "seed 003's coupled network: one dense sigmoid net that reads digits forward and draws them backward",
}
DEFAULT_MODELS = "default"


@dataclass(frozen=True)
class SettingSpec:
    kind: str                     # "int" | "float" | "floats" | "choice"
    low: float = 0
    high: float = math.inf
    choices: tuple[str, ...] = ()
    help: str = ""
    most: int = 1                 # floats: at most this many numbers


# Every setting a riddle's `solve with` line may give; the CLI's flags, riddle.solve's keywords, the
# playground's "settings" and sweep's --set take the same keys.
SETTINGS: dict[str, SettingSpec] = {
    "restarts": SettingSpec("int", 1, 100_000, help="independent runs of the solver, e.g. `100 restarts`"),
    "pairs": SettingSpec("int", 1, 1_000, help="antithetic sample pairs per restart and step, e.g. `5 pairs`"),
    "steps": SettingSpec("int", 1, 1_000_000, help="optimisation steps, e.g. `400 steps`"),
    "anneal": SettingSpec("floats", 1e-6, 1e6, most=32, help="the strength schedule, e.g. `anneal 0.5 1 3 10`"),
    "method": SettingSpec("choice", choices=tuple(METHODS), help="the inference method"),
    "seed": SettingSpec("int", 0, 2**63 - 1, help="the random seed, e.g. `seed 7`"),
    "lr": SettingSpec("float", 1e-9, 1e3, help="the learning rate, e.g. `lr 0.05`"),
    "clone": SettingSpec(
        "float",
        0,
        0.5,
        help="share of restarts replaced by copies of the best at each cloning "
        "point, e.g. `clone 0.25` (`clone 0`: independent restarts)",
    ),
    "rounds": SettingSpec(
        "int",
        1,
        1_000,
        help="at most this many runs of all restarts, a new one while no answer satisfies the riddle, e.g. `rounds 3`",
    ),
    "search": SettingSpec(
        "int",
        0,
        100,
        help="coordinate sweeps over each restart's own prior draws when choosing "
        "its start, e.g. `search 1` (the default; `search 0`: the best whole draw)",
    ),
    "device": SettingSpec("choice", choices=DEVICES,
                          help="where to solve: `device cpu` (auto, the default: cuda where torch sees one)"),
    "precision": SettingSpec("choice", choices=PRECISIONS,
                             help="the networks' arithmetic: `precision float32` (auto, the default: bfloat16 on a "
                                  "CPU with native bf16, else float32; RIDDLE_AUTO_PRECISION pins what auto means)"),
    "logic": SettingSpec(
        "choice",
        choices=LOGIC_MODES,
        help="how statements that read labels enter the objective: `logic joint` (one exact "
        "weighted model count, the default) or `logic factored` (one factor per statement)",
    ),
    "start": SettingSpec("choice", choices=STARTS,
                         help="where each restart starts: `start prior` (the best of its own prior draws, the "
                              "default) or `start amortised` (an independent posterior sample: infer/collapsed.py)"),
    "proposal": SettingSpec("choice", choices=PROPOSALS,
                            help="what method amortised draws each digit from: `proposal prior` (the generator's "
                                 "prior, the default) or `proposal learned` (the zoo's per-label sampler, its draws "
                                 "weighed by the networks)"),
    "models": SettingSpec("choice", choices=tuple(MODEL_FAMILIES),
                          help="the networks that draw and read the digits: `models default` (riddle's zoo) or "
                               "`models coupled` (seed 003's coupled network; docs/MODELS.md)"),
}
# A limit the faces take beside the riddle's settings (no `solve with` word): a solve's time budget,
# honoured by the sampling methods (rejection, and auto's rejection).
LIMITS: dict[str, SettingSpec] = {
    "max_seconds": SettingSpec("float", 1e-3, 86_400, help="a solve's time budget in seconds, e.g. 60"),
}
# the settings that shape a run (infer.base.RunConfig's fields); method, device and models choose where, how and
# with which networks it runs
RUN_SETTINGS = tuple(k for k in SETTINGS if k not in ("method", "device", "models"))
ALL_KEYS = tuple(SETTINGS) + tuple(LIMITS)
# Every method reads these run settings; the others belong to the methods that read them (METHOD_READS). A
# setting given to a method that does not read it is not an error (a file's line may be written for another
# method; auto chooses after reading it), but the checker warns where the file names the method (R024) and the
# report names it. tests/test_methods.py records what each method's run reads of its config against this table.
EVERY_METHOD_READS = ("restarts", "seed", "precision")
# the optimising loop (base.fit), its starts (start, search) and its rounds (solve.py)
FIT_READS = ("pairs", "steps", "anneal", "lr", "clone", "search", "start", "rounds", "logic")
METHOD_READS: dict[str, tuple[str, ...]] = {
    "advi": FIT_READS,
    "fullrank": FIT_READS,
    "flow": FIT_READS,
    "mgvi": tuple(k for k in FIT_READS if k != "clone"),                 # its own loop clones nothing
    "sequential": tuple(k for k in FIT_READS if k not in ("clone", "rounds")),   # one restart, one run
    "hmc": ("steps", "anneal", "search", "start", "rounds", "logic"),    # no Adam, no pairs: momenta are its noise
    "rejection": ("logic",),                                             # prior draws kept with probability Π P_k
    "amortised": ("anneal", "proposal"),                                 # α: the last value; its logic is joint
}                                                                        # auto: the method it chooses


def read_by(key: str) -> tuple[str, ...]:
    """The methods that read run setting `key` (every method for those in EVERY_METHOD_READS)."""
    return tuple(m for m in METHODS if m != "auto" and (key in EVERY_METHOD_READS or key in METHOD_READS[m]))


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def setting_problem(key: str, value) -> str | None:
    """Why `value` cannot be setting `key` (a sentence in the language's words), or None.

    Values are Python's: a str for a choice, an int for a whole number (3.0 is not one, as `3.0
    restarts` is not), an int or a float for a number, a sequence of numbers for `anneal`."""
    spec = SETTINGS.get(key) or LIMITS.get(key)
    if spec is None:
        return f"unknown setting `{key}`"
    if spec.kind == "choice":
        if not isinstance(value, str) or value not in spec.choices:
            shown = " ".join(map(str, value)) if isinstance(value, (list, tuple)) else value
            return f"`{key}` must be one of {', '.join(spec.choices)}; not `{shown}`"
        return None
    if spec.kind == "floats":
        ok = (isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and 1 <= len(value) <= spec.most
              and all(_number(x) and spec.low <= x <= spec.high for x in value))
        return None if ok else (f"`{key}` takes 1 to {spec.most} numbers between {spec.low:g} and {spec.high:g}")
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            return f"`{key}` takes one number"
        value = value[0]
    if not _number(value) or not math.isfinite(value):
        return f"`{key}` takes a number, not `{value}`"
    if spec.kind == "int" and not isinstance(value, int):
        return f"`{key}` takes a whole number, not {value}"
    if not spec.low <= value <= spec.high:
        return f"`{key}` must lie between {spec.low:g} and {spec.high:g}, not {value}"
    return None


def settings_problem(settings: Mapping) -> str | None:
    """The first problem of a mapping of settings (None values mean "not given"), or None."""
    for key, value in settings.items():
        if value is not None and (problem := setting_problem(key, value)):
            return problem
    return None

"""AST → checked riddle (`checked.py`): names bound to declared unknowns and to the registry's domains
and predicates, every statement in a normal form with its kind, the solve settings validated (by the
vocabulary's one validator), observed images read (`observe.py`).

The checker reports every problem it finds (never only the first) as diagnostics with spans; a
riddle is usable when none of them is an error.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..models.registry import Registry, canonical, default_registry
from ..vocabulary import (
    EVERY_METHOD_READS,
    METHOD_READS,
    RUN_SETTINGS,
    SETTINGS,
    SettingSpec,
    read_by,
    setting_problem,
)
from . import ast
from .checked import (
    COUNTING,
    DEFAULT_NOISE,
    INSTRUMENTS,
    CheckedRiddle,
    ConnectiveStatement,
    DataImageStatement,
    DistinctStatement,
    Instrument,
    LabelStatement,
    ObservationStatement,
    PredicateStatement,
    RelationStatement,
    Statement,
    Unknown,
)
from .errors import ERROR, NOTE, WARNING, Diagnostic, Source, Span, suggest
from .evaluate import INT_LIMIT, bounds, holds, linear_form
from .observe import ObservationError, read_matrix, read_observation, read_sheet_cell

DENSE_LIMIT = 10 ** 6             # entries of a relation's logic tensor built densely
MAX_LITERAL = 10 ** 1000         # numbers are exact at any size in sums; this only bounds what a line may hold
MAX_NUMERAL_DIGITS = 1000
MAX_UNKNOWNS = 128
MAX_TEMPLATE_UNKNOWNS = 1024      # a template's unknowns are read from its rows' images, not searched for
ARTICLES = ("a", "an", "the")
NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}


# ── the checker ─────────────────────────────────────────────────────────────

def check(riddle: ast.Riddle, registry: Registry | None = None, source: Source | None = None,
          broken_statements: tuple[str, ...] = (), files: Mapping[str, bytes] | None = None,
          template: bool = False) -> CheckedRiddle:
    """Bind names and validate. `template`: `$name` placeholders are allowed (a template, filled from a
    data table by `riddle learn`; docs/LEARNING.md); elsewhere each one is an error (R070).
    `broken_statements` are the texts of statements that failed to
    parse: names they mention are not reported as undeclared (they may be declared there).
    `files`: when given, the only images `looks like` may name (uploads, by file name): the disk is
    never read for them (the web playground's rule)."""
    return _Checker(riddle, registry or default_registry(), source, broken_statements, files, template).run()


class _Checker:
    def __init__(self, riddle: ast.Riddle, registry: Registry, source: Source | None, broken: tuple[str, ...],
                 files: Mapping[str, bytes] | None = None, template: bool = False):
        self.riddle, self.registry, self.source, self.files = riddle, registry, source, files
        self.template = template
        # a template (placeholders allowed, and present) may declare more unknowns: the learner reads them
        self.max_unknowns = (MAX_TEMPLATE_UNKNOWNS if template and any(s.has_placeholders() for s in riddle.statements)
                             else MAX_UNKNOWNS)
        self.placeholders: dict[str, tuple[str, Span]] = {}   # `$a` → ("image" | "number", first use)
        self.broken_words = {w for text in broken for w in re.findall(r"[A-Za-z_]\w*", text)}
        self.diags: list[Diagnostic] = []
        self.unknowns: dict[str, Unknown] = {}
        self.over_limit: list[ast.Name] = []      # declared past MAX_UNKNOWNS: one R032 for all, no cascade
        self.used: set[str] = set()
        # every name a fact mentions, resolved or not: a fact with a mistake still "uses" its names
        self.mentioned = {n.text for st in riddle.statements for n in st.mentions()}

    def error(self, code, message, span, label="", help=None, related=()):
        self._say(Diagnostic(ERROR, code, message, span, label, help, tuple(related)))

    def warn(self, code, message, span, label="", help=None, severity=WARNING):
        self._say(Diagnostic(severity, code, message, span, label, help))

    def _say(self, diagnostic: Diagnostic) -> None:
        """Once: a sheet's or a loop's statements, written out, would otherwise say one mistake per cell."""
        if diagnostic not in self.diags:
            self.diags.append(diagnostic)

    def run(self) -> CheckedRiddle:
        statements = self.riddle.statements
        for s in statements:                # declarations first: a fact may name an unknown declared below it
            if s.declares:
                self.declaration(s)
        if self.over_limit:
            limit = self.max_unknowns
            first, total = self.over_limit[0], limit + len({n.text for n in self.over_limit})
            self.error("R032", f"too many unknowns: riddle handles at most {limit}, this riddle declares "
                               f"{total}", first.span, f"the {limit + 1}th",
                       help=f"split the riddle, or leave out {total - limit} unknowns (every statement "
                            "that names one past the limit is left unchecked)")
        if not self.unknowns and not self.broken_words:
            first = statements[0].span if statements else None
            self.error("R030", "the riddle declares no unknowns", first,
                       "nothing declared before this" if first else "",
                       help="start with a declaration such as `digits first, second, third`")
        checked: list[Statement] = []
        settings: dict = {}
        solve_seen: ast.Solve | None = None
        for s in statements:
            if s.kind == "solve":
                if solve_seen:
                    self.error("R022", "`solve with` appears twice", s.span, "second one",
                               help="put all settings in one `solve with …` line",
                               related=[(solve_seen.span, "first one")])
                solve_seen = s
                settings.update(self.solve(s, settings))
            elif s.is_fact:
                c = self.fact(s)
                if c is not None:
                    checked.append(c)
        unused: dict[str, list[Unknown]] = {}                # by array (an array's unknowns: one warning)
        for u in self.unknowns.values():
            base = u.name.split("[", 1)[0]
            if u.name not in self.mentioned and u.name not in self.broken_words and base not in self.broken_words:
                unused.setdefault(base if "[" in u.name else u.name, []).append(u)
        for name, us in unused.items():
            u = us[0]
            if len(us) == 1:
                self.warn("R040", f"unknown `{u.name}` is declared but no statement uses it", u.span,
                          "never used", help="its answer will be any " + u.domain.name)
            else:
                shown = ", ".join(f"`{v.name}`" for v in us[:3]) + (", …" if len(us) > 3 else "")
                self.warn("R040", f"{len(us)} unknowns of `{name}` are declared but no statement uses them: {shown}",
                          u.span, "never used", help="their answers will be any " + u.domain.name)
        if self.unknowns and not any(st.is_fact for st in statements) and not self.broken_words:
            last = statements[-1].span
            self.warn("R031", "the riddle states nothing about its unknowns: every answer is a solution", last)
        return CheckedRiddle(self.riddle.file, self.source, tuple(self.unknowns.values()), tuple(checked),
                             settings, tuple(sorted(self.diags, key=_order)),
                             {name: kind for name, (kind, _) in self.placeholders.items()})

    def placeholder(self, p: ast.Placeholder, kind: str) -> bool:
        """A `$name` where an image ("image") or a whole number ("number") stands: fine in a template
        (each name one kind), an error in a riddle that is solved."""
        if not self.template:
            self.error("R070", f"`{p.text}` is a placeholder: only a template has them, and a template is "
                               "filled from a data table", p.span, "placeholder",
                       help=f"learn from it with `riddle learn {Path(self.riddle.file).name} --data TABLE`, or check "
                            "it with `riddle check FILE --data TABLE`; to solve, write the image or number itself")
            return False
        seen = self.placeholders.get(p.column)
        if seen is not None and seen[0] != kind:
            self.error("R071", f"`{p.text}` stands for {'an image' if kind == 'image' else 'a number'} here and for "
                               f"{'an image' if seen[0] == 'image' else 'a number'} before", p.span,
                       f"{'an image' if kind == 'image' else 'a number'} here", related=[(seen[1], "first used here")],
                       help="a table column holds images or numbers, not both: use two placeholders")
            return False
        self.placeholders.setdefault(p.column, (kind, p.span))
        return True

    # declarations ------------------------------------------------------------

    def declaration(self, d: ast.Declaration) -> None:
        domain = self.registry.domain_named(d.domain.text)
        if domain is None:
            self.unknown_domain(d)
            return
        for n in d.names:
            if n.text in self.unknowns:
                self.error("R013", f"`{n.text}` is declared twice", n.span, "declared again here",
                           help="give each unknown one name and declare it once",
                           related=[(self.unknowns[n.text].span, "first declared here")])
                continue
            if len(self.unknowns) >= self.max_unknowns:
                self.over_limit.append(n)             # reported once, after every declaration (run)
                continue
            self.unknowns[n.text] = Unknown(n.text, domain, n.span, len(self.unknowns))

    def unknown_domain(self, d: ast.Declaration) -> None:
        words = [w for dom in self.registry.domains.values() for w in (dom.name, dom.plural)]
        near = suggest(d.domain.text, words)
        if d.plural and len(d.names) >= 1:
            verb = suggest(d.names[0].text, ("is", "has", "contains"), cutoff=0.5)
        else:
            verb = None
        if near:
            help = f"did you mean `{near}`?"
        elif verb and d.plural:
            help = f"this line reads as a declaration; did you mean `{d.domain.text} {verb} …`?"
        else:
            help = "known domains: " + ", ".join(f"`{dom.plural}`" for dom in self.registry.domains.values())
        self.error("R012", f"unknown domain `{d.domain.text}`", d.domain.span, "not a registered domain", help)
        # keep going as if declared, so the rest of the file is still checked
        for n in d.names:
            self.broken_words.add(n.text)

    # facts -------------------------------------------------------------------

    def fact(self, f: ast.Fact) -> Statement | None:
        for span in f.repeated:
            self.error("R018", "this option is given twice", span, "again", help="say `with strength W` and "
                       "`with noise S` at most once each")
        if f.solutions is not None and not f.from_sheet():
            self.error("R064", "`with one solution` belongs to a sheet: it says the givens written on it have one "
                       "completion", f.solutions.span, "not a sheet",
                       help='write it after the sheet: `cell looks like "board.png" split 9 x 9 with one solution`')
        elif f.solutions is not None and not (
                (isinstance(f.solutions, ast.Number) and f.solutions.text == "1")
                or (isinstance(f.solutions, ast.Name) and f.solutions.text.lower() == "one")):
            self.error("R064", f"a sheet's givens may be said to have one solution, not `{f.solutions.text}`",
                       f.solutions.span, "not one", help="write `with one solution`, or leave it out")
        if f.noise is not None and not f.takes_noise:
            self.error("R061", "`with noise S` belongs to an observation (`x looks like \"PATH\" with noise 0.1`)",
                       f.noise.span, "not an observation", help="remove it: only pixels have noise")
            return None
        strength = 1.0
        if f.strength is not None:
            strength = f.strength.value
            if not (0 < strength <= 1000):
                self.error("R018", f"strength must be a number in (0, 1000], not {f.strength.text}", f.strength.span,
                           "out of range", help="1 is the default; 3 counts a statement three times as much")
                return None
        return getattr(self, f.kind)(f, strength)                # the kind's own method, below

    def label_fact(self, f: ast.LabelFact, strength: float) -> Statement | None:
        u = self.resolve(f.subject)
        label = self.label(f.label, u)
        if u is None or label is None:
            return None
        return LabelStatement(span=f.span, strength=strength, unknown=u.name, label=label, negated=f.negated)

    def observation(self, f: ast.Observation, strength: float) -> Statement | None:
        u = self.resolve(f.subject)
        if isinstance(f.path, ast.Placeholder):             # a template's image, filled from a data table
            ok = self.placeholder(f.path, "image")
            if f.through:
                self.error("R072", "an image from a data table is read as it is: it takes no instruments",
                           f.through[0].span, "instrument", help="remove `through …`, or give the image itself")
                return None
            if f.noise is not None:
                self.error("R072", "an image from a data table is the unknown itself: it has no noise",
                           f.noise.span, "noise", help="remove `with noise …`")
                return None
            if u is None or not ok:
                return None
            return DataImageStatement(span=f.span, strength=strength, unknown=u.name, column=f.path.column)
        noise = DEFAULT_NOISE
        if f.noise is not None:
            noise = f.noise.value
            if not (0 < noise <= 10):
                self.error("R061", f"noise must be a number in (0, 10], not {f.noise.text}", f.noise.span,
                           "out of range", help=f"the pixel noise σ on a 0–1 scale; {DEFAULT_NOISE:g} is the default")
                return None
        through, shape = self.instruments(f.through, u.domain.image_shape if u is not None else (28, 28))
        if u is None or through is None:
            return None
        if self.files is not None:                      # uploads only: never a path on this machine
            file = Path(f.path.text)
            if f.path.text not in self.files:
                near = suggest(f.path.text, list(self.files))
                self.error("R060", f"no uploaded image named `{f.path.text}`", f.path.span, "not uploaded",
                           help=f"did you mean `{near}`?" if near else
                           "upload the image with the riddle; here `looks like` reads uploads only, by file name")
                return None
            data = self.files[f.path.text]
        else:
            file, data = Path(self.riddle.file).parent / f.path.text, None
        try:
            chain = ", ".join(i.text() for i in through) or None
            if f.cell is not None:                      # one cell of a sheet: cut, cropped, scaled; no ink: unseen
                cut = read_sheet_cell(file, f.cell, shape, data)
                if cut is None:
                    return None
                pixels, seen = cut
            else:
                pixels, seen = read_observation(file, shape, data, chain=f"through {chain}" if chain else None)
        except ObservationError as e:
            self.error("R060", str(e), f.path.span, e.label, help=e.help)
            return None
        if pixels[seen].mean() > 0.5:
            self.warn("R062", f"`{f.path.text}` is mostly white: riddle's {u.domain.plural} are white ink on black",
                      f.path.span, "mostly white", help="invert it if the ink is dark")
        return ObservationStatement(span=f.span, strength=strength, unknown=u.name, path=f.path.text, file=file,
                                    pixels=pixels, seen=seen, noise=noise, through=through,
                                    read=f.cell is not None and not through, puzzle=f.solutions is not None)

    def instruments(self, written, shape) -> tuple[tuple[Instrument, ...] | None, tuple[int, ...]]:
        """`through blur 1, downsample 4` → the instruments and the shape they make of the domain's
        images; None (each problem reported at its span) when one cannot be used."""
        out, ok = [], True
        for w in written:
            kind = w.name.text
            if kind in INSTRUMENTS and (kind == "projection") != isinstance(w.value, ast.Text):
                example = INSTRUMENTS[kind].rsplit(": ", 1)[1]
                self.error("R063", f"`{kind}` takes {'a matrix file' if kind == 'projection' else 'a number'}, "
                           f"not {w.value.text!r}", w.value.span, "wrong kind of value", help=f"for example {example}")
                ok = False
                continue
            if kind == "projection":
                matrix = self.matrix(w.value, shape)
                if matrix is None:
                    ok = False
                    continue
                instrument = Instrument(kind, path=w.value.text, matrix=matrix)
                out.append(instrument)
                shape = instrument.shape(shape)
                continue
            value = w.value.value if isinstance(w.value, ast.Number) else 0.0
            if kind in ("blur", "downsample") and len(shape) != 2:
                self.error("R063", f"`{kind}` needs an image, but a projection before it made a vector", w.name.span,
                           "after a projection", help="put blur and downsample before the projection")
                ok = False
                continue
            if kind not in INSTRUMENTS:
                near = suggest(kind, list(INSTRUMENTS))
                self.error("R063", f"unknown instrument `{kind}`", w.name.span, "not an instrument",
                           help=f"did you mean `{near}`?" if near else
                           "instruments: " + "; ".join(f"`{k}`, {what}" for k, what in INSTRUMENTS.items()))
                ok = False
                continue
            if kind == "blur" and not 0 < value <= 10:
                self.error("R063", f"blur σ must be a number of pixels in (0, 10], not {w.value.text}", w.value.span,
                           "out of range", help="the Gaussian's standard deviation in pixels, e.g. `blur 1.5`")
                ok = False
                continue
            if kind == "downsample":
                divisors = [d for d in range(2, min(shape) + 1) if shape[0] % d == 0 and shape[1] % d == 0]
                if not w.value.is_integer or int(value) not in divisors:
                    self.error("R063", f"downsample by {w.value.text} does not divide the {shape[1]} x {shape[0]} "
                               "image into whole blocks", w.value.span, "not a divisor",
                               help=f"a whole number that divides {shape[1]}"
                                    f"{'' if shape[0] == shape[1] else f' and {shape[0]}'}: "
                                    f"{', '.join(map(str, divisors))}" if divisors else "this image cannot be divided")
                    ok = False
                    continue
            instrument = Instrument(kind, float(value))
            out.append(instrument)
            shape = instrument.shape(shape)
        return (tuple(out) if ok else None), shape

    def matrix(self, path: ast.Text, shape) -> np.ndarray | None:
        """A projection's matrix, from the uploads or beside the riddle, with as many columns as the
        data it multiplies has entries; None (reported at the path) when it cannot be used."""
        width = int(np.prod(shape))
        if self.files is not None:
            if path.text not in self.files:
                near = suggest(path.text, list(self.files))
                self.error("R060", f"no uploaded matrix named `{path.text}`", path.span, "not uploaded",
                           help=f"did you mean `{near}`?" if near else "upload the .npy with the riddle")
                return None
            file, data = Path(path.text), self.files[path.text]
        else:
            file, data = Path(self.riddle.file).parent / path.text, None
        try:
            return read_matrix(file, width, data)
        except ObservationError as e:
            self.error("R060", str(e), path.span, e.label, help=e.help)
            return None

    def connective(self, f: ast.Connective, strength: float) -> Statement | None:
        parts, ok = [], True
        for part in f.parts:
            if part.expressions() and not part.mentions():          # arithmetic of numbers alone
                for e in part.expressions():
                    self.expression(e)
                self.error("R023", "a statement inside a connective must involve an unknown", part.span,
                           "no unknown here", help="a relation of numbers alone is always true or always false")
                ok = False
                continue
            checked = self.fact(part)
            ok &= checked is not None
            parts.append(checked)
        count = None
        if f.op in COUNTING:
            count = self.count(f)
            k = len(f.parts)
            if k == 0:
                self.error("R023", f"`{f.op} … of {{ }}` has an empty list", f.span, "nothing to count",
                           help="list the statements to count, separated by `;` or new lines: "
                                "`exactly 1 of { a is odd; b is odd }`")
                return None
            if count is None:
                return None
            if isinstance(count, str):                      # a template's `$k`: each row's value is checked
                return ConnectiveStatement(span=f.span, strength=strength, op=f.op, parts=tuple(parts), count=count) \
                    if ok else None
            where = f.count.span
            if f.op in ("exactly", "at least") and count > k:
                self.error("R023", f"`{f.op} {count} of` a list of {k} statement{'s' if k != 1 else ''} can never hold",
                           where, f"more than {k}", help=f"N is at most the number of statements listed ({k})")
                return None
            if (f.op == "at least" and count == 0) or (f.op == "at most" and count >= k):
                self.warn("R023", f"`{f.op} {count} of` a list of {k} always holds", where, "always holds",
                          help="it says nothing about the unknowns")
        if not ok:
            return None
        return ConnectiveStatement(span=f.span, strength=strength, op=f.op, parts=tuple(parts), count=count)

    def count(self, f: ast.Connective) -> int | str | None:
        c = f.count
        if isinstance(c, ast.Placeholder):                  # a template's count: its text, filled per row
            return c.text if self.placeholder(c, "number") else None
        if isinstance(c, ast.Number) and c.is_integer:
            return int(c.text)
        if isinstance(c, ast.Name) and c.text.lower() in NUMBER_WORDS:
            return NUMBER_WORDS[c.text.lower()]
        near = suggest(c.text.lower(), NUMBER_WORDS) if isinstance(c, ast.Name) else None
        self.error("R023", f"`{c.text}` is not a count: write a whole number or a number word (one … twelve)", c.span,
                   "not a whole number", help=f"did you mean `{near}`?" if near else "for example `exactly 2 of { … }`")
        return None

    def resolve(self, name: ast.Name) -> Unknown | None:
        u = self.unknowns.get(name.text)
        if u is not None:
            self.used.add(u.name)
            return u
        if name.text in self.broken_words:
            return None                                   # declared, perhaps, in a statement we could not read
        if any(n.text == name.text for n in self.over_limit):
            return None                                   # declared past the limit: R032 said so once
        near = suggest(name.text, self.unknowns)
        if near:
            help = f"did you mean `{near}`?"
        elif self.unknowns:
            help = "declare it first, for example `digits " + ", ".join([*self.unknowns, name.text]) + "`"
        else:
            help = f"declare it first: `digits {name.text}`"
        self.error("R010", f"unknown name `{name.text}`", name.span, "not declared", help)
        return None

    def label(self, number: ast.Number, u: Unknown | None) -> int | None:
        if not number.is_integer:
            self.error("R014", f"a label is a whole number, not {number.text}", number.span, "not a label")
            return None
        value = int(number.text)
        if u is not None and value not in u.domain.labels:
            lo, hi = min(u.domain.labels), max(u.domain.labels)
            self.error("R014", f"{value} is not a label of `{u.domain.name}`", number.span,
                       f"outside {lo}..{hi}", help=f"`{u.name}` is a {u.domain.name}: its labels are {lo}..{hi}")
            return None
        return value

    def predicate_fact(self, f: ast.PredicateFact, strength: float) -> Statement | None:
        u = self.resolve(f.subject)
        words = [w.text for w in f.words]
        span = f.words[0].span.to(f.words[-1].span)
        domain = u.domain if u else None
        if domain is None:
            return None
        pred = self.registry.predicate(domain.name, " ".join(words))
        if pred is None and len(words) > 1 and words[0].lower() in ARTICLES:
            pred = self.registry.predicate(domain.name, " ".join(words[1:]))
        if pred is not None:
            self.used.add(u.name)
            return PredicateStatement(span=f.span, strength=strength, unknown=u.name, predicate=pred, negated=f.negated)
        name = canonical(words)
        bare = canonical(words[1:]) if len(words) > 1 and words[0].lower() in ARTICLES else name
        names = [p.name for p in self.registry.predicates_of(domain.name)]
        near = suggest(bare, names)
        if len(words) == 1 and name in NUMBER_WORDS and NUMBER_WORDS[name] in domain.labels:
            neg = " not" if f.negated else ""
            help = f"a label is written as a number: `{u.name} is{neg} {NUMBER_WORDS[name]}`"
        elif near:
            help = f"did you mean `{near}`?"
        else:
            help = (f"predicates of `{domain.name}`: " + ", ".join(f"`{n}`" for n in names)
                    + "; a plugin can add one (`--plugin PATH`, docs/PREDICATES.md)")
        self.error("R011", f"unknown predicate `{name}` for `{domain.name}`", span,
                   f"not a predicate of `{domain.name}`", help)
        return None

    def relation(self, f: ast.Relation, strength: float) -> Statement | None:
        ok = self.expression(f.left) & self.expression(f.right)
        if not ok:
            return None
        placeholders = ast.expr_placeholders(f.left) + ast.expr_placeholders(f.right)
        if placeholders and (linear_form(f.left) is None or linear_form(f.right) is None):
            self.error("R073", f"`{placeholders[0].text}` stands in a relation that is not a sum: a placeholder may "
                               "stand only in sums and differences of constant multiples", f.span, "not linear",
                       help="write the relation as a sum, such as `num(a1, a0) + num(b1, b0) = $sum`")
            return None
        # `x = 7`, `7 != x`: a label statement, read by the label classifier
        for side, other in ((f.left, f.right), (f.right, f.left)):
            if f.op in ("=", "!=") and isinstance(side, ast.Variable) and isinstance(other, ast.Literal):
                u = self.unknowns[side.name.text]
                label = self.label(other.number, u)
                if label is None:
                    return None
                return LabelStatement(span=f.span, strength=strength, unknown=u.name, label=label, negated=f.op == "!=")
        stmt = RelationStatement(span=f.span, strength=strength, left=f.left, op=f.op, right=f.right,
                                 linear=linear_form(f.left) is not None and linear_form(f.right) is not None)
        ranges = {n: (min(self.unknowns[n].domain.labels), max(self.unknowns[n].domain.labels)) for n in stmt.unknowns}
        ranges.update({p.text: (0, 0) for p in placeholders})          # a row's own number: checked per row
        lo_hi = [bounds(side, ranges) for side in (f.left, f.right)]
        if not stmt.linear and any(abs(x) >= INT_LIMIT for pair in lo_hi for x in pair):
            self.error("R019", "the values of this relation can exceed 2^62: riddle computes a relation that is not a "
                               "sum with 64-bit integers", f.span, "too large",
                       help="use smaller numbers, or write it as a sum (sums of numerals are exact at any length)")
            return None
        if not stmt.unknowns and placeholders:
            self.error("R073", f"`{stmt.text()}` relates no unknown, only numbers from the table", f.span,
                       "no unknown here", help="a relation should involve at least one unknown")
            return None
        if not stmt.unknowns:
            value = _constant_truth(f)
            if value is False:
                self.error("R016", f"`{stmt.text()}` is always false: the riddle can have no solution", f.span,
                           "no unknown here", help="a relation should involve at least one unknown")
            else:
                self.warn("R016", f"`{stmt.text()}` involves no unknown and always holds", f.span, "no unknown here")
            return None
        size = math.prod(self.unknowns[n].domain.size for n in stmt.unknowns)
        if size > DENSE_LIMIT:
            if stmt.linear:
                self.warn("R015", f"this relation ties {len(stmt.unknowns)} unknowns: a dense logic tensor would hold "
                          f"{size:.3g} entries", f.span, "large relation",
                          help="the compiler splits it into a chain of small partial-sum factors, summed out exactly",
                          severity=NOTE)
            else:
                self.error("R015", f"this relation ties {len(stmt.unknowns)} unknowns: its logic tensor would hold "
                           f"{size:.3g} entries (at most {DENSE_LIMIT:.0e})", f.span, "too large",
                           help="only sums, differences, constant multiples and numerals are split into small factors; "
                                "write the relation over fewer unknowns, or as several relations")
                return None
        return stmt

    def expression(self, e: ast.Expr) -> bool:
        """Resolve names and check literals in an expression; False if something is wrong."""
        if isinstance(e, ast.Variable):
            return self.resolve(e.name) is not None
        if isinstance(e, ast.Literal):
            if not e.number.is_integer:
                self.error(
                    "R014", f"relations are over whole numbers, not {e.number.text}", e.span, "not a whole number"
                )
                return False
            if len(e.number.text.lstrip("0")) > len(str(MAX_LITERAL)) - 1:
                self.error(
                    "R014",
                    f"the number {e.number.text[:20]}{'…' if len(e.number.text) > 20 else ''} is too large "
                    f"(at most 1000 digits)",
                    e.span,
                    "too large",
                )
                return False
            return True
        if isinstance(e, ast.Numeral):
            ok = all([self.resolve(d) is not None for d in e.digits])
            if len(e.digits) > MAX_NUMERAL_DIGITS:
                self.error(
                    "R019",
                    f"a numeral has at most {MAX_NUMERAL_DIGITS} digits, not {len(e.digits)}",
                    e.span,
                    "too long",
                )
                return False
            if ok:
                wrong = [d for d in e.digits if self.unknowns[d.text].domain.labels != tuple(range(10))]
                if wrong:
                    self.error(
                        "R019",
                        f"`{wrong[0].text}` is not a digit: `num(…)` reads decimal digits",
                        wrong[0].span,
                        f"a {self.unknowns[wrong[0].text].domain.name}",
                    )
                    return False
            return ok
        if isinstance(e, ast.Placeholder):
            return self.placeholder(e, "number")
        if isinstance(e, ast.BinOp):
            return self.expression(e.left) & self.expression(e.right)
        if isinstance(e, ast.Negate):
            return self.expression(e.operand)
        raise TypeError(e)

    def distinct(self, f: ast.Distinct, strength: float) -> Statement | None:
        resolved = [self.resolve(n) for n in f.names]
        seen: dict[str, ast.Name] = {}
        ok = all(r is not None for r in resolved)
        for n in f.names:
            if n.text in seen:
                self.error("R017", f"`{n.text}` appears twice in `all different`: it can never differ from itself",
                           n.span, "repeated", related=[(seen[n.text].span, "first here")])
                ok = False
            seen[n.text] = n
        if len(f.names) < 2:
            self.error("R017", "`all different` needs at least two unknowns", f.span, "only one")
            ok = False
        if ok and len({r.domain.name for r in resolved}) > 1:
            self.error("R017", "`all different` compares labels of one domain", f.span, "mixes domains")
            ok = False
        if not ok:
            return None
        return DistinctStatement(span=f.span, strength=strength, names=tuple(n.text for n in f.names))

    # solve settings ------------------------------------------------------------

    def solve(self, s: ast.Solve, earlier: dict) -> dict:
        out: dict = {}
        for setting in s.settings:
            key = setting.key.text
            spec = SETTINGS.get(key)
            if spec is None:
                singular = key[:-1] if key.endswith("s") else key + "s"
                near = singular if singular in SETTINGS else suggest(key, SETTINGS)
                help = f"did you mean `{near}`?" if near else "settings: " + ", ".join(f"`{k}`" for k in SETTINGS)
                self.error("R020", f"unknown setting `{key}`", setting.key.span, "not a setting", help)
                continue
            if key in out or key in earlier:
                self.error("R022", f"setting `{key}` is given twice", setting.span, "again")
                continue
            value = self.setting_value(key, spec, setting)
            if value is not None:
                out[key] = value
        self.unread_settings(s, out)
        return out

    def unread_settings(self, s: ast.Solve, given: dict) -> None:
        """R024: a setting the line's own method does not read (vocabulary.METHOD_READS) — not an error, since
        the solve goes on without it, but the writer meant something by it. Under `auto` (or no method) the
        method is chosen later, and the report says it then."""
        method = given.get("method")
        reads = METHOD_READS.get(method or "auto")
        if reads is None:
            return
        for setting in s.settings:
            key = setting.key.text
            if key in given and key in RUN_SETTINGS and key not in reads and key not in EVERY_METHOD_READS:
                self.warn("R024", f"method {method} does not read `{key}`", setting.span, "not read",
                          help=f"{method} reads {', '.join(reads)} (and restarts, seed, precision); "
                               f"`{key}` is read by {', '.join(read_by(key))}")

    def setting_value(self, key: str, spec: SettingSpec, s: ast.Setting):
        """The setting's value in Python's terms, checked by the one validator every face shares."""
        values = s.values
        span = values[0].span.to(values[-1].span)
        if spec.kind == "choice":
            value = values[0].text if len(values) == 1 and isinstance(values[0], ast.Name) else \
                " ".join(v.text for v in values)
            if problem := setting_problem(key, value):
                near = suggest(value, spec.choices)
                self.error("R021", problem, span, "invalid value", f"did you mean `{near}`?" if near else spec.help)
                return None
            return value
        if any(not isinstance(v, ast.Number) for v in values):
            self.error("R021", f"`{key}` takes numbers", span, "invalid value", spec.help)
            return None
        # whole numbers stay ints only where a whole number is asked for (`3.0 restarts` is refused)
        numbers = [int(v.text) if spec.kind == "int" and v.is_integer else v.value for v in values]
        value = numbers if spec.kind == "floats" else numbers[0] if len(numbers) == 1 else numbers
        if problem := setting_problem(key, value):
            self.error("R021", problem, span, "invalid value", spec.help)
            return None
        if spec.kind == "floats" and any(b < a for a, b in zip(numbers, numbers[1:])):
            self.warn("R021", f"`{key}` decreases: annealing usually raises the strength step by step", span,
                      "decreasing")
        return value


def _order(d: Diagnostic):
    return (d.span.line, d.span.column) if d.span else (0, 0)


def _constant_truth(f: ast.Relation) -> bool:
    return bool(holds(f.left, f.op, f.right, {}))

"""Learning the networks from riddles: `riddle learn TEMPLATE --data TABLE` and `riddle.learn(...)`.

A template is a riddle whose `$name`s are filled from each row of a data table (riddle/tables.py). An
unknown tied to a table image (`a looks like $a`) *is* that image: the networks read it, no generator is
involved. Each row's numbers (`num(a1, a0) + num(b1, b0) = $sum`) are the logic's given variables
(graph/build.py, `Given`): the template compiles once, and every row is the same tensor program with its
numbers as one-hot inputs.

The loss is −log P(the row's riddle holds | the row's images): the exact weighted model count of the
template's logic program over the networks' distributions — the label classifier's softmax (at
temperature 1) for each read unknown, a uniform distribution for an unknown no image shows, σ(±logit)
for each predicate — computed by the solver's own objective (infer/objective.py, `terms_of`). Nothing
else supervises: no digit label is read. A mini-batch is one call: the classifier runs once on all of
its images, the logic once on all of its rows.

Shapes: images [B, n, H, W] (n unknowns; unread ones are zeros and their reading is replaced by the
uniform one), given positions [B, G], log P [B].
"""
from __future__ import annotations

import json
import math
import shutil
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .graph.build import FactorGraph, PredicateFactor, build
from .infer.objective import Networks, Objective, Readings
from .lang import CheckedRiddle, RiddleError, load
from .models.train import augment
from .tables import Table, TableError, read_table

INITS = ("scratch", "pretrained")
SCHEDULES = ("constant", "cosine")
NETS = ("labelnet", "lenet")        # `--net`: riddle's strided classifier, or DeepProbLog's LeNet (bench/learn.py)
CLASSIFIER = "classifier"          # `--learn classifier`: the domain's label classifier (with its heads)


class LearnError(ValueError):
    """A template or setting that cannot be learned from, in words."""


@dataclass
class LearnConfig:
    epochs: int = 1
    batch: int = 16
    lr: float = 1e-3
    seed: int = 0
    learn: tuple[str, ...] = (CLASSIFIER,)     # which networks train; the rest stay frozen
    init: str = "scratch"                       # scratch: freshly initialised networks; pretrained: the base's
    models: str | None = None                   # the base model family or directory (generator, frozen networks)
    net: str | None = None                      # with scratch: the classifier's architecture (NETS); None: the base's
    schedule: str = "constant"                  # the learning rate: constant, or cosine (to 0 over all steps)
    augment: bool = False                       # distort the table's images as a hand would (models/train.augment)
    max_seconds: float | None = None            # stop after the epoch in which training time passes this budget
    starts: int = 1                             # independent starts; the lowest training loss after a probe goes on
    device: str = "cpu"

    def problems(self) -> list[str]:
        out = []
        if not 1 <= self.epochs <= 10_000:
            out.append(f"--epochs must be 1 … 10000, not {self.epochs}")
        if not 1 <= self.batch <= 65_536:
            out.append(f"--batch must be 1 … 65536, not {self.batch}")
        if not (0 < self.lr <= 1):
            out.append(f"--lr must be in (0, 1], not {self.lr}")
        if self.init not in INITS:
            out.append(f"--init must be one of {', '.join(INITS)}, not {self.init!r}")
        if not 1 <= self.starts <= 64:
            out.append(f"--starts must be 1 … 64, not {self.starts}")
        if self.max_seconds is not None and not self.max_seconds > 0:
            out.append(f"--max-seconds must be positive, not {self.max_seconds}")
        if self.schedule not in SCHEDULES:
            out.append(f"--schedule must be one of {', '.join(SCHEDULES)}, not {self.schedule!r}")
        if self.net is not None and self.net not in NETS:
            out.append(f"--net must be one of {', '.join(NETS)}, not {self.net!r}")
        if self.net is not None and self.init != "scratch":
            out.append("--net picks the architecture of a classifier learned from scratch; with --init pretrained "
                       "the base's classifier is the start")
        return out


def load_template(path: str | Path, registry=None) -> CheckedRiddle:
    """Read and check a template; RiddleError (file:line:col) when it has errors."""
    checked = load(path, registry, template=True)
    if not checked.ok:
        raise RiddleError([d for d in checked.diagnostics if d.is_error], checked.source)
    return checked


class RiddleLikelihood(nn.Module):
    """log P(a template's riddle holds | a row's images and numbers), for a batch of rows: [B]."""

    def __init__(self, graph: FactorGraph, classifier: nn.Module, predicates: dict[str, nn.Module]):
        super().__init__()
        riddle = graph.riddle
        domains = {u.domain.name for u in graph.unknowns}
        if len(domains) != 1:
            raise LearnError("a template's unknowns must share one domain (its classifier is what learns)")
        self.graph = graph
        self.classifier = classifier
        self.objective = Objective(graph, Networks({}, {next(iter(domains)): classifier}, predicates),
                                   precision="float32", label_temperature=1.0)
        if not self.objective.program.exact:
            raise LearnError("the template's logic cannot be computed exactly (a component was split: "
                             "`riddle check TEMPLATE` shows the plan); learning needs the exact count — write its "
                             "relations over fewer unknowns or with narrower numbers")
        self.columns = [riddle.data_images.get(u.name) for u in graph.unknowns]   # table column per unknown, or None
        self.labels = len(graph.unknowns[0].domain.labels)
        unseen = {u.name for u, c in zip(graph.unknowns, self.columns) if c is None}
        read = {f.scope[0] for f in graph.factors if isinstance(f, PredicateFactor)}
        read |= {s.unknown for s in graph.switches if s.kind == "reading"}
        blind = sorted(unseen & read)
        if blind:
            raise LearnError(f"`{blind[0]}` is read by a predicate's network but no image shows it: tie it to a "
                             f"table column (`{blind[0]} looks like ${blind[0]}`), or state only label facts of it")
        self.register_buffer("_unseen", torch.tensor([c is None for c in self.columns]), persistent=False)

    def readings(self, images: torch.Tensor, given: torch.Tensor) -> Readings:
        """images [B, n, H, W], given positions [B, G] → what the networks read, with the givens one-hot."""
        readings = self.objective.read(images)
        if bool(self._unseen.any()):          # an unknown no image shows: every label equally likely a priori
            uniform = torch.full_like(readings.logp, -math.log(self.labels))
            readings.logp = torch.where(self._unseen[None, :, None], uniform, readings.logp)
        readings.given = self.given_logp(given)
        return readings

    def given_logp(self, given: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for j, g in enumerate(self.graph.givens):
            hot = torch.arange(len(g.values), device=given.device)[None, :] == given[:, j:j + 1]   # [B, |values|]
            out.append(torch.zeros(hot.shape, device=given.device).masked_fill(~hot, -torch.inf))
        return out

    def forward(self, images: torch.Tensor, given: torch.Tensor) -> torch.Tensor:
        return self.objective.terms_of(self.readings(images, given)).sum(-1)                  # [B]

    def reachable(self, given: torch.Tensor) -> torch.Tensor:
        """[B] bool: can any labels (and predicate readings) make each row's riddle hold? Uniform
        distributions everywhere: the exact count is positive exactly where some assignment satisfies it."""
        B, n = given.shape[0], len(self.graph.unknowns)
        logp = torch.full((B, n, self.labels), -math.log(self.labels), device=given.device)
        preds = {name: {c: torch.zeros(B, device=given.device) for c in cols}
                 for name, cols in self.objective._pred_unknowns.items()}
        readings = Readings(B, logp, preds, {}, self.given_logp(given))
        with torch.no_grad():
            return torch.isfinite(self.objective.terms_of(readings).sum(-1))


@dataclass
class Rows:
    """A table as tensors for the likelihood: images [R, n, H, W] (zeros where no image), givens [R, G]."""
    images: torch.Tensor
    given: torch.Tensor
    values: dict[str, list[int]]               # the table's numbers, by placeholder column
    labels: dict[str, np.ndarray]              # true labels by image column (test tables)
    table: Table

    def __len__(self) -> int:
        return self.images.shape[0]


def rows_of(table: Table, model: RiddleLikelihood) -> Rows:
    graph = model.graph
    R = table.rows
    shape = graph.unknowns[0].domain.image_shape
    images = torch.zeros((R, len(graph.unknowns), *shape))
    for i, column in enumerate(model.columns):
        if column is not None:
            images[:, i] = torch.from_numpy(table.images[column])
    given = torch.zeros((R, len(graph.givens)), dtype=torch.long)
    for j, g in enumerate(graph.givens):
        values = table.numbers[g.placeholder[1:]]
        given[:, j] = torch.tensor([g.position(v) for v in values], dtype=torch.long)
    return Rows(images, given, table.numbers, table.labels, table)


def check_rows(rows: Rows, model: RiddleLikelihood, batch: int = 4096) -> None:
    """Every row must be satisfiable by some labels: a sum no labels reach is a bad row, not a loss of ∞."""
    bad = []
    for start in range(0, len(rows), batch):
        ok = model.reachable(rows.given[start:start + batch])
        bad += [start + int(k) for k in torch.nonzero(~ok).flatten()]
    if bad:
        placeholders = [c for c, kind in model.graph.riddle.placeholders.items() if kind == "number"]

        def shown(r):
            return ", ".join(f"${c} = {rows.values[c][r]}" for c in placeholders)
        raise TableError(str(rows.table.path), [f"row {r + 1}: no labels make the template hold with {shown(r)}"
                                                for r in bad])


# ── the networks that learn ───────────────────────────────────────────────────

def networks(graph: FactorGraph, config: LearnConfig) -> tuple[nn.Module, dict[str, nn.Module], list[str]]:
    """The classifier and predicate networks the template reads, rebuilt around one classifier that
    learns (odd/even read off it, `closed circle` one of its heads); and the names of those that learn."""
    from .models import zoo
    domain = graph.unknowns[0].domain
    base = domain.load_classifier()
    import copy
    if config.init == "scratch" and CLASSIFIER in config.learn:
        config_of = getattr(base, "config", None)
        if not isinstance(base, (zoo.LabelNet, zoo.LeNet)) or config_of is None:
            raise LearnError("`--init scratch` rebuilds riddle's own label classifier; this domain's classifier is a "
                             "plugin's: use `--init pretrained`")
        torch.manual_seed(config.seed)            # after the base is loaded (its first load draws from the RNG)
        if config.net == "lenet":
            classifier = zoo.LeNet(classes=base.classes, heads=base.heads)
        elif config.net == "labelnet" and not isinstance(base, zoo.LabelNet):
            classifier = zoo.LabelNet(classes=base.classes, heads=base.heads)
        else:
            classifier = type(base)(**config_of)
    else:                                     # pretrained, or frozen: the base's classifier as it is
        classifier = copy.deepcopy(base)
    classifier.train()
    preds: dict[str, nn.Module] = {}
    names = {f.predicate.name: f.predicate for f in graph.factors if isinstance(f, PredicateFactor)}
    names.update({s.predicate.name: s.predicate for s in graph.switches if s.kind == "reading"})
    for name, p in names.items():
        net = p.load_network()
        preds[name] = _rebased(net, base, classifier)
    learnable = [CLASSIFIER] + [n for n, net in preds.items() if not _reads_classifier(net, classifier)]
    unknown = [n for n in config.learn if n not in learnable]
    if unknown:
        raise LearnError(f"--learn names `{unknown[0]}`, which this template does not read; it can learn: "
                         f"{', '.join(learnable)}")
    for n, net in preds.items():
        trains = n in config.learn
        if not _reads_classifier(net, classifier):
            if trains and not any(True for _ in net.parameters()):
                raise LearnError(f"--learn names `{n}`, whose network has no weights to learn (a plain function)")
            if trains and config.init == "scratch":       # freshly initialised, as torch initialises each layer
                torch.manual_seed(config.seed)
                for layer in net.modules():
                    if hasattr(layer, "reset_parameters"):
                        layer.reset_parameters()
            for q in net.parameters():
                q.requires_grad_(trains)
    if CLASSIFIER not in config.learn:
        for q in classifier.parameters():
            q.requires_grad_(False)
    return classifier, preds, list(config.learn)


def _rebased(net: nn.Module, old: nn.Module, new: nn.Module) -> nn.Module:
    """A predicate read off the base classifier, read off the learning one instead (others: a copy)."""
    import copy

    from .models import zoo
    if isinstance(net, zoo.Negated):
        return zoo.Negated(_rebased(net.predicate, old, new))
    if isinstance(net, zoo.LabelReadout) and net.classifier is old:
        labels = tuple(int(k) for k in torch.nonzero(net.mask).flatten())
        return zoo.LabelReadout(new, labels, classes=len(net.mask))
    if isinstance(net, zoo.HeadReadout) and net.classifier is old:
        return zoo.HeadReadout(new, new.heads[net.column - new.classes])
    return copy.deepcopy(net)


def _reads_classifier(net: nn.Module, classifier: nn.Module) -> bool:
    from .models import zoo
    while isinstance(net, zoo.Negated):
        net = net.predicate
    return isinstance(net, zoo.Readout) and net.classifier is classifier


# ── the loop ──────────────────────────────────────────────────────────────────

@dataclass
class Epoch:
    epoch: int
    loss: float
    riddle_accuracy: float        # training rows whose riddle holds with probability > ½, while learning
    seconds: float
    test: dict = field(default_factory=dict)
    start: int = 0                # with --starts: which start this epoch trained


@dataclass
class LearnResult:
    out: Path | None
    epochs: list[Epoch]
    card: dict
    model: RiddleLikelihood

    def to_json(self) -> dict:
        return {"out": str(self.out) if self.out else None, "card": self.card,
                "epochs": [e.__dict__ for e in self.epochs]}


def evaluate(model: RiddleLikelihood, rows: Rows, batch: int = 1024) -> dict:
    """Riddle accuracy on rows (P(holds) > ½), their mean −log P, and per labelled image column the
    classifier's digit accuracy."""
    model.eval()
    holds, nll, correct, total = 0, 0.0, 0, 0
    with torch.no_grad():
        for start in range(0, len(rows), batch):
            images = rows.images[start:start + batch]
            logp = model(images, rows.given[start:start + batch])
            holds += int((logp > math.log(0.5)).sum())
            nll -= float(logp.sum())
            for column, labels in rows.labels.items():
                i = model.columns.index(column)
                guess = model.classifier(images[:, i]).argmax(-1).numpy()
                correct += int((np.asarray(model.graph.unknowns[i].domain.labels)[guess]
                                == labels[start:start + batch]).sum())
                total += len(guess)
    model.train()
    out = {"rows": len(rows), "riddle_accuracy": holds / max(len(rows), 1), "nll": nll / max(len(rows), 1)}
    if total:
        out["digit_accuracy"] = correct / total
        out["digits"] = total
    return out


def learn(template: str | Path, data: str | Path, *, out: str | Path | None = None, test: str | Path | None = None,
          config: LearnConfig | None = None, progress: bool = False, on_epoch=None, judge=None,
          resume: bool = False) -> LearnResult:
    """Train the template's networks from its table's riddle-level truth alone, exactly (see the module's
    docstring). Raises RiddleError (the template), TableError (a table: every bad row) or LearnError
    before anything is trained or written; `out` gets a model directory (`--models DIR`).

    on_epoch(Epoch) is called after each epoch; judge(classifier) → {name: figure}, if given, adds the
    caller's own figures to each epoch's `test` (outside the epoch's timed seconds). With `out`, a
    checkpoint is written there after every epoch; `resume` continues from it (the same template, table and
    settings; --epochs may grow), and ends where an uninterrupted run would have."""
    config = config or LearnConfig()
    if problems := config.problems():
        raise LearnError("; ".join(problems))
    registry = None
    if config.models:
        from .models.families import registry as family_registry
        registry = family_registry(config.models)
    checked = load_template(template, registry)
    if not checked.template:
        raise LearnError(f"{template} has no `$name` placeholders: a template names the table's columns, as in "
                         "`a looks like $a` and `a + b = $sum`")
    graph = build(checked)
    first = _start(graph, config, config.seed)
    learning = first.learning
    labels_shape = graph.unknowns[0].domain.image_shape
    train_rows = rows_of(read_table(data, checked.placeholders, shape=labels_shape), first.model)
    check_rows(train_rows, first.model)
    test_rows = None
    if test is not None:
        test_rows = rows_of(read_table(test, checked.placeholders, labels_allowed=True, shape=labels_shape),
                            first.model)
        check_rows(test_rows, first.model)
    if out is not None:
        out = Path(out)
        ours = (out / "family.json").is_file() or (out / f"{CHECKPOINT}.json").is_file()
        if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not ours)):
            raise LearnError(f"{out} exists and is not a model directory riddle wrote: choose an empty or new folder")
    device = torch.device(config.device)
    fingerprint = _fingerprint(checked, data, config)
    spent = [0.0]                                 # training seconds, every start's

    def run_epoch(run: _Run, epoch: int, start: int) -> Epoch:
        result = _train_epoch(run, epoch, train_rows, config, device, progress, start)
        result.test = evaluate(run.model, test_rows) if test_rows is not None else {}
        if judge is not None:
            result.test.update(judge(run.model.classifier))
        spent[0] += result.seconds
        run.epochs.append(result)
        return result

    def over_budget() -> bool:
        return config.max_seconds is not None and spent[0] >= config.max_seconds

    run = first
    if resume:
        if out is None:
            raise LearnError("--resume continues from the checkpoint in --out DIR: name the folder")
        run.epochs = load_checkpoint(out, run.model, run.optimiser, run.streams, fingerprint)
        run.start = run.epochs[-1].start if run.epochs else 0     # with --starts: the start that went on
        spent[0] = sum(e.seconds for e in run.epochs)
    elif config.starts > 1:
        # Several starts, each for the first `probe` epochs; the one whose training loss is lowest goes on.
        # Long sums have local optima (each digit read as a mixture of its neighbours: docs/LEARNING.md) that
        # some initialisations fall into; the exact likelihood tells them apart.
        probe = max(1, round(config.epochs * PROBE_SHARE))
        runs = [first] + [_start(graph, config, config.seed + STARTS_STRIDE * k) for k in range(1, config.starts)]
        for k, candidate in enumerate(runs):
            for epoch in range(1, probe + 1):
                result = run_epoch(candidate, epoch, k)
                if on_epoch is not None:
                    on_epoch(result)
        run = min(runs, key=lambda r: r.epochs[-1].loss)
    for epoch in range(len(run.epochs) + 1, config.epochs + 1):
        if over_budget():
            break
        result = run_epoch(run, epoch, run.start)
        if out is not None:
            save_checkpoint(out, run.model, run.optimiser, run.streams, run.epochs, fingerprint)
        if on_epoch is not None:
            on_epoch(result)
    epochs, model = run.epochs, run.model
    if not epochs:
        raise LearnError(f"the checkpoint in {out} has already done {config.epochs} epochs: ask for more with --epochs")
    card = _card(checked, config, train_rows, test_rows, epochs, learning, spent[0])
    if out is not None:
        write_models(out, model, card, config)
    return LearnResult(out, epochs, card, model)


PROBE_SHARE = 0.2        # with --starts K: each start learns for this share of the epochs before one is chosen
STARTS_STRIDE = 1000     # start k's seed: --seed + 1000 k


@dataclass
class _Run:
    """One start: its networks (in the likelihood), Adam, its random streams and its epochs so far."""
    model: RiddleLikelihood
    optimiser: torch.optim.Optimizer
    streams: dict
    learning: list[str]
    start: int
    epochs: list = field(default_factory=list)


def _start(graph: FactorGraph, config: LearnConfig, seed: int) -> _Run:
    from dataclasses import replace
    seeded = replace(config, seed=seed)
    classifier, preds, learning = networks(graph, seeded)
    model = RiddleLikelihood(graph, classifier, preds).to(torch.device(config.device))
    params = list({id(q): q for q in model.parameters() if q.requires_grad}.values())
    streams = {"order": torch.Generator().manual_seed(seed),
               "distort": torch.Generator().manual_seed(seed + 1)}    # augmentation's own: row order unchanged
    return _Run(model, torch.optim.Adam(params, lr=config.lr), streams, learning,
                (seed - config.seed) // STARTS_STRIDE)


def _train_epoch(run: _Run, epoch: int, rows: Rows, config: LearnConfig, device, progress: bool,
                 start: int) -> Epoch:
    """One pass over the rows in the run's order: one classifier call and one logic call a mini-batch."""
    model, optimiser = run.model, run.optimiser
    order, distort = run.streams["order"], run.streams["distort"]
    steps = math.ceil(len(rows) / config.batch)
    bar = None
    if progress:
        from .models.progress import Progress
        bar = Progress(steps, f"learn epoch {epoch}/{config.epochs}" + (f" (start {start + 1})" if config.starts > 1
                                                                          else ""))
    began, total_loss, holds = time.perf_counter(), 0.0, 0
    perm = torch.randperm(len(rows), generator=order)
    for k in range(steps):
        if config.schedule == "cosine":    # the learning rate falls to 0 over all epochs' steps
            done = (epoch - 1) * steps + k
            for group in optimiser.param_groups:
                group["lr"] = config.lr * 0.5 * (1 + math.cos(math.pi * done / (config.epochs * steps)))
        idx = perm[k * config.batch:(k + 1) * config.batch]
        images = rows.images[idx]
        if config.augment:                  # the hand's distortions riddle train uses (models/train.py), drawn on
            images = augment(images.flatten(0, 1), distort).view(images.shape)     # the CPU's random stream
        images, given = images.to(device), rows.given[idx].to(device)
        logp = model(images, given)                                                   # [B]
        loss = -logp.mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        total_loss += float(loss.detach()) * len(idx)
        holds += int((logp.detach() > math.log(0.5)).sum())
        if bar is not None:
            seen = min((k + 1) * config.batch, len(rows))
            bar.update(1, f"loss {total_loss / seen:.3f} · riddles {holds / seen:.1%}")
    return Epoch(epoch, total_loss / len(rows), holds / len(rows), time.perf_counter() - began, start=start)


# ── checkpoints ───────────────────────────────────────────────────────────────

CHECKPOINT = "checkpoint"   # OUT/checkpoint.safetensors (weights, Adam's moments, random streams) + checkpoint.json


def _fingerprint(checked, data, config: LearnConfig) -> dict:
    """What a checkpoint must agree with to be resumed: the template's text, the table's bytes, and every
    setting but the epochs, the time budget and the device."""
    import hashlib
    digest = hashlib.sha256(Path(data).read_bytes()).hexdigest()
    text = checked.source.text if checked.source else ""
    settings = {k: v for k, v in config.__dict__.items() if k not in ("epochs", "max_seconds", "device")}
    return {"template": hashlib.sha256(text.encode()).hexdigest(), "table": digest,
            "settings": json.loads(json.dumps(settings, default=list))}


def learnables(model: RiddleLikelihood) -> dict[str, nn.Module]:
    """The networks a learned model directory holds: the classifier, and each predicate network that is not
    read off it (those are views of the classifier)."""
    out = {CLASSIFIER: model.classifier}
    for name, net in model.objective.nets.predicates.items():
        if not _reads_classifier(net, model.classifier):
            out[name] = net
    return out


def save_checkpoint(out: Path, model: RiddleLikelihood, optimiser, streams: dict, epochs: list[Epoch],
                    fingerprint: dict) -> None:
    """Written after every epoch, atomically (a file is replaced whole), as safetensors and JSON: no pickle."""
    from safetensors.torch import save_file
    out.mkdir(parents=True, exist_ok=True)
    tensors = {f"net.{name}.{k}": v.detach().cpu().contiguous().clone()
               for name, net in learnables(model).items() for k, v in net.state_dict().items()}
    state = optimiser.state_dict()
    for i, moments in state["state"].items():
        for k, v in moments.items():
            tensors[f"adam.{i}.{k}"] = torch.as_tensor(v).detach().cpu().contiguous().clone()
    for name, g in streams.items():
        tensors[f"rng.{name}"] = g.get_state()
    meta = {"epochs": [e.__dict__ for e in epochs], "param_groups": state["param_groups"],
            "fingerprint": fingerprint, "format": 1}
    tmp = out / f".{CHECKPOINT}.partial"
    save_file(tensors, str(tmp))
    tmp.replace(out / f"{CHECKPOINT}.safetensors")
    (out / f".{CHECKPOINT}.json.partial").write_text(json.dumps(meta, indent=1, default=float) + "\n")
    (out / f".{CHECKPOINT}.json.partial").replace(out / f"{CHECKPOINT}.json")


def load_checkpoint(out: Path, model: RiddleLikelihood, optimiser, streams: dict, fingerprint: dict) -> list[Epoch]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    meta_path, weights = out / f"{CHECKPOINT}.json", out / f"{CHECKPOINT}.safetensors"
    if not (meta_path.is_file() and weights.is_file()):
        raise LearnError(f"--resume: {out} holds no checkpoint ({CHECKPOINT}.json and {CHECKPOINT}.safetensors)")
    try:
        meta = json.loads(meta_path.read_text())
        tensors = load_file(str(weights))
    except (OSError, ValueError, SafetensorError) as e:
        raise LearnError(f"--resume: cannot read the checkpoint in {out}: {e}") from None
    differs = [k for k in ("template", "table") if meta.get("fingerprint", {}).get(k) != fingerprint[k]]
    theirs = meta.get("fingerprint", {}).get("settings", {})
    differs += [f"--{k.replace('_', '-')} ({theirs.get(k)!r} then, {v!r} now)"
                for k, v in fingerprint["settings"].items() if theirs.get(k) != v]
    if differs:
        raise LearnError(f"--resume: the checkpoint in {out} was made with another {', '.join(differs)}; resume "
                         "with what it was made with, or start again without --resume")
    device = next(model.classifier.parameters()).device
    for name, net in learnables(model).items():
        prefix = f"net.{name}."
        net.load_state_dict({k[len(prefix):]: v.to(device) for k, v in tensors.items() if k.startswith(prefix)})
    moments: dict[int, dict] = {}
    for key, v in tensors.items():
        if key.startswith("adam."):
            _, i, k = key.split(".", 2)
            moments.setdefault(int(i), {})[k] = v.to(device) if k != "step" else v
    optimiser.load_state_dict({"state": moments, "param_groups": meta["param_groups"]})
    for name, g in streams.items():
        g.set_state(tensors[f"rng.{name}"])
    return [Epoch(**e) for e in meta["epochs"]]


def _card(checked, config, train_rows, test_rows, epochs, learning, seconds: float) -> dict:
    last = epochs[-1]
    return {
        "trained_by": "riddle learn",
        "supervision": "riddle-level truth only: no digit label was read",
        "template": Path(checked.file).name,
        "template_text": checked.source.text if checked.source else None,
        "rows": len(train_rows), "epochs": len(epochs), "batch": config.batch, "lr": config.lr,
        "seed": config.seed, "init": config.init, "learned": learning,
        "seconds": round(seconds, 2),                      # every start's training time
        "starts": config.starts, "chosen_start": epochs[-1].start,
        "train_riddle_accuracy": round(last.riddle_accuracy, 4),
        "test": last.test,
    }


def write_models(out: Path, model: RiddleLikelihood, card: dict, config: LearnConfig) -> None:
    """A model directory that `--models DIR` accepts: the learned classifier (weights and card), the base's
    generator beside it (not retrained: it never saw a label), and family.json saying which file is which."""
    from .models import store
    from .models.families import FAMILY_FILE
    from .models.registry import FAMILIES, weights_dir
    from .vocabulary import DEFAULT_MODELS
    base_name = config.models or DEFAULT_MODELS
    if base_name not in FAMILIES:
        raise LearnError("a learned model directory is made over one of riddle's families (--models default)")
    base = FAMILIES[base_name]
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        store.save(model.classifier.eval(), "classifier", {"role": "label classifier", **card}, tmp)
        for name, net in learnables(model).items():      # a plugin's network: its weights; the plugin builds it
            if name != CLASSIFIER and name in card["learned"]:
                from safetensors.torch import save_file

                from .models.families import predicate_file
                stem = predicate_file(name)
                save_file({k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()},
                          str(tmp / f"{stem}.safetensors"))
                (tmp / f"{stem}.json").write_text(json.dumps({"role": f"predicate `{name}`", **card}, indent=2)
                                                  + "\n")
        for suffix in (".safetensors", ".json"):           # the last epoch's checkpoint: --resume can go on
            if (out / f"{CHECKPOINT}{suffix}").is_file():
                shutil.copyfile(out / f"{CHECKPOINT}{suffix}", tmp / f"{CHECKPOINT}{suffix}")
        source = Path(weights_dir())
        for stem in (base.generator_weights,):
            for suffix in (".safetensors", ".json"):
                if (source / f"{stem}{suffix}").is_file():
                    shutil.copyfile(source / f"{stem}{suffix}", tmp / f"{stem}{suffix}")
        family = {"name": out.name, "base": base.name, "generator_weights": base.generator_weights,
                  "classifier_weights": "classifier", "sampler_weights": None,
                  "trained_by": "riddle learn", "supervision": card["supervision"]}
        (tmp / FAMILY_FILE).write_text(json.dumps(family, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        tmp.replace(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


class _CallableModule(types.ModuleType):
    """`riddle.learn(...)` is `riddle.learn.learn(...)`: the module stays a module (LearnConfig, RiddleLikelihood)."""

    def __call__(self, *args, **kwargs) -> LearnResult:
        return learn(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

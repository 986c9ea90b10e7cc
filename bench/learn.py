"""MNIST-addition learned from sums alone: `riddle learn` beside DeepProbLog 2.1, same rows, network and optimiser.

    python -m bench.learn                       the whole protocol (about an hour on 2 cores), JSON + section
    python -m bench.learn --sizes 1 --no-dpl    one size, riddle only
    python -m bench.learn --mnist DIR           the papers' protocol on a user's 60,000 MNIST digits (IDX or .npy)
    python -m bench.learn --render              the section again from docs/bench/learn.json

The task (Manhaeve et al. 2018): two numbers of N handwritten digits each; only their sum is given. Rows come
from training split A of the bundled digits (4,000), each digit used once per epoch, ⌊4000 / 2N⌋ rows; test rows
from the 500 held-out digits. Every learner starts from the same freshly initialised LeNet (DeepProbLog's
MNIST_Net, riddle's `--net lenet`), sees the rows in the same order each epoch (one seeded permutation per
epoch), and uses Adam with the same learning rate and schedule, for the same epochs. Both are judged by one
function: digit accuracy on the 500 held-out digits, sum accuracy on the test rows (the sum of the numbers the
network reads digit by digit).

DeepProbLog runs in a child process under a time limit (its exact engine, with caching, batch 2 as in its
examples); past the limit its row says time-out and no larger N is tried. The ceiling is the same network
trained on the digit labels with the same recipe.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bench.common import ROOT, machine, publish, rerender

SIZES = (1, 2, 3, 4, 15, 100)
HEADING = "## Learning from riddles"
JSON = ROOT / "docs" / "bench" / "learn.json"

# Published MNIST-addition sum accuracies (each on the 60,000 MNIST training digits, ⌊60000 / 2N⌋ rows, tested on
# MNIST's 10,000 test digits), as collected in issue 38 from the papers: N → figure.
PUBLISHED = [
    ("DeepProbLog (exact)", {1: "97.1 % (2,045 s)", 2: "92.4 %", 4: "time-out"}),
    ("DeepStochLog", {1: "97.9 %", 2: "96.4 %", 4: "92.7 %"}),
    ("NeurASP", {1: "96.2 % (966 s)"}),
    ("ABL", {1: "98.1 % (47 s)"}),
    ("Scallop", {4: "90.9 %", 15: "time-out"}),
    ("A-NeSI", {4: "92.6 %", 15: "76.8 %"}),
    ("DeepSoftLog", {4: "93.5 %", 15: "77.1 %"}),
    ("PLIA", {4: "91.8 %", 15: "79.0 %"}),
    ("NeSyDM", {4: "92.5 %", 15: "77.3 % (1–17 h on a GPU)"}),
]


@dataclass(frozen=True)
class Recipe:
    """What every learner of one size shares (riddle's LearnConfig and DeepProbLog's set-up alike)."""
    epochs: int
    lr: float = 2e-3
    schedule: str = "cosine"        # per step, to 0 over all epochs
    augment: bool = True            # models/train.augment, the same distortions for every learner
    batch: int = 16                 # riddle's rows per step; DeepProbLog keeps its examples' 2
    dpl_batch: int = 2
    seed: int = 0
    max_seconds: float | None = None
    starts: int = 1                 # riddle's --starts (DeepProbLog and the ceiling: one start)


# epochs per size: enough for the figure to settle on 2 cores; N = 15 and 100 are held to the budgets
# N = 100 has 20 rows an epoch: one row a step (the cosine schedule needs a known end, the time limit gives none)
# N = 15 learns from 4 starts (a fifth of the epochs each, then the lowest loss goes on): single starts fall into a
# local optimum now and then (each digit read as a mixture of its neighbours); its row measures how often
RECIPES = {1: Recipe(30), 2: Recipe(30), 3: Recipe(30), 4: Recipe(30), 15: Recipe(60, max_seconds=120, starts=4),
           100: Recipe(1000, lr=1e-3, schedule="constant", batch=1, max_seconds=600)}


# ── data ──────────────────────────────────────────────────────────────────────

@dataclass
class Digits:
    images: np.ndarray          # uint8 [M, 28, 28]
    labels: np.ndarray          # int64 [M]
    train: np.ndarray           # indices the rows are made of
    test: np.ndarray            # held-out indices
    source: str


def bundled() -> Digits:
    from riddle.models import data
    d = data.load_bundled()
    s = data.make_splits(d.labels)
    images = (d.images.numpy() * 255).round().astype(np.uint8)
    return Digits(images, d.labels.numpy(), s.train_a, s.test,
                  f"bundled digits: training split A ({len(s.train_a)}), held-out test ({len(s.test)})")


def published(folder: str | Path) -> Digits:
    """A user's full MNIST: the four IDX files (gzipped or not), or train-images.npy, train-labels.npy,
    test-images.npy, test-labels.npy. Train and test stay apart, as in the papers."""
    from riddle.models import data
    folder = Path(folder)
    parts = {}
    for part, stem in (("train", "train"), ("test", "t10k")):
        if (folder / f"{part}-images.npy").is_file():
            images, labels = np.load(folder / f"{part}-images.npy"), np.load(folder / f"{part}-labels.npy")
        else:
            images = data._read_idx(data._find(folder, f"{stem}-images-idx3-ubyte"))
            labels = data._read_idx(data._find(folder, f"{stem}-labels-idx1-ubyte"))
        if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels):
            raise data.DataError(f"{folder}: {part} images {images.shape} do not match labels {labels.shape}")
        parts[part] = (images.astype(np.uint8), labels.astype(np.int64))
    (tr_x, tr_y), (te_x, te_y) = parts["train"], parts["test"]
    return Digits(np.concatenate([tr_x, te_x]), np.concatenate([tr_y, te_y]), np.arange(len(tr_y)),
                  len(tr_y) + np.arange(len(te_y)), f"MNIST in {folder}: {len(tr_y)} training, {len(te_y)} test digits")


@dataclass
class Task:
    n: int
    folder: Path
    template: Path
    train: Path
    test: Path
    train_rows: np.ndarray      # [R, 2N] digit indices, the first N the first number's, most significant first
    test_rows: np.ndarray


def names(n: int) -> list[str]:
    return [f"a{i}" for i in reversed(range(n))] + [f"b{i}" for i in reversed(range(n))]


def number(labels: np.ndarray) -> int:
    return int("".join(str(int(k)) for k in labels))


def write_task(digits: Digits, n: int, folder: Path, seed: int = 0) -> Task:
    """The template, digits.npy and the two tables of MNIST-addition with N-digit numbers. Each of the
    training digits is used once (⌊|train| / 2N⌋ rows); test tables carry `.label` columns."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "digits.npy").is_file():
        np.save(folder / "digits.npy", digits.images)
    cols = names(n)
    template = folder / f"add{n}.rdl"
    template.write_text(f"# MNIST-addition, N = {n}: only the sum is given\ndigits {', '.join(cols)}\n"
                        + "".join(f"{c} looks like ${c}\n" for c in cols)
                        + f"num({', '.join(cols[:n])}) + num({', '.join(cols[n:])}) = $sum\n")
    rng = np.random.default_rng(seed)

    def table(pool: np.ndarray, path: Path, labelled: bool) -> np.ndarray:
        pool = rng.permutation(pool)
        rows = pool[:len(pool) // (2 * n) * 2 * n].reshape(-1, 2 * n)
        with path.open("w") as f:
            f.write(",".join(cols + ["sum"] + ([f"{c}.label" for c in cols] if labelled else [])) + "\n")
            for ids in rows:
                y = digits.labels[ids]
                total = number(y[:n]) + number(y[n:])
                f.write(",".join([f"digits.npy#{i}" for i in ids] + [str(total)]
                                 + ([str(int(k)) for k in y] if labelled else [])) + "\n")
        return rows
    train_rows = table(digits.train, folder / f"train{n}.csv", False)
    test_rows = table(digits.test, folder / f"test{n}.csv", True)
    return Task(n, folder, template, folder / f"train{n}.csv", folder / f"test{n}.csv", train_rows, test_rows)


# ── one judge for every learner ───────────────────────────────────────────────

def judge(net: torch.nn.Module, digits: Digits, task: Task) -> dict:
    """Digit accuracy on every held-out digit, and sum accuracy on the test rows: the numbers the network
    reads digit by digit (argmax), added, against the true sum."""
    net.eval()
    with torch.no_grad():
        x = torch.from_numpy(digits.images[digits.test].astype(np.float32) / 255.0)
        guess = np.concatenate([net(x[i:i + 1000]).argmax(-1).numpy() for i in range(0, len(x), 1000)])
    net.train()
    read = dict(zip(digits.test.tolist(), guess.tolist()))
    n = task.n
    right = sum(number([read[i] for i in ids[:n]]) + number([read[i] for i in ids[n:]])
                == number(digits.labels[ids[:n]]) + number(digits.labels[ids[n:]]) for ids in task.test_rows)
    return {"digit_accuracy": float((guess == digits.labels[digits.test]).mean()), "digits": int(len(guess)),
            "sum_accuracy": right / max(len(task.test_rows), 1), "test_rows": int(len(task.test_rows))}


# ── riddle ────────────────────────────────────────────────────────────────────

def run_riddle(digits: Digits, task: Task, recipe: Recipe, batch: int | None = None) -> dict:
    from riddle.learn import LearnConfig, learn
    config = LearnConfig(epochs=recipe.epochs, batch=batch or recipe.batch, lr=recipe.lr, seed=recipe.seed,
                         net="lenet", schedule=recipe.schedule, augment=recipe.augment, max_seconds=recipe.max_seconds,
                         starts=recipe.starts)
    curve, clock = [], [0.0]

    def on_epoch(epoch):
        clock[0] += epoch.seconds
        figures = {k: round(v, 4) for k, v in epoch.test.items()}
        curve.append({"epoch": epoch.epoch, "start": epoch.start, "seconds": round(clock[0], 2),
                      "epoch_seconds": round(epoch.seconds, 3), "loss": round(epoch.loss, 4), **figures})
        print(f"  riddle N={task.n} epoch {epoch.epoch}: {epoch.seconds:.2f} s, loss {epoch.loss:.3f}, digits "
              f"{figures['digit_accuracy']:.1%}, sums {figures['sum_accuracy']:.1%}", flush=True)

    start = time.perf_counter()
    result = learn(task.template, task.train, config=config, on_epoch=on_epoch,
                   judge=lambda net: judge(net, digits, task))
    wall = time.perf_counter() - start
    last = curve[-1]
    chosen = [c for c in curve if c["start"] == result.card["chosen_start"]]        # its epochs; the clock: all
    return {"learner": "riddle", "batch": config.batch, "starts": config.starts, "epochs": len(result.epochs),
            "curve": curve, "epoch_seconds": _median([c["epoch_seconds"] for c in curve]),
            "wall_seconds": round(wall, 1), "train_seconds": round(clock[0], 1),
            "digit_accuracy": last["digit_accuracy"], "sum_accuracy": last["sum_accuracy"],
            "to_95": next((c["seconds"] for c in chosen if c["digit_accuracy"] >= 0.95), None),
            "plan": result.model.objective.program.describe()[0]}


def _median(xs):
    return float(np.median(xs)) if xs else None


def logic_share(task: Task, batch: int, repeats: int = 20) -> dict:
    """One training step split: the classifier's forward and backward against the logic's (the exact count
    over the given readings), on random images, in seconds per row."""
    from riddle.graph.build import build
    from riddle.learn import LearnConfig, RiddleLikelihood, load_template, networks
    graph = build(load_template(task.template))
    torch.manual_seed(0)
    classifier, preds, _ = networks(graph, LearnConfig(net="lenet"))
    model = RiddleLikelihood(graph, classifier, preds)
    n = len(graph.unknowns)
    images = torch.rand(batch, n, 28, 28)
    given = torch.zeros(batch, len(graph.givens), dtype=torch.long)
    for j, g in enumerate(graph.givens):
        given[:, j] = torch.randint(0, len(g.values), (batch,))

    def timed(fn):
        fn()
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        return (time.perf_counter() - start) / repeats

    def network():
        classifier(images.flatten(0, 1)).logsumexp(-1).sum().backward()

    with torch.no_grad():
        fixed = model.readings(images, given)              # the network's part, done once: the logic's alone below
    logp = fixed.logp.detach()

    def logic():
        fixed.logp = logp.clone().requires_grad_(True)
        model.objective.terms_of(fixed).sum().backward()

    net_s, logic_s = timed(network), timed(logic)
    return {"network_seconds_per_row": net_s / batch, "logic_seconds_per_row": logic_s / batch,
            "logic_share": logic_s / (logic_s + net_s)}


def logic_cost(sizes=(1, 2, 4, 8, 15, 30, 60, 100), batch: int = 256) -> list[dict]:
    """The exact count's forward and backward per row against N, on random label distributions: the compiled
    plan, its compile time, and µs per row (linear in N is the claim)."""
    from riddle.graph.build import build
    from riddle.infer.objective import Networks, Objective, Readings
    from riddle.lang import load_text
    out = []
    for n in sizes:
        cols = names(n)
        text = (f"digits {', '.join(cols)}\n" + "".join(f"{c} looks like ${c}\n" for c in cols)
                + f"num({', '.join(cols[:n])}) + num({', '.join(cols[n:])}) = $sum\n")
        start = time.perf_counter()
        graph = build(load_text(text, template=True))
        objective = Objective(graph, Networks({}, {}, {}), precision="float32", label_temperature=1.0)
        compile_s = time.perf_counter() - start
        g = graph.givens
        given = [torch.full((batch, len(x.values)), -torch.inf).scatter(1, torch.randint(0, len(x.values), (batch, 1)),
                                                                         0.0) for x in g]
        logp = torch.log_softmax(torch.randn(batch, 2 * n, 10), -1).requires_grad_(True)

        def step(objective=objective, logp=logp, given=given):
            objective.terms_of(Readings(batch, logp, {}, {}, given)).sum().backward()
        step()
        reps = max(3, int(200 / n))
        start = time.perf_counter()
        for _ in range(reps):
            step()
        per_row = (time.perf_counter() - start) / reps / batch
        group = objective.program.groups[0]
        plan = group.plan if group.plan != "chain" else (f"chain of {len(group.chain.states)} steps, at most "
                                                         f"{max(len(s) for s in group.chain.states)} states")
        out.append({"n": n, "compile_seconds": round(compile_s, 3), "us_per_row": round(per_row * 1e6, 1),
                    "exact": bool(objective.program.exact), "plan": plan})
        print(f"  logic N={n}: {per_row * 1e6:.1f} µs a row, compiled in {compile_s:.2f} s", flush=True)
    return out


# ── the ceiling: the same network on the digit labels ────────────────────────

def run_labelled(digits: Digits, task: Task, recipe: Recipe) -> dict:
    from riddle.models import zoo
    from riddle.models.train import augment
    torch.manual_seed(recipe.seed)
    net = zoo.LeNet()
    ids = task.train_rows.reshape(-1)
    x = torch.from_numpy(digits.images[ids].astype(np.float32) / 255.0)
    y = torch.from_numpy(digits.labels[ids])
    batch = recipe.batch * 2 * task.n                  # the digits riddle's step sees
    steps = math.ceil(len(y) / batch)
    optimiser = torch.optim.Adam(net.parameters(), lr=recipe.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, recipe.epochs * steps)
    order, distort = torch.Generator().manual_seed(recipe.seed), torch.Generator().manual_seed(recipe.seed + 1)
    start = time.perf_counter()
    for _ in range(recipe.epochs):
        perm = torch.randperm(len(y), generator=order)
        for k in range(steps):
            idx = perm[k * batch:(k + 1) * batch]
            images = augment(x[idx], distort) if recipe.augment else x[idx]
            loss = torch.nn.functional.cross_entropy(net(images), y[idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    return {"learner": "labels", "epochs": recipe.epochs, "seconds": round(time.perf_counter() - start, 1),
            **judge(net, digits, task)}


# ── a predicate without a truth table, from counts ────────────────────────────

LOOP_PLUGIN = '''import riddle
from riddle.models.zoo import PredicateNet

riddle.register_predicate("loop", load=lambda: PredicateNet(width=16),
                          description="the ink encloses a hole (learned)")
'''


def run_predicate(digits: Digits, folder: Path, epochs: int = 30, seed: int = 0, augment: bool = True) -> dict:
    """`loop`, a plugin's predicate with no truth table (a fresh PredicateNet), learned from
    `exactly $k of { a has loop; b has loop; c has loop }` alone: rows of three training digits, k how many
    enclose a hole by topology (models/topology.py: the labels the shipped `closed circle` head was trained
    on). Judged against those labels on the held-out digits, beside the shipped head."""
    from riddle import plugins
    from riddle.learn import LearnConfig, learn
    from riddle.models.registry import default_registry
    from riddle.models.topology import has_closed_circle
    folder.mkdir(parents=True, exist_ok=True)
    images = torch.from_numpy(digits.images.astype(np.float32) / 255.0)
    topology = has_closed_circle(images).numpy().astype(bool)
    np.save(folder / "digits.npy", digits.images)
    ids = np.random.default_rng(seed).permutation(digits.train)
    ids = ids[:len(ids) // 3 * 3].reshape(-1, 3)
    (folder / "count.rdl").write_text("# how many of three digits enclose a hole: the only supervision\n"
                                      "digits a, b, c\na looks like $a\nb looks like $b\nc looks like $c\n"
                                      "exactly $k of { a has loop; b has loop; c has loop }\n")
    (folder / "rows.csv").write_text("a,b,c,k\n" + "".join(
        ",".join(f"digits.npy#{i}" for i in row) + f",{int(topology[row].sum())}\n" for row in ids))
    (folder / "loop.py").write_text(LOOP_PLUGIN)
    plugins.load_plugins([str(folder / "loop.py")], entry_points=False)
    config = LearnConfig(epochs=epochs, batch=16, lr=2e-3, seed=seed, learn=("loop",), schedule="cosine",
                         augment=augment)
    curve = []
    test = images[digits.test]

    def agreement(net) -> float:
        with torch.no_grad():
            return float(((torch.sigmoid(net(test)) > 0.5).numpy() == topology[digits.test]).mean())
    result = learn(folder / "count.rdl", folder / "rows.csv", config=config,
                   on_epoch=lambda e: curve.append({"epoch": e.epoch, "seconds": round(e.seconds, 2),
                                                    "loss": round(e.loss, 4)}))
    learned = result.model.objective.nets.predicates["loop"]
    shipped = default_registry().predicates["digit", "closed circle"].load_network()
    out = {"rows": int(len(ids)), "epochs": epochs, "augment": augment, "width": 16,
           "seconds": round(sum(c["seconds"] for c in curve), 1),
           "curve": curve, "agreement": agreement(learned), "shipped_head_agreement": agreement(shipped),
           "held_out": int(len(digits.test)), "holes_in_held_out": float(topology[digits.test].mean())}
    print(f"  loop from counts: {out['agreement']:.1%} agree with topology (shipped head "
          f"{out['shipped_head_agreement']:.1%})", flush=True)
    return out


# ── the learned model directory solves ────────────────────────────────────────

# the bundled puzzles that need only labels (`closed circle` is read off the learned classifier's labels)
SOLVE_RIDDLES = ("134", "358", "liars", "loop", "product", "remainder", "send-more-money", "staircase", "year")


def run_solves(digits: Digits, folder: Path, recipe: Recipe) -> dict:
    """N = 1's learner, written as a model directory (`riddle learn --out DIR`), solving the bundled puzzles
    that need only labels with the defaults and `--models DIR`: the reported answer against the puzzle's
    own, and per-sample success as riddle's judge (trained on labels, apart) reads the drawings."""
    import riddle
    from bench.common import known_answer
    from riddle.lang import load
    from riddle.learn import LearnConfig, learn
    task = write_task(digits, 1, folder, recipe.seed)
    config = LearnConfig(epochs=recipe.epochs, batch=recipe.batch, lr=recipe.lr, seed=recipe.seed, net="lenet",
                         schedule=recipe.schedule, augment=recipe.augment)
    learned = learn(task.template, task.train, out=folder / "learned", config=config,
                    judge=lambda net: judge(net, digits, task))
    rows = []
    for name in SOLVE_RIDDLES:
        path = ROOT / "puzzles" / f"{name}.rdl"
        start = time.perf_counter()
        result = riddle.solve(path, models=str(folder / "learned"), seed=0)
        want = list(known_answer(load(path)))
        rows.append({"riddle": name, "answer": result.answer, "right": result.answer == want,
                     "success": result.success_rate, "seconds": round(time.perf_counter() - start, 1)})
        print(f"  solve {name} with the learned directory: {result.answer} (want {want}), "
              f"{result.success_rate:.0%} judged right, {rows[-1]['seconds']:.1f} s", flush=True)
    return {"digit_accuracy": learned.epochs[-1].test["digit_accuracy"], "rows": rows}


# ── DeepProbLog, in a child process under a time limit ────────────────────────

DPL_PROGRAM = """nn(mnist_net,[X],Y,[0,1,2,3,4,5,6,7,8,9]) :: digit(X,Y).
number([],Result,Result).
number([H|T],Acc,Result) :- digit(H,Nr), Acc2 is Nr+10*Acc, number(T,Acc2,Result).
number(X,Y) :- number(X,0,Y).
multi_addition(X,Y,Z) :- number(X,X2), number(Y,Y2), Z is X2+Y2.
addition(X,Y,Z) :- digit(X,X2), digit(Y,Y2), Z is X2+Y2.
"""


def dpl_worker(folder: Path, n: int, recipe: Recipe, digits_from: str) -> None:
    """Runs in the child: DeepProbLog's exact engine (cached) on the task's rows, one JSON line per epoch and
    a progress line every 100 rows, judged by `judge` after each epoch."""
    from deepproblog.dataset import Dataset
    from deepproblog.engines import ExactEngine
    from deepproblog.model import Model
    from deepproblog.network import Network
    from deepproblog.query import Query
    from deepproblog.train import TrainObject
    from problog.logic import Constant, Term, list2term

    from riddle.models import zoo
    from riddle.models.train import augment

    torch.set_num_threads(2)
    digits = published(digits_from) if digits_from != "bundled" else bundled()
    task = write_task(digits, n, folder, recipe.seed)
    images = torch.from_numpy(digits.images.astype(np.float32) / 255.0)
    distort = torch.Generator().manual_seed(recipe.seed + 1)

    class Source:                                       # DeepProbLog's tensor source: an image by its index
        training = True

        def __getitem__(self, item):
            x = images[int(item[0])]
            return augment(x[None], distort)[0] if (recipe.augment and self.training) else x

    source = Source()

    class Rows(Dataset):
        def __init__(self, order):
            self.order = order

        def __len__(self):
            return len(self.order)

        def to_query(self, i):                          # as its examples write it: the tensors substituted in,
            ids = task.train_rows[self.order[i]]       # so one compiled circuit serves every row of a sum
            y = digits.labels[ids]
            total = Constant(number(y[:n]) + number(y[n:]))
            slots = [Term(f"p{k}") for k in range(2 * n)]
            subs = {slot: Term("tensor", Term("train", Constant(int(k)))) for slot, k in zip(slots, ids)}
            if n == 1:
                return Query(Term("addition", slots[0], slots[1], total), subs)
            return Query(Term("multi_addition", list2term(slots[:n]), list2term(slots[n:]), total), subs)

    class Softmaxed(torch.nn.Module):                   # DeepProbLog reads probabilities
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return torch.softmax(self.net(x), -1)

    torch.manual_seed(recipe.seed)
    lenet = zoo.LeNet()
    network = Network(Softmaxed(lenet), "mnist_net", batching=True)
    network.optimizer = torch.optim.Adam(lenet.parameters(), lr=recipe.lr)
    steps = math.ceil(len(task.train_rows) / recipe.dpl_batch)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(network.optimizer, recipe.epochs * steps)
    program = folder / "addition.pl"
    program.write_text(DPL_PROGRAM)
    model = Model(str(program), [network])
    model.set_engine(ExactEngine(model), cache=True)
    model.add_tensor_source("train", source)
    trainer = TrainObject(model)
    trainer.hooks.append((1, lambda _: schedule.step()))
    order = torch.Generator().manual_seed(recipe.seed)    # riddle's row order: one permutation per epoch
    from deepproblog.dataset import DataLoader
    clock = 0.0
    for epoch in range(1, recipe.epochs + 1):
        perm = torch.randperm(len(task.train_rows), generator=order).tolist()
        loader = DataLoader(Rows(perm), recipe.dpl_batch, shuffle=False)
        start = time.perf_counter()
        trainer.hooks[1:] = [(50, lambda t, s=start: print(json.dumps(
            {"progress": t.i * recipe.dpl_batch, "seconds": time.perf_counter() - s}), flush=True))]
        trainer.train(loader, 1, verbose=0, initial_test=False)
        seconds = time.perf_counter() - start
        clock += seconds
        figures = judge(lenet, digits, task)
        print(json.dumps({"epoch": epoch, "epoch_seconds": round(seconds, 2), "seconds": round(clock, 1),
                          **{k: round(v, 4) for k, v in figures.items()}}), flush=True)


def run_dpl(folder: Path, n: int, recipe: Recipe, limit: float, digits_from: str) -> dict:
    """DeepProbLog on the task in a child process, killed at `limit` seconds. Time-out: its first epoch
    did not finish in the limit (the rows it had done by then are recorded)."""
    command = [sys.executable, "-m", "bench.learn", "--dpl-worker", str(n), "--folder", str(folder),
               "--digits", digits_from, "--recipe", json.dumps(recipe.__dict__)]
    curve, progress = [], None
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             env={**os.environ, "PYTHONWARNINGS": "ignore"})
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(child.stdout, selectors.EVENT_READ)
    timed_out = False
    while True:
        left = limit - (time.perf_counter() - start)
        if left <= 0:
            timed_out = True
            break
        if not sel.select(timeout=min(left, 5.0)):
            if child.poll() is not None:
                break
            continue
        line = child.stdout.readline()
        if not line:
            break
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "epoch" in record:
            curve.append(record)
            print(f"  DeepProbLog N={n} epoch {record['epoch']}: {record['epoch_seconds']:.1f} s, digits "
                  f"{record['digit_accuracy']:.1%}, sums {record['sum_accuracy']:.1%}", flush=True)
        else:
            progress = record
    child.kill()
    child.wait()
    out = {"learner": "DeepProbLog 2.1 (exact, cached)", "batch": recipe.dpl_batch, "limit_seconds": limit,
           "epochs": len(curve), "curve": curve, "stopped_at_limit": timed_out and len(curve) < recipe.epochs,
           "timed_out": not curve}
    if curve:
        last = curve[-1]
        out.update(epoch_seconds=_median([c["epoch_seconds"] for c in curve]), digit_accuracy=last["digit_accuracy"],
                   sum_accuracy=last["sum_accuracy"],
                   to_95=next((c["seconds"] for c in curve if c["digit_accuracy"] >= 0.95), None))
    elif progress:
        out["rows_done_in_limit"] = progress["progress"]
    return out


# ── the run ───────────────────────────────────────────────────────────────────

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--mnist", metavar="DIR", help="a full MNIST (IDX or .npy): the papers' protocol")
    ap.add_argument("--epochs", type=int, help="override every size's epochs (a quick look)")
    ap.add_argument("--no-dpl", action="store_true", help="riddle and the ceiling only")
    ap.add_argument("--no-predicate", action="store_true",
                    help="skip the predicate learned from counts and the learned directory's solves")
    ap.add_argument("--only", choices=("predicate", "solve"),
                    help="one phase only (the predicate from counts, or the learned directory solving), merged "
                         "into the kept JSON")
    ap.add_argument("--dpl-limit", type=float, default=2400.0, help="seconds DeepProbLog may take at N = 1")
    ap.add_argument("--dpl-limit-more", type=float, default=300.0,
                    help="seconds DeepProbLog may take at each larger N (time-out: not one epoch done in it)")
    ap.add_argument("--out", type=Path, default=JSON)
    ap.add_argument("--merge", action="store_true",
                    help="replace only these sizes' rows in the kept JSON (each row keeps its own provenance)")
    ap.add_argument("--single-starts", type=int, default=6, metavar="K",
                    help="where a recipe has several starts: K seeds of one start alone, for how often one fails")
    ap.add_argument("--render", action="store_true")
    ap.add_argument("--dpl-worker", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--digits", default="bundled", help=argparse.SUPPRESS)
    ap.add_argument("--recipe", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.render:
        rerender("learn", HEADING, section)
        return
    if args.dpl_worker is not None:
        dpl_worker(args.folder, args.dpl_worker, Recipe(**json.loads(args.recipe)), args.digits)
        return
    torch.set_num_threads(2)
    digits = published(args.mnist) if args.mnist else bundled()
    if args.only:                           # one phase of the kept run again: its provenance beside the run's
        from bench.common import provenance, save_json
        data = json.loads(args.out.read_text())
        with tempfile.TemporaryDirectory() as tmp:
            phase = (run_predicate(digits, Path(tmp) / "loop") if args.only == "predicate"
                     else run_solves(digits, Path(tmp) / "solve", RECIPES[1]))
            data[args.only] = {**phase, "provenance": provenance()}
        save_json(args.out, data, keep=True)
        if args.out == JSON:
            rerender("learn", HEADING, section)
        return
    source = str(Path(args.mnist).resolve()) if args.mnist else "bundled"
    sizes = [int(s) for s in args.sizes.split(",")]
    rows, dpl_out = [], False
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            recipe = RECIPES.get(n, Recipe(30))
            if args.epochs:
                recipe = Recipe(**{**recipe.__dict__, "epochs": args.epochs})
            task = write_task(digits, n, Path(tmp) / f"n{n}", recipe.seed)
            print(f"N = {n}: {len(task.train_rows)} training rows, {len(task.test_rows)} test rows", flush=True)
            row = {"n": n, "train_rows": int(len(task.train_rows)), "test_rows": int(len(task.test_rows)),
                   "recipe": recipe.__dict__}
            row["riddle"] = run_riddle(digits, task, recipe)
            if recipe.starts > 1:           # how often one start alone falls into the local optimum
                row["single_starts"] = []
                for seed in range(args.single_starts):
                    one = run_riddle(digits, task, Recipe(**{**recipe.__dict__, "starts": 1, "seed": seed,
                                                             "epochs": recipe.epochs // 2}))
                    row["single_starts"].append({"seed": seed, "digit_accuracy": one["digit_accuracy"],
                                                 "to_95": one["to_95"]})
            if n == 1:            # DeepProbLog's batch, everything else the same: the per-epoch time at equal steps
                row["riddle_batch_2"] = run_riddle(digits, task, recipe, batch=recipe.dpl_batch)
            row["share"] = logic_share(task, recipe.batch)
            row["labels"] = run_labelled(digits, task, recipe)
            if not args.no_dpl:
                if dpl_out:
                    row["deepproblog"] = {"learner": "DeepProbLog 2.1 (exact, cached)", "skipped": True,
                                          "timed_out": True, "epochs": 0}
                else:
                    limit = args.dpl_limit if n == 1 else args.dpl_limit_more
                    row["deepproblog"] = run_dpl(Path(tmp) / f"dpl{n}", n, recipe, limit, source)
                    dpl_out = row["deepproblog"]["epochs"] == 0         # not one epoch in its limit: a time-out
            if args.merge:
                from bench.common import provenance
                row["provenance"] = provenance()
                before = next((r for r in json.loads(args.out.read_text())["rows"] if r["n"] == n), {})
                if args.no_dpl and "deepproblog" in before:       # DeepProbLog's row stands as measured
                    row["deepproblog"] = before["deepproblog"]
            rows.append(row)
        skip = args.no_predicate or args.merge
        predicate = None if skip else run_predicate(digits, Path(tmp) / "loop")
        solves = None if skip or 1 not in sizes else run_solves(digits, Path(tmp) / "solve", RECIPES[1])
    if args.merge:
        from bench.common import save_json
        kept_data = json.loads(args.out.read_text())
        kept_data["rows"] = sorted([r for r in kept_data["rows"] if r["n"] not in sizes] + rows, key=lambda r: r["n"])
        save_json(args.out, kept_data, keep=True)
        if args.out == JSON:
            rerender("learn", HEADING, section)
        return
    out = {"machine": machine(), "digits": digits.source, "sizes": sizes, "rows": rows, "logic_cost": logic_cost(),
           "predicate": predicate, "solve": solves,
           "dpl_limit_seconds": None if args.no_dpl else {"1": args.dpl_limit, "more": args.dpl_limit_more}}
    if args.out == JSON:
        publish("learn", HEADING, out, section)
    else:
        from bench.common import save_json
        save_json(args.out, out)


# ── the section ───────────────────────────────────────────────────────────────

def _pct(x) -> str:
    return "—" if x is None else f"{x:.1%}"


def _s(x) -> str:
    return "—" if x is None else (f"{x:.2f} s" if x < 10 else f"{x:.0f} s")


def section(data: dict) -> str:
    rows = data["rows"]
    lines = [HEADING, "",
             f"`python -m bench.learn` ({data['machine'].split(', Python')[0]}; {data['digits']}). MNIST-addition: two "
             "N-digit numbers, only their sum given; every learner starts from the same LeNet (DeepProbLog's "
             "MNIST_Net), sees the rows in the same order, with Adam, the same learning rate and schedule "
             "(cosine) and the same distortions, and is judged by one function: digits on the held-out digits, "
             "sums on the test rows (the numbers read digit by digit, added). riddle learns with `riddle learn "
             "--net lenet --schedule cosine --augment`, the exact −log P(sum | images) one batched tensor program a "
             "step; DeepProbLog 2.1 with its exact engine and caching, batch 2 as in its examples, in a child "
             "process under a time limit.", "",
             "| N | rows | learner | epochs | s / epoch | time to 95 % digits | digits | sums | logic's share |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        rr = r["riddle"]
        starts = f", {rr['starts']} starts" if rr.get("starts", 1) > 1 else ""
        lines.append(f"| {r['n']} | {r['train_rows']} | riddle (batch {rr['batch']}{starts}) | {rr['epochs']} | "
                     f"{_s(rr['epoch_seconds'])} | {_s(rr['to_95'])} | {_pct(rr['digit_accuracy'])} | "
                     f"{_pct(rr['sum_accuracy'])} | {r['share']['logic_share']:.0%} |")
        if "riddle_batch_2" in r:
            b = r["riddle_batch_2"]
            lines.append(f"| | | riddle (batch {b['batch']}) | {b['epochs']} | {_s(b['epoch_seconds'])} | "
                         f"{_s(b['to_95'])} | {_pct(b['digit_accuracy'])} | {_pct(b['sum_accuracy'])} | |")
        d = r.get("deepproblog")
        if d is not None:
            if d.get("skipped"):
                lines.append("| | | DeepProbLog | — | time-out at a smaller N | | | | |")
            elif d["epochs"] == 0:
                done = d.get("rows_done_in_limit")
                lines.append(f"| | | DeepProbLog | 0 | time-out: {done or 0} rows in {d['limit_seconds']:.0f} s | | | "
                             "| |")
            else:
                tail = f" (stopped at its {d['limit_seconds']:.0f} s limit)" if d["stopped_at_limit"] else ""
                lines.append(f"| | | DeepProbLog (batch {d['batch']}) | {d['epochs']}{tail} | {_s(d['epoch_seconds'])} "
                             f"| {_s(d['to_95'])} | {_pct(d['digit_accuracy'])} | {_pct(d['sum_accuracy'])} | |")
        lab = r["labels"]
        lines.append(f"| | | the same LeNet on the digit labels | {lab['epochs']} | | | "
                     f"{_pct(lab['digit_accuracy'])} | {_pct(lab['sum_accuracy'])} | |")
    for r in rows:
        if r.get("single_starts"):
            ok = [x for x in r["single_starts"] if x["digit_accuracy"] >= 0.95]
            lines += ["", f"At N = {r['n']} one start alone, {r['recipe']['epochs'] // 2} epochs, seeds 0–"
                          f"{len(r['single_starts']) - 1}: {len(ok)} of {len(r['single_starts'])} reach 95 % of digits "
                          f"(" + ", ".join(f"{x['digit_accuracy']:.0%}" for x in r["single_starts"]) + "); the others "
                          "fall into a local optimum where each digit reads as a mixture of its two neighbours (a "
                          "reading one higher in one number and one lower in the other keeps every column's sum). "
                          f"Hence {r['riddle']['starts']} starts, each for a fifth of the epochs, the lowest training "
                          "loss going on; the table's time counts every start."]
    one = next((r for r in rows if r["n"] == 1), None)
    if one and one.get("deepproblog", {}).get("epochs"):
        dpl = one["deepproblog"]["epoch_seconds"]
        lines += ["", f"At N = 1, riddle's epoch takes {dpl / one['riddle']['epoch_seconds']:.0f}× less time than "
                      f"DeepProbLog's ({_s(one['riddle']['epoch_seconds'])} against {_s(dpl)}); at DeepProbLog's batch "
                      f"of 2 it is {dpl / one['riddle_batch_2']['epoch_seconds']:.0f}× less."]
    cost = data["logic_cost"]
    lines += ["", "The exact count's cost against N (forward and backward, random label distributions, 256 rows "
                  "a batch): the plan is a chain over partial sums whose states are carries, so it grows linearly.", "",
              "| N | plan | compiled in | µs a row | µs a row per digit pair |", "| --- | --- | --- | --- | --- |"]
    for c in cost:
        lines.append(f"| {c['n']} | {c['plan']}{'' if c['exact'] else ' (split)'} | {_s(c['compile_seconds'])} | "
                     f"{c['us_per_row']:.0f} | {c['us_per_row'] / c['n']:.0f} |")
    lines += ["", "Published figures (sum accuracy; every one on the 60,000 MNIST training digits, ⌊60000 / 2N⌋ rows, "
                  "and MNIST's 10,000 test digits — not the bundled 4,000 used above, so compare the columns "
                  "above with each other and these only in kind). `python -m bench.learn --mnist DIR` runs the "
                  "papers' protocol on a user's MNIST (IDX or .npy); its figures await a user's data.", "",
              "| system | N = 1 | N = 2 | N = 4 | N = 15 |", "| --- | --- | --- | --- | --- |"]
    for name, figs in PUBLISHED:
        lines.append(f"| {name} | " + " | ".join(figs.get(k, "") for k in (1, 2, 4, 15)) + " |")
    p = data.get("predicate")
    if p:
        lines += ["", f"**A predicate from counts alone.** `loop`, a plugin's predicate with no truth table (a "
                      f"fresh PredicateNet of width {p.get('width', 8)}), learned from "
                      "`exactly $k of { a has loop; b has loop; c has loop }` "
                      f"over {p['rows']} rows of three training digits, k counting the digits whose ink encloses a "
                      f"hole (models/topology.py), {p['epochs']} epochs (cosine, lr 2e-3"
                      f"{', distorted' if p.get('augment') else ''}) in {_s(p['seconds'])}: it agrees with those "
                      f"topology labels on {p['agreement']:.1%} of the {p['held_out']} held-out digits "
                      f"({p['holes_in_held_out']:.0%} of which have a hole); the shipped `closed circle` head, "
                      f"trained on the labels themselves, agrees on {p['shipped_head_agreement']:.1%}."]
    v = data.get("solve")
    if v:
        right = sum(r["right"] for r in v["rows"])
        lines += ["", f"**The learned directory solves.** N = 1's learner (digits {v['digit_accuracy']:.1%}), written "
                      f"by `riddle learn --out DIR`, solving the bundled puzzles that need only labels with the "
                      f"defaults and `--models DIR`: right on {right}/{len(v['rows'])}; per-sample success as "
                      "riddle's judge reads the drawings:", "",
                  "| riddle | answer | right | judged right | seconds |", "| --- | --- | --- | --- | --- |"]
        for r in v["rows"]:
            answer = " ".join(map(str, r["answer"])) if r["answer"] is not None else "none"
            lines.append(f"| {r['riddle']} | {answer} | {'yes' if r['right'] else 'no'} | {r['success']:.0%} | "
                         f"{r['seconds']:.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

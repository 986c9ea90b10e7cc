"""Learning from riddles (riddle/learn.py, riddle/tables.py): the loss is the exact probability that a row's
riddle holds (brute force agrees, gradients agree with finite differences), a tiny task learns from sums
alone, and every bad table is refused with its table, row and column (golden files in tests/tables/)."""
from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from riddle.graph.build import build
from riddle.lang import load_text
from riddle.learn import LearnConfig, LearnError, RiddleLikelihood, learn
from riddle.tables import TableError, read_table

from .conftest import ROOT, update_golden

TABLES = ROOT / "tests" / "tables"


class Fixed(nn.Module):
    """A stand-in classifier: image k of a batch reads as the logits its first 10 pixels hold."""

    def forward(self, x):                              # [N, 28, 28] → [N, 10]
        return x.reshape(x.shape[0], -1)[:, :10]


def _likelihood(text: str):
    riddle = load_text(text, template=True)
    assert riddle.ok, riddle.diagnostics
    graph = build(riddle)
    return riddle, graph, RiddleLikelihood(graph, Fixed(), {})


def _brute(riddle, graph, logits: torch.Tensor, numbers: dict[str, int]) -> float:
    """Σ over every label tuple that satisfies the statements of Π p_v(label), unseen unknowns uniform."""
    seen = riddle.data_images
    probs = [logits[i].softmax(-1).double().numpy() if u.name in seen else np.full(10, 0.1)
             for i, u in enumerate(graph.unknowns)]
    total = 0.0
    env_numbers = {f"${k}": np.array([v], dtype=object) for k, v in numbers.items()}
    for labels in itertools.product(range(10), repeat=len(graph.unknowns)):
        env = {u.name: np.array([v]) for u, v in zip(graph.unknowns, labels)} | env_numbers
        if all(bool(s.holds(env)[0]) for s in riddle.statements if s.factors()):
            total += math.prod(p[v] for p, v in zip(probs, labels))
    return total


def _row(model, graph, logits, numbers):
    images = torch.zeros((1, len(graph.unknowns), 28, 28))
    images[0, :, 0, :10] = logits
    given = torch.tensor([[g.position(numbers[g.placeholder[1:]]) for g in graph.givens]], dtype=torch.long)
    return images, given


TEMPLATES = [
    ("digits a, b\na looks like $a\nb looks like $b\na + b = $sum", [{"sum": 0}, {"sum": 9}, {"sum": 18}]),
    ("digits a1, a0, b1, b0\na1 looks like $a1\na0 looks like $a0\nb1 looks like $b1\nb0 looks like $b0\n"
     "num(a1, a0) + num(b1, b0) = $sum", [{"sum": 0}, {"sum": 99}, {"sum": 157}, {"sum": 198}]),
    # a numeral and a count together; an inequality whose bound lies past every reachable value (clamped)
    ("digits a, b, c\na looks like $a\nb looks like $b\nc looks like $c\na - c < $t\n"
     "exactly $k of { a > 6; b > 4; c = a }", [{"t": 2, "k": 1}, {"t": -30, "k": 2}, {"t": 10 ** 6, "k": 0}]),
    # an unknown no image shows: summed out under a uniform label distribution
    ("digits a, b, c\na looks like $a\nb looks like $b\na + b = c + $d", [{"d": 0}, {"d": 5}, {"d": -9}]),
]


@pytest.mark.parametrize("text,rows", TEMPLATES, ids=["sum", "two-digit-sum", "count-and-bound", "unseen"])
def test_loss_is_the_exact_probability_that_the_row_holds(text, rows):
    riddle, graph, model = _likelihood(text)
    g = torch.Generator().manual_seed(1)
    for numbers in rows:
        logits = torch.randn((len(graph.unknowns), 10), generator=g) * 2
        got = float(model(*_row(model, graph, logits, numbers)).exp())
        assert got == pytest.approx(_brute(riddle, graph, logits, numbers), rel=1e-4, abs=1e-9), numbers


def test_long_sums_compile_exactly_as_chains_and_agree_with_the_dense_count():
    """N = 4 as a chain over partial sums (the givens' digits) against the dense count; N = 15 and 100 plan
    exactly, and their chains grow linearly with the digits."""
    sizes = {}
    for n in (3, 4, 15, 100):
        a, b = [f"a{i}" for i in range(n)], [f"b{i}" for i in range(n)]
        text = (f"digits {', '.join(a + b)}\n" + "".join(f"{x} looks like ${x}\n" for x in a + b)
                + f"num({', '.join(a)}) + num({', '.join(b)}) = $sum")
        riddle, graph, model = _likelihood(text)
        program = model.objective.program
        assert program.exact and len(program.groups) == 1
        sizes[n] = program.groups[0].size
        if n in (3, 4):
            g = torch.Generator().manual_seed(n)
            logits = torch.randn((2 * n, 10), generator=g)
            for total in (0, 1234, 10 ** n, 2 * 10 ** n - 2):
                got = float(model(*_row(model, graph, logits, {"sum": total})).exp())
                p = logits.softmax(-1).double().numpy()
                # the dense count: the distribution of each number, then of their sum
                dist = []
                for names in (a, b):                 # num(x0, x1, …): x0 the most significant digit
                    d = np.ones(1)
                    for name in names:
                        d = np.kron(d, p[graph.names.index(name)])
                    dist.append(d)
                want = sum(dist[0][x] * dist[1][total - x] for x in range(10 ** n) if 0 <= total - x < 10 ** n)
                assert got == pytest.approx(want, rel=1e-4, abs=1e-12), (n, total)
    assert sizes[100] / sizes[15] < 100 / 15 * 1.2, sizes         # linear in the digits, not worse


def test_gradients_equal_finite_differences():
    riddle, graph, model = _likelihood(TEMPLATES[2][0])
    logits = torch.randn((3, 10), generator=torch.Generator().manual_seed(3), dtype=torch.float32)
    numbers = {"t": 50, "k": 1}

    def f(z):
        return model(*_row(model, graph, z, numbers))[0]
    z = logits.clone().requires_grad_(True)
    f(z).backward()
    eps = 1e-2
    for i, j in [(0, 1), (1, 5), (2, 9), (0, 0)]:
        up, down = logits.clone(), logits.clone()
        up[i, j] += eps
        down[i, j] -= eps
        numeric = (float(f(up)) - float(f(down))) / (2 * eps)
        assert float(z.grad[i, j]) == pytest.approx(numeric, rel=2e-2, abs=2e-3)


def _synthetic(folder: Path, rows: int, seed: int, labels_column: bool) -> None:
    """Images whose label is written as a bright bar at row 2·label (with noise): an easy task, so that
    what is tested is that sums alone teach it, not how hard MNIST is."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=(rows, 2))
    images = rng.random((rows * 2, 28, 28)).astype(np.float32) * 0.2
    for k, lab in enumerate(labels.reshape(-1)):
        images[k, 2 * lab + 4:2 * lab + 6, 4:24] = 1.0
    np.save(folder / f"digits{seed}.npy", images)
    head = "a,b,sum" + (",a.label,b.label" if labels_column else "")
    lines = [head] + [f"digits{seed}.npy#{2 * r},digits{seed}.npy#{2 * r + 1},{a + b}"
                      + (f",{a},{b}" if labels_column else "") for r, (a, b) in enumerate(labels)]
    (folder / f"rows{seed}.csv").write_text("\n".join(lines) + "\n")


def test_a_tiny_task_learns_from_sums_alone_and_the_model_directory_reads(tmp_path):
    (tmp_path / "add.rdl").write_text("digits a, b\na looks like $a\nb looks like $b\na + b = $sum\n")
    _synthetic(tmp_path, 400, 0, False)
    _synthetic(tmp_path, 100, 1, True)
    out = tmp_path / "learned"
    result = learn(tmp_path / "add.rdl", tmp_path / "rows0.csv", test=tmp_path / "rows1.csv", out=out,
                   config=LearnConfig(epochs=4, batch=16, lr=2e-3, seed=0))
    assert result.epochs[-1].test["digit_accuracy"] >= 0.95, result.epochs[-1]
    assert result.epochs[-1].test["riddle_accuracy"] >= 0.9
    assert result.card["supervision"].startswith("riddle-level truth only")
    from riddle.reading import read
    images = np.load(tmp_path / "digits1.npy")[:20]
    want = [int(line.split(",")[3 + k % 2]) for k, line in
            zip(range(20), [ln for ln in (tmp_path / "rows1.csv").read_text().splitlines()[1:] for _ in (0, 1)])]
    got = [r.label for r in read(images, models=str(out))]
    assert np.mean(np.array(got) == np.array(want)) >= 0.9


def test_nothing_is_written_when_a_table_is_bad(tmp_path):
    (tmp_path / "add.rdl").write_text("digits a, b\na looks like $a\nb looks like $b\na + b = $sum\n")
    _synthetic(tmp_path, 10, 0, False)
    rows = (tmp_path / "rows0.csv").read_text().splitlines()
    (tmp_path / "bad.csv").write_text("\n".join(rows[:3] + [rows[3].rsplit(",", 1)[0] + ",19"]) + "\n")
    with pytest.raises(TableError, match=r"row 3: no labels make the template hold with \$sum = 19"):
        learn(tmp_path / "add.rdl", tmp_path / "bad.csv", out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


PLACEHOLDERS = {"a": "image", "b": "image", "sum": "number"}
BAD_TABLES = sorted(p for p in TABLES.iterdir() if p.suffix in (".csv", ".jsonl", ".txt"))


@pytest.mark.parametrize("table", BAD_TABLES, ids=lambda p: p.name)
def test_bad_tables_get_golden_errors(table, in_repo):
    with pytest.raises(TableError) as e:
        read_table(table.relative_to(ROOT), PLACEHOLDERS)
    text = str(e.value) + "\n"
    expected = table.with_suffix(table.suffix + ".expected")
    if update_golden():
        expected.write_text(text, encoding="utf-8")
    assert text == expected.read_text(encoding="utf-8")


def test_too_many_rows_are_refused_before_anything_is_read(tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("a,b,sum\n" + "digits.npy#0,digits.npy#1,3\n" * 11)
    with pytest.raises(TableError, match="more than 10 rows"):
        read_table(path, PLACEHOLDERS, max_rows=10)


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file
    return load_file(str(folder / "checkpoint.safetensors"))


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path):
    """A checkpoint after every epoch holds the weights, Adam's moments and the random streams (row order,
    distortions): stopping after 1 epoch and resuming for 2 more gives bit-for-bit the 3-epoch run."""
    (tmp_path / "add.rdl").write_text("digits a, b\na looks like $a\nb looks like $b\na + b = $sum\n")
    _synthetic(tmp_path, 40, 0, False)
    config = LearnConfig(epochs=3, batch=8, lr=2e-3, seed=0, net="lenet", schedule="cosine", augment=True)
    whole, part = tmp_path / "whole", tmp_path / "part"
    learn(tmp_path / "add.rdl", tmp_path / "rows0.csv", out=whole, config=config)
    first = learn(tmp_path / "add.rdl", tmp_path / "rows0.csv", out=part,
                  config=LearnConfig(**{**config.__dict__, "epochs": 3, "max_seconds": 1e-9}))
    assert len(first.epochs) == 1 and (part / "checkpoint.json").is_file()
    rest = learn(tmp_path / "add.rdl", tmp_path / "rows0.csv", out=part, config=config, resume=True)
    assert [e.epoch for e in rest.epochs] == [1, 2, 3]
    a, b = _weights(whole), _weights(part)
    assert a.keys() == b.keys() and any(k.startswith("adam.") for k in a)
    for k in a:
        if not k.startswith("rng."):
            assert torch.equal(a[k], b[k]), k
    assert (part / "family.json").is_file()


def test_resume_refuses_a_checkpoint_of_another_table_or_setting(tmp_path):
    (tmp_path / "add.rdl").write_text("digits a, b\na looks like $a\nb looks like $b\na + b = $sum\n")
    _synthetic(tmp_path, 20, 0, False)
    _synthetic(tmp_path, 20, 1, False)
    out = tmp_path / "out"
    learn(tmp_path / "add.rdl", tmp_path / "rows0.csv", out=out, config=LearnConfig(epochs=1, batch=8))
    with pytest.raises(LearnError, match="another table"):
        learn(tmp_path / "add.rdl", tmp_path / "rows1.csv", out=out, config=LearnConfig(epochs=2, batch=8), resume=True)
    with pytest.raises(LearnError, match=r"--lr \(0.001 then, 0.01 now\)"):
        learn(tmp_path / "add.rdl", tmp_path / "rows0.csv", out=out, config=LearnConfig(epochs=2, batch=8, lr=0.01),
              resume=True)
    with pytest.raises(LearnError, match="holds no checkpoint"):
        learn(tmp_path / "add.rdl", tmp_path / "rows0.csv", out=tmp_path / "empty", config=LearnConfig(epochs=2),
              resume=True)


STRIPE_PLUGIN = '''
import riddle
from riddle.models.zoo import PredicateNet

riddle.register_predicate("stripe", load=lambda: PredicateNet(width=4),
                          description="a horizontal stripe crosses the image (no truth table: not a label's)")
'''


@pytest.fixture
def fresh_plugins():
    from riddle import plugins
    plugins.reload_for_tests()
    yield plugins
    plugins.reload_for_tests()


def _stripes(folder: Path, rows: int, seed: int) -> np.ndarray:
    """Rows of three noisy images, each crossed by a stripe or not; the table gives only how many are."""
    rng = np.random.default_rng(seed)
    has = rng.random((rows, 3)) < 0.5
    images = rng.random((rows * 3, 28, 28)).astype(np.float32) * 0.3
    for k, yes in enumerate(has.reshape(-1)):
        if yes:
            top = rng.integers(4, 22)
            images[k, top:top + 3, 2:26] = 1.0
    np.save(folder / f"stripes{seed}.npy", images)
    lines = ["a,b,c,k"] + [",".join(f"stripes{seed}.npy#{3 * r + j}" for j in range(3)) + f",{int(h.sum())}"
                           for r, h in enumerate(has)]
    (folder / f"stripes{seed}.csv").write_text("\n".join(lines) + "\n")
    return has.reshape(-1)


def test_a_predicate_without_a_truth_table_learns_from_counts_alone(tmp_path, fresh_plugins):
    """`exactly $k of {…}` over a plugin's predicate: its network learns from the counts; the model
    directory holds its weights, and `--models DIR` reads with them."""
    (tmp_path / "stripe.py").write_text(STRIPE_PLUGIN)
    fresh_plugins.load_plugins([str(tmp_path / "stripe.py")], entry_points=False)
    (tmp_path / "count.rdl").write_text("digits a, b, c\na looks like $a\nb looks like $b\nc looks like $c\n"
                                        "exactly $k of { a has stripe; b has stripe; c has stripe }\n")
    _stripes(tmp_path, 200, 0)
    truth = _stripes(tmp_path, 40, 1)
    out = tmp_path / "learned"
    result = learn(tmp_path / "count.rdl", tmp_path / "stripes0.csv", out=out,
                   config=LearnConfig(epochs=6, batch=16, lr=3e-3, learn=("stripe",)))
    assert result.card["learned"] == ["stripe"]
    assert (out / "predicate-stripe.safetensors").is_file()
    from riddle.models.families import registry
    net = registry(str(out)).predicates["digit", "stripe"].load_network()
    with torch.no_grad():
        said = torch.sigmoid(net(torch.from_numpy(np.load(tmp_path / "stripes1.npy")))).numpy() > 0.5
    assert np.mean(said == truth) >= 0.9
    with pytest.raises(LearnError, match="does not read"):
        learn(tmp_path / "count.rdl", tmp_path / "stripes0.csv", config=LearnConfig(learn=("odd",)))


def test_several_starts_probe_then_the_lowest_loss_goes_on(tmp_path):
    (tmp_path / "add.rdl").write_text("digits a, b\na looks like $a\nb looks like $b\na + b = $sum\n")
    _synthetic(tmp_path, 24, 0, False)
    seen = []
    config = LearnConfig(epochs=5, batch=8, starts=3, net="lenet")                     # probe: 1 epoch each
    result = learn(tmp_path / "add.rdl", tmp_path / "rows0.csv", on_epoch=seen.append, out=tmp_path / "out",
                   config=config)
    assert [(e.start, e.epoch) for e in seen[:3]] == [(0, 1), (1, 1), (2, 1)]
    best = min(seen[:3], key=lambda e: e.loss)
    assert [(e.start, e.epoch) for e in seen[3:]] == [(best.start, k) for k in range(2, 6)]
    assert result.epochs[0] is best and result.card["chosen_start"] == best.start
    assert result.card["seconds"] == pytest.approx(sum(e.seconds for e in seen), abs=0.01)
    more = learn(tmp_path / "add.rdl", tmp_path / "rows0.csv", out=tmp_path / "out", resume=True,
                 config=LearnConfig(**{**config.__dict__, "epochs": 6}))                # the chosen start goes on
    assert more.epochs[-1].epoch == 6 and more.card["chosen_start"] == best.start


def test_a_model_directory_is_taken_by_check_and_sweep_but_never_from_a_server_client(tmp_path, in_repo):
    from riddle import api, sweep
    from riddle.cli import main
    (tmp_path / "add.rdl").write_text("digits a, b\na looks like $a\nb looks like $b\na + b = $sum\n")
    _synthetic(tmp_path, 16, 0, False)
    out = tmp_path / "learned"
    learn(tmp_path / "add.rdl", tmp_path / "rows0.csv", out=out, config=LearnConfig(epochs=1, batch=8))
    assert main(["check", "puzzles/134.rdl", "--models", str(out)]) == 0
    assert len(sweep.grid(["puzzles/134.rdl"], [0], ["auto"], {"models": [str(out)]})) == 1
    with pytest.raises(sweep.SweepError, match="models"):
        sweep.grid(["puzzles/134.rdl"], [0], ["auto"], {"models": [str(tmp_path)]})     # no family.json
    assert api.setting_problem({"models": str(out)}, directories=True) is None
    assert "models" in api.setting_problem({"models": str(out)})           # what the playground asks: refused


def test_riddle_learn_is_callable_from_python_and_still_a_module(tmp_path):
    import riddle
    (tmp_path / "add.rdl").write_text("digits a, b\na looks like $a\nb looks like $b\na + b = $sum\n")
    _synthetic(tmp_path, 8, 0, False)
    result = riddle.learn(tmp_path / "add.rdl", tmp_path / "rows0.csv", config=riddle.learn.LearnConfig(epochs=1))
    assert len(result.epochs) == 1 and result.card["rows"] == 8

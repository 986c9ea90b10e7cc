"""One vocabulary, one validator: the checker (`solve with …`), the CLI's flags, `riddle.solve` and the
playground's JSON API accept and refuse exactly the same settings (riddle/vocabulary.py)."""
from __future__ import annotations

import pytest

import riddle
from riddle import vocabulary
from riddle.cli import main

from .conftest import ROOT

FILE = str(ROOT / "puzzles" / "134.rdl")
TEXT = "digits a, b\na + b = 9\na is odd\n"
ANNEAL_32 = [1.0] * 32
ANNEAL_33 = [1.0] * 33

# (key, value, accepted)
CASES = [
    ("restarts", 0, False), ("restarts", 1, True), ("restarts", 100_000, True), ("restarts", 100_001, False),
    ("restarts", 2.5, False),
    ("steps", 0, False), ("steps", 40, True),
    ("pairs", 1_000, True), ("pairs", 1_001, False),
    ("anneal", [0.5, 1.0, 3.0, 10.0], True), ("anneal", ANNEAL_32, True), ("anneal", ANNEAL_33, False),
    ("anneal", [2e6], False), ("anneal", [0.0], False),
    ("lr", 0.05, True), ("lr", 0.0, False), ("lr", 5e3, False),
    ("clone", 0.25, True), ("clone", 0.6, False),
    ("rounds", 0, False), ("rounds", 3, True),
    ("search", 0, True), ("search", 101, False),
    ("seed", 7, True), ("seed", -1, False),
    ("method", "hmc", True), ("method", "magic", False),
    ("precision", "bfloat16", True), ("precision", "float64", False),
    ("logic", "factored", True), ("logic", "exact", False),
    ("device", "cpu", True), ("device", "tpu", False),
    ("start", "amortised", True), ("start", "posterior", False),
    ("proposal", "learned", True), ("proposal", "flow", False),
]
IDS = [f"{k}={v if not isinstance(v, list) else len(v)}-{'ok' if ok else 'refused'}" for k, v, ok in CASES]


class Reached(BaseException):                 # not an Exception: the CLI reports those itself
    """The settings got past every check: the solver was called."""


@pytest.fixture
def no_solver(monkeypatch):
    def refuse(*args, **kwargs):
        raise Reached
    monkeypatch.setattr("riddle.infer.solve.solve", refuse)
    monkeypatch.setattr("riddle.api.solve", lambda *a, **k: refuse())   # the CLI's way in
    return refuse


def words(value) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


@pytest.mark.parametrize("key, value, accepted", CASES, ids=IDS)
def test_the_validator_and_the_checker_agree(key, value, accepted):
    assert (vocabulary.setting_problem(key, value) is None) == accepted
    checked = riddle.load_text(TEXT + f"solve with {key} {words(value)}\n")
    assert checked.ok == accepted, [d.message for d in checked.diagnostics]
    if not accepted:
        assert any(d.code in ("R021", "R001", "R002") for d in checked.diagnostics)


@pytest.mark.parametrize("key, value, accepted", CASES, ids=IDS)
def test_the_python_api_agrees(key, value, accepted, monkeypatch):
    def refuse(*args, **kwargs):
        raise Reached
    monkeypatch.setattr("riddle.infer.solve.solve", refuse)
    if accepted:
        with pytest.raises(Reached):
            riddle.solve(TEXT, **{key: value})
    else:
        with pytest.raises(ValueError):
            riddle.solve(TEXT, **{key: value})


@pytest.mark.parametrize("key, value, accepted", CASES, ids=IDS)
def test_the_command_line_agrees(key, value, accepted, no_solver, capsys):
    flag = ["--" + key] + (list(map(str, value)) if isinstance(value, list) else [str(value)])
    if accepted:
        with pytest.raises(Reached):
            main(["solve", FILE, "--quiet", *flag])
        return
    try:
        status = main(["solve", FILE, "--quiet", *flag])
    except SystemExit as e:                     # argparse refuses a choice or a malformed number itself
        status = e.code
    assert status == 2
    assert capsys.readouterr().err


@pytest.mark.parametrize("key, value, accepted", CASES, ids=IDS)
def test_the_playground_agrees(key, value, accepted, monkeypatch):
    pytest.importorskip("fastapi", reason="the `serve` extra is not installed")
    from fastapi.testclient import TestClient

    from riddle.serve.app import Budget, create_app
    from riddle.serve.jobs import Solver

    def refuse(*args, **kwargs):
        raise RuntimeError("accepted: the solver was reached")     # the job fails; the request was accepted
    # the language's limits, not the server's own budget (test_serve.py tests that): a budget above them all
    unlimited = Budget(max_work=10 ** 18, max_seconds=86_400)
    with TestClient(create_app(Solver(max_queue=4, solve=refuse, workers=0), budget=unlimited),
                    base_url="http://127.0.0.1:8000") as client:
        r = client.post("/api/solve", json={"text": TEXT, "settings": {key: value}})
        assert r.status_code == (202 if accepted else 422), r.text
        if not accepted:
            assert key in r.json()["detail"]


def test_max_seconds_is_a_limit_of_the_faces_not_a_word_of_the_language():
    assert vocabulary.setting_problem("max_seconds", 60) is None
    assert vocabulary.setting_problem("max_seconds", 0) is not None
    assert not riddle.load_text(TEXT + "solve with max_seconds 60\n").ok
    with pytest.raises(ValueError, match="max_seconds"):
        riddle.solve(TEXT, max_seconds=-1)


@pytest.mark.slow
def test_every_face_lists_the_vocabularys_methods(capsys):
    """The method list is written once: the CLI's choices and the playground's select come from it,
    and each name finds its module (riddle/infer/NAME.py's METHOD)."""
    from riddle.infer.base import method
    for name in vocabulary.METHODS:
        assert method(name).name == name
    with pytest.raises(SystemExit):
        main(["solve", FILE, "--method", "nonsense"])
    err = capsys.readouterr().err
    assert all(name in err for name in vocabulary.METHODS)
    pytest.importorskip("fastapi", reason="the `serve` extra is not installed")
    from fastapi.testclient import TestClient

    from riddle.serve.app import create_app
    with TestClient(create_app(), base_url="http://127.0.0.1:8000") as client:
        page = client.get("/").text
    assert all(f'<option value="{name}"' in page for name in vocabulary.METHODS)


def test_riddle_solve_offers_every_setting_of_the_vocabulary_with_its_choices_and_limits(capsys):
    """The solve command's flags are made from the vocabulary: one per setting and limit, a choice's values
    exactly its choices, a number's type and range in its help; a value past a limit is refused with the
    validator's own sentence, as a file's `solve with` line is."""
    import argparse

    from riddle.cli import build_parser
    parser = build_parser()
    solve = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["solve"]
    flags = {a.dest: a for a in solve._actions}
    for key, spec in {**vocabulary.SETTINGS, **vocabulary.LIMITS}.items():
        action = flags[key]
        assert action.option_strings == [f"--{key.replace('_', '-')}"]
        assert action.help, key
        if key in vocabulary.RUN_SETTINGS and key not in vocabulary.EVERY_METHOD_READS:   # whose setting it is
            assert f"read by {', '.join(vocabulary.read_by(key))}" in " ".join(action.help.split()), key
        if key == "models":             # a family by name, or a model directory: checked by the flag's type
            assert all(action.type(name) == name for name in spec.choices)
            with pytest.raises(argparse.ArgumentTypeError, match="neither a model family"):
                action.type("no-such-family")
            continue
        if spec.kind == "choice":
            assert tuple(action.choices) == spec.choices, key
            continue
        assert action.type is (int if spec.kind == "int" else float), key
        assert (action.nargs == "+") == (spec.kind == "floats"), key
        assert ("whole number" in action.help) == (spec.kind == "int"), key
        beyond = spec.high + 1 if spec.high < float("inf") else None
        if beyond is not None and beyond < 1e15:
            value = str(int(beyond)) if spec.kind == "int" else repr(float(beyond))
            assert main(["solve", FILE, f"--{key.replace('_', '-')}", value]) == 2
            err = capsys.readouterr().err
            expected = vocabulary.setting_problem(key, int(beyond) if spec.kind == "int" else
                                                  [float(beyond)] if spec.kind == "floats" else float(beyond))
            assert expected.replace(f"`{key}`", f"`--{key.replace('_', '-')}`") in err, (key, err)


def test_the_sampling_methods_of_the_vocabulary_are_those_whose_rows_are_samples():
    """vocabulary.SAMPLING_METHODS (the playground greys its steps field for them) is what the methods say."""
    from riddle.infer.base import method
    assert {m for m in vocabulary.METHODS if m != "auto" and method(m).unit == "samples"} == \
        set(vocabulary.SAMPLING_METHODS)


def test_riddle_sweep_names_every_method_and_setting_of_the_vocabulary():
    import argparse

    from riddle.cli import build_parser
    parser = build_parser()
    sweep = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["sweep"]
    helps = {a.dest: a.help for a in sweep._actions}
    assert all(m in helps["method"] for m in vocabulary.METHODS)
    assert all(k in helps["set"] for k in (*vocabulary.SETTINGS, *vocabulary.LIMITS) if k != "method")

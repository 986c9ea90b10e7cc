"""The playground's JSON API with FastAPI's test client: check, solve with server-sent events, the
queue (positions, 429), cancelling, body limits, uploads, downloads; and, on a real uvicorn server,
that a solve stops when its client goes away. The page itself is tested in a browser
(test_browser.py)."""
from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

fastapi = pytest.importorskip("fastapi", reason="the `serve` extra is not installed")
from fastapi.testclient import TestClient  # noqa: E402

from riddle import api  # noqa: E402
from riddle.cli import main  # noqa: E402
from riddle.serve.app import MAX_BODY, BodyLimit, create_app  # noqa: E402
from riddle.serve.jobs import Solver  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LOOP = (ROOT / "puzzles" / "loop.rdl").read_text()
LOCAL = "http://127.0.0.1:8000"                 # the playground answers to its own names only (TrustBoundary)


class FakeSolve:
    """A solve without networks: reports steps until released (or cancelled), then fails on purpose."""

    def __init__(self):
        self.release = threading.Event()
        self.started = threading.Event()

    def __call__(self, checked, progress=None, **settings):
        self.started.set()
        step = 0
        while not self.release.wait(0.01):
            step += 1
            progress(api.ProgressEvent(step=step, total=10 ** 6, alpha=1.0))
        raise RuntimeError("the fake solve ends here")


def events(client, job_id):
    """The job's server-sent events, parsed, until the stream ends."""
    out, name = [], None
    with client.stream("GET", f"/api/solve/{job_id}/events") as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                out.append((name, json.loads(line[6:])))
    return out


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def fake():
    solve = FakeSolve()
    solver = Solver(max_queue=2, solve=solve, workers=0)
    with TestClient(create_app(solver), base_url=LOCAL) as client:
        yield client, solve, solver
    solve.release.set()


@pytest.fixture(scope="module")
def real():
    with TestClient(create_app(), base_url=LOCAL) as client:
        yield client


def test_the_page_and_its_files_are_served(real):
    page = real.get("/")
    assert page.status_code == 200 and 'id="editor"' in page.text and "/static/app.js" in page.text
    assert real.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    assert real.get("/static/style.css").status_code == 200
    assert real.get("/static/..%2Fapp.py").status_code == 404
    assert real.get("/static/nothing.js").status_code == 404


def test_check_takes_plain_text_or_json_and_returns_the_cli_json(real):
    plain = real.post("/api/check", content=LOOP, headers={"Content-Type": "text/plain"}).json()
    as_json = real.post("/api/check", json={"text": LOOP}).json()
    assert plain == as_json
    assert plain["ok"] and plain["solution_count"] == 1 and plain["solutions"] == [[6, 3]]
    bad = real.post("/api/check", json={"text": "digits a\na is od\n"}).json()
    [d] = bad["diagnostics"]
    assert (d["code"], d["line"], d["column"], d["end"]) == ("R011", 2, 6, {"line": 2, "column": 8})
    assert d["help"] == "did you mean `odd`?"


def test_bodies_over_the_limit_get_413_however_they_arrive(real):
    big = "digits a\n" + "#" * (2 << 20)
    assert real.post("/api/check", content=big).status_code == 413
    assert real.post("/api/solve", json={"text": big}).status_code == 413

    # a chunked body (no Content-Length) is counted as it streams in
    sent = []

    async def app(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read it all"})
    chunks = [{"type": "http.request", "body": b"x" * (MAX_BODY // 2), "more_body": True}] * 3

    async def receive():
        return chunks.pop(0)

    async def send(message):
        sent.append(message)
    import asyncio
    asyncio.run(BodyLimit(app)({"type": "http", "headers": []}, receive, send))
    assert sent[0]["status"] == 413


def test_bad_requests_get_422_with_the_reason(real):
    assert real.post("/api/solve", json={"text": LOOP, "settings": {"restarts": 0}}).status_code == 422
    r = real.post("/api/solve", json={"text": LOOP, "settings": {"stepz": 3}})
    assert r.status_code == 422 and "unknown settings: stepz" in r.json()["detail"]
    r = real.post("/api/check", json={"text": LOOP, "files": {"../x.png": "AAAA"}})
    assert r.status_code == 422 and "plain file name" in r.json()["detail"]
    r = real.post("/api/check", json={"text": LOOP, "files": {"x.png": "not base64!"}})
    assert r.status_code == 422
    assert real.post("/api/check", content=b"\xff\xfe", headers={"Content-Type": "text/plain"}).status_code == 422
    assert real.get("/api/solve/nope/events").status_code == 404


def test_a_field_the_endpoint_does_not_read_is_refused_not_ignored(real):
    r = real.post("/api/solve", json={"text": LOOP, "restarts": 100_000_000})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "unknown field 'restarts'" in detail and "text, settings, files" in detail and "under `settings`" in detail
    r = real.post("/api/check", json={"text": LOOP, "settings": {"restarts": 5}})
    assert r.status_code == 422 and "a check request has text, files" in r.json()["detail"]


def test_a_solve_over_the_servers_budget_is_refused_with_the_limit():
    from riddle.serve.app import Budget
    solver = Solver(max_queue=2, solve=FakeSolve(), workers=0)
    app = create_app(solver, budget=Budget(max_work=2 * 100 * 200, max_seconds=30))
    with TestClient(app, base_url=LOCAL) as client:
        # loop.rdl has two unknowns: 100 restarts × 200 steps (the defaults) × 2 fits exactly
        big = client.post("/api/solve", json={"text": LOOP, "settings": {"restarts": 101}})
        assert big.status_code == 422 and "over this server's budget of 40,000" in big.json()["detail"]
        in_file = client.post("/api/solve", json={"text": LOOP + "\nsolve with 500 restarts\n"})
        assert in_file.status_code == 422 and "500 restarts" in in_file.json()["detail"]   # the riddle's own line
        slow = client.post("/api/solve", json={"text": LOOP, "settings": {"max_seconds": 31}})
        assert slow.status_code == 422 and "limit of 30 s" in slow.json()["detail"]
        ok = client.post("/api/solve", json={"text": LOOP, "settings": {"method": "advi"}})
        assert ok.status_code == 202
        assert solver.get(ok.json()["id"]).settings["max_seconds"] == 30          # the server's, given to the solve
        solver.close()


def test_other_hosts_and_other_sites_pages_are_refused(real):
    """DNS rebinding (a hostile name resolving to 127.0.0.1 sends its own Host) and cross-site requests
    (a page elsewhere: its browser sends its Origin, even on a text/plain POST that needs no preflight)."""
    rebound = real.post("/api/check", json={"text": LOOP}, headers={"Host": "evil.example:8000"})
    assert rebound.status_code == 403 and "not this server's name" in rebound.json()["detail"]
    assert real.get("/", headers={"Host": "evil.example"}).status_code == 403
    for method, path in (("POST", "/api/solve"), ("POST", "/api/check")):
        r = real.request(method, path, content=LOOP, headers={"Origin": "http://evil.example",
                                                              "Content-Type": "text/plain"})
        assert r.status_code == 403 and "evil.example" in r.json()["detail"]
    assert real.get("/api/solve/x/events", headers={"Origin": "http://evil.example"}).status_code == 403
    assert real.delete("/api/solve/x", headers={"Origin": "http://localhost:8000"}).status_code == 403  # another port
    same = real.post("/api/check", json={"text": LOOP}, headers={"Origin": LOCAL})
    assert same.status_code == 200 and same.json()["ok"]
    assert real.get("/", headers={"Host": "[::1]:8000"}).status_code == 200
    assert real.get("/", headers={"Host": "localhost:8000"}).status_code == 200


def test_a_name_allowed_for_a_reverse_proxy_is_answered_and_others_still_refused(capsys):
    from riddle.serve.app import LOOPBACK_NAMES
    solver = Solver(max_queue=2, solve=FakeSolve(), workers=0)
    app = create_app(solver, hosts=LOOPBACK_NAMES + ("riddle.example.org",))
    with TestClient(app, base_url="http://riddle.example.org") as client:
        ok = client.post("/api/check", json={"text": LOOP}, headers={"Origin": "http://riddle.example.org"})
        assert ok.status_code == 200 and ok.json()["ok"]
        assert client.get("/", headers={"Host": "evil.example"}).status_code == 403
        solver.close()
    assert main(["serve", "--allow-host", "https://riddle.example.org/"]) == 2     # a URL, not a name
    assert "--allow-host takes a host name" in capsys.readouterr().err


def test_off_loopback_every_request_needs_the_token_which_the_printed_url_gives_the_page():
    solver = Solver(max_queue=2, solve=FakeSolve(), workers=0)
    with TestClient(create_app(solver, token="s3cret"), base_url=LOCAL) as client:
        refused = client.get("/")
        assert refused.status_code == 401 and "needs its token" in refused.json()["detail"]
        assert client.get("/?token=wrong").status_code == 401
        assert client.post("/api/check", json={"text": LOOP}, headers={"X-Riddle-Token": "s3crex"}).status_code == 401
        not_ascii = {"X-Riddle-Token": "é".encode()}                # any bytes: 401, never a 500
        assert client.post("/api/check", json={"text": LOOP}, headers=not_ascii).status_code == 401
        assert client.post("/api/check", json={"text": LOOP}, headers={"X-Riddle-Token": "s3cret"}).status_code == 200
        page = client.get("/?token=s3cret")                  # the URL riddle serve prints
        assert page.status_code == 200 and "HttpOnly" in page.headers["set-cookie"]
        assert client.post("/api/check", json={"text": LOOP}).status_code == 200      # the cookie carries it now
        solver.close()


def test_the_format_endpoint_is_riddle_fmt(real):
    r = real.post("/api/format", json={"text": "digits a,b\na+b=9   # nine\n"})
    assert r.status_code == 200 and r.json() == {"text": "digits a, b\na + b = 9  # nine\n", "changed": True}
    same = real.post("/api/format", content="digits a\na > 1\n", headers={"Content-Type": "text/plain"})
    assert same.json() == {"text": "digits a\na > 1\n", "changed": False}
    bad = real.post("/api/format", json={"text": "digits a\na is odd or\n"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("line 2: ")
    extra = real.post("/api/format", json={"text": "digits a\n", "files": {}})
    assert extra.status_code == 422 and "'files'" in extra.json()["detail"]


def test_a_body_naming_a_file_on_the_server_is_riddle_text_never_read(real):
    """Found by the API fuzzer: a one-line plain-text body naming an existing file was read from disk,
    and its lines came back in the diagnostics."""
    secret = ROOT / "puzzles" / "134.rdl"                       # any file the server can read
    for body in ({"text": str(secret)}, str(secret)):
        r = real.post("/api/check", **({"json": body} if isinstance(body, dict) else {"content": body}))
        assert r.status_code == 200 and not r.json()["ok"]
        assert "third is not 7" not in r.text and "digits first" not in r.text   # 134.rdl's own lines
    long_name = real.post("/api/check", content='{"' + "x" * 5000 + '": null}')
    assert long_name.status_code == 200                          # was a 500: "File name too long"


def test_looks_like_reads_uploads_only(real):
    two = base64.b64encode((ROOT / "puzzles" / "seen" / "two.png").read_bytes()).decode()
    text = 'digits a\na looks like "two.png"\na < 5\n'
    assert real.post("/api/check", json={"text": text, "files": {"two.png": two}}).json()["ok"]
    on_disk = text.replace("two.png", str(ROOT / "puzzles" / "seen" / "two.png"))
    refused = real.post("/api/check", json={"text": on_disk, "files": {"two.png": two}}).json()
    assert [d["code"] for d in refused["diagnostics"]] == ["R060"]
    assert "no uploaded image named" in refused["diagnostics"][0]["message"]
    also = real.post("/api/check", content=on_disk).json()       # plain text: no uploads, still never the disk
    assert [d["code"] for d in also["diagnostics"]] == ["R060"]


@pytest.mark.slow
def test_a_solve_streams_progress_with_drawings_then_the_result_and_downloads(real):
    r = real.post("/api/solve", json={"text": LOOP, "settings": {"restarts": 8, "steps": 30, "seed": 1,
                                                                  "method": "advi"}})
    assert r.status_code == 202
    job = r.json()
    stream = events(real, job["id"])
    names = [n for n, _ in stream]
    assert names[0] == "queued" and "started" in names and names[-1] == "result"
    progress = [d for n, d in stream if n == "progress"]
    assert progress[-1]["step"] == 30 and progress[-1]["total"] == 30
    drawn = [d["image"] for d in progress if "image" in d]
    assert len(set(drawn)) >= 3 and drawn[0].startswith("data:image/png;base64,")
    result = stream[-1][1]
    assert result["result"]["answer"] == [6, 3] and "per_restart" not in result["result"]
    assert result["image"].startswith("data:image/png;base64,") and "answer 6 3" in result["text"]
    full = real.get(result["downloads"]["json"]).json()
    assert full["answer"] == [6, 3] and len(full["per_restart"]["answer"]) == 8
    import io
    with np.load(io.BytesIO(real.get(result["downloads"]["npz"]).content)) as npz:
        assert npz["images"].shape == (8, 2, 28, 28) and npz["answers"].shape == (8, 2)
    png = real.get(result["downloads"]["png"])
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert real.get(f"/api/solve/{job['id']}").json()["state"] == "done"
    # listening again replays the whole story
    assert [n for n, _ in events(real, job["id"])] == names


@pytest.mark.slow
def test_a_solve_can_choose_the_model_family(real):
    page = real.get("/").text
    assert '<option value="coupled"' in page and '<option value="default" selected' in page
    r = real.post("/api/solve", json={"text": LOOP, "settings": {"models": "fancy"}})
    assert r.status_code == 422 and "`models` must be one of default, coupled" in r.json()["detail"]
    r = real.post("/api/solve", json={"text": LOOP, "settings": {"restarts": 8, "method": "amortised",
                                                                  "models": "coupled"}})
    assert r.status_code == 202
    stream = events(real, r.json()["id"])
    result = stream[-1][1]
    assert stream[-1][0] == "result" and "models coupled" in result["text"]
    assert real.get(result["downloads"]["json"]).json()["models"] == "coupled"


@pytest.mark.slow
def test_a_riddle_with_errors_ends_in_an_error_event_with_its_diagnostics(real):
    job = real.post("/api/solve", json={"text": "digits a\na is od\n"}).json()
    (name, data), = [e for e in events(real, job["id"]) if e[0] not in ("queued", "started")]
    assert name == "error" and data["diagnostics"][0]["code"] == "R011"
    assert real.get(f"/api/solve/{job['id']}/result.json").status_code == 409


def test_one_solve_at_a_time_the_next_ones_queued_with_their_place_then_429(fake):
    client, solve, solver = fake
    first = client.post("/api/solve", json={"text": LOOP}).json()
    assert solve.started.wait(10)
    second = client.post("/api/solve", json={"text": LOOP}).json()
    third = client.post("/api/solve", json={"text": LOOP}).json()
    assert (first["position"], second["position"], third["position"]) == (0, 1, 2)
    assert client.get(f"/api/solve/{third['id']}").json() == {
        "id": third["id"], "state": "queued", "position": 2, "events": 1, "done": False}
    full = client.post("/api/solve", json={"text": LOOP})
    assert full.status_code == 429 and "waiting already" in full.json()["detail"]
    # cancelling a waiting solve ends it at once and moves the one behind it up
    assert client.delete(f"/api/solve/{second['id']}").status_code == 200
    assert [n for n, _ in events(client, second["id"])][-1] == "cancelled"
    assert client.get(f"/api/solve/{third['id']}").json()["position"] == 1
    # the running one is stopped by its progress callback
    client.delete(f"/api/solve/{first['id']}")
    stream = events(client, first["id"])
    assert stream[-1] == ("cancelled", {"while": "running"})
    assert any(n == "progress" for n, _ in stream)
    wait_for(lambda: client.get(f"/api/solve/{third['id']}").json()["state"] == "running")
    solve.release.set()                                     # the fake then fails: an error event, not a crash
    assert events(client, third["id"])[-1] == ("error", {"message": "RuntimeError: the fake solve ends here"})
    # what became of every job: 3 accepted, 1 refused; 2 cancelled, 1 failed; none left in the line
    stats = client.get("/api/status").json()
    assert {k: stats[k] for k in ("accepted", "refused", "done", "failed", "cancelled", "running", "waiting")} == {
        "accepted": 3, "refused": 1, "done": 0, "failed": 1, "cancelled": 2, "running": False, "waiting": 0}


def test_a_full_line_refuses_a_solve_before_its_riddle_is_read(fake, monkeypatch):
    """429 costs no checking: under load most solves are refused, and reading each riddle first made the
    checking processes pay for every refusal."""
    import riddle.serve.app as app_module
    client, solve, solver = fake
    read = []
    real_over_budget = app_module._over_budget
    monkeypatch.setattr(app_module, "_over_budget", lambda *a: read.append(1) or real_over_budget(*a))
    for _ in range(3):                                      # one runs, two wait: the line (max_queue 2) is full
        assert client.post("/api/solve", json={"text": LOOP}).status_code == 202
    assert solve.started.wait(10) and len(read) == 3
    refused = client.post("/api/solve", json={"text": LOOP})
    assert refused.status_code == 429 and len(read) == 3
    assert client.get("/api/status").json()["refused"] == 1


def test_a_long_solve_that_has_just_ended_is_kept_while_quick_ones_come_and_go(fake):
    """Finished jobs are forgotten by when they ended: a solve that ran while many others came and went keeps
    its state (and downloads) once it ends, where forgetting by arrival dropped it at once."""
    from riddle.serve.jobs import KEEP_FINISHED
    client, solve, solver = fake
    long = client.post("/api/solve", json={"text": LOOP}).json()["id"]
    assert solve.started.wait(10)
    for _ in range(KEEP_FINISHED + 4):                       # quick ones: queued, then cancelled at once
        quick = client.post("/api/solve", json={"text": LOOP}).json()["id"]
        client.delete(f"/api/solve/{quick}")
    solve.release.set()                                     # the long one ends (the fake fails on purpose)
    wait_for(lambda: client.get(f"/api/solve/{long}").json()["done"])
    for _ in range(3):                                      # more come and go after it ended
        quick = client.post("/api/solve", json={"text": LOOP}).json()["id"]
        client.delete(f"/api/solve/{quick}")
    assert client.get(f"/api/solve/{long}").json()["state"] == "failed"
    assert client.get("/api/status").json()["kept"] <= KEEP_FINISHED + 1


def test_a_solve_stops_when_its_client_goes_away():
    """On a real uvicorn server: a listener that hangs up takes its solve with it."""
    import socket
    import urllib.request

    import uvicorn
    solve = FakeSolve()
    solver = Solver(max_queue=2, solve=solve, workers=0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(solver), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started)
        base = f"http://127.0.0.1:{port}"
        req = urllib.request.Request(base + "/api/solve", data=json.dumps({"text": LOOP}).encode(),
                                     headers={"Content-Type": "application/json"})
        job = json.load(urllib.request.urlopen(req, timeout=10))
        stream = urllib.request.urlopen(base + job["events"], timeout=10)
        while b"event: progress" not in stream.readline():     # it runs, and we are listening
            pass
        stream.close()                                           # the tab is closed
        state = lambda: json.load(urllib.request.urlopen(f"{base}/api/solve/{job['id']}", timeout=10))["state"]  # noqa: E731
        wait_for(lambda: state() == "cancelled")
    finally:
        solve.release.set()
        server.should_exit = True
        thread.join(10)


def _sums_table(rows: int, seed: int) -> tuple[str, bytes]:
    """tests/test_learn's easy task (a label is a bright bar at row 2·label) as uploads: the CSV's text and its
    images as a uint8 stack (an upload under the body limit)."""
    import io
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=(rows, 2))
    images = (rng.random((rows * 2, 28, 28)) * 50).astype(np.uint8)
    for k, lab in enumerate(labels.reshape(-1)):
        images[k, 2 * lab + 4:2 * lab + 6, 4:24] = 255
    buffer = io.BytesIO()
    np.save(buffer, images)
    lines = ["a,b,sum"] + [f"digits.npy#{2 * r},digits.npy#{2 * r + 1},{a + b}" for r, (a, b) in enumerate(labels)]
    return "\n".join(lines) + "\n", buffer.getvalue()


ADD = "digits a, b\na looks like $a\nb looks like $b\na + b = $sum\n"


@pytest.mark.slow
def test_learning_runs_as_a_job_with_epochs_as_progress_and_the_model_directory_as_a_zip(real, tmp_path):
    import io
    import zipfile
    table, stack = _sums_table(200, 0)
    body = {"template": ADD, "table": table, "files": {"digits.npy": base64.b64encode(stack).decode()},
            "settings": {"epochs": 3, "batch": 16, "lr": 0.002, "models": "default"}}   # a family by name
    assert len(json.dumps(body)) < MAX_BODY
    r = real.post("/api/learn", json=body)
    assert r.status_code == 202
    stream = events(real, r.json()["id"])
    names = [n for n, _ in stream]
    assert names[0] == "queued" and names[1] == "started" and names[-1] == "result", stream[-1]
    epochs = [d for n, d in stream if n == "progress"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3] and all(e["epochs"] == 3 for e in epochs)
    assert epochs[-1]["loss"] < epochs[0]["loss"]
    result = stream[-1][1]
    assert result["card"]["supervision"].startswith("riddle-level truth only") and len(result["epochs"]) == 3
    archive = real.get(result["downloads"]["models"])
    assert archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as z:
        z.extractall(tmp_path)
    from riddle.reading import read
    [reading] = read(np.load(io.BytesIO(stack))[:1] / 255.0, models=str(tmp_path / "models"))
    assert len(reading.probabilities) == 10                     # the learned directory is a model directory


def test_a_learn_request_riddle_learn_would_refuse_gets_422_with_the_reason(real):
    table, stack = _sums_table(4, 0)
    files = {"digits.npy": base64.b64encode(stack).decode()}
    ok = {"template": ADD, "table": table, "files": files}
    cases = [({**ok, "text": ADD}, "unknown field 'text'"),
             ({**ok, "settings": {"epochz": 2}}, "unknown settings: epochz"),
             ({**ok, "settings": {"epochs": "2"}}, "'epochs' has the wrong type"),
             ({**ok, "settings": {"epochs": 0}}, "epochs must be 1 … 10000"),
             ({**ok, "settings": {"models": "/etc"}}, "never a path"),
             ({**ok, "settings": {"max_seconds": 10 ** 6}}, "over this server's limit"),
             ({**ok, "format": "xlsx"}, "csv or jsonl"),
             ({**ok, "files": {**files, "table.csv": "AAAA"}}, "may not name table.csv"),
             ({"template": ADD}, "send {")]
    for body, reason in cases:
        r = real.post("/api/learn", json=body)
        assert r.status_code == 422 and reason in r.json()["detail"], (body.keys(), r.json())


def test_a_bad_table_fails_the_learning_job_with_its_row_and_column(real):
    table, stack = _sums_table(4, 0)
    bad = table.replace("digits.npy#2,", "digits.npy#99,", 1)
    r = real.post("/api/learn", json={"template": ADD, "table": bad,
                                      "files": {"digits.npy": base64.b64encode(stack).decode()}})
    stream = events(real, r.json()["id"])
    assert stream[-1][0] == "error" and "row 2" in stream[-1][1]["message"], stream[-1]

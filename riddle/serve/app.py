"""The web playground's HTTP side (FastAPI): one page, and a JSON API the page uses.

    GET    /                           the playground (static/index.html)
    POST   /api/check                  body: the riddle's text, or JSON {"text", "files"} → `riddle check --json`
    POST   /api/format                 body: the riddle's text, or JSON {"text"} → {"text", "changed"} (`riddle fmt`)
    POST   /api/solve                  JSON {"text", "settings", "files"} → {"id", "position"}; 429 when the line is
    full
    POST   /api/learn                  JSON {"template", "table", "format", "settings", "files"} → {"id", "position"}:
                                       `riddle learn` as a job (its events as a solve's), then
    GET    /api/learn/{id}/models.zip  the learned model directory
    GET    /api/solve/{id}             its state (queued with its place in the line, running, done, failed, cancelled)
    GET    /api/solve/{id}/events      server-sent events: queued, started, progress…, then result | error | cancelled
    DELETE /api/solve/{id}             cancel it
    GET    /api/solve/{id}/result.json | samples.npz | answer.png    downloads, once solved
    GET    /api/status                 the line (running, waiting), what became of every job since start, and the
                                       solver processes (pid, the job each runs)

`files` maps a file name to its base64 bytes: the only images `looks like` may read here, never a
path on the server. Every request body is limited to MAX_BODY bytes (413 beyond), uploads included.
A JSON body names only the fields its endpoint reads (422 names them otherwise), and a solve must fit
the server's own budget (`Budget`, `riddle serve --max-work/--max-seconds`; 422 with the limit).
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import html
import http.cookies
import json
import secrets
import urllib.parse
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from .. import __version__, api
from ..lang.format import FormatError, format_text
from ..vocabulary import ALL_KEYS, DEFAULT_METHOD, DEFAULT_MODELS, METHODS, MODEL_FAMILIES, SAMPLING_METHODS
from .checkers import CheckerDied, Checkers, check_json
from .jobs import TERMINAL, QueueFull, Solver

MAX_BODY = 1 << 20                 # 1 MiB: a riddle is a few hundred bytes; a 28 x 28 upload a few hundred more
DRAIN_BODY = 8 << 20               # a body announced up to this size is read (and dropped) before the 413:
                                   # a client still sending when the server hangs up sees a broken pipe, not the 413
SETTING_KEYS = ALL_KEYS
KEEPALIVE_S = 15.0
FIELDS = {"check": ("text", "files"), "solve": ("text", "settings", "files"),   # what each JSON body may hold
          "format": ("text",), "learn": ("template", "table", "format", "settings", "files")}
LEARN_SETTINGS = {"epochs": int, "batch": int, "lr": (int, float), "seed": int, "learn": list, "init": str,
                  "models": str, "net": str, "schedule": str, "starts": int, "max_seconds": (int, float)}


def _request_body(endpoint: str) -> dict:
    """The OpenAPI request body of an endpoint that reads its body itself (_riddle_body): the JSON form,
    its fields exactly FIELDS's, or the riddle as plain text — so /api/docs and an API fuzzer know it."""
    fields = {"text": {"type": "string", "description": "the riddle"},
              "files": {"type": "object", "additionalProperties": {"type": "string", "format": "byte"},
                        "description": "file name → base64 bytes: the images `looks like` may read"},
              "settings": {"type": "object", "description": "settings, as `solve with` takes them"},
              "template": {"type": "string", "description": "the template: a riddle with `$name`s"},
              "table": {"type": "string", "description": "the data table's text: CSV with a header, or JSON Lines"},
              "format": {"type": "string", "enum": ["csv", "jsonl"], "description": "the table's format (csv)"}}
    if endpoint == "learn":
        fields["settings"] = {"type": "object", "description": "`riddle learn`'s options: "
                              + ", ".join(LEARN_SETTINGS)}
        schema = {"type": "object", "required": ["template", "table"], "additionalProperties": False,
                  "properties": {k: fields[k] for k in FIELDS[endpoint]}}
        return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
    schema = {"type": "object", "required": ["text"], "additionalProperties": False,
              "properties": {k: fields[k] for k in FIELDS[endpoint]}}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema},
                                                          "text/plain": {"schema": {"type": "string"}}}}}


@dataclass(frozen=True)
class Budget:
    """The server's own limit on one solve, whatever the riddle or the request asks: its work, restarts ×
    steps × unknowns (steps count for every method, though the samplers take none), and its time budget
    (`max_seconds`, which the sampling methods honour; a solve that gives none gets this one)."""
    max_work: int = 20_000_000          # 100 restarts × 200 steps × 1,000 unknowns, or 10,000 × 200 × 10
    max_seconds: float = 600.0

    def problem(self, restarts: int, steps: int, unknowns: int, max_seconds: float | None) -> str | None:
        work = restarts * steps * unknowns
        if work > self.max_work:
            return (f"this solve asks for {restarts:,} restarts × {steps:,} steps × {unknowns} unknowns = {work:,}, "
                    f"over this server's budget of {self.max_work:,} (riddle serve --max-work): ask for fewer")
        if max_seconds is not None and max_seconds > self.max_seconds:
            return (f"max_seconds {max_seconds:g} is over this server's limit of {self.max_seconds:g} s "
                    "(riddle serve --max-seconds)")
        return None


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class _TooLarge(Exception):
    pass


def _host_name(host: str) -> str:
    """A Host header's name without its port: 'localhost:8000' → 'localhost', '[::1]:8000' → '::1'."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class TrustBoundary:
    """ASGI middleware: who may talk to the playground.

    - Host allowlist: a request whose Host header names anything but this machine's loopback names and
      the address the server was bound to is refused (403). A DNS-rebinding page — a hostile name that
      resolves to 127.0.0.1 — sends its own name as Host, so it can neither drive the solver nor read a
      response.
    - Same origin: a request that changes state (POST, DELETE) or opens the event stream and carries an
      Origin header must come from this server's own origin (scheme and Host); a page on another site
      — whose browser sends its Origin on every cross-site POST, "simple" text/plain ones included — is
      refused (403). Clients that send no Origin (curl, scripts) are not browsers acting for a page.
    - Token (where one is given: `riddle serve` on a non-loopback address, like Jupyter's): every
      request carries it, as the `X-Riddle-Token` header or the `riddle_token` cookie, which the page
      gets by being opened once with `?token=…` (the URL `riddle serve` prints)."""

    def __init__(self, app, hosts=LOOPBACK_NAMES, token: str | None = None):
        self.app, self.hosts, self.token = app, {_host_name(h) for h in hosts}, token

    def _token_given(self, scope, headers) -> tuple[bool, bool]:
        """(does the request carry the token, did it come in the URL — then the page gets the cookie)."""
        if headers.get(b"x-riddle-token") and self._is_token(headers[b"x-riddle-token"]):
            return True, False
        cookies = http.cookies.SimpleCookie()
        try:
            cookies.load(headers.get(b"cookie", ""))
        except http.cookies.CookieError:
            pass
        if "riddle_token" in cookies and self._is_token(cookies["riddle_token"].value):
            return True, False
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = query.get("token", [""])[0]
        return (bool(given) and self._is_token(given)), True

    def _is_token(self, given: str) -> bool:              # in constant time; any bytes a client sends
        return secrets.compare_digest(given.encode("utf-8", "surrogateescape"), self.token.encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        host = headers.get(b"host", "")
        if _host_name(host) not in self.hosts:
            return await _refuse(send, f"the Host {host!r} is not this server's name (allowed: "
                                       f"{', '.join(sorted(self.hosts))}); open the playground by one of those")
        origin = headers.get(b"origin")
        changes = scope["method"] not in ("GET", "HEAD", "OPTIONS") or scope["path"].endswith("/events")
        if origin is not None and changes and origin.lower() != f"{scope.get('scheme', 'http')}://{host.lower()}":
            return await _refuse(send, f"a request from the page at {origin!r} may not use this playground: "
                                       "only its own page may")
        if self.token is None:
            return await self.app(scope, receive, send)
        ok, from_url = self._token_given(scope, headers)
        if not ok:
            return await _refuse(send, "this playground needs its token: open the URL `riddle serve` printed "
                                       "(…/?token=…), or send it as the X-Riddle-Token header", 401)
        if not from_url:
            return await self.app(scope, receive, send)

        async def with_cookie(message):                # the page's own requests then carry the token
            if message["type"] == "http.response.start":
                cookie = f"riddle_token={self.token}; Path=/; HttpOnly; SameSite=Strict".encode()
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)
        return await self.app(scope, receive, with_cookie)


async def _refuse(send, detail: str, status: int = 403) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: 413 for a body over `limit` bytes, by its Content-Length or as it streams in."""

    def __init__(self, app, limit: int = MAX_BODY):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers", ())).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            if int(length) <= DRAIN_BODY:
                while True:
                    message = await receive()
                    if message["type"] != "http.request" or not message.get("more_body"):
                        break
            return await self._reject(send)
        received, started = 0, False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge()
            return message

        async def watched_send(message):
            nonlocal started
            started |= message["type"] == "http.response.start"
            await send(message)
        try:
            await self.app(scope, limited_receive, watched_send)
        except _TooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send):
        body = json.dumps({"detail": f"the request body is larger than {self.limit >> 20} MiB"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _decode_files(files) -> dict[str, bytes]:
    if files is None:
        return {}
    if not isinstance(files, dict):
        raise HTTPException(422, "`files` maps file names to their base64 bytes")
    out = {}
    for name, data in files.items():
        if (
            not isinstance(name, str)
            or "/" in name
            or "\\" in name
            or name in ("", ".", "..")
            or not isinstance(data, str)
        ):
            raise HTTPException(422, f"`files`: {name!r} is not a plain file name with base64 bytes")
        try:
            out[name] = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise HTTPException(422, f"`files`: the bytes of {name!r} are not base64") from None
    return out


async def _riddle_body(request: Request, endpoint: str) -> tuple[str, dict, dict[str, bytes]]:
    """(text, settings, files) from a JSON body, or the whole body as the riddle's text. A JSON field
    the endpoint does not read is refused, not ignored: `{"text": …, "restarts": 5}` would otherwise
    solve with the default restarts and say nothing."""
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(raw)
        except ValueError:
            raise HTTPException(422, "the body is not valid JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            raise HTTPException(422, "send {\"text\": \"<the riddle>\", …}")
        extra = sorted(set(body) - set(FIELDS[endpoint]))
        if extra:
            settings_like = [k for k in extra if k in SETTING_KEYS]
            hint = (f"; {', '.join(f'`{k}`' for k in settings_like)} belong{'s' if len(settings_like) == 1 else ''} "
                    "under `settings`" if settings_like and endpoint == "solve" else "")
            raise HTTPException(422, f"unknown field{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}: "
                                     f"a {endpoint} request has {', '.join(FIELDS[endpoint])}{hint}")
        settings = body.get("settings") or {}
        if not isinstance(settings, dict):
            raise HTTPException(422, "`settings` is an object, e.g. {\"restarts\": 50}")
        return body["text"], settings, _decode_files(body.get("files"))
    try:
        return raw.decode("utf-8"), {}, {}
    except UnicodeDecodeError:
        raise HTTPException(422, "the riddle's text must be UTF-8") from None


def _learn_body(raw: bytes, budget: Budget) -> tuple[str, dict, dict[str, bytes]]:
    """(template, settings, files — the table's bytes among them as table.csv or table.jsonl) from POST
    /api/learn's JSON body; 422 with the reason for anything `riddle learn` would refuse before it starts."""
    from ..learn import LearnConfig
    from .jobs import LEARN_TABLE
    try:
        body = json.loads(raw)
    except ValueError:
        raise HTTPException(422, "the body is not valid JSON") from None
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("template", "table")):
        raise HTTPException(422, "send {\"template\": \"<a riddle with $names>\", \"table\": \"<CSV or JSON "
                                 "Lines>\", …}")
    extra = sorted(set(body) - set(FIELDS["learn"]))
    if extra:
        raise HTTPException(422, f"unknown field{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}: a "
                                 f"learn request has {', '.join(FIELDS['learn'])}")
    kind = body.get("format", "csv")
    if kind not in ("csv", "jsonl"):
        raise HTTPException(422, f"`format` is csv or jsonl, not {kind!r}")
    settings = body.get("settings") or {}
    if not isinstance(settings, dict):
        raise HTTPException(422, "`settings` is an object, e.g. {\"epochs\": 2}")
    unknown = sorted(set(settings) - set(LEARN_SETTINGS))
    wrong = [k for k, v in settings.items() if k in LEARN_SETTINGS and (isinstance(v, bool) or
                                                                          not isinstance(v, LEARN_SETTINGS[k]))]
    if unknown or wrong:
        raise HTTPException(422, f"unknown settings: {', '.join(unknown)}; known: {', '.join(LEARN_SETTINGS)}"
                            if unknown else f"setting {wrong[0]!r} has the wrong type: {settings[wrong[0]]!r}")
    if "learn" in settings and not all(isinstance(x, str) for x in settings["learn"]):
        raise HTTPException(422, "`learn` lists the networks to learn by name, e.g. [\"classifier\"]")
    if "models" in settings and settings["models"] not in MODEL_FAMILIES:
        raise HTTPException(422, f"`models` names a family ({', '.join(MODEL_FAMILIES)}), never a path")
    if settings.get("max_seconds", 0) > budget.max_seconds:
        raise HTTPException(422, f"max_seconds {settings['max_seconds']:g} is over this server's limit of "
                                 f"{budget.max_seconds:g} s (riddle serve --max-seconds)")
    settings = {**settings, "max_seconds": settings.get("max_seconds") or budget.max_seconds}
    config = LearnConfig(**{k: tuple(v) if k == "learn" else v for k, v in settings.items()})
    if problems := config.problems():
        raise HTTPException(422, "; ".join(p.replace("--", "").replace("-", "_", 1) for p in problems))
    files = _decode_files(body.get("files"))
    table_name = LEARN_TABLE[("csv", "jsonl").index(kind)]
    if table_name in files or "template.rdl" in files:
        raise HTTPException(422, f"`files` may not name {table_name} or template.rdl: the body's template and table "
                                 "are written there")
    return body["template"], settings, {**files, table_name: body["table"].encode()}


def _over_budget(budget: Budget, text: str, files: dict[str, bytes], settings: dict) -> str | None:
    """What the budget says of this solve: its restarts and steps as the solve will take them (the
    request's, else the riddle's `solve with` line, else the method's and the solver's defaults). A
    riddle with errors passes here: the solve reports them as it always does. Read, not checked: the
    settings and the unknowns are all it needs (no factor graph, no oracle: a refused solve costs little)."""
    from ..infer.base import method
    from ..lang import load_text
    r = load_text(text, "riddle.rdl", files=files)
    if not r.ok:
        return None
    cfg = method(settings.get("method") or r.settings.get("method", DEFAULT_METHOD)).config(r.settings, settings)
    return budget.problem(cfg.restarts, cfg.steps, len(r.unknowns), settings.get("max_seconds"))


def create_app(solver: Solver | None = None, max_queue: int = 4, budget: Budget = Budget(),
               hosts: tuple[str, ...] = LOOPBACK_NAMES, token: str | None = None,
               models: str | None = None, workers: int = 1, ray: str | None = None, checkers: int = 0) -> FastAPI:
    """The playground. `hosts`: the names its Host header may carry (TrustBoundary): the loopback
    names, and `riddle serve --host`'s address where it is another; `token`: what every request must
    carry (None: nothing, on loopback); `models`: the operator's default family or model directory (a
    client may pick a family by name, never a path); `workers`: solver processes (0: solves on a thread here),
    or with `ray` (a cluster's address, or `local`) solves at a time as Ray tasks; `checkers`: checking
    processes (checkers.py; 0: one thread here, as the Python API and tests use)."""
    solver = solver or Solver(max_queue=max_queue, models=models, workers=workers, ray=ray)
    checking = Checkers(checkers)

    @asynccontextmanager
    async def lifespan(app):
        checking.start()
        yield
        solver.close()                                      # cancels what is queued or running
        checking.close()

    async def checked(fn, *args):
        """fn(*args) on a checking process (or thread); 503 where its process died meanwhile."""
        try:
            return await checking.run(fn, *args)
        except CheckerDied as e:
            raise HTTPException(503, str(e)) from None

    app = FastAPI(title="riddle playground", version=__version__, docs_url="/api/docs", redoc_url=None,
                  lifespan=lifespan)
    app.state.solver = solver
    app.state.checkers = checking
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_middleware(TrustBoundary, hosts=hosts, token=token)      # outermost: checked before anything is read
    page = resources.files("riddle.serve").joinpath("static", "index.html")

    # the method and model-family lists come from the vocabulary, so a new one needs no edit of the page
    def options(names: dict, default: str) -> str:
        return "\n".join(f'          <option value="{name}"{" selected" if name == default else ""}'
                          f'{" data-samples" if name in SAMPLING_METHODS else ""} '
                          f'title="{html.escape(what)}">{name}</option>' for name, what in names.items())
    index_html = (page.read_text(encoding="utf-8")
                  .replace("          <!-- the methods: filled in by the server from riddle/vocabulary.py -->",
                           options(METHODS, DEFAULT_METHOD))
                  .replace("          <!-- the model families: filled in by the server from riddle/vocabulary.py -->",
                           options(MODEL_FAMILIES, DEFAULT_MODELS)))

    @app.get("/", response_class=HTMLResponse)
    def index():
        return index_html

    @app.get("/static/{name}")
    def static(name: str):
        if "/" in name or name.startswith("."):
            raise HTTPException(404)
        f = resources.files("riddle.serve").joinpath("static", name)
        if not f.is_file():
            raise HTTPException(404)
        kind = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}.get(name.rsplit(".", 1)[-1],
                                                                                         "application/octet-stream")
        return Response(f.read_bytes(), media_type=kind)

    @app.post("/api/check", openapi_extra=_request_body("check"))
    async def check(request: Request):
        text, _, files = await _riddle_body(request, "check")
        return Response(await checked(check_json, text, files), media_type="application/json")

    @app.post("/api/format", openapi_extra=_request_body("format"))
    async def format_riddle(request: Request):
        text, _, _ = await _riddle_body(request, "format")
        try:                                                # the parser's work: where checks run
            formatted = await checked(format_text, text, "riddle.rdl")
        except FormatError as e:
            first = e.diagnostics[0] if e.diagnostics else None
            where = f"line {first.span.line}: " if first is not None and first.span else ""
            raise HTTPException(422, f"{where}{first.message if first else 'the riddle does not parse'}; "
                                     "fix it, then format") from None
        return {"text": formatted, "changed": formatted != text}

    @app.post("/api/solve", openapi_extra=_request_body("solve"))
    async def solve(request: Request):
        text, settings, files = await _riddle_body(request, "solve")
        unknown = set(settings) - set(SETTING_KEYS)
        if unknown:
            raise HTTPException(
                422, f"unknown settings: {', '.join(sorted(unknown))}; known: {', '.join(SETTING_KEYS)}"
            )
        problem = api.setting_problem(settings)
        if problem:
            raise HTTPException(422, problem)
        try:
            solver.refuse_if_full()                         # before the riddle is read: a full line costs nothing
        except QueueFull as e:
            raise HTTPException(429, str(e)) from None
        problem = await checked(_over_budget, budget, text, files, settings)
        if problem:
            raise HTTPException(422, problem)
        settings = {**settings, "max_seconds": settings.get("max_seconds") or budget.max_seconds}
        try:
            job = solver.submit(text, files, settings)
        except QueueFull as e:
            raise HTTPException(429, str(e)) from None
        return JSONResponse({"id": job.id, "position": job.events[0]["data"]["position"],
                             "events": f"/api/solve/{job.id}/events"}, status_code=202)

    @app.post("/api/learn", openapi_extra=_request_body("learn"))
    async def learn(request: Request):
        """`riddle learn` on uploads: the template, the table's text and its images in the body; the networks
        learned in a worker, epoch by epoch as progress events; the model directory as a zip once done."""
        template, settings, files = _learn_body(await request.body(), budget)
        try:
            job = solver.submit(template, files, settings, kind="learn")
        except QueueFull as e:
            raise HTTPException(429, str(e)) from None
        return JSONResponse({"id": job.id, "position": job.events[0]["data"]["position"],
                             "events": f"/api/solve/{job.id}/events"}, status_code=202)

    @app.get("/api/learn/{job_id}/models.zip")
    async def learned_models(job_id: str):
        return Response(_download(job_id, "models"), media_type="application/zip",
                        headers={"Content-Disposition": 'attachment; filename="models.zip"'})

    def _job(job_id: str):
        job = solver.get(job_id)
        if job is None:
            raise HTTPException(404, f"no solve {job_id!r} (finished solves are kept for a while only)")
        return job

    @app.get("/api/solve/{job_id}/events")
    async def events(job_id: str, request: Request):
        job = _job(job_id)

        async def stream():
            sent, quiet = 0, 0.0
            try:
                while True:
                    new = job.events[sent:]
                    for e in new:
                        yield f"event: {e['event']}\ndata: {json.dumps(e['data'])}\n\n"
                    sent += len(new)
                    if new and new[-1]["event"] in TERMINAL:
                        return
                    if await request.is_disconnected():
                        return
                    quiet = 0.0 if new else quiet + 0.1
                    if quiet >= KEEPALIVE_S:
                        quiet = 0.0
                        yield ": keep-alive\n\n"
                    await asyncio.sleep(0.1)
            finally:
                if not job.finished:                       # the client went away: so does its solve
                    solver.cancel(job.id)
        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    # The job routes answer from memory under the solver's lock, which nothing holds for long: on the event loop
    # itself, not on a thread of Starlette's pool (the hop there and back was a sixth of such a request's CPU)
    @app.get("/api/status")
    async def server_status():
        return {"version": __version__, **solver.stats(), "checkers": checking.pids,
                "checkers_replaced": checking.replaced,
                "budget": {"max_work": budget.max_work, "max_seconds": budget.max_seconds}}

    @app.get("/api/solve/{job_id}")
    async def status(job_id: str):
        job = _job(job_id)
        return {"id": job.id, "state": job.state, "position": solver.position(job),
                "events": len(job.events), "done": job.finished}

    @app.delete("/api/solve/{job_id}")
    async def cancel(job_id: str):
        job = _job(job_id)
        solver.cancel(job_id)
        return {"id": job_id, "state": "cancel requested" if not job.finished else job.state}

    def _download(job_id: str, name: str) -> bytes | None:
        job = _job(job_id)
        if not job.downloads:
            raise HTTPException(409, f"solve {job_id!r} is {job.state}: nothing to download")
        return job.downloads.get(name)

    @app.get("/api/solve/{job_id}/result.json")
    async def result_json(job_id: str):
        return Response(_download(job_id, "json"), media_type="application/json",
                        headers={"Content-Disposition": 'attachment; filename="riddle.json"'})

    @app.get("/api/solve/{job_id}/samples.npz")
    async def result_npz(job_id: str):
        return Response(_download(job_id, "npz"), media_type="application/octet-stream",
                        headers={"Content-Disposition": 'attachment; filename="samples.npz"'})

    @app.get("/api/solve/{job_id}/answer.png")
    async def result_png(job_id: str):
        png = _download(job_id, "png")
        if not png:
            raise HTTPException(404, "no answer to draw")
        return Response(png, media_type="image/png")

    return app

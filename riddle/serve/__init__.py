"""`riddle serve`: a local web playground over the Python API (app.py: HTTP; jobs.py: the solve
queue; static/: the page). Needs the `serve` extra: pip install -e '.[serve]'."""
from __future__ import annotations

import ctypes
import ctypes.util
import ipaddress
import socket

LOOPBACK = "127.0.0.1"


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def own_names(host: str) -> tuple[str, ...]:
    """The names a browser may reach the server by, besides loopback: the address it is bound to, and
    for a wildcard bind (0.0.0.0, ::) this machine's name and addresses."""
    if host not in ("0.0.0.0", "::", ""):
        return (host,)
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except OSError:
        addresses = set()
    return (name, socket.getfqdn(), *sorted(addresses))


def run(host: str = LOOPBACK, port: int = 8000, max_queue: int = 4, log_level: str = "warning",
        max_work: int = 20_000_000, max_seconds: float = 600.0, token: str | None = None,
        allow_hosts: tuple[str, ...] = (), models: str | None = None, workers: int = 1,
        ray: str | None = None, checkers: int = 2) -> None:
    """Serve the playground until Ctrl-C. `token`: required of every request (see app.TrustBoundary);
    `allow_hosts`: more names its Host header may carry (a reverse proxy's public name)."""
    import uvicorn

    from .app import LOOPBACK_NAMES, Budget, create_app
    limit_malloc_arenas()
    app = create_app(max_queue=max_queue, budget=Budget(max_work, max_seconds),
                     hosts=LOOPBACK_NAMES + own_names(host) + allow_hosts, token=token, models=models,
                     workers=workers, ray=ray, checkers=checkers)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """glibc gives each thread that allocates its own malloc arena, and keeps what a burst freed in it: under
    bench/load the server's resident memory grew 9 % with checks alone (315 → 343 MB), 2.5 % with two arenas
    (the same as MALLOC_ARENA_MAX=2). False where the C library is not glibc (nothing to do)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        return False
    if mallopt is None:
        return False
    M_ARENA_MAX = -8                               # malloc.h
    return bool(mallopt(M_ARENA_MAX, arenas))


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True

"""`riddle serve`: a local web playground over the Python API (app.py: HTTP; jobs.py: the solve
queue; static/: the page). Needs the `serve` extra: pip install -e '.[serve]'."""
from __future__ import annotations

import ipaddress
import socket

LOOPBACK = "127.0.0.1"


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def run(host: str = LOOPBACK, port: int = 8000, max_queue: int = 4, log_level: str = "warning") -> None:
    """Serve the playground until Ctrl-C."""
    import uvicorn

    from .app import create_app
    app = create_app(max_queue=max_queue)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True

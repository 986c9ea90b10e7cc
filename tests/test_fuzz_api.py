"""The playground's API fuzzed from its own OpenAPI schema (schemathesis): whatever a client sends to
any endpoint — bodies of the declared shape and beyond, odd path parameters — the server answers
without a 5xx, and every 4xx is JSON with a `detail` that says why. Solves run on a fake solver (the
real one is tested in test_serve.py), so the fuzzing stays fast."""
from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="the test extra's schemathesis is not installed")
pytest.importorskip("fastapi", reason="the `serve` extra is not installed")
from hypothesis import HealthCheck, settings  # noqa: E402

from riddle.serve.app import create_app  # noqa: E402
from riddle.serve.jobs import Solver  # noqa: E402


def fails_at_once(checked, progress=None, **settings):
    raise RuntimeError("the fuzzed solve ends here")


APP = create_app(Solver(max_queue=2, solve=fails_at_once, workers=0))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, headers={"Host": "127.0.0.1:8000"})


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case):
    response = case.call(headers={"Host": "127.0.0.1:8000"})
    assert response.status_code < 500, (case.method, case.path, case.body, response.text[:300])
    if 400 <= response.status_code < 500:
        assert "detail" in response.json(), response.text[:300]

"""Hold up under abuse (issue 11): no request, however odd, takes a server down.

Every test runs against all four minimal servers, each on loopback port 0, and checks
that ``/health`` still answers afterwards.
"""

from __future__ import annotations

import sys

import pytest

from sim.limits import MAX_REQUEST_SECONDS
from tests.sim.live.conftest import get, serving

KNOBS = {
    "sync": {"workers": 2},
    "threaded": {"workers": 1, "threads": 2},
    "async": {},
    "hybrid": {"workers": 2},
}
MODELS = list(KNOBS)

# A server whose handler raises on /guest?boom=1: the way to test that an unexpected
# exception becomes a 500 and the server goes on, whatever the bug behind it.
BOOM = """
import sys
import sim.live.handler as handler
real_plan = handler.plan
def plan(query, guest_id):
    if "boom" in query:
        raise RuntimeError("a bug in the handler")
    return real_plan(query, guest_id)
handler.plan = plan
from sim.live.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("model", MODELS)
def test_overflowing_distribution_is_a_400_and_the_server_goes_on(model):
    with serving(model, **KNOBS[model]) as server:
        for _ in range(5):  # more than the threaded server's hosts, the sync workers
            reply = get(server.port, "/guest?io=lognormal:1,1e300", timeout=5)
            assert reply.status == 400, reply.body
            assert b"600000" in reply.body
        assert get(server.port, "/health", timeout=5).status == 200
        assert get(server.port, "/guest?io=lognormal:5,2", timeout=5).status == 200


@pytest.mark.parametrize("model", MODELS)
def test_an_exception_in_the_handler_is_a_500_and_the_server_goes_on(model):
    with serving(model, command=[sys.executable, "-c", BOOM], **KNOBS[model]) as server:
        for _ in range(5):
            reply = get(server.port, "/guest?boom=1", timeout=5)
            assert reply.status == 500, reply.body
            assert b"RuntimeError" in reply.body
        assert get(server.port, "/health", timeout=5).status == 200
        assert get(server.port, "/guest?io=1", timeout=5).status == 200


@pytest.mark.parametrize("model", MODELS)
def test_a_request_over_the_total_limit_is_refused_at_once(model):
    pinning = ",".join(["blocking:599999"] * 253)  # each phase under 600 s, 42 hours in all
    with serving(model, **KNOBS[model]) as server:
        for path in (f"/guest?phases={pinning}", "/guest?io=400000&blocking=400000"):
            reply = get(server.port, path, timeout=5)
            assert reply.status == 400, reply.body
            assert f"{MAX_REQUEST_SECONDS:g} s".encode() in reply.body
            assert b"MAX_REQUEST_SECONDS" in reply.body
        assert get(server.port, "/health", timeout=5).status == 200

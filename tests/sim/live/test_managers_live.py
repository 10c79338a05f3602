"""The managers, live: the minimal arbiter tours like Gunicorn's, and uvicorn's supervisor
never kills a held loop. (That the real runners of ``uvicorn --workers`` and ``gunicorn
-k asgi`` start, serve and stop with nothing left, their process group included, is
test_loadgen_real's, which runs every real server.)

Measured against real Gunicorn 27 (``sim.model.arbiter``): a sync worker silent past
``--timeout`` gets SIGABRT on the first tour after it and answers its guest HTTP 500.
Timing tolerance: the tour comes between ``--timeout`` and ``--timeout`` + 1 s; a loaded
2-core machine adds scheduling delay, so the bounds below leave 0.8 s beyond that.
"""

from __future__ import annotations

import time
from pathlib import Path

from sim.trace import REASON_TIMEOUT, Failed, WorkerKilled
from tests.sim.live.conftest import get, read_trace, serving


def test_a_silent_sync_worker_answers_500_on_the_tour_after_the_timeout(trace_path: Path):
    with serving("sync", workers=1, timeout=1, report=str(trace_path)) as server:
        begin = time.monotonic()
        reply = get(server.port, "/guest?io=4000", headers={"X-Guest-Id": "42"})
        took = time.monotonic() - begin
        assert get(server.port, "/guest?io=1").status == 200  # a new worker serves
    assert reply.status == 500  # SIGABRT: the guest is told, as Gunicorn's sync worker does
    assert 1.0 < took < 2.8  # the first tour past 1 s (and not the 4 s the guest wanted)
    events = read_trace(trace_path)
    failed = [e for e in events if isinstance(e, Failed)]
    assert [(e.guest, e.reason) for e in failed] == [(42, REASON_TIMEOUT)]  # told once
    assert [e.reason for e in events if isinstance(e, WorkerKilled)] == [REASON_TIMEOUT]


def test_a_supervised_loop_blocked_past_the_timeout_is_not_killed(trace_path: Path):
    # uvicorn --workers: the supervisor's ping is answered by a thread, not the loop.
    with serving("supervised", workers=1, timeout=1, report=str(trace_path)) as server:
        reply = get(server.port, "/guest?blocking=2500")
    assert reply.status == 200
    assert not [e for e in read_trace(trace_path) if isinstance(e, WorkerKilled)]

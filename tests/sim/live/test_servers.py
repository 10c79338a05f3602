"""The four live servers on loopback: phases done for real, and each model's shape.

Short phases (tens of ms) keep this CI-sized; the claims are about order (who
overlaps whom), which short phases show as well as long ones.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sim.trace import (
    REASON_LIMIT,
    REASON_TIMEOUT,
    Failed,
    Finished,
    LoopBlocked,
    PhaseEnded,
    PhaseStarted,
    ServerStarted,
    WorkerBooted,
    WorkerKilled,
    from_json,
)
from tests.sim.live.conftest import Reply, get, overlap, read_trace, serving

KNOBS = {
    "sync": {"workers": 2},
    "threaded": {"workers": 2, "threads": 2},
    "async": {},
    "hybrid": {"workers": 2},
}


def at_once(port: int, paths: list[str]) -> list[Reply]:
    """Send every request at the same moment, each on its own connection."""
    with ThreadPoolExecutor(len(paths)) as pool:
        return list(pool.map(lambda path: get(port, path), paths))


def served(replies: list[Reply]) -> list[tuple[float, float]]:
    return [(r.time("started"), r.time("finished")) for r in replies]


@pytest.mark.parametrize("model", list(KNOBS))
def test_each_model_does_the_phases_for_real(model: str, trace_path: Path):
    with serving(model, report=str(trace_path), **KNOBS[model]) as server:
        reply = get(server.port, "/guest?cpu=20&io=50", headers={"X-Guest-Id": "41"})
        hello = get(server.port, "/")
    assert reply.status == 200, reply.body
    assert hello.status == 200 and b"Hello" in hello.body
    assert reply.headers["x-guest"] == "41"
    assert reply.time("accepted") <= reply.time("started") <= reply.time("finished")
    assert reply.time("finished") - reply.time("started") >= 0.070

    events = read_trace(trace_path)
    assert isinstance(events[0], ServerStarted) and events[0].model == model
    assert sum(isinstance(e, WorkerBooted) for e in events) == KNOBS[model].get("workers", 1) * (
        KNOBS[model].get("threads", 1)
    )
    starts = {e.phase: e.t for e in events if isinstance(e, PhaseStarted) and e.guest == 41}
    ends = {e.phase: e.t for e in events if isinstance(e, PhaseEnded) and e.guest == 41}
    assert ends["cpu"] - starts["cpu"] >= 0.020
    assert ends["io"] - starts["io"] >= 0.050
    assert any(isinstance(e, Finished) and e.guest == 41 for e in events)
    assert str(reply.headers["x-worker"]) == str(
        next(e.worker for e in events if isinstance(e, Finished))
    )


def test_sync_serves_at_most_w_guests_at_once():
    with serving("sync", workers=2) as server:
        start = time.monotonic()
        replies = at_once(server.port, ["/guest?io=150"] * 5)
        took = time.monotonic() - start
    assert [r.status for r in replies] == [200] * 5
    assert overlap(served(replies)) <= 2
    assert took >= 0.45  # three rounds of 150 ms: 2 + 2 + 1
    assert {r.headers["x-worker"] for r in replies} <= {"0", "1"}


def test_threaded_serves_w_times_t_at_once():
    with serving("threaded", workers=1, threads=3) as server:
        replies = at_once(server.port, ["/guest?io=150"] * 5)
    assert overlap(served(replies)) == 3
    assert {r.headers["x-worker"] for r in replies} <= {"0", "1", "2"}


def test_async_overlaps_io_but_not_blocking(trace_path: Path):
    with serving("async", report=str(trace_path)) as server:
        start = time.monotonic()
        waiting = at_once(server.port, ["/guest?io=200"] * 5)
        io_took = time.monotonic() - start
        blocked = at_once(server.port, ["/guest?blocking=100"] * 3)
    assert io_took < 0.4
    assert overlap(served(waiting)) == 5  # all five wait for the kitchen together
    assert all(r.status == 200 for r in blocked)
    events = read_trace(trace_path)
    dozing = phases(events, "blocking")
    assert len(dozing) == 3
    assert overlap(dozing) == 1  # one at a time: the loop itself was stuck
    assert sum(isinstance(e, LoopBlocked) for e in events) == 3


def phases(events: list, kind: str) -> list[tuple[float, float]]:
    """(start, end) of every phase of ``kind`` in a trace."""
    starts = {e.guest: e.t for e in events if isinstance(e, PhaseStarted) and e.phase == kind}
    ends = {e.guest: e.t for e in events if isinstance(e, PhaseEnded) and e.phase == kind}
    return [(starts[g], ends[g]) for g in starts if g in ends]


@pytest.mark.parametrize("model", ["sync", "hybrid"])
def test_a_worker_stuck_past_timeout_is_killed_and_replaced(model: str, trace_path: Path):
    with serving(model, workers=1, timeout=1, report=str(trace_path)) as server:
        first = get(server.port, "/guest?cpu=1")
        start = time.monotonic()
        if model == "sync":  # SIGABRT: Gunicorn's sync worker answers 500, and so does ours
            reply = get(server.port, "/guest?blocking=5000", headers={"X-Guest-Id": "7"})
            assert reply.status == 500
        else:  # an event loop worker has no SIGABRT handler: the connection just closes
            with pytest.raises((http.client.HTTPException, ConnectionError)):
                get(server.port, "/guest?blocking=5000", headers={"X-Guest-Id": "7"})
        assert time.monotonic() - start < 3.0  # on the first tour past 1 s, not after 5 s
        after = get(server.port, "/guest?cpu=1")
    assert after.status == 200
    assert after.headers["x-worker"] == first.headers["x-worker"] == "0"  # the same slot
    assert after.headers["x-worker-pid"] != first.headers["x-worker-pid"]  # a new process
    events = read_trace(trace_path)
    assert WorkerKilled in {type(e) for e in events}
    assert next(e for e in events if isinstance(e, WorkerKilled)).reason == REASON_TIMEOUT
    assert sum(isinstance(e, WorkerBooted) for e in events) == 2
    if model == "sync":  # the arbiter knows whose request died with a sync worker
        assert any(isinstance(e, Failed) and e.guest == 7 for e in events)


def test_limit_concurrency_answers_503_with_n_minus_1_in_flight(trace_path: Path):
    """As uvicorn: a 503 when the open connections, the newcomer's own and idle ones
    included, reach --limit-concurrency 3. So two guests in flight turn the third away,
    and so does one guest in flight beside an idle connection. Timing: each guest in
    flight is sent 0.25 s before the probe and lasts 0.8 s, so it is surely inside
    (accept and parse take ms on an idle loop) and surely not gone yet."""
    with serving("async", limit_concurrency=3, report=str(trace_path)) as server:
        with ThreadPoolExecutor(2) as pool:
            long = [pool.submit(get, server.port, "/guest?io=800")]
            time.sleep(0.1)
            long.append(pool.submit(get, server.port, "/guest?io=800"))
            time.sleep(0.25)
            two_inside = get(server.port, "/guest?io=1")
            assert [f.result().status for f in long] == [200, 200]
        with socket.create_connection(("127.0.0.1", server.port)) as idle:
            with ThreadPoolExecutor(1) as pool:
                one = pool.submit(get, server.port, "/guest?io=800")
                time.sleep(0.25)
                one_and_idle = get(server.port, "/guest?io=1")
                assert one.result().status == 200
            idle.close()
        time.sleep(0.1)
        later = get(server.port, "/guest?io=1")
    assert two_inside.status == 503 and b"--limit-concurrency" in two_inside.body
    assert two_inside.headers.get("connection") == "close"
    assert one_and_idle.status == 503
    assert later.status == 200
    failed = [e for e in read_trace(trace_path) if isinstance(e, Failed)]
    assert len(failed) == 2 and {e.reason for e in failed} == {REASON_LIMIT}


@pytest.mark.parametrize("model", ["sync", "async"])
def test_bad_guest_query_is_a_400_and_the_server_goes_on(model: str):
    with serving(model) as server:
        bad = get(server.port, "/guest?cpu=lots")
        missing = get(server.port, "/nowhere")
        good = get(server.port, "/health")
    assert bad.status == 400 and b"cpu" in bad.body
    assert missing.status == 404
    assert good.status == 200


def test_a_worker_that_dies_is_replaced_in_its_slot(trace_path: Path):
    with serving("sync", workers=1, report=str(trace_path)) as server:
        first = get(server.port, "/health")
        os.kill(int(get(server.port, "/guest?cpu=1").headers["x-worker-pid"]), signal.SIGKILL)
        deadline = time.monotonic() + 5
        while True:  # the arbiter notices (SIGCHLD) and forks a new worker into slot 0
            try:
                after = get(server.port, "/guest?cpu=1", timeout=2.0)
                break
            except (OSError, http.client.HTTPException):
                assert time.monotonic() < deadline
    assert first.status == after.status == 200
    assert after.headers["x-worker"] == "0"
    killed = [e for e in read_trace(trace_path) if isinstance(e, WorkerKilled)]
    assert len(killed) == 1 and killed[0].reason.startswith("died")


def test_reports_reach_an_observer_on_a_unix_socket(tmp_path: Path):
    path = tmp_path / "observer.sock"
    received: list[bytes] = []
    stopped = threading.Event()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as observer:
        observer.bind(str(path))
        observer.listen(8)
        observer.setblocking(False)

        def listen() -> None:  # one connection per server process, read to its end
            streams: dict[socket.socket, list[bytes]] = {}
            while not stopped.is_set() or streams:
                with contextlib.suppress(BlockingIOError):
                    conn, _ = observer.accept()
                    conn.setblocking(False)
                    streams[conn] = []
                for conn, chunks in list(streams.items()):
                    try:
                        data = conn.recv(65536)
                    except BlockingIOError:
                        continue
                    if data:
                        chunks.append(data)
                    else:
                        received.append(b"".join(chunks))
                        del streams[conn]
                        conn.close()
                time.sleep(0.005)

        thread = threading.Thread(target=listen)
        thread.start()
        try:
            with serving("hybrid", workers=2, report=str(path)) as server:
                get(server.port, "/guest?io=10")
        finally:
            stopped.set()
            thread.join(10)
    lines = [line for stream in received for line in stream.decode().splitlines()]
    events = sorted((from_json(line) for line in lines), key=lambda e: e.t)  # one clock
    kinds = [e.kind for e in events]
    assert len(received) == 3  # the master and each worker spoke on their own connection
    assert kinds[0] == "server_started"
    assert {"worker_booted", "arrived", "started", "phase_started", "finished"} <= set(kinds)

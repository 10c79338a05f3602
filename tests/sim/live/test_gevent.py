"""The gevent worker (``gunicorn -k gevent --worker-connections N``), ours and the real one.

The claims are about rounds, not milliseconds: with N connections a worker, 2N guests
of io sent together are served in two rounds, the second accepted only when the first
leaves (they waited in the kernel's line, not inside); a blocking call holds every
other guest of the hub. This machine is shared and loaded, so every bound is wide and
stated beside it; the rounds are what must show.
"""

from __future__ import annotations

import http.client
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from sim.live.config import ConfigError, ServerConfig, check
from sim.live.real import command, missing, start_real
from sim.scenario import build_scenario
from sim.trace import REASON_TIMEOUT, LoopBlocked, WorkerBooted, WorkerKilled
from tests.sim.live.conftest import (
    Reply,
    at_once,
    get,
    my_children,
    overlap,
    read_trace,
    rounds,
    serving,
    wait_gone,
)

CONNECTIONS = 4
IO_MS = 200


def blocked_behind(port: int, blocking_ms: int) -> tuple[Reply, Reply, float]:
    """A blocking guest, then 50 ms later an io:10 guest: both replies, and how long the
    io guest took from its send."""
    with ThreadPoolExecutor(2) as pool:
        stuck = pool.submit(get, port, f"/guest?blocking={blocking_ms}")
        time.sleep(0.05)
        sent = time.monotonic()
        quick = pool.submit(get, port, "/guest?io=10")
        quick_reply = quick.result()
        took = time.monotonic() - sent
        return stuck.result(), quick_reply, took


# --- our minimal server ---------------------------------------------------------------


def test_a_full_worker_stops_accepting_and_the_rest_wait_in_the_line(trace_path: Path):
    with serving("gevent", worker_connections=CONNECTIONS, report=str(trace_path)) as server:
        replies, took = at_once(server.port, [f"/guest?io={IO_MS}"] * (2 * CONNECTIONS))
    assert all(r.status == 200 for r in replies), [r.body for r in replies]  # none refused
    # Two rounds of 200 ms: about 400 ms. Not one round (< 300 ms), not three (600 ms);
    # the upper bound is wide for a busy machine, the start times tell the rounds apart.
    assert 0.38 <= took < 1.2, took
    begun = rounds(replies)
    assert begun[CONNECTIONS - 1] < 0.15, begun  # the first N together
    assert begun[CONNECTIONS] >= 0.18, begun  # the rest only once a slot frees
    served = [(r.time("started"), r.time("finished")) for r in replies]
    assert overlap(served) == CONNECTIONS
    # ...and they were not taken in and kept waiting inside: accepted late, at once served
    for reply in replies:
        assert reply.time("started") - reply.time("accepted") < 0.05, reply.headers
    assert {r.headers["x-worker"] for r in replies} == {"0"}
    events = read_trace(trace_path)
    assert sum(isinstance(e, WorkerBooted) for e in events) == 1


def test_a_blocking_call_stalls_every_guest_of_the_worker(trace_path: Path):
    with serving("gevent", report=str(trace_path)) as server:
        stuck, quick, took = blocked_behind(server.port, 300)
    assert stuck.status == quick.status == 200
    # io:10 sent 50 ms into a 300 ms blocking call waits for the rest of it: about
    # 250 ms, where a free hub answers in about 10 ms.
    assert took >= 0.2, took
    assert quick.time("started") >= stuck.time("finished") - 0.01
    assert any(isinstance(e, LoopBlocked) for e in read_trace(trace_path))


def test_a_hub_stalled_past_timeout_is_killed_and_replaced(trace_path: Path):
    with serving("gevent", timeout=1, report=str(trace_path)) as server:
        first = get(server.port, "/guest?io=1")
        begin = time.monotonic()
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            get(server.port, "/guest?blocking=5000")
        assert time.monotonic() - begin < 3.0  # killed after about 1 s, not after 5 s
        after = get(server.port, "/guest?io=1")
    assert after.headers["x-worker-pid"] != first.headers["x-worker-pid"]  # a new process
    killed = [e for e in read_trace(trace_path) if isinstance(e, WorkerKilled)]
    assert [e.reason for e in killed] == [REASON_TIMEOUT]


def test_the_knob_is_gevents_alone_and_goes_to_the_child():
    config = check(ServerConfig(model="gevent", workers=2, worker_connections=7))
    argv = config.to_argv()
    assert argv[argv.index("--worker-connections") + 1] == "7"
    assert "-k gevent --worker-connections 7" in config.real_command()
    with pytest.raises(ConfigError, match="gevent"):
        check(ServerConfig(model="hybrid", worker_connections=7))
    with pytest.raises(ConfigError, match="MAX_WORKER_CONNECTIONS"):
        check(ServerConfig(model="gevent", worker_connections=10**9))


# --- the real gunicorn -k gevent ---------------------------------------------------------


@pytest.fixture
def real_gevent():
    why = missing("gunicorn-gevent")
    if why:
        pytest.skip(why)

    def start(**knobs):
        return start_real("gunicorn-gevent", build_scenario({"model": "gevent", **knobs}))

    return start


def test_the_real_command_is_gunicorn_k_gevent():
    scenario = build_scenario({"model": "gevent", "workers": 2, "worker_connections": 7})
    argv = command("gunicorn-gevent", scenario, 8000)
    assert argv[argv.index("--worker-class") + 1] == "gevent"
    assert argv[argv.index("--worker-connections") + 1] == "7"
    assert argv[-1] == "sim.live.apps:wsgi_app"


def test_real_gevent_yields_on_io_and_stalls_on_an_unpatched_call(real_gevent):
    before = my_children()
    server = real_gevent()
    try:
        pids = {server.pid} | {p.pid for p in psutil.Process(server.pid).children(True)}
        get(server.port, "/guest?io=1")
        replies, took = at_once(server.port, [f"/guest?io={IO_MS}"] * 20)
        stuck, quick, blocked_took = blocked_behind(server.port, 200)
    finally:
        server.stop()
    assert all(r.status == 200 for r in replies)
    # 20 guests of 200 ms in about one round (a hub that did not yield would take 4 s);
    # the bound leaves room for 20 client threads on a loaded machine.
    assert took < 0.8, took
    assert len({r.headers["x-worker"] for r in replies}) == 1  # one hub served them all
    assert stuck.status == quick.status == 200
    assert blocked_took >= 0.12, blocked_took  # io:10 waited for the rest of 200 ms
    assert my_children() <= before, "the real server outlived stop()"
    assert not wait_gone(pids, within=5.0)


def test_real_gevent_worker_connections_leave_the_rest_in_the_line(real_gevent):
    server = real_gevent(worker_connections=CONNECTIONS)
    try:
        get(server.port, "/guest?io=1")
        replies, took = at_once(server.port, [f"/guest?io={IO_MS}"] * (2 * CONNECTIONS))
    finally:
        server.stop()
    assert all(r.status == 200 for r in replies)  # no 503: gevent has none
    assert 0.38 <= took < 1.2, took  # two rounds, as our own server
    begun = rounds(replies)
    assert begun[CONNECTIONS - 1] < 0.15 and begun[CONNECTIONS] >= 0.18, begun

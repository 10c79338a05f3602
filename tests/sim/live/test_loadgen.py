"""The load generator against a tiny in-process server: schedule, bounds, honesty.

The tiny server (``loadgen_tiny_server``) runs its own event loop in a thread, so the
generator and the server share one process and one GIL: timing tolerances here are
wide on purpose (tens of ms), because CI machines are shared and slow. Precision is
measured in ``benchmarks/bench_loadgen.py``, not asserted here.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import socket
import threading
import time

import pytest

from sim.live import loadgen
from sim.live.loadgen import (
    MAX_DURATION,
    MAX_GUESTS,
    MAX_TIMEOUT,
    Generator,
    LoadgenError,
    hit,
    parse_target,
    schedule,
)
from sim.run import simulate
from sim.scenario import build_scenario
from sim.trace import Arrived
from tests.sim.live.loadgen_tiny_server import TinyServer


@pytest.fixture
def server():
    with TinyServer() as tiny:
        yield tiny


def scenario(**values):
    return build_scenario({"model": "async", **values})


def test_schedule_is_the_simulations_guests():
    s = scenario(rate=200, io="exp:20", cpu="uniform:1,3", guests=300, seed=7)
    arrivals: list[float] = []
    simulate(s, lambda e: arrivals.append(e.t) if isinstance(e, Arrived) else None)
    guests = list(schedule(s))
    assert [g.arrival for g in guests] == pytest.approx(arrivals, abs=1e-9)
    assert guests == list(itertools.islice(s.workload.guests(), 300))


def test_overhead_is_not_sent_to_a_real_server():
    plain = list(schedule(scenario(rate=50, io="exp:20", guests=20)))
    padded = list(schedule(scenario(rate=50, io="exp:20", guests=20, overhead=3)))
    assert padded == plain  # the real server has its own overhead


def test_guests_leave_at_their_scheduled_instants(server):
    s = scenario(rate=100, io=5, guests=60, seed=3)
    gen = Generator(parse_target(server.url), s)
    result = gen.run()
    planned = [g.arrival for g in schedule(s)]
    assert [shot.intended - gen.t0 for shot in result.shots] == pytest.approx(planned, abs=1e-9)
    assert result.summary.served == 60
    # Each guest sets out near its instant: 50 ms is far beyond a healthy lag (< 2 ms)
    # and far below the 10 ms mean gap, so a generator that waited on the server fails.
    assert result.send_lag.summary_ms()["p50"] < 50
    assert server.requests == 60


def test_the_cyclic_gc_is_held_only_while_the_loop_is_the_generators(server):
    seen: list[bool] = []

    def look(_snapshot) -> None:
        seen.append(gc.isenabled())

    s = scenario(rate=100, io=1, duration=0.6, seed=2)
    Generator(parse_target(server.url), s, on_progress=look).run()
    assert seen and not any(seen)  # held during run() (the last look is after the run)
    assert gc.isenabled()  # and given back
    seen.clear()

    async def inside_someone_elses_loop() -> None:
        await Generator(parse_target(server.url), s, on_progress=look).arun()

    asyncio.run(inside_someone_elses_loop())
    assert seen and all(seen)
    seen.clear()
    # run() from a worker thread (as the app's lesson player does): the GC is the
    # whole process's, so it is not the generator's to hold
    worker = threading.Thread(target=Generator(parse_target(server.url), s, on_progress=look).run)
    worker.start()
    worker.join(30)
    assert seen and all(seen)


def test_finished_connections_leave_no_garbage_cycles(server):
    """Each closed asyncio transport is a reference cycle that only the cyclic GC
    frees; run() holds the GC, so the generator cuts its transports' cycles."""
    port = parse_target(server.url).port
    gc.collect()
    gc.disable()  # run() gives the GC back at its end, which would hide the garbage
    gc.set_debug(gc.DEBUG_SAVEALL)  # keep what a collection finds, to look at it
    try:
        result = Generator(parse_target(server.url), scenario(rate=500, io=0, guests=400)).run()
        gc.collect()
        ours = [  # the generator's transports (the tiny server's, in this process, are not)
            obj for obj in gc.garbage
            if isinstance(obj, asyncio.Transport)
            and (obj.get_extra_info("peername") or ("", 0))[1] == port
        ]  # fmt: skip
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert result.summary.served == 400
    assert ours == []  # without the cut: one per guest


def test_open_loop_shows_the_freeze_a_closed_loop_hides(server):
    """A server frozen for 1 s of a 2.5 s run (time.sleep on its event loop).

    Open loop at 100/s: every guest due during the freeze waits for its end, so about
    a third of all guests see hundreds of ms. Closed loop, one user: it sends nothing
    while it waits, so the freeze is one slow request among ~150 fast ones.
    """
    server.freeze_at(0.6, 1.0)
    open_loop = hit(server.url, scenario(rate=100, io=5, duration=2.5, seed=1))
    server.freeze_at(0.6, 1.0)
    closed = hit(server.url, scenario(users=1, think=10, io=5, duration=2.5, seed=1))
    o, c = open_loop.summary.latency_ms, closed.summary.latency_ms
    assert o["max"] > 700 and c["max"] > 700  # both saw the freeze once at least
    assert o["p90"] > 300  # open loop: the freeze lands on many guests
    assert c["p90"] < 100  # closed loop: it hides behind one request
    assert o["mean"] > 4 * c["mean"]


def test_non_loopback_refused_unless_allowed():
    with pytest.raises(LoadgenError, match="--allow-remote"):
        Generator(parse_target("http://192.0.2.1:8000"), scenario(rate=10, guests=1))
    with pytest.raises(LoadgenError, match="http://"):
        parse_target("https://127.0.0.1:8000")


def test_hard_caps():
    with pytest.raises(LoadgenError, match="--guests"):
        Generator(parse_target("127.0.0.1:1"), scenario(rate=10, guests=MAX_GUESTS + 1))
    with pytest.raises(LoadgenError, match="--duration"):
        Generator(parse_target("127.0.0.1:1"), scenario(rate=10, duration=MAX_DURATION + 1))


def test_run_ends_on_time_even_when_the_server_never_answers(server):
    s = scenario(rate=50, io=60_000, duration=1.0)
    began = time.monotonic()
    result = hit(server.url, s, timeout=0.5)
    took = time.monotonic() - began
    assert 1.0 < took < 2.5  # 1 s of sending + 0.5 s timeout + slack
    assert result.summary.served == 0
    # the client gave up (its whole-request cap): timed out, as the client saw it
    assert result.summary.turned_away_by == {"timed_out": len(result.shots)}
    assert len(result.shots) > 30 and result.summary.failed == 0


def test_refused_connections_are_turned_away():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = hit(f"127.0.0.1:{port}", scenario(rate=200, guests=20))
    assert result.summary.turned_away_by == {"refused": 20}
    assert result.summary.served == 0


def test_keep_alive_reuses_connections(server):
    result = hit(server.url, scenario(users=2, io=2, guests=100), keep_alive=True)
    assert result.summary.served == 100
    assert len({shot.guest for shot in result.shots}) == 100
    assert server.connections <= 4  # two users, a connection each (and slack)


def test_wait_comes_from_the_servers_clock(server):
    result = hit(server.url, scenario(rate=50, io=20, guests=40))
    summary = result.summary
    assert summary.wait_ms["p50"] < summary.latency_ms["p50"]
    assert 15 < summary.latency_ms["p50"] < 120  # 20 ms of io, plus the shared GIL


def test_slow_upload_delays_the_handler(server):
    result = hit(server.url, scenario(rate=20, upload=200, io=1, guests=6))
    assert result.summary.served == 6
    assert result.summary.latency_ms["p50"] >= 195  # sent over 200 ms, then answered


def test_json_shape_matches_simulate(server):
    result = hit(server.url, scenario(rate=50, io=1, guests=10))
    data = result.to_dict()
    simulated = simulate(scenario(rate=50, io=1, guests=10)).to_dict()
    assert set(simulated) <= set(data)
    assert data["generator"]["loop"] == "open"
    assert set(data["send_lag_ms"]) == set(simulated["latency_ms"])


def test_request_timeout_and_rate_times_duration_are_capped():
    target = parse_target("127.0.0.1:1")
    with pytest.raises(LoadgenError, match="--request-timeout: at most 60 s"):
        Generator(target, scenario(rate=10, guests=1), timeout=1e9)
    with pytest.raises(LoadgenError, match=f"at most {MAX_GUESTS:,} guests per run"):
        Generator(target, scenario(rate=1e6, duration=1))
    with pytest.raises(LoadgenError, match="cannot read"):
        parse_target("http://[::1")


def test_hard_stop_holds_whatever_the_request_timeout(server, monkeypatch):
    """A server that never answers and the longest timeout: the run still ends on time."""
    monkeypatch.setattr(loadgen.generator, "END_GRACE", 0.3)
    s = scenario(rate=20, io=600_000, duration=0.5)
    began = time.monotonic()
    result = hit(server.url, s, timeout=MAX_TIMEOUT)
    took = time.monotonic() - began
    assert took < 0.5 + 0.3 + 1.0 + 1.0  # sending + grace + the second + slack
    assert result.summary.served == 0
    assert result.summary.turned_away_by == {"timed_out": len(result.shots)}
    assert len(result.shots) > 3


def test_a_schedule_it_cannot_keep_still_stops_at_the_hard_stop(monkeypatch):
    """Each launch made slow (2 ms): 3,000 guests due in 1 s would take 6 s to send."""
    with socket.socket() as probe:  # a port nobody listens on: every connect is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    launch = Generator._launch
    turns = []

    def slow_launch(self, guest, intended):
        time.sleep(0.002)
        launch(self, guest, intended)

    monkeypatch.setattr(Generator, "_launch", slow_launch)
    gen = Generator(parse_target(f"127.0.0.1:{port}"), scenario(rate=3000, duration=1.0),
                    timeout=0.1)

    async def run():
        loop = asyncio.get_running_loop()

        def count():  # one call per loop turn, to see the sender let the loop run
            turns.append(len(gen.shots))
            if len(turns) < 100_000:
                loop.call_soon(count)

        loop.call_soon(count)
        return await gen.arun()

    began = time.monotonic()
    result = asyncio.run(run())
    took = time.monotonic() - began
    assert took < 1.0 + 0.1 + 1.0 + 0.8  # the hard stop, whatever was left unsent
    assert len(result.shots) < 2000
    assert max(b - a for a, b in itertools.pairwise(turns)) <= loadgen.LAUNCH_BATCH


def test_the_host_is_resolved_once_and_the_checked_address_is_dialled(server, monkeypatch):
    """A name that says loopback to the check and elsewhere later is never dialled there."""
    calls = []

    def fake_getaddrinfo(host, port, *args, **kwargs):
        calls.append(host)
        ip = "127.0.0.1" if len(calls) == 1 else "192.0.2.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    result = hit(f"http://partyhost-test.invalid:{server.port}", scenario(rate=100, guests=5),
                 timeout=1.0)
    assert calls == ["partyhost-test.invalid"]
    assert result.summary.served == 5

"""The threadpool server (Starlette ``def`` endpoints): T threads, one GIL, one loop.

The claims are about rounds, not milliseconds: with T threads, 2T guests of io sent
together are served in two rounds; cpu phases of several threads take turns on one
GIL, so four of them last about as long as four in a row. This machine is shared and
loaded, so every bound is wide and stated beside it; the rounds are what must show.
"""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from sim.live.real import missing, start_real
from sim.scenario import build_scenario
from sim.trace import Finished, PhaseEnded, PhaseStarted, Started, WorkerBooted
from tests.sim.live.conftest import (
    alive,
    at_once,
    exchange,
    get,
    my_children,
    overlap,
    read_trace,
    rounds,
    serving,
    tree,
    wait_gone,
)

THREADS = 4
IO_MS = 200


def test_io_guests_overlap_up_to_t_threads_then_wait_for_a_token(trace_path: Path):
    with serving("threadpool", threads=THREADS, report=str(trace_path)) as server:
        get(server.port, "/guest?io=1")  # the pool's threads start on first use
        replies, took = at_once(server.port, [f"/guest?io={IO_MS}"] * (2 * THREADS))
    assert all(r.status == 200 for r in replies), [r.body for r in replies]
    # Two rounds of 200 ms: 400 ms plus connection and thread overheads. Not one round
    # (< 300 ms), not three or more (>= 600 ms); the upper bound is wide for a busy
    # machine, and the start times below tell the rounds apart exactly.
    assert 0.38 <= took < 1.2, took
    starts = rounds(replies)
    assert starts[THREADS - 1] < 0.15, starts  # the first T start together, in round one
    assert starts[THREADS] >= 0.18, starts  # the rest wait for a token: about 200 ms
    served = [(float(r.headers["x-started-at"]), float(r.headers["x-finished-at"]))
              for r in replies]  # fmt: skip
    assert overlap(served) == THREADS  # never more than T at once, and T do overlap
    assert {r.headers["x-worker"] for r in replies} <= {str(i) for i in range(THREADS)}

    events = read_trace(trace_path)
    assert sorted(e.worker for e in events if isinstance(e, WorkerBooted)) == list(range(THREADS))
    guests = {int(r.headers["x-guest"]) for r in replies}
    for guest in guests:  # Started, the io phase and Finished, all by the same thread slot
        mine = [e for e in events if getattr(e, "guest", None) == guest]
        kinds = [type(e) for e in mine if isinstance(e, Started | PhaseStarted | PhaseEnded |
                                                      Finished)]  # fmt: skip
        assert kinds == [Started, PhaseStarted, PhaseEnded, Finished], kinds
        assert len({e.worker for e in mine if hasattr(e, "worker")}) == 1


def covered(intervals: list[tuple[float, float]]) -> float:
    """How long at least one interval was open (the length of their union)."""
    total, end = 0.0, float("-inf")
    for begin, finish in sorted(intervals):
        total += max(0.0, finish - max(begin, end))
        end = max(end, finish)
    return total


def test_cpu_phases_take_turns_on_one_gil():
    with serving("threadpool", threads=THREADS) as server:
        get(server.port, "/guest?io=1")
        replies, took = at_once(server.port, ["/guest?cpu=50"] * 4)
    assert all(r.status == 200 for r in replies)
    # Four threads each spin 50 ms of their own CPU time, but only one holds the GIL at
    # a time: at least 200 ms in all, like four in a row, where threads free of the GIL
    # would take 100 ms on two idle cores (50 on four). 160 ms leaves room for the
    # spin's granularity; the upper bound is for a loaded machine.
    assert 0.16 <= took < 1.5, took
    served = [(float(r.headers["x-started-at"]), float(r.headers["x-finished-at"]))
              for r in replies]  # fmt: skip
    assert overlap(served) >= 2  # they were in their threads at the same time...
    # ...and stretched each other. The four do not start together: the loop that accepts
    # and parses them needs the GIL too, and once two threads spin it waits its turn
    # among them (a released GIL goes to whichever waiter the OS wakes, not the one that
    # waited longest). Measured on an idle machine: starts 0, 5, 102, 108 ms, two pairs
    # each lasting 2 x 50 ms, so the longest guest took 99 ms (CI saw 98 against the
    # old bound, "the longest >= 100 ms", which held only if all four started at once;
    # it also held for four processes on two cores, 104-172 ms: no GIL needed).
    # What holds whenever they start: only one thread runs at a time, so their 200 ms of
    # CPU fills at least 200 ms of the time some guest is in service, however much they
    # overlap; free threads on idle cores would fill 200 ms minus the time two or more
    # were in service together (four processes on two cores: 109-128 ms, 187 once on a
    # loaded machine, which can hide a missing GIL as it always could). 5 ms below
    # 200 is for the CPU a thread spends outside the GIL, waking in its wait for it
    # (measured: at least 200.5 ms in 40 runs, idle and loaded; side by side: 169 ms
    # or more).
    together = sum(end - begin for begin, end in served) - covered(served)
    assert together >= 0.05, (together, served)  # a phase's length side by side...
    assert covered(served) >= 0.195, (covered(served), served)  # ...yet one after another


def test_a_malformed_request_is_a_4xx_and_the_server_goes_on():
    with serving("threadpool", threads=2) as server:
        garbage = exchange(server.port, b"THIS IS NOT HTTP\r\n\r\n")
        bad_guest = get(server.port, "/guest?cpu=lots")
        after = get(server.port, "/guest?io=10")
    assert garbage.startswith(b"HTTP/1.1 4"), garbage[:80]
    assert bad_guest.status == 400 and b"cpu=lots" in bad_guest.body
    assert after.status == 200


def test_sigterm_stops_it_and_leaves_no_process(tmp_path: Path):
    before = my_children()
    with serving("threadpool", threads=THREADS) as server:
        pids = tree(server.pid)
        assert pids == {server.pid}  # one process, no manager: a lone uvicorn
        get(server.port, "/guest?io=10")
        begin = time.monotonic()
        server.signal(signal.SIGTERM)
        code = server.popen.wait(10.0)
        stopped_in = time.monotonic() - begin
    assert code == 0
    assert stopped_in < 3.0, stopped_in  # idle: no grace period to wait out
    assert not wait_gone(pids | (my_children() - before), within=5.0)
    assert not alive(pids)


def test_real_uvicorn_def_serves_t_at_once_in_two_rounds():
    why = missing("uvicorn-def")
    if why:
        pytest.skip(why)
    scenario = build_scenario({"model": "threadpool", "threads": THREADS})
    before = my_children()
    server = start_real("uvicorn-def", scenario)
    try:
        pids = {server.pid} | {p.pid for p in psutil.Process(server.pid).children(True)}
        assert f"PARTYHOST_THREADS={THREADS}" in server.command_line
        get(server.port, "/guest?io=1")
        replies, took = at_once(server.port, [f"/guest?io={IO_MS}"] * (2 * THREADS))
    finally:
        server.stop()
    assert all(r.status == 200 for r in replies), [r.body for r in replies]
    # AnyIO's limiter has THREADS tokens (its default is 40, which would be one round of
    # about 200 ms): two rounds, about 400 ms; bounds as for our own server.
    assert 0.38 <= took < 1.2, took
    starts = rounds(replies)
    assert starts[THREADS - 1] < 0.15 and starts[THREADS] >= 0.18, starts
    assert len({r.headers["x-worker"] for r in replies}) <= THREADS  # pid.thread: T threads
    assert my_children() <= before, "the real server outlived stop()"
    assert not wait_gone(pids, within=5.0)


def test_limit_concurrency_counts_guests_waiting_for_a_token_too():
    # uvicorn's --limit-concurrency is checked on the loop, before the limiter, against
    # the open connections, the newcomer's own included: with one thread and a limit of
    # 3, of 4 guests sent 40 ms apart one is served, one waits for the token (and is
    # served a round later), and two get a 503 at once. (Sent together, all four could
    # be accepted before any is parsed, and all four refused, as uvicorn would.)
    with serving("threadpool", threads=1, limit_concurrency=3) as server:
        with ThreadPoolExecutor(4) as pool:
            sent = []
            for _ in range(4):
                sent.append(pool.submit(get, server.port, f"/guest?io={IO_MS}"))
                time.sleep(0.04)
            replies = [f.result() for f in sent]
    assert [r.status for r in replies] == [200, 200, 503, 503]
    assert rounds([r for r in replies if r.status == 200])[1] >= 0.18  # after the first

"""The live kitchen: the minimal servers hold a real bounded pool per process and share
one database limit across processes (``sim.live.handler.Kitchen``).

Requests are sent all at once (``at_once``) and the db phases are long (200-400 ms)
beside the scheduling noise of a loaded 2-core machine (a few ms), so the rounds and
counts below are exact, and the times get 100 ms of slack.

Measured beside the simulation (``partyhost live threadpool --threads 40 --db-pool 5
--db 50 --rate 200 --duration 4``, under the measurement lock, load average ~7): served
95.2 guests/s live against 100.2 simulated and 100 from Little's law (5 / 50 ms); mean
latency 2,489 ms live, 2,276 ms simulated (+9%: each live query sleeps a little over
its 50 ms, and the five connections are the whole bottleneck).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections import Counter

import pytest

from sim.live import handler
from sim.live.config import ConfigError, ServerConfig, check
from sim.trace import DB, REASON_DB_REFUSED, REASON_DB_TIMEOUT, Failed, PhaseEnded, PhaseStarted
from tests.sim.live.conftest import at_once, overlap, read_trace, rounds, serving


def test_forty_threads_behind_a_pool_of_five_take_turns_at_the_kitchen():
    """threadpool, 40 threads, --db-pool 5: ten 200 ms queries at once run as two
    rounds of five, 400 ms in all, though forty threads are free."""
    with serving("threadpool", threads=40, db_pool=5) as server:
        replies, took = at_once(server.port, ["/guest?db=200"] * 10)
    assert [r.status for r in replies] == [200] * 10
    assert 0.4 <= took < 0.4 + 0.3  # two rounds; slack for starting ten connections
    # every thread started at once (the pool, not the threads, makes them wait)
    assert rounds(replies)[-1] < 0.1


def test_the_database_limit_holds_across_worker_processes(trace_path):
    """Two gthread workers of 4 threads, pools of 4, a database of 5: eight 400 ms
    queries at once hold at most 5 connections at any instant, across both processes,
    and the guests that would need a sixth are refused at once. (Usually 5 served and 3
    refused; a process that took a fifth guest serves it later on a kept connection.)"""
    with serving("threaded", workers=2, threads=4, db_pool=4, db_max=5,
                 report=str(trace_path)) as server:
        replies, _ = at_once(server.port, ["/guest?db=400"] * 8)
    events = read_trace(trace_path)
    begun = {e.guest: e.t for e in events if isinstance(e, PhaseStarted) and e.phase == DB}
    queries = [(begun[e.guest], e.t) for e in events
               if isinstance(e, PhaseEnded) and e.phase == DB]
    assert overlap(queries) == 5  # the database full, never over
    refused = [r for r in replies if r.status == 500]
    assert refused and all(b"db_refused" in r.body for r in refused)
    assert len(refused) + len(queries) == 8
    failed = [e for e in events if isinstance(e, Failed)]
    assert Counter(e.reason for e in failed) == {REASON_DB_REFUSED: len(refused)}


def test_a_long_wait_for_a_pool_connection_is_a_500(trace_path):
    """An event loop with --db-pool 1 and --db-timeout 0.2: of three 400 ms queries at
    once one gets the connection; the others give up after 0.2 s with a 500."""
    with serving("async", db_pool=1, db_timeout=0.2, report=str(trace_path)) as server:
        replies, took = at_once(server.port, ["/guest?db=400"] * 3)
    assert sorted(r.status for r in replies) == [200, 500, 500]
    assert 0.4 <= took < 0.4 + 0.1
    failed = [e for e in read_trace(trace_path) if isinstance(e, Failed)]
    assert [e.reason for e in failed] == [REASON_DB_TIMEOUT] * 2


@pytest.mark.parametrize("knobs, message", [
    ({"db_pool": 0}, "--db-pool must be 1.."),
    ({"db_max": 5000}, "--db-max must be 1..4,096"),
    ({"db_timeout": 0.0}, "--db-timeout must be > 0"),
])
def test_bad_live_db_knobs_are_refused(knobs, message):
    with pytest.raises(ConfigError, match=message):
        check(ServerConfig(**knobs))


def test_a_forked_worker_s_threads_share_one_pool():
    """A gthread worker's threads ask for the kitchen all at once, first thing after
    the fork: they must all get the one pool of the process. (Each thread that saw the
    master's pid used to build a pool of its own, and a thread then gave its connection
    back to another's semaphore: "released too many times", a 500 that was not
    db_refused, once in a full run.) Threads switch every microsecond here, to make the
    race likely (it failed on the first of 20 forks before the fix); 20 forks."""
    before = handler._kitchen
    handler.open_kitchen(4, 30.0, 5)
    try:
        for _ in range(20):
            child = os.fork()
            if child == 0:
                os._exit(ask_at_once())
            assert exit_code(child) == 0, "the threads built pools of their own"
    finally:
        handler._kitchen = before


def ask_at_once() -> int:
    """The new worker: 8 threads ask for the kitchen at once; 0 if all got the same."""
    try:
        seen: list[tuple[int, int, int]] = []
        start = threading.Barrier(8)

        def ask() -> None:
            start.wait()
            pool = handler.kitchen()
            seen.append((id(pool.slots), id(pool.lock), id(pool.held)))

        sys.setswitchinterval(1e-6)
        threads = [threading.Thread(target=ask) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return 0 if len(seen) == 8 and len(set(seen)) == 1 else 1
    except BaseException:
        return 2


def exit_code(pid: int, within: float = 20.0) -> int:
    """The child's exit code; killed (and failed) if it has not exited ``within`` s."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return -1

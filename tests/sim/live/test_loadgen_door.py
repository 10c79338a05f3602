"""What the client saw at the door, live: refused, reset, timed out, failed; patience; retries.

The generator files each guest's try as issue 12 defines it (``sim.live.loadgen.shot``):
a connection refused, a reset before the request was sent, or no connection within the
connect timeout is *turned away*; a reset after the request was sent is *failed* (the
server had it: a killed worker looks like this); a guest out of patience hangs up and
is *timed out*, while the server goes on. Each test's servers are tiny and local, the
runs under a second or two; tolerances are stated where a clock is read.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.live.loadgen import FAILED, REFUSED, TIMED_OUT, hit, wasted
from sim.scenario import build_scenario
from sim.trace import Arrived, Finished
from tests.sim.live.conftest import read_trace, serving

SWEEP = 0.05  # s: the generator looks for timeouts this often (sim.live.loadgen.generator)


def scenario(**values):
    return build_scenario({"model": "async", "io": 1, **values})


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:  # bound, never listening: every connect is refused
        probe.bind(("127.0.0.1", 0))
        yield probe.getsockname()[1]


@contextlib.contextmanager
def resetting_server() -> Iterator[int]:
    """Reads each whole request, then closes with SO_LINGER 0: a RST after the request."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(2)
            data = b""
            with contextlib.suppress(OSError):
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def test_a_reset_after_the_request_was_sent_is_failed_not_turned_away():
    with resetting_server() as port:
        result = hit(f"127.0.0.1:{port}", scenario(rate=20, guests=4))
    assert [s.outcome for s in result.shots] == [FAILED] * 4
    assert result.summary.failed_by == {"error": 4}
    assert result.summary.turned_away == 0


def test_no_connection_within_the_connect_timeout_is_timed_out():
    """A listener with backlog 0 that never accepts, its line kept full: SYNs dropped.

    Linux keeps backlog + 1 = 1 connection in the line; the fillers take it (and leave
    SYNs of their own knocking). Tolerance: the sweep runs every 50 ms, plus 450 ms for
    a loaded machine; never earlier than the timeout.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers = [socket.socket() for _ in range(3)]
    try:
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(address)
        time.sleep(0.1)
        result = hit(f"127.0.0.1:{address[1]}", scenario(rate=10, guests=2,
                                                          connect_timeout=1.5))
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
    assert [s.outcome for s in result.shots] == [TIMED_OUT] * 2
    assert result.summary.turned_away_by == {"timed_out": 2}
    for shot in result.shots:
        assert 1.5 <= shot.done - shot.sent <= 1.5 + SWEEP + 0.45


def test_a_guest_out_of_patience_hangs_up_and_the_server_works_on(tmp_path: Path):
    """The minimal async server, io 500 ms, patience 200 ms: timed out at 200 ms (timer,
    +150 ms for a loaded machine), one request at the server, which finishes it anyway."""
    trace = tmp_path / "trace.jsonl"
    with serving("async", report=str(trace)) as server:
        result = hit(server.url, scenario(rate=10, guests=1, io=500, patience="200"))
        time.sleep(0.6)  # the server finishes the guest nobody waits for
    [shot] = result.shots
    assert shot.outcome == TIMED_OUT
    assert 0.2 <= shot.done - shot.intended <= 0.35
    assert result.summary.turned_away_by == {"timed_out": 1}
    assert result.summary.served == 0
    events = read_trace(trace)
    assert sum(isinstance(e, Arrived) for e in events) == 1  # counted once, no retry
    assert sum(isinstance(e, Finished) for e in events) == 1  # the work was for nobody
    assert wasted(result.shots, events) == 1  # as `live` counts it, from the server's trace


def test_retries_knock_again_after_the_doubled_backoff(closed_port):
    """3 guests, 2 retries each, backoff 100 ms doubled: 9 tries, ids in send order.

    Tolerance: a retry leaves 100 ms (then 200 ms) after the try before it was
    refused, up to 60 ms late on a loaded machine (it is a timer on the loop).
    """
    s = scenario(rate=5, guests=3, retries=2, backoff="100", seed=3)
    result = hit(f"127.0.0.1:{closed_port}", s)
    shots = result.shots
    assert [shot.outcome for shot in shots] == [REFUSED] * 9
    assert [shot.guest for shot in shots] == list(range(9))
    assert [shot.sent for shot in shots] == sorted(shot.sent for shot in shots)
    assert sorted(shot.attempt for shot in shots) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert result.summary.retries == 6
    assert result.summary.turned_away_by == {"refused": 9}
    firsts = [shot for shot in shots if shot.attempt == 0]
    assert [shot.intended for shot in firsts] == sorted(shot.intended for shot in firsts)
    # each first try's retries follow it: pair them up by the time they left
    by_attempt = {k: [shot for shot in shots if shot.attempt == k] for k in (0, 1, 2)}
    for before, after, pause in ((0, 1, 0.1), (1, 2, 0.2)):
        for a, b in zip(by_attempt[before], by_attempt[after], strict=True):
            assert pause <= b.sent - a.done <= pause + 0.06


def test_a_closed_loop_user_waits_for_its_last_retry(closed_port):
    """One user, 6 guests in all, one retry each: first try, retry, first try, ..."""
    s = scenario(users=1, guests=6, retries=1, backoff="20")
    result = hit(f"127.0.0.1:{closed_port}", s)
    assert [shot.attempt for shot in result.shots] == [0, 1] * 3
    assert all(b.sent >= a.done for a, b in itertools.pairwise(result.shots))
    assert result.summary.retries == 3


def test_the_public_connect_path_sees_the_same(closed_port, monkeypatch):
    """Off a selector loop (no private fast path) the outcomes are the same."""
    from sim.live.loadgen import generator

    monkeypatch.setattr(generator, "make_transport", lambda loop: None)
    refused = hit(f"127.0.0.1:{closed_port}", scenario(rate=20, guests=2, retries=1,
                                                       backoff="10"))
    assert sorted(s.attempt for s in refused.shots) == [0, 0, 1, 1]
    assert refused.summary.turned_away_by == {"refused": 4}
    with resetting_server() as port:
        reset = hit(f"127.0.0.1:{port}", scenario(rate=20, guests=2))
    assert reset.summary.failed_by == {"error": 2}


def test_retries_count_against_the_cap_and_stop_at_the_hard_stop(closed_port, monkeypatch):
    from sim.live.loadgen import generator

    monkeypatch.setattr(generator, "MAX_GUESTS", 7)
    capped = hit(f"127.0.0.1:{closed_port}", scenario(rate=100, guests=5, retries=3,
                                                      backoff="1"))
    assert len(capped.shots) == 7  # 20 tries asked for, never more than the cap sent

    monkeypatch.setattr(generator, "END_GRACE", 0.3)
    began = time.monotonic()
    late = hit(f"127.0.0.1:{closed_port}", scenario(rate=20, duration=0.3, retries=5,
                                                    backoff="5000"))
    took = time.monotonic() - began
    assert took < 0.3 + 0.3 + 1.0 + 0.8  # sending + grace + the second + slack
    assert all(shot.attempt == 0 for shot in late.shots)  # retries due later never go


def test_the_live_backoff_is_the_models():
    from sim.live.loadgen.generator import backoff as live
    from sim.model.door import backoff as model

    assert [live(0.1, k) for k in range(1, 6)] == [model(0.1, k) for k in range(1, 6)]
    assert live(0.1, 3) == pytest.approx(0.4)

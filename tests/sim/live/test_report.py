"""The batching reporter: no event lost, order kept, the same text, a flush at stop.

Unit tests on a file or a socket in this process (no server, no lock needed), plus one
short live run (``test_a_watched_live_run_hears_every_guest``) where every guest's
events must arrive.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

from sim.live.report import (
    BATCH,
    Reporter,
    _compile,
    _datagrams,
    _encode_slow,
    encode,
    encode_batch,
)
from sim.trace import (
    EVENT_TYPES,
    Arrived,
    Event,
    Failed,
    Finished,
    GilPassed,
    HalfOpen,
    Hashed,
    LoopBlocked,
    LoopUnblocked,
    PhaseEnded,
    PhaseStarted,
    Queued,
    ServerStarted,
    Started,
    SynDropped,
    TurnedAway,
    WorkerBooted,
    WorkerKilled,
    from_json,
    to_json,
)

SAMPLES: list[Event] = [
    ServerStarted(1.5, "hybrid", 2, 1, 2, 2, 2048),
    Arrived(2.0, 7, endpoint=1),
    Queued(2.0, 7, 3),
    Hashed(2.0, 7, 1),
    SynDropped(2.0, 9, 1, 3.0),
    SynDropped(3.0, 9, 2, None),
    HalfOpen(3.072, 11, True),
    HalfOpen(3.072, 12, False),
    Arrived(4.5, 10, attempt=2),
    TurnedAway(2.0, 9, "timed_out"),
    Started(2.25, 7, 1),
    PhaseStarted(2.5, 7, 1, "cpu"),
    PhaseEnded(2.75, 7, 1, "cpu"),
    GilPassed(2.8, 1, 5),
    LoopBlocked(3.0, 1, 7, "blocking"),
    LoopUnblocked(3.0000001, 1, 7),
    Finished(3.125, 7, 1),
    Failed(4.0, 8, 0, "503"),
    WorkerKilled(5.0, 0, 'died ("quoted" \\ é)'),
    WorkerBooted(1e-9, 3),
]


def read(path: Path) -> list[Event]:
    return [from_json(line) for line in path.read_text().splitlines() if line.strip()]


def guest_events(guest: int) -> list[Event]:
    return [Arrived(guest, guest), Started(guest + 0.1, guest, 0),
            PhaseStarted(guest + 0.2, guest, 0, "io"), PhaseEnded(guest + 0.3, guest, 0, "io"),
            Finished(guest + 0.4, guest, 0)]


def test_encode_is_to_json_exactly():
    assert {type(e) for e in SAMPLES} == set(EVENT_TYPES)  # every kind of the vocabulary
    for event in SAMPLES:
        assert encode(event) == to_json(event)
    assert encode_batch(SAMPLES).decode().splitlines() == [to_json(e) for e in SAMPLES]
    assert all(_compile(cls) is not _encode_slow for cls in EVENT_TYPES)  # all fast
    odd = WorkerKilled(1.0, 0, 5)  # type: ignore[arg-type]  # not the declared str
    assert encode(odd) == to_json(odd)  # the generic path takes it


def test_events_wait_for_the_batch_and_all_arrive_in_order(tmp_path: Path):
    path = tmp_path / "trace.jsonl"
    reporter = Reporter(str(path), every=0.2)
    try:
        for event in SAMPLES:
            reporter(event)
        assert not path.exists() or path.read_text() == ""  # nothing written per event
        deadline = time.monotonic() + 5.0
        while reporter.sent < len(SAMPLES) and time.monotonic() < deadline:
            time.sleep(0.01)  # the flusher sends the batch ~0.2 s after its first event
        assert read(path) == SAMPLES
        assert path.read_text().count("\n") == len(SAMPLES)
    finally:
        reporter.close()


def test_a_full_batch_goes_at_once(tmp_path: Path):
    path = tmp_path / "trace.jsonl"
    reporter = Reporter(str(path), every=30.0)  # the timer alone would take 30 s
    try:
        for guest in range(BATCH // 5 + 1):
            for event in guest_events(guest):
                reporter(event)
        deadline = time.monotonic() + 5.0
        while reporter.sent < BATCH and time.monotonic() < deadline:
            time.sleep(0.01)
        assert reporter.sent >= BATCH
    finally:
        reporter.close()
    assert len(read(path)) == (BATCH // 5 + 1) * 5


def test_close_flushes_what_is_queued(tmp_path: Path):
    path = tmp_path / "trace.jsonl"
    reporter = Reporter(str(path), every=30.0)
    for event in SAMPLES:
        reporter(event)
    reporter.close()  # a server stopping: its last batch goes before it exits
    assert read(path) == SAMPLES


def test_many_threads_lose_nothing_and_each_guest_stays_in_order(tmp_path: Path):
    """A threaded worker: 8 threads report 5 events for each of 200 guests at once."""
    path = tmp_path / "observer.sock"
    received: list[bytes] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as observer:
        observer.bind(str(path))
        observer.listen(1)
        reporter = Reporter(str(path), every=0.01, batch=64)

        def host(first: int) -> None:
            for guest in range(first, 200, 8):
                for event in guest_events(guest):
                    reporter(event)
                if guest % 3 == 0:
                    time.sleep(0.001)  # let the flusher cut batches mid-guest

        threads = [threading.Thread(target=host, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        conn, _ = observer.accept()
        with conn:
            for thread in threads:
                thread.join()
            reporter.close()
            while data := conn.recv(65536):
                received.append(data)
    events = [from_json(line) for line in b"".join(received).decode().splitlines()]
    assert len(events) == 200 * 5
    for guest in range(200):
        assert [e for e in events if e.guest == guest] == guest_events(guest)  # type: ignore[attr-defined]


def test_a_forked_child_sends_its_own_events_not_its_parents(tmp_path: Path):
    path = tmp_path / "trace.jsonl"
    reporter = Reporter(str(path), every=30.0)
    reporter(Arrived(1.0, 1))  # queued in the parent, not yet sent, at the fork
    pid = os.fork()
    if pid == 0:  # the child: as a forked worker does
        try:
            reporter(Arrived(2.0, 2))
            reporter.close()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    reporter.close()
    assert sorted(e.guest for e in read(path)) == [1, 2]  # type: ignore[attr-defined]


def test_a_master_writes_at_once_with_no_thread_and_its_workers_batch(tmp_path: Path):
    path = tmp_path / "trace.jsonl"
    reporter = Reporter(str(path), every=30.0)
    reporter.direct()  # as serve.py marks an arbiter's master
    reporter(SAMPLES[0])
    assert read(path) == SAMPLES[:1] and reporter._flusher is None
    pid = os.fork()
    if pid == 0:  # a worker: batching again, so nothing is written before its close
        code = 1
        try:
            reporter(SAMPLES[1])
            code = 0 if read(path) == SAMPLES[:1] and reporter._flusher is not None else 3
            reporter.close()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    reporter.close()
    assert read(path) == SAMPLES[:2]


def test_datagrams_hold_whole_lines():
    data = encode_batch([*SAMPLES] * 50)
    pieces = _datagrams(data, limit=300)
    assert b"".join(pieces) == data
    assert all(p.endswith(b"\n") and len(p) <= 300 for p in pieces)


def test_an_observer_gone_makes_it_silent(tmp_path: Path):
    reporter = Reporter(str(tmp_path / "missing" / "trace.jsonl"))
    reporter(SAMPLES[0])
    reporter.flush()
    assert not reporter  # call sites skip building events from now on
    reporter.close()

"""The narrator speaks party words with the real term beside them, and tells models apart."""

from sim.trace import (
    BLOCKING,
    CPU,
    IO,
    REASON_REFUSED,
    Finished,
    LoopBlocked,
    PhaseStarted,
    ServerStarted,
    TurnedAway,
    WorkerKilled,
)
from tui.narrate import host_name, narrate


def test_io_in_a_sync_worker_leaves_the_host_idle_beside_the_guest():
    told = narrate(PhaseStarted(1.0, 17, 2, IO), "sync")
    assert str(told) == (
        "guest 17 waits for the kitchen; host 2 stands idle beside them "
        "(awaiting I/O: sync worker blocked)"
    )


def test_io_under_an_event_loop_frees_the_host():
    told = narrate(PhaseStarted(1.0, 17, 0, IO), "async")
    assert "turns to other guests" in told.party
    assert told.real == "awaiting I/O: the event loop is free"


def test_blocking_freezes_a_loop_but_not_a_sync_worker():
    assert "nobody else is served" in narrate(PhaseStarted(0, 3, 0, BLOCKING), "async").party
    assert "sync worker blocked" in narrate(PhaseStarted(0, 3, 0, BLOCKING), "sync").real
    assert narrate(LoopBlocked(0, 0, 3, BLOCKING), "async").real == "event loop blocked"


def test_threaded_hosts_are_named_process_dot_thread_and_hold_the_gil():
    assert host_name(6, "threaded", threads=4) == "host 1.2"
    told = narrate(PhaseStarted(0, 9, 6, CPU), "threaded", threads=4)
    assert "host 1.2" in told.party and "GIL" in told.party


def test_finished_says_how_long_the_guest_stayed():
    assert narrate(Finished(1.25, 4, 0), "sync", arrived_at=1.0).party == (
        "guest 4 leaves happy after 250 ms")


def test_turned_away_and_killed_name_the_real_cause():
    assert "connection refused" in narrate(TurnedAway(0, 5, REASON_REFUSED), "sync").real
    assert "arbiter" in narrate(WorkerKilled(0, 1, "timeout"), "sync").real


def test_server_started_counts_loops_for_loop_models():
    told = narrate(ServerStarted(0, "hybrid", 3, 1, 2, 3, 64), "hybrid")
    assert told.party.startswith("the party opens: 3 event loops")

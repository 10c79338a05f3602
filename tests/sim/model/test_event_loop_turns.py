"""Asyncio's turns in the event-loop model, and uvicorn's --limit-concurrency.

Guests are knocked at chosen instants (no random arrivals), so every time asserted is
exact: SimPy's clock is a float, hence ``approx`` at 1e-9 s, nothing looser.
"""

from __future__ import annotations

import pytest

from sim.model.event_loop import (
    ACCEPT,
    CONNECTION_MADE,
    READ,
    TASK,
    TURN_SHARE,
    WRITE,
    EventLoopParty,
)
from sim.run import simulate
from sim.scenario import build_scenario
from sim.trace import BLOCKING, CPU, IO, REASON_LIMIT, Failed, Finished, PhaseStarted, Started
from sim.workload import Guest

MS = 0.001


def knocked(guests: list[Guest], until: float = 5.0, **knobs: object) -> list:
    """Run an async party whose only guests are ``guests``, each at its ``arrival``."""
    events: list = []
    party = EventLoopParty(build_scenario({"model": "async", **knobs}), events.append)
    party.boot_workers()

    def door():
        for guest in guests:
            if guest.arrival > party.env.now:
                yield party.env.timeout(guest.arrival - party.env.now)
            party.knock(guest)

    party.env.process(door())
    party.env.run(until=until)
    return events


def at(events: list, cls: type, guest: int) -> float:
    return next(e.t for e in events if isinstance(e, cls) and e.guest == guest)


def test_a_ready_blocking_call_runs_between_a_newcomers_turns():
    """Guest 3 knocks at 15 ms while guest 0's blocking call holds the loop (10-30 ms).
    At 30 ms the loop accepts it; but guest 1's blocking call became ready at 25 ms and
    runs before guest 3's connection_made (30-50 ms), and guest 2's, ready at 40 ms,
    before its read (50-70 ms): the handler starts at 70 ms, not 30 (one turn, the old
    model): the wait grows by each ready blocking call, 20 + 20 ms."""
    blocker = ((IO, 10 * MS), (BLOCKING, 20 * MS))
    events = knocked([
        Guest(0, 0.0, blocker),
        Guest(1, 0.0, ((IO, 25 * MS), (BLOCKING, 20 * MS))),
        Guest(2, 0.0, ((IO, 40 * MS), (BLOCKING, 20 * MS))),
        Guest(3, 15 * MS, ((IO, 1 * MS),)),
    ])
    assert at(events, Started, 3) == pytest.approx(70 * MS, abs=1e-9)
    assert at(events, Finished, 3) == pytest.approx(71 * MS, abs=1e-9)
    assert at(events, Finished, 1) == pytest.approx(50 * MS, abs=1e-9)  # 30-50: its step
    assert at(events, Finished, 2) == pytest.approx(70 * MS, abs=1e-9)  # 50-70


def test_a_step_runs_its_cpu_and_blocking_phases_back_to_back():
    """A coroutine yields only at an await: guest 0's cpu then blocking call (0-30 ms)
    are one step, so guest 1, whose io ends at 5 ms, waits for both, not for the first."""
    events = knocked([
        Guest(0, 0.0, ((IO, 0.0), (CPU, 10 * MS), (BLOCKING, 20 * MS))),
        Guest(1, 0.0, ((IO, 5 * MS), (CPU, 1 * MS))),
    ])
    assert at(events, Finished, 0) == pytest.approx(30 * MS, abs=1e-9)
    assert at(events, Finished, 1) == pytest.approx(31 * MS, abs=1e-9)


def test_the_overhead_is_spent_over_the_turns_not_drawn_as_a_phase():
    """--overhead 1 on a guest alone (io 10 ms): the handler starts after accept,
    connection_made, read and the task's start (0.69 ms), the answer leaves after the
    write (0.19 ms more); the overhead is no cpu phase of the guest's."""
    before = sum(TURN_SHARE[t] for t in (ACCEPT, CONNECTION_MADE, READ, TASK)) * MS
    assert sum(TURN_SHARE.values()) == pytest.approx(1.0)
    events = knocked([Guest(0, 0.0, ((CPU, 1 * MS), (IO, 10 * MS)))], overhead=1, cpu=0,
                     io=10)  # fmt: skip
    assert at(events, Started, 0) == pytest.approx(before, abs=1e-9)
    assert at(events, Finished, 0) == pytest.approx(before + 10 * MS + TURN_SHARE[WRITE] * MS,
                                                    abs=1e-9)  # fmt: skip
    assert not [e for e in events if isinstance(e, PhaseStarted) and e.phase == CPU]


def test_limit_concurrency_answers_503_with_n_minus_1_in_flight():
    """uvicorn refuses when len(connections) >= N, the newcomer's own included: with
    --limit-concurrency 5 and guests of 1 s knocking every 10 ms, four are served and
    the fifth on gets a 503, at once (the loop is idle)."""
    events = knocked([Guest(i, i * 10 * MS, ((IO, 1.0),)) for i in range(8)],
                     limit_concurrency=5)  # fmt: skip
    served = sorted(e.guest for e in events if isinstance(e, Finished))
    refused = [e for e in events if isinstance(e, Failed)]
    assert served == [0, 1, 2, 3]
    assert [e.guest for e in refused] == [4, 5, 6, 7]
    assert {e.reason for e in refused} == {REASON_LIMIT}
    assert [e.t for e in refused] == pytest.approx([i * 10 * MS for i in range(4, 8)])


def test_the_503_waits_for_the_loops_turn():
    """Guest 1's blocking call holds the loop 1-101 ms; guest 2, knocking at 10 ms with
    guests 0 and 1 inside (--limit-concurrency 3), is refused only when the loop has
    accepted and parsed its request: at 101 ms."""
    events = knocked([
        Guest(0, 0.0, ((IO, 1.0),)),
        Guest(1, 1 * MS, ((BLOCKING, 100 * MS), (IO, 1.0))),
        Guest(2, 10 * MS, ((IO, 1 * MS),)),
    ], limit_concurrency=3)
    assert at(events, Failed, 2) == pytest.approx(101 * MS, abs=1e-9)
    assert at(events, Finished, 0) == pytest.approx(1.0, abs=1e-9)


def test_the_issues_case_now_waits_as_uvicorn_does():
    """io=50 then blocking=5 at 100/s (seed 1, 10 s). Measured on this machine (2 cores,
    busy), uvicorn: p50 72 ms, mean 80, mean wait before the handler 12.9 ms. One turn
    per request gave p50 59, mean 60, wait 2.0; the turns give p50 70.7, mean 76.5,
    wait 10.7. The bounds (p50 within 10% of uvicorn's, wait above 8 ms) fail the old
    model and hold for the new over seeds 1-3 (p50 69-73)."""
    summary = simulate(build_scenario({"model": "async", "io": 50, "blocking": 5, "cpu": 0,
                                       "rate": 100, "duration": 10, "seed": 1}))
    assert summary.latency_ms["p50"] == pytest.approx(72, rel=0.10)
    assert summary.wait_ms["mean"] > 8

"""The timeline's recorder: what the lanes say, from the trace alone, in bounded memory.

Fixed seeds; each party is simulated headless (no app), a few seconds of party time:
the whole file runs in well under a second.
"""

from __future__ import annotations

from collections import Counter

from sim.scenario import build_scenario
from sim.trace import Queued, ServerStarted, Started, SynDropped
from tui.driver import SimDriver
from tui.widgets.timeline import (
    CPU_,
    DOZE,
    FREE,
    HELD,
    JUGGLE,
    KILLED,
    TURN,
    Timeline,
    decode,
)

# the same guests for both: 25 a second, 5 ms of cpu and ~100 ms at the kitchen each
GUESTS = {"cores": 2, "rate": 25, "cpu": "5", "io": "exp:100", "guests": 10**9, "seed": 1}


def recorded(knobs: dict, seconds: float, **timeline) -> Timeline:
    driver = SimDriver(build_scenario(knobs))
    tl = Timeline(**timeline)
    tl.feed(driver.advance(seconds))
    tl.advance(driver.now)
    return tl


def activities(tl: Timeline) -> Counter:
    return Counter(decode(code)[0] for col in tl.cols for code in col)


def test_sync_hosts_stand_idle_at_the_kitchen_where_the_loop_juggles():
    sync = recorded({"model": "sync", "workers": 4, **GUESTS}, 8.0)
    loop = recorded({"model": "async", **GUESTS}, 8.0)
    assert [sync.label(i) for i in range(sync.lanes)] == [f"proc {i}" for i in range(4)]
    assert loop.lanes == 1 and loop.label(0) == "loop 0"
    assert len(sync.cols) == len(loop.cols) == 80  # 8 s of 0.1 s columns
    s, a = activities(sync), activities(loop)
    # A sync host is held ~105 ms per guest, 25 guests/s over 4 hosts: busy ~65% of the
    # time, nearly all of it at the kitchen; a cell is yellow when io was most of it.
    assert s[HELD] > 0.4 * 320 and s[HELD] > 5 * s[CPU_]
    # The loop never stands idle at the kitchen: it juggles, chats 12.5% of the time
    # (25 x 5 ms), and shows a little cpu in most cells where a guest came.
    assert a[HELD] == 0 and a[JUGGLE] > 0 and a[CPU_] > 20
    cpu = [decode(code) for col in loop.cols for code in col if decode(code)[0] == CPU_]
    assert max(level for _, level, _ in cpu) <= 4, "5 ms of cpu in 100 ms: a low bar"
    assert sum(juggling for *_, juggling in cpu) > len(cpu) / 2  # on the juggling ground
    assert not any(decode(code)[2] for col in sync.cols for code in col)  # never for hosts


def test_a_blocking_call_freezes_the_loop_and_threads_are_lanes_of_their_process():
    blocked = recorded({"model": "async", "rate": 20, "cpu": "2", "io": "exp:100",
                        "blocking": "40", "guests": 10**9, "seed": 7}, 5.0)
    assert activities(blocked)[DOZE] > 10  # 20/s x 40 ms: 80% of the loop's time dozing
    threaded = recorded({"model": "threaded", "workers": 2, "threads": 3, **GUESTS}, 2.0)
    assert [threaded.label(i) for i in (0, 2, 3, 5)] == ["p0 t0", "p0 t2", "p1 t0", "p1 t2"]
    assert set(activities(threaded)) <= {FREE, CPU_, HELD, TURN}


def test_the_line_lane_and_the_knocks_outside():
    tl = Timeline(span=0.1)
    tl(ServerStarted(0.0, "sync", 1, 1, 1, 1, 2))
    for guest in range(3):  # three in line for the second tenth of a second
        tl(Queued(0.1, guest, guest + 1))
    tl(SynDropped(0.15, 3, 1, 1.15))
    for guest in range(3):
        tl(Started(0.2, guest, 0))
    tl.advance(0.31)
    (d0, *_), (d1, wait, knocks, _, _), (d2, *_) = tl.line_cols
    # the mean over each cell (3 guests the whole cell), to float rounding
    assert [round(d, 9) for d in (d0, d1, d2)] == [0, 3, 0]
    assert abs(wait - 0.1) < 1e-9 and knocks == 1
    assert activities(tl)[TURN] >= 1  # the host took a guest at 0.2 s
    assert KILLED not in activities(tl)


def test_memory_is_a_ring_and_a_replay_starts_over():
    tl = recorded({"model": "sync", "workers": 4, **GUESTS}, 30.0, columns=50)
    assert len(tl.cols) == len(tl.line_cols) == 50  # 300 columns closed, 50 kept
    assert len(tl.arrival) < 20  # only guests still inside are remembered
    tl(ServerStarted(0.0, "async", 1, 1, 2, 1, 2048))  # a restart (or a step back)
    assert len(tl.cols) == 0 and tl.lanes == 1 and tl.label(0) == "loop 0"


def test_the_door_draws_guests_knocking_again_and_the_kitchen_its_guests():
    """A full line (backlog 4, two sync hosts, 40 guests/s): dropped SYNs knock again."""
    from tui.state import PartyState
    from tui.widgets.door import DoorLine
    from tui.widgets.hosts import rooms_line

    driver = SimDriver(build_scenario({"model": "sync", "workers": 2, "backlog": 4,
                                       "rate": 40, "cpu": "5", "io": "exp:100",
                                       "guests": 10**9, "seed": 3}))
    state = PartyState()
    state.feed(driver.advance(5.0))
    door = DoorLine(state).render().plain
    assert f"{len(state.knocking_now)} knock again" in door and state.knocking_now
    assert "↻" * min(len(state.knocking_now), 6) in door
    at_kitchen = sum(1 for host in state.host_list if host.phase == "io")
    assert at_kitchen and f"kitchen {'○' * at_kitchen} {at_kitchen}, hosts idle" in \
        rooms_line(state).plain

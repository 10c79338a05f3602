"""Batched reports from real servers, and where ``partyhost live`` places its processes.

Two short live runs (about 1 s of guests each): every guest's events arrive, in order,
through a trace file (several processes appending) and through the Unix socket
``live_party`` reads. The counts are exact, not within a tolerance: losing one event
is the failure. Timing plays no part (the server is far from busy), so they hold on
a loaded machine. The placement checks are pure, plus one child's affinity.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.live.loadgen import Generator, Target
from sim.live.process import plan_placement, running_on, spawning_on, start_for
from sim.scenario import build_scenario
from sim.side_by_side import live_party
from sim.trace import (
    Arrived,
    Finished,
    PhaseEnded,
    PhaseStarted,
    ServerStarted,
    Started,
    WorkerBooted,
)

from .conftest import read_trace

GUEST_KINDS = [Arrived, Started, PhaseStarted, PhaseEnded, PhaseStarted, PhaseEnded, Finished]


def test_every_guest_of_a_live_run_arrives_whole_and_in_order(tmp_path: Path):
    """hybrid W=2, cpu:1 then io:5 at 40/s for 1 s: each guest 7 events, in order."""
    scenario = build_scenario({"model": "hybrid", "workers": 2, "cpu": "1", "io": "5",
                               "rate": 40, "duration": 1.0, "seed": 3})
    path = tmp_path / "trace.jsonl"
    with start_for(scenario, report=str(path), graceful_timeout=2.0) as server:
        result = Generator(Target("127.0.0.1", server.port), scenario).run()
    served = {shot.guest for shot in result.shots if shot.status == 200}
    assert len(served) == len(result.shots) >= 20
    events = read_trace(path)  # after the stop: every process flushed its last batch
    assert isinstance(events[0], ServerStarted)  # the master's, flushed before the fork
    assert sum(isinstance(e, WorkerBooted) for e in events) == 2
    by_guest: dict[int, list] = {}
    for event in events:  # the file's order: per process, the order they happened in
        guest = getattr(event, "guest", None)
        if guest is not None:
            by_guest.setdefault(guest, []).append(event)
    assert set(by_guest) == served
    for guest, mine in by_guest.items():
        assert [type(e) for e in mine] == GUEST_KINDS, guest
        assert [e.t for e in mine] == sorted(e.t for e in mine)
    assert len(events) == 1 + 2 + len(GUEST_KINDS) * len(served)


def test_live_party_hears_every_event_and_says_where_it_ran():
    scenario = build_scenario({"model": "async", "io": "5", "rate": 40, "duration": 1.0,
                               "seed": 4, "cores": len(os.sched_getaffinity(0))})
    placement = plan_placement()
    run = live_party(scenario, simulate_too=False, placement=placement)
    served = run.measured.summary.served
    assert served >= 20
    # ServerStarted, one WorkerBooted, then 5 per guest: arrived, started, phase x2, finished
    assert run.events_seen == 2 + 5 * served
    said = run.to_dict()["placement"]
    assert said["pinned"] == (placement.available >= 3)
    assert said["simulated_cores"] == scenario.cores
    assert 0 < said["generator_cpu"] < placement.available


def test_placement_gives_the_generator_a_core_of_its_own_from_three():
    two = plan_placement(cores=(0, 1))
    assert not two.pinned and two.server == two.generator == (0, 1)
    assert "only 2 cores" in two.describe()
    four = plan_placement(cores=(0, 1, 2, 3))
    assert four.pinned and four.server == (0, 1, 2) and four.generator == (3,)
    assert four.server_cores == 3 and "really had 3 cores" in four.describe()
    asked = plan_placement(want=1, cores=(2, 5, 7))
    assert asked.server == (2,) and asked.generator == (7,)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to pin to one")
def test_a_child_started_on_a_core_runs_there_and_the_caller_is_restored():
    mine = os.sched_getaffinity(0)
    first = min(mine)
    probe = [sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"]
    with spawning_on((first,)):
        inside = subprocess.run(probe, capture_output=True, text=True, check=True).stdout
    assert inside.strip() == f"[{first}]"
    assert os.sched_getaffinity(0) == mine
    with running_on((first,)):
        assert os.sched_getaffinity(0) == {first}
    assert os.sched_getaffinity(0) == mine


def test_live_prints_where_it_ran_and_what_it_simulated():
    from types import SimpleNamespace

    from tui.commands.live import placement_line

    pinned = plan_placement(want=4, cores=(0, 1, 2, 3))  # asked for 4, the server had 3
    line = placement_line(SimpleNamespace(placement=pinned, generator_cpu=0.17,
                                          scenario=SimpleNamespace(cores=4)))
    assert "server pinned to cores 0,1,2, load generator to core 3" in line
    assert "used 0.17 of a core" in line and "as --cores asked; the server had 3" in line
    shared = plan_placement(cores=(0, 1))
    line = placement_line(SimpleNamespace(placement=shared, generator_cpu=0.2,
                                          scenario=SimpleNamespace(cores=2)))
    assert "not pinned: only 2 cores" in line and "simulated with 2 cores" in line

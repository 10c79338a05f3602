"""gunicorn -k gevent: hubs that juggle greenlets, and a door that closes when full.

The stories the model must tell, each on fixed seeds over 20 s of Poisson arrivals.
Tolerances: a throughput held to a capacity, or equal to the offered rate, is within
3% of it (Poisson counts over 20 s at 100-500/s have a relative sd of 1-2%, the
window's edges add a little); a p50 of a constant service time is within 5% of it.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from sim.run import simulate
from sim.scenario import ScenarioError, build_scenario
from sim.theory import prediction, saturation
from sim.trace import Failed, Finished, Started, WorkerKilled

SEEDS = (1, 2)


def run(sink=None, **values):
    return simulate(build_scenario({"model": "gevent", "duration": 20, **values}), sink)


@pytest.mark.parametrize("seed", SEEDS)
def test_patched_io_yields_to_the_hub(seed):
    """io:100 at 500/s on one worker: 50 guests wait at once and none waits for another,
    as with an awaited io on an event loop."""
    result = run(io=100, cpu=0, rate=500, seed=seed)
    assert result.throughput == pytest.approx(500, rel=0.03)
    assert result.latency_ms["p50"] == pytest.approx(100, rel=0.05)
    assert result.failed == 0 and result.turned_away == 0


@pytest.mark.parametrize("seed", SEEDS)
def test_an_unpatched_call_stalls_the_whole_hub(seed):
    """blocking:20 (a C driver gevent cannot patch) at 100/s: the hub does one at a time,
    so 1/0.020 s = 50/s, and the line grows."""
    result = run(blocking=20, cpu=0, io=0, rate=100, seed=seed)
    assert result.throughput == pytest.approx(50, rel=0.03)
    assert result.latency_ms["p50"] > 1000


@pytest.mark.parametrize("seed", SEEDS)
def test_a_full_hub_stops_accepting_and_the_rest_wait_in_the_line(seed):
    """--worker-connections 10, io:100 at 200/s: at most 10 inside per worker, so 100/s;
    the rest wait in the kernel's line (no 503, as gevent never answers one)."""
    inside: dict[int, int] = defaultdict(int)
    most = defaultdict(int)

    def count(event):
        if isinstance(event, Started):
            inside[event.worker] += 1
            most[event.worker] = max(most[event.worker], inside[event.worker])
        elif isinstance(event, Finished | Failed) and event.worker >= 0:
            inside[event.worker] -= 1

    result = run(count, io=100, cpu=0, rate=200, worker_connections=10, seed=seed)
    assert dict(most) == {0: 10}  # the cap is reached and never passed
    assert result.throughput == pytest.approx(100, rel=0.03)
    assert result.queue_max > 500  # 100/s more than it serves, for 20 s: a long line
    assert result.failed == 0 and result.turned_away == 0


def test_the_line_outside_counts_against_the_backlog():
    """The guests a full hub leaves outside fill --backlog; beyond it Linux drops them."""
    result = run(io=100, cpu=0, rate=200, worker_connections=10, backlog=50, seed=3)
    assert result.turned_away > 1000  # about 100/s over 20 s cannot get in
    assert result.failed == 0
    assert result.queue_max <= 51  # Linux holds backlog + 1 (sim.model.door)


def test_workers_multiply_the_cap():
    """Two workers of 10 connections each, io:100 at 300/s: 20 inside, so 200/s."""
    result = run(io=100, cpu=0, rate=300, workers=2, worker_connections=10, seed=4)
    assert result.throughput == pytest.approx(200, rel=0.03)


def test_a_stalled_hub_misses_its_heartbeat_and_is_killed():
    """A blocking call longer than --timeout: the heartbeat greenlet cannot run, so the
    arbiter kills the worker, and the guests inside go unanswered (as in hybrid)."""
    events = []
    scenario = build_scenario({"model": "gevent", "phases": "blocking:2000", "rate": 5,
                               "guests": 5, "timeout": 1, "seed": 1})
    simulate(scenario, events.append)
    assert any(isinstance(e, WorkerKilled) for e in events)
    assert any(isinstance(e, Failed) and e.reason == "timeout" for e in events)


def test_theory_reads_the_cap():
    capped = build_scenario({"model": "gevent", "io": 100, "cpu": 0, "rate": 200,
                             "worker_connections": 10})
    assert saturation(capped) == pytest.approx(100)
    default = build_scenario({"model": "gevent", "io": 100, "cpu": 0, "rate": 200})
    assert prediction(default).formula.startswith("M/G/inf")  # 1000 slots: out of reach
    exp = build_scenario({"model": "gevent", "io": "exp:100", "cpu": 0, "rate": 60,
                          "worker_connections": 8})
    assert prediction(exp).formula == "M/M/8 (Erlang C)"


def test_only_gevent_has_worker_connections():
    with pytest.raises(ScenarioError, match="--worker-connections.*gevent"):
        build_scenario({"model": "hybrid", "worker_connections": 10})
    with pytest.raises(ScenarioError, match="gevent never answers 503"):
        build_scenario({"model": "gevent", "limit_concurrency": 10})
    s = build_scenario({"model": "gevent", "workers": 3, "worker_connections": 10})
    assert s.real_command == "gunicorn -w 3 -k gevent --worker-connections 10 app:app"
    assert s.replace(model="hybrid").worker_connections is None  # dropped, not refused


def test_the_app_draws_each_hub_as_a_loop_from_the_structure_alone():
    """No change in tui/: a hub juggles, so it is drawn with loop cards, each holding at
    most --worker-connections guests while the rest stand in the line."""
    from sim.model import build_party
    from tui.state import PartyState
    from tui.widgets.hosts import HostsView

    scenario = build_scenario({"model": "gevent", "workers": 2, "worker_connections": 3,
                               "rate": 80, "io": 100, "cpu": 0, "guests": 400})
    state = PartyState()
    build_party(scenario, state).env.run(until=2.0)
    assert state.is_loop
    cards = HostsView(state)._loop_cards(120)
    assert [title for title, _, _ in cards] == ["event loop 0 · one host",
                                                "event loop 1 · one host"]
    assert all(lines[0].plain.startswith("juggling 3 guests") for _, lines, _ in cards)

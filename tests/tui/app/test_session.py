"""Stepping, stepping back and restarting a party: exact, deterministic, no Textual."""

import pytest

from sim.metrics import Metrics
from sim.scenario import build_scenario
from sim.servers import SERVERS
from tui.driver import SimDriver
from tui.session import FREE_PLAY, PartySession, rebuild
from tui.state import PartyState

SCENARIO = build_scenario(FREE_PLAY)


def test_steps_hand_out_the_same_trace_as_slices():
    stepped = SimDriver(SCENARIO)
    events = [e for _ in range(400) for e in stepped.step()]
    sliced = SimDriver(SCENARIO)
    got = []
    while len(got) < 400:
        got.extend(sliced.advance(0.05))
    assert len(events) == 400
    assert events == got[:400]


def test_rewind_replays_exactly_to_one_event_fewer_and_resumes():
    driver = SimDriver(SCENARIO)
    events = [e for _ in range(250) for e in driver.step()]
    back = driver.rewind(249)
    assert back == events[:249]
    assert driver.step() == [events[249]]
    assert driver.step() != [events[249]]


def test_step_back_rebuilds_the_same_picture_as_going_forward():
    session = PartySession(SCENARIO)
    for _ in range(300):
        session.step()
    session.step_back()
    fresh = PartyState()
    fresh.feed(SimDriver(SCENARIO).rewind(299))
    assert session.state.events == 299
    assert session.state.line == fresh.line
    assert [(h.guest, h.phase) for h in session.state.host_list] == [
        (h.guest, h.phase) for h in fresh.host_list]


def test_state_tracks_hosts_and_counts_like_the_metrics():
    session = PartySession(SCENARIO)
    for _ in range(20):
        session.advance(1.0)
    state = session.state
    assert state.served == state.numbers().served > 300
    busy = sum(1 for h in state.host_list if h.guest is not None)
    assert busy == state.busy_hosts() <= 4  # the running count matches a recount
    # guests inside = in line + with a host; nobody lost, nobody counted twice
    assert len(state.arrival) == len(state.line) + busy


def test_a_blocked_loop_is_drawn_frozen_until_it_wakes():
    scenario = build_scenario({"model": "async", "rate": 20, "blocking": "50",
                               "guests": 10**9, "seed": 3})
    session = PartySession(scenario)
    seen_frozen = False
    for _ in range(200):
        session.step()
        loop = session.state.loops[0]
        assert session.state.busy_hosts() == (loop.busy_with is not None)
        if loop.blocked:
            seen_frozen = True
            assert loop.busy_with is not None
    assert seen_frozen


def test_a_killed_worker_is_marked_and_replaced():
    scenario = build_scenario({"model": "sync", "workers": 2, "rate": 5, "io": "exp:400",
                               "timeout": 0.5, "boot": 200, "guests": 10**9})
    session = PartySession(scenario)
    killed_seen = False
    for _ in range(100):
        session.advance(0.05)
        if any(h.killed_at is not None for h in session.state.host_list):
            killed_seen = True
    assert killed_seen
    assert session.state.failed > 0


def test_a_new_model_takes_its_own_defaults_and_keeps_what_it_shares():
    threaded = build_scenario({"model": "threaded", "workers": 3})
    pool = rebuild(threaded, model="threadpool")
    assert (pool.workers, pool.threads) == (1, 40)  # no workers; its own 40 tokens
    assert rebuild(pool, model="threaded").threads == 4  # 40 was the pool's default
    assert rebuild(threaded, model="hybrid").workers == 3  # a knob both have stays
    small = rebuild(pool, threads=8)
    assert rebuild(small, model="threaded").threads == 8  # a value the learner chose stays


def test_rebuild_changes_a_knob_that_scenario_replace_refuses():
    sync = build_scenario({"model": "sync", "workers": 4, "rate": 30})
    assert rebuild(sync, workers=8).workers == 8
    threaded = rebuild(sync, model="threaded", threads=4)
    assert (threaded.model, threaded.threads) == ("threaded", 4)
    back = rebuild(threaded, model="async", workers=1)
    assert (back.model, back.threads, back.seed) == ("async", 1, sync.seed)


@pytest.mark.parametrize("values", [
    FREE_PLAY,
    {"model": "async", "rate": 40, "cpu": "exp:5", "io": "exp:100", "blocking": "uniform:0,10",
     "guests": 10**9, "seed": 5},
    {"model": "threaded", "workers": 2, "threads": 3, "cores": 2, "rate": 60, "cpu": "exp:8",
     "io": "exp:40", "backlog": 8, "guests": 10**9, "seed": 2},
    # every server of the table, busy: the same guests
    *({"model": name, **row.example, "rate": 60, "cpu": "exp:4", "io": "exp:40",
       "guests": 10**9, "seed": 3} for name, row in SERVERS.items()),
], ids=lambda values: values["model"])
def test_the_quick_numbers_agree_with_sim_metrics(values):
    """The app's cheap running figures are the Metrics' figures on the same trace.

    Tolerances: counts and time averages are the same sums, so they agree to rounding
    (Metrics rounds to 4 places); percentiles come from 1%-wide buckets here and from a
    3-digit HDR histogram there, so they agree within 2%.
    """
    events = SimDriver(build_scenario(values)).advance(30.0)
    state, metrics = PartyState(), Metrics(warmup=0.0)
    for event in events:
        state(event)
        metrics(event)
    mine, theirs = state.numbers(), metrics.summary(final=False)
    assert (mine.served, mine.turned_away, mine.failed) == (
        theirs.served, theirs.turned_away, theirs.failed)
    assert mine.served > 500
    assert mine.throughput == pytest.approx(theirs.throughput, abs=1e-3)
    assert mine.utilization == pytest.approx(theirs.utilization, abs=1e-3)
    assert mine.queue_mean == pytest.approx(theirs.queue_mean, abs=1e-3)
    assert mine.latency_mean == pytest.approx(theirs.latency_ms["mean"], rel=1e-3)
    assert mine.wait_mean == pytest.approx(theirs.wait_ms["mean"], rel=1e-3, abs=1e-3)
    for key, value in (("p50", mine.latency_p50), ("p99", mine.latency_p99)):
        assert value == pytest.approx(theirs.latency_ms[key], rel=0.02)

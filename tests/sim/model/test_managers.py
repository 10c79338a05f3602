"""The managers, simulated: Gunicorn's arbiter tours once a second; uvicorn's supervisor
never kills a held loop.

Measured on this machine (see ``sim.model.arbiter``): real ``gunicorn -w 2 --timeout 1``
with a 1.5 s handler killed 14 of 20 guests (HTTP 500) at 1.24 to 1.88 s; a guest is
caught only if a tour falls between 1 s and 1.5 s of its service, about half the time.
"""

from __future__ import annotations

import pytest

from sim.model import build_party
from sim.model.arbiter import TOUR
from sim.scenario import build_scenario
from sim.trace import (
    REASON_TIMEOUT,
    Failed,
    Finished,
    PhaseEnded,
    Started,
    WorkerKilled,
)


def party(**values: object) -> list:
    events: list = []
    build_party(build_scenario(values), events.append).run()
    return events


def of(events: list, kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


def service_at_death(events: list) -> list[float]:
    """For each guest who failed, how long after their start it came."""
    started = {e.guest: e.t for e in of(events, Started)}
    return [e.t - started[e.guest] for e in of(events, Failed)]


def test_a_guest_past_the_timeout_is_killed_on_a_tour_about_half_the_time():
    # 1.5 s guests, --timeout 1: killed iff a tour falls in the half second between
    # 1 s and 1.5 s of service; with a tour every second that is one time in two.
    # 4 seeds x 60 guests, one worker at 0.2/s (little queueing): the binomial
    # standard error is 0.03, so 0.5 +- 0.1 is three of them.
    killed = served = 0
    for seed in (1, 2, 3, 4):
        events = party(model="sync", workers=1, io=1500, timeout=1, rate=0.2, guests=60,
                       seed=seed)
        deaths = service_at_death(events)
        assert all(1.0 < d < 1.5 for d in deaths)  # never before the timeout
        assert [e.reason for e in of(events, Failed)] == [REASON_TIMEOUT] * len(deaths)
        killed += len(deaths)
        served += len(of(events, Finished))
    assert killed + served == 240
    assert killed / 240 == pytest.approx(0.5, abs=0.1)


def test_a_guest_far_past_the_timeout_dies_between_timeout_and_timeout_plus_a_tour():
    events = party(model="sync", workers=2, io=4000, timeout=2, rate=0.5, guests=40, seed=3)
    deaths = service_at_death(events)
    assert len(deaths) == 40 and not of(events, Finished)
    assert all(2.0 < d <= 2.0 + TOUR + 1e-9 for d in deaths)
    assert max(deaths) - min(deaths) > 0.5  # the tours' phase varies: not all at 2 s


def test_the_tours_phase_comes_from_the_seed_and_moves_no_guest():
    one = party(model="sync", workers=1, io=1500, timeout=1, rate=0.2, guests=30, seed=5)
    again = party(model="sync", workers=1, io=1500, timeout=1, rate=0.2, guests=30, seed=5)
    assert one == again  # deterministic
    never = party(model="sync", workers=1, io=1500, timeout=10, rate=0.2, guests=30, seed=5)
    arrived = [e.t for e in one if type(e).__name__ == "Arrived"]
    assert arrived == [e.t for e in never if type(e).__name__ == "Arrived"]


def test_uvicorn_worker_beats_only_after_half_the_timeout():
    # --timeout 30: UvicornWorker notifies at most every 16 s (a 1 s tick, only when
    # more than 15 s have passed), so a 20 s blocking call is sometimes caught; Gunicorn's
    # own asgi worker notifies every second, so 20 s + 1 s never reaches 30 s.
    knobs = dict(workers=1, phases="blocking:20000", timeout=30, rate=0.02, guests=30,
                 boot=500)
    hybrid = [len(of(party(model="hybrid", seed=s, **knobs), WorkerKilled)) for s in (1, 2)]
    asgi = [len(of(party(model="asgi-worker", seed=s, **knobs), WorkerKilled)) for s in (1, 2)]
    assert sum(hybrid) >= 6  # about a third of 60 by the heartbeat's age; at least a tenth
    assert sum(asgi) == 0


def test_gunicorn_asgi_aborts_when_its_loop_turns_or_is_killed_on_the_next_tour():
    # SIGABRT is a handler on the loop, so a held loop cannot run it. With 1.6 s holds
    # (--timeout 1) the abort comes 0 to 1 s into the hold (the heartbeat was up to 1 s
    # old when it began): either the hold ends before the next tour, the guest holding
    # the loop is answered and the worker exits right then; or SIGKILL comes mid-hold.
    short = party(model="asgi-worker", workers=1, phases="blocking:1600", timeout=1,
                  rate=0.1, guests=20, seed=2)
    ends = {e.t for e in of(short, PhaseEnded)}
    answered = {e.t for e in of(short, Finished)}
    kills = of(short, WorkerKilled)
    on_turn = [k for k in kills if k.t in ends]
    assert on_turn and len(on_turn) < len(kills)  # both ways happen
    assert all(k.t in answered for k in on_turn)  # the holder was answered first
    # A 6 s hold is still held on the tour after the SIGABRT: SIGKILL, mid-hold.
    long = party(model="asgi-worker", workers=1, phases="blocking:6000", timeout=1,
                 rate=0.05, guests=8, seed=2)
    deaths = service_at_death(long)
    assert len(deaths) == 8
    assert all(1.0 < d <= 3.0 + 1e-9 for d in deaths)  # abort by 2 s, SIGKILL a tour later


def test_uvicorn_workers_never_kill_a_held_loop():
    events = party(model="supervised", workers=2, phases="blocking:3000", timeout=1,
                   rate=0.5, guests=10, seed=1)
    assert not of(events, WorkerKilled)
    assert len(of(events, Finished)) == 10
    hybrid = party(model="hybrid", workers=2, phases="blocking:3000", timeout=1,
                   rate=0.5, guests=10, seed=1)
    assert len(of(hybrid, Failed)) >= 5  # the same guests under Gunicorn's arbiter


@pytest.mark.parametrize("model", ["sync", "hybrid", "asgi-worker", "gevent"])
def test_the_tours_end_with_the_party(model: str):
    """Nothing stays scheduled for ever: the app's driver waits for an empty queue."""
    scenario = build_scenario({"model": model, "phases": "blocking:1500", "timeout": 1,
                               "rate": 1, "guests": 5, "seed": 1})
    built = build_party(scenario, lambda e: None)
    built.run()
    for _ in range(10_000):  # as the app's driver steps: until nothing is scheduled
        if built.env.peek() == float("inf"):
            break
        built.env.step()
    assert built.env.peek() == float("inf")

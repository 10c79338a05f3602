"""FastAPI's ``def`` endpoints: a loop at the door, a pool of threads, one GIL.

The three stories the model must tell (issue "One table of servers"), each on fixed
seeds over 20 s of Poisson arrivals (about 2,000-3,000 guests). Tolerances: a
throughput held to a capacity is within 3% of it (Poisson counts over 20 s at
100/s have a relative sd of about 2%, the window's edges add a little); a p50 of a
nearly constant service time is within 5% of it.
"""

from __future__ import annotations

import pytest

from sim.run import simulate
from sim.scenario import build_scenario
from sim.theory import prediction, saturation

SEEDS = (1, 2)


def run(**values):
    return simulate(build_scenario({"duration": 20, **values}))


@pytest.mark.parametrize("seed", SEEDS)
def test_blocking_def_endpoints_do_not_freeze_the_loop(seed):
    """cpu:1,blocking:20 at 100/s: the pool serves everyone in about 21 ms; one event
    loop running the same handler as ``async def`` caps at 1/0.021 s = 47.6/s."""
    pool = run(model="threadpool", phases="cpu:1,blocking:20", rate=100, seed=seed)
    loop = run(model="async", phases="cpu:1,blocking:20", rate=100, seed=seed)
    assert pool.throughput == pytest.approx(100, rel=0.03)
    assert pool.latency_ms["p50"] == pytest.approx(21, rel=0.05)
    assert loop.throughput == pytest.approx(1 / 0.021, rel=0.03)
    assert loop.latency_ms["p50"] > 1000  # the loop's line grows without end


@pytest.mark.parametrize("seed", SEEDS)
def test_the_gil_holds_cpu_bound_def_endpoints_to_one_core(seed):
    """--cpu 10 at 150/s on 2 cores: the threads share one GIL, so at most 100/s."""
    scenario = build_scenario({"model": "threadpool", "cpu": 10, "io": 0, "rate": 150,
                               "duration": 20, "seed": seed})
    assert saturation(scenario) == pytest.approx(100)
    assert simulate(scenario).throughput == pytest.approx(100, rel=0.03)


@pytest.mark.parametrize("seed", SEEDS)
def test_guests_beyond_the_pool_wait_for_a_token(seed):
    """--threads 4 --io 100 at 60/s: 4 tokens of 100 ms are 40/s, so a line grows."""
    result = run(model="threadpool", threads=4, io=100, cpu=0, rate=60, seed=seed)
    assert result.throughput == pytest.approx(40, rel=0.03)
    assert result.queue_max > 100
    assert result.failed == 0 and result.turned_away == 0  # the loop let everyone in


def test_a_pool_with_room_is_erlang_c_with_the_threads_as_servers():
    """Exponential io under 8 tokens at rho 0.75 is M/M/8: theory says so, and it holds
    (mean wait within 10% over 40,000 guests; the estimate's sd here is about 4%)."""
    scenario = build_scenario({"model": "threadpool", "threads": 8, "io": "exp:100",
                               "cpu": 0, "rate": 60, "guests": 40_000, "seed": 4})
    theory = prediction(scenario)
    assert theory is not None and theory.formula == "M/M/8 (Erlang C)"
    measured = simulate(scenario).wait_ms["mean"] / 1000
    assert measured == pytest.approx(theory.wait, rel=0.10)


def test_a_slow_coat_costs_no_thread():
    """upload:200 then io:10 with 2 threads at 50/s: the loop reads the body, so the
    threads are busy only 10 ms a guest (rho 0.25) and few wait long for a token; gthread
    with the same 2 threads holds one through the upload too: its threads are always busy
    (it keeps up only because Linux reads the coats of the guests waiting in line)."""
    result = run(model="threadpool", threads=2, phases="upload:200,io:10", rate=50, seed=3)
    assert result.latency_ms["p50"] == pytest.approx(210, rel=0.02)
    assert result.latency_ms["p99"] < 260
    gthread = run(model="threaded", threads=2, phases="upload:200,io:10", rate=50, seed=3)
    assert result.utilization == pytest.approx(0.25, abs=0.02)
    assert gthread.utilization > 0.95


def test_limit_concurrency_answers_503_as_uvicorn_does():
    result = run(model="threadpool", io=100, cpu=0, rate=150, limit_concurrency=10, seed=5)
    assert result.failed > 0
    assert result.throughput < 100  # at most 10 in the house, 100 ms each

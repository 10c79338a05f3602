"""The wake-up: a host asleep at the door pays for being woken, a busy one does not.

Measured first (``sim.model.base``'s docstring: ``gunicorn -w 1``, the Flask shop's
``/health``): 0.98 ms back to back, 1.51 ms after 0.5 ms of quiet, 1.95 after 2 ms, 2.47
after 50 ms. These tests hold the model to its own curve exactly (a simulation is
deterministic: the tolerances are float rounding), and to the measured one within the
fit's error.
"""

from __future__ import annotations

import math

import pytest

from sim.model.base import WAKE_SETTLE
from sim.run import simulate
from sim.scenario import ScenarioError, build_scenario

WAKE = 1.4  # ms: the measured curve's height (2.47 - 0.98 at 50 ms, less the 0.1 ms
# that back to back already pays)


def latency(**values) -> dict[str, float]:
    scenario = build_scenario({"cpu": "2", "io": "0", "warmup": 0, "seed": 1, **values})
    return simulate(scenario).latency_ms


def woken(idle_ms: float) -> float:
    return WAKE * -math.expm1(-idle_ms / (WAKE_SETTLE * 1000))


def test_the_curve_follows_the_measurement_within_the_fit():
    """Measured extra over back to back (ms) after a quiet of 0.5 / 1 / 2 / 10 / 50 ms:
    0.53 / 0.60 / 0.97 / 1.23 / 1.49. The fit may miss each by 0.2 ms (the run's own
    quartiles are 0.2-0.5 ms wide); 5 ms (1.54) is the one point outside it."""
    for idle, measured in ((0.5, 0.53), (1, 0.60), (2, 0.97), (10, 1.23), (50, 1.49)):
        assert woken(idle) == pytest.approx(measured, abs=0.2), idle


@pytest.mark.parametrize("model", ["sync", "async", "threaded"])
def test_a_quiet_host_pays_the_whole_wake_up(model):
    """One guest a second: each finds its host asleep for ~1 s and pays all of ``wake``."""
    alone = latency(model=model, rate=1, guests=50)
    woke = latency(model=model, rate=1, guests=50, wake=WAKE)
    assert woke["p50"] - alone["p50"] == pytest.approx(WAKE, abs=1e-3)
    assert woke["max"] - alone["max"] == pytest.approx(WAKE, abs=1e-3)


@pytest.mark.parametrize("model", ["sync", "async"])
def test_a_host_that_finds_a_guest_waiting_pays_nothing(model):
    """Closed loop, two users, no thinking: one guest is always waiting when the host
    lets the other go, so the host never sleeps. One user thinking 0.9 ms: the host
    sleeps 0.9 ms before each guest, who pays ``woken(0.9)`` (0.63 ms of the 1.4)."""
    base = {"model": model, "users": 2, "guests": 200}
    assert latency(**base, wake=WAKE)["mean"] == pytest.approx(latency(**base)["mean"],
                                                                abs=1e-3)
    thinking = {**base, "users": 1, "think": "0.9"}
    extra = latency(**thinking, wake=WAKE)["mean"] - latency(**thinking)["mean"]
    assert extra == pytest.approx(woken(0.9) * 199 / 200, abs=1e-3)  # the first guest
    # comes at t=0 to a host that has not slept at all


@pytest.mark.parametrize(("wake", "error"), [(-1, ">= 0"), (25, "at most 20 ms"),
                                             ("soon", "expected a number")])
def test_a_wrong_wake_is_one_line(wake, error):
    with pytest.raises(ScenarioError, match=error):
        build_scenario({"wake": wake})

"""The closed forms, against values worked out by hand."""

import math

import pytest

from sim.scenario import build_scenario
from sim.theory import erlang_c, md1_wait, mm1_wait, mmc_wait, prediction, saturation


def test_erlang_c_known_values():
    # c=1: P(wait) = rho. c=2, a=1: C = (a^2/2 * 2/(2-1)) / (1 + a + 2*a^2/2/(2-1)) = 1/3.
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c(4, 3.2) == pytest.approx(0.5964, abs=1e-4)
    assert erlang_c(3, 3.5) == 1.0


def test_mm1_and_md1():
    # M/M/1, mu = 10/s, lambda = 8/s: Wq = rho/(mu - lambda) = 0.8/2 = 0.4 s; M/D/1 half that.
    assert mm1_wait(8, 0.1) == pytest.approx(0.4)
    assert md1_wait(8, 0.1) == pytest.approx(0.2)
    assert mmc_wait(10, 0.1, 1) == math.inf


def test_saturation_per_model():
    s = lambda **kw: build_scenario(kw)  # noqa: E731
    assert saturation(s(model="sync", workers=4, io=50)) == pytest.approx(80)
    assert saturation(s(model="async", io=50)) == math.inf
    assert saturation(s(model="async", blocking=20)) == pytest.approx(50)
    assert saturation(s(model="threaded", workers=1, threads=8, cpu=10)) == pytest.approx(100)
    assert saturation(s(model="hybrid", workers=8, cores=2, cpu=10)) == pytest.approx(200)
    assert saturation(s(model="hybrid", workers=1, cores=2, cpu=10, io=100)) == pytest.approx(100)


def test_prediction_only_where_a_closed_form_is_exact():
    mmc = prediction(build_scenario({"model": "sync", "workers": 4, "rate": 32, "io": "exp:100"}))
    assert mmc.formula == "M/M/4 (Erlang C)"
    assert mmc.wait == pytest.approx(mmc_wait(32, 0.1, 4))
    md1 = prediction(build_scenario({"model": "async", "rate": 30, "blocking": 20}))
    assert md1.formula.startswith("M/D/1")
    assert prediction(build_scenario({"model": "sync", "cpu": 5, "io": 50})) is None
    assert prediction(build_scenario({"model": "sync", "users": 5, "io": "exp:50"})) is None

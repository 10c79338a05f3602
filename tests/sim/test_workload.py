"""The guests: distributions, scripts and the seed that makes them repeatable."""

import math
import random
import statistics
import subprocess
import sys

import pytest

from sim.workload import (
    MAX_REQUEST_SECONDS,
    Constant,
    Exponential,
    LogNormal,
    Uniform,
    Workload,
    WorkloadError,
    parse_dist,
    parse_phases,
    script_from_flags,
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("50", Constant(50)),
        ("50ms", Constant(50)),
        ("exp:50", Exponential(50)),
        ("uniform:10,90", Uniform(10, 90)),
        ("lognormal:50,20", LogNormal(50, 20)),
        ("0", Constant(0)),
    ],
)
def test_distributions_read_as_written(spec, expected):
    assert parse_dist(spec) == expected


@pytest.mark.parametrize("spec", ["", "fast", "exp:", "exp:-5", "uniform:90,10", "gauss:1,2",
                                  "uniform:1", "nan", "exp:inf"])
def test_bad_distributions_say_what_is_wrong(spec):
    with pytest.raises(WorkloadError):
        parse_dist(spec)


def test_phases_keep_their_order_and_two_number_distributions():
    script = parse_phases("cpu:2,io:uniform:10,90,cpu:lognormal:3,1,blocking:exp:5")
    assert [s.kind for s in script] == ["cpu", "io", "cpu", "blocking"]
    assert script[1].dist == Uniform(10, 90)
    assert script[2].dist == LogNormal(3, 1)


def test_phase_flags_build_upload_cpu_io_blocking_and_drop_absent_ones():
    script = script_from_flags(blocking="5", io="exp:50", upload="0", cpu="2")
    assert [s.kind for s in script] == ["cpu", "io", "blocking"]


@pytest.mark.parametrize("spec", ["sleep:5", "cpu", "io:exp:50,upload:3", "cpu:2,,io:x"])
def test_bad_scripts_are_refused(spec):
    with pytest.raises(WorkloadError):
        parse_phases(spec)


def test_same_seed_same_guests_and_another_seed_others():
    def first(seed):
        work = Workload(parse_phases("cpu:exp:5,io:exp:50"), seed=seed, rate=20)
        return [g for _, g in zip(range(50), work.guests(), strict=False)]

    assert first(3) == first(3)
    assert first(3) != first(4)


def test_phases_do_not_depend_on_the_arrival_process():
    """Guest i gets the i-th phase draw, open or closed loop alike: the same guests."""
    script = parse_phases("io:exp:50")
    open_loop = Workload(script, seed=9, rate=5).guests()
    closed = Workload(script, seed=9, users=3).phase_draws()
    for _ in range(20):
        assert next(open_loop).phases == next(closed)


def test_means_match_their_distributions():
    # 100,000 draws: the standard error of a sample mean is sd/sqrt(n), at most
    # 0.32% of the mean for these shapes (exp has sd = mean); 1.5% is > 4 standard errors.
    work = Workload(parse_phases("io:exp:50,cpu:uniform:10,30,blocking:lognormal:20,10"),
                    seed=1, rate=100)
    draws = [g.phases for _, g in zip(range(100_000), work.guests(), strict=False)]
    for index, mean in enumerate((50, 20, 20)):
        got = statistics.fmean(p[index][1] for p in draws) * 1000
        assert got == pytest.approx(mean, rel=0.015)
    times = [t for _, t in zip(range(100_000), work.arrival_times(), strict=False)]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert statistics.fmean(gaps) == pytest.approx(1 / 100, rel=0.015)


def test_query_string_is_the_live_servers_phase_syntax():
    work = Workload(parse_phases("cpu:2,io:50"), seed=1, rate=1)
    guest = next(work.guests())
    assert guest.query() == "phases=cpu:2.000,io:50.000"
    assert parse_phases(guest.query().removeprefix("phases=")) == parse_phases("cpu:2,io:50")


# --- limits (issue 11) -----------------------------------------------------------------


@pytest.mark.parametrize("spec", ["lognormal:1,1e300", "exp:1e308", "uniform:0,1.7e308",
                                  "700000", "lognormal:1e300,1"])  # fmt: skip
def test_numbers_past_the_limit_are_refused_with_the_limit_named(spec):
    with pytest.raises(WorkloadError, match="MAX_REQUEST_SECONDS = 600 s"):
        parse_dist(spec)


@pytest.mark.parametrize("spec", ["lognormal:1,600000", "lognormal:1e-300,600000",
                                  "lognormal:600000,600000", "exp:600000"])  # fmt: skip
def test_every_draw_within_the_limits_is_a_finite_number(spec):
    dist = parse_dist(spec)
    rng = random.Random(11)
    assert all(math.isfinite(dist.sample(rng)) for _ in range(2000))


def test_a_script_may_not_add_up_to_more_than_one_request_may_take():
    with pytest.raises(WorkloadError, match="MAX_REQUEST_SECONDS"):
        parse_phases(",".join(["blocking:599999"] * 253))
    with pytest.raises(WorkloadError, match="600000 ms"):
        script_from_flags(io="400000", blocking="400000")
    assert MAX_REQUEST_SECONDS == 600
    assert len(parse_phases("cpu:300000,io:300000")) == 2  # exactly the limit is fine


def test_simulate_refuses_an_overflowing_distribution_in_one_line():
    result = subprocess.run([sys.executable, "-m", "tui", "simulate", "--io",
                             "lognormal:1,1e300", "--guests", "10"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "600000 ms" in result.stderr

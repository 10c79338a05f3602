"""The metrics fold: percentiles, time averages and the window, on traces we can follow."""

import random

import pytest
from hdrh.histogram import HdrHistogram

from sim.metrics import US, Distribution, Metrics
from sim.trace import Arrived, Finished, Queued, ServerStarted, Started


def test_bucketed_recording_gives_the_percentiles_direct_hdr_recording_gives():
    rng = random.Random(4)
    values = [rng.lognormvariate(-3, 1.5) for _ in range(20_000)] + [0.0, 1e-6, 3600.0]
    dist, direct = Distribution(), HdrHistogram(1, 24 * 3600 * US, 3)
    for v in values:
        dist.record(v)
        direct.record_value(int(v * US))
    ours = dist.histogram()
    for pct in (1, 10, 50, 90, 99, 99.9, 99.99, 100):
        assert ours.get_value_at_percentile(pct) == direct.get_value_at_percentile(pct)
    assert dist.summary_ms()["max"] == pytest.approx(3600_000)
    assert dist.summary_ms()["mean"] == pytest.approx(sum(values) / len(values) * 1000, abs=1e-3)


def guest(m, gid, arrive, start, leave, worker=0):
    m(Arrived(arrive, gid))
    m(Queued(arrive, gid, 1))
    m(Started(start, gid, worker))
    m(Finished(leave, gid, worker))


def test_a_hand_made_trace_gives_hand_computed_numbers():
    m = Metrics(warmup=0.0)
    m(ServerStarted(0.0, "sync", 1, 1, 1, 1, 10))
    # three guests one after another, each 1 s of service; the second waits 0.5 s
    guest(m, 0, 0.0, 0.0, 1.0)
    m(Arrived(0.5, 1))
    m(Queued(0.5, 1, 1))
    m(Started(1.0, 1, 0))
    m(Arrived(2.5, 2))  # the window ends at the last arrival
    m(Queued(2.5, 2, 1))
    s = m.summary()
    assert s.window == (0.0, 2.5)
    assert s.served == 1
    assert s.wait_ms["max"] == pytest.approx(500)
    # busy from 0 to 2.5 (guest 1 is still being served): utilisation 100%
    assert s.utilization == pytest.approx(1.0)
    # in the line: guest 1 from 0.5 to 1.0 -> 0.5 s over 2.5 s
    assert s.queue_mean == pytest.approx(0.2)
    assert s.throughput == pytest.approx(1 / 2.5)


def test_warmup_by_guests_leaves_the_first_guests_out():
    m = Metrics(warmup_guests=2)
    m(ServerStarted(0.0, "sync", 1, 1, 1, 1, 10))
    for gid in range(4):
        guest(m, gid, float(gid), float(gid), gid + 0.25 * (gid + 1))
    s = m.summary()
    assert s.window[0] == 2.0
    assert s.latency_ms["max"] == pytest.approx(1000)  # guest 3: 1 s; guests 0, 1 left out
    assert s.latency_ms["mean"] == pytest.approx((750 + 1000) / 2)

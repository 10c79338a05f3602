"""Fidelity: the minimal live servers measure what the simulation predicts.

Each case starts a real server (``sim.live``), sends it the scenario's guests with
the open-loop generator for a few seconds, and simulates the same scenario (the same
guests: same seed), with the server's per-request overhead measured first by
``sim.live.calibrate`` and fed to the simulation as ``--overhead``: the model made
honest, not tuned. Tolerance: 25% on throughput and on p50 latency. Why that wide:
a CI runner is a shared 2-core machine where the generator, the server and whatever
else runs compete for cores; a few ms of scheduling noise on a 50 ms request is ~5-10%,
and a 3 s run has only 180-600 guests (8 s for the slow 30/s case). The benchmark
(benchmarks/bench_fidelity.py) prints the exact differences from longer runs.

Each case gets up to ``TRIES`` runs (a known gap, one) and passes if one lands within
the tolerance. A model that disagrees with the server fails every run; a burst of load
from another process (the case that failed once on a loaded machine: the blocking loop
at rho 0.6, p50 37.6 ms against 29.4, when a CPU-heavy neighbour took a core) does not
last two.
"""

from __future__ import annotations

import os

import psutil
import pytest

from sim.live.calibrate import calibrate
from sim.scenario import build_scenario
from sim.side_by_side import live_party

TOLERANCE = 0.25
TRIES = 2

CASES = {
    "sync W=4 io=50 @60/s": {"model": "sync", "workers": 4, "io": "50", "rate": 60},
    "async io=50 @200/s": {"model": "async", "io": "50", "rate": 200},
    # 30 guests/s is few: 8 s gives ~240, so the p50 is not at the mercy of a dozen
    # guests (at rho 0.6 a blocked loop's wait magnifies every ms of noise 1.5x)
    "async blocking=20 @30/s": {"model": "async", "blocking": "20", "rate": 30,
                                "duration": 8},
    "threaded W=1 T=4 io=50 @60/s": {"model": "threaded", "workers": 1, "threads": 4,
                                     "io": "50", "rate": 60},
    # the door (issue 12): Linux reads a slow coat while its guest waits in line, so two
    # sync workers keep up with 8 coats of 200 ms a second (gunicorn: p50 202, p99 204 ms;
    # a model that holds a worker for the whole coat said p50 280, p99 829)
    "sync W=2 upload=200 @8/s": {"model": "sync", "workers": 2, "upload": "200", "cpu": "0",
                                 "io": "0", "rate": 8, "duration": 5},
}


def within(measured: float, simulated: float) -> bool:
    return abs(measured - simulated) <= TOLERANCE * simulated


# A known disagreement, measured here on an idle machine at 46ab181 and now alike:
# live p50 37.6-40.1 ms against 28.1-29.8 simulated (+28-35%), while throughput agrees.
# The server holds its loop about 22 ms for a 20 ms blocking call (server_view p50 at
# 5 guests/s: 21.8-22.0 ms) and the client sees 4 ms more than the model at low load:
# asyncio's several turns per request and the cost of being watched, which the model
# charges as one turn ("Reality on the cores and in the loop" models them). At rho 0.6
# every extra ms of held loop grows the wait 2.5x. Kept, so it says when that lands.
KNOWN_GAPS = {"async blocking=20 @30/s": "the loop held ~2 ms longer per blocking call live "
                                         "(turns are modelled now; the rest looks like the "
                                         "cost of being watched, issue 13)"}


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(reason=KNOWN_GAPS[name], strict=False))
    if name in KNOWN_GAPS else name for name in CASES])
def test_live_matches_simulation(name):
    scenario = build_scenario({"duration": 3, **CASES[name], "seed": 11,
                               "cores": os.cpu_count() or 2})
    reports = []
    # A known gap is expected to miss: one run reports it (XPASS says when it lands); a
    # second try could only turn a miss into a pass, which xfail does not ask for.
    for _ in range(1 if name in KNOWN_GAPS else TRIES):
        before = {p.pid for p in psutil.Process().children(recursive=True)}
        overhead = calibrate(scenario.model, duration=1.0).overhead_ms
        run = live_party(scenario.replace(overhead=overhead))
        left = {p.pid for p in psutil.Process().children(recursive=True)} - before
        assert not left, f"server processes left behind: {left}"
        sim, meas = run.simulated, run.measured.summary
        assert meas.served == sim.served, name  # nobody lost or refused, in any run
        assert run.server_view is not None and run.server_view.served == meas.served
        reports.append(f"throughput {meas.throughput:.1f} vs {sim.throughput:.1f}/s, "
                       f"p50 {meas.latency_ms['p50']:.1f} vs {sim.latency_ms['p50']:.1f} ms")
        if within(meas.throughput, sim.throughput) and \
                within(meas.latency_ms["p50"], sim.latency_ms["p50"]):
            return
    pytest.fail(f"{name}: every run outside {TOLERANCE:.0%}: " + "; ".join(reports))

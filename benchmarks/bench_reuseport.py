"""One line or one per host: real Gunicorn with and without ``--reuse-port``, and the model.

Each case starts a real server with ``--workers 2`` (``gunicorn -k
uvicorn_worker.UvicornWorker``, and ``gunicorn`` sync), sends it the scenario's guests
with partyhost's own generator (``sim.live.loadgen``), and counts the share of guests
each worker served (its ``X-Worker``) and the latency p50/p99; then simulates the same
scenario (``per_worker`` of the trace) beside it. Two loads: ``steady`` (io 50 ms at
100/s: neither worker is ever busy for long) and ``burst`` (100 guests within 50 ms, io
50 ms: the "greedy accept", where a loop that wakes first accepts everything waiting).

Measured here (2 cores, other helpers running; two runs, real | simulated):

    UvicornWorker x 2   steady 100/s  shared      55/46, 59/41 | 50/50   p50 53 ms
                                      reuse-port  52/48, 52/48 | 52/48   p50 53 ms
                        burst         shared      73/27, 76/24 | 50/50   p50 100, 94 ms
                                      reuse-port  51/49, 52/48 | 53/47   p50 119, 110 ms
                        burst cpu 2   shared      77/23, 69/31 | 84/16   p50 389, 251 | 164 ms
                                      reuse-port  53/47, 51/49 | 53/47   p50 496, 345 | 104 ms
    gunicorn sync x 2   steady 30/s   shared      50/50        | 50/50   p50/p99 below
                                      reuse-port  52/48, 51/49 | 50/50
    (sync p50/p99 ms: shared 82/308, 76/282 | 63/236; reuse-port 120/387, 113/414 | 94/467)

A shared socket under a burst puts most guests on one UvicornWorker (the "greedy
accept": the loop that wakes first accepts everything waiting), a socket per worker
splits them near half and half; for sync workers the shared line is the faster (a guest
hashed behind a busy worker waits while the other idles). Not matched: with cpu 0 the
model splits the burst evenly (it has no per-request cost unless ``--overhead`` says
so), and the real burst latencies are 2-3x the model's and higher with reuse-port
(uvicorn's per-connection cost, not modelled here).

Run: ``flock /tmp/partyhost-measure.lock python benchmarks/bench_reuseport.py``
(needs the ``real`` extra; about 30 s).
"""

from __future__ import annotations

import sys

from sim.live.loadgen import Generator, parse_target
from sim.live.loadgen.shot import OK
from sim.live.real import missing, start_real
from sim.run import simulate
from sim.scenario import build_scenario

STEADY = {"io": "50", "cpu": "0", "guests": 400, "seed": 3}
BURST = {"io": "50", "rate": 20000, "guests": 100, "seed": 3}  # all within ~5 ms
CASES = (  # real server, model, load, scenario values (besides workers and reuse_port)
    ("gunicorn-uvicorn", "hybrid", "steady 100/s", {**STEADY, "rate": 100}),
    ("gunicorn-uvicorn", "hybrid", "burst", {**BURST, "cpu": "0"}),
    ("gunicorn-uvicorn", "hybrid", "burst cpu 2", {**BURST, "cpu": "2"}),
    ("gunicorn", "sync", "steady 30/s", {**STEADY, "rate": 30, "guests": 300}),
    ("gunicorn", "sync", "burst", {**BURST, "cpu": "0", "guests": 40}),
)


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def real_case(name: str, values: dict) -> tuple[list[float], float, float, int]:
    scenario = build_scenario(values)
    with start_real(name, scenario) as server:
        result = Generator(parse_target(server.url), scenario, timeout=10).run()
    rows = result.summary.per_worker
    ok = [s.latency * 1000 for s in result.shots if s.outcome == OK]
    return (sorted((row["share"] for row in rows), reverse=True), percentile(ok, 0.5),
            percentile(ok, 0.99), sum(row["guests"] for row in rows))


def sim_case(values: dict) -> tuple[list[float], float, float]:
    scenario = build_scenario({**values, "warmup": 0})
    summary = simulate(scenario)
    return (sorted((row["share"] for row in summary.per_worker), reverse=True),
            summary.latency_ms["p50"], summary.latency_ms["p99"])


def fmt(shares: list[float]) -> str:
    return " / ".join(f"{share:.0%}" for share in shares) or "-"


def main() -> int:
    for real, model, load, base in CASES:
        if missing(real):
            print(f"{real}: {missing(real)}")
            continue
        for reuse in (False, True):
            values = {**base, "model": model, "workers": 2, "reuse_port": reuse}
            shares, p50, p99, served = real_case(real, values)
            sim_shares, sp50, sp99 = sim_case(values)
            style = "reuse-port" if reuse else "shared"
            print(f"{real:16} {load:12} {style:10} real {fmt(shares):9} (n={served:3}) "
                  f"p50 {p50:6.1f} p99 {p99:6.1f} ms | sim {fmt(sim_shares):9} "
                  f"p50 {sp50:6.1f} p99 {sp99:6.1f} ms", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The fidelity table, live against simulated: ``python benchmarks/bench_fidelity.py``.

Theory of operation. For each case below (the uncontended four of the first round, the
door's of issue 12: a small backlog, slow uploads, a worker timeout, limit-concurrency,
impatient guests who retry; the cores' and loop's of issue 13; and one per model of
issue 14: gevent, gunicorn -k asgi, uvicorn --workers, def threads behind a db pool,
and ``--gil off``, which runs only under a free-threaded Python), and, with
the ``real`` extra installed, the same scenarios on real Gunicorn and Uvicorn: measure
the server's per-request overhead (``sim.live.calibrate``), run it live for
``--seconds`` with the open-loop generator, and simulate the very same guests twice,
as given and with the calibrated ``--overhead``. Printed: throughput, p50 and p99 latency
and the client's refused / reset / timed out / failed counts, simulated (with the
calibrated overhead) and measured, and which of the issues' targets the run missed
(throughput 10%, p50 20%, p99 35%, each count within 10% or 3 guests).
The tests (tests/sim/live/test_fidelity.py) hold the same cases to 25% in a few
seconds each; this prints what the numbers really are.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sim.live import ServerError  # noqa: E402
from sim.live.calibrate import calibrate  # noqa: E402
from sim.live.real import missing  # noqa: E402
from sim.run import simulate  # noqa: E402
from sim.scenario import build_scenario  # noqa: E402
from sim.side_by_side import free_threaded_command, live_party  # noqa: E402

CASES = [
    ("sync W=4 io=50 @60/s", {"model": "sync", "workers": 4, "io": "50", "rate": 60},
     ["gunicorn"]),
    ("async io=50 @200/s", {"model": "async", "io": "50", "rate": 200}, ["uvicorn"]),
    ("async blocking=20 @30/s", {"model": "async", "blocking": "20", "rate": 30},
     ["uvicorn"]),
    ("threaded W=1 T=4 io=50 @60/s",
     {"model": "threaded", "workers": 1, "threads": 4, "io": "50", "rate": 60},
     ["gunicorn-gthread"]),
    # the door (issue 12)
    # patience 10 s: the generator gives up on a request after 10 s (its timeout) anyway
    ("sync W=2 io=50 @60/s backlog 8",
     {"model": "sync", "workers": 2, "io": "50", "cpu": "0", "rate": 60, "backlog": 8,
      "patience": "10000"},
     ["gunicorn"]),
    ("sync W=2 upload=200 @8/s",
     {"model": "sync", "workers": 2, "upload": "200", "cpu": "0", "io": "0", "rate": 8},
     ["gunicorn"]),
    ("sync W=2 timeout 1 io=1500 @1/s",
     {"model": "sync", "workers": 2, "io": "1500", "cpu": "0", "rate": 1, "timeout": 1},
     ["gunicorn"]),
    ("async limit 20 io=200 @150/s",
     {"model": "async", "io": "200", "cpu": "0", "rate": 150, "limit_concurrency": 20},
     ["uvicorn"]),
    ("sync W=1 io=300 @8/s patience 400 retries 1",
     {"model": "sync", "workers": 1, "io": "300", "cpu": "0", "rate": 8, "patience": "400",
      "retries": 1, "backoff": "100"}, ["gunicorn"]),
    # the cores and the loop (issue 13)
    ("hybrid W=1 cpu=10 @150/s", {"model": "hybrid", "workers": 1, "cpu": "10", "io": "0",
                                  "rate": 150}, ["gunicorn-uvicorn"]),
    ("hybrid W=2 cpu=10 @150/s", {"model": "hybrid", "workers": 2, "cpu": "10", "io": "0",
                                  "rate": 150}, ["gunicorn-uvicorn"]),
    ("hybrid W=4 cpu=10 @150/s", {"model": "hybrid", "workers": 4, "cpu": "10", "io": "0",
                                  "rate": 150}, ["gunicorn-uvicorn"]),
    ("gthread 1x4 cpu:5,io:20 @100/s", {"model": "threaded", "workers": 1, "threads": 4,
                                        "phases": "cpu:5,io:20", "rate": 100},
     ["gunicorn-gthread"]),
    ("gthread 1x4 cpu:5,io:20 @135/s", {"model": "threaded", "workers": 1, "threads": 4,
                                        "phases": "cpu:5,io:20", "rate": 135},
     ["gunicorn-gthread"]),
    ("async io=50 + blocking=5 @100/s", {"model": "async", "phases": "io:50,blocking:5",
                                         "rate": 100}, ["uvicorn"]),
    ("async cpu=5 @150/s", {"model": "async", "cpu": "5", "io": "0", "rate": 150},
     ["uvicorn"]),
    # the servers people run today (issue 14): one case per new model. The three loops
    # per process take the blocking loop's case, a hold of 5 ms between awaits (rho 0.5
    # on one hub, 0.25 on each of two); their managers differ only past --timeout
    # (benchmarks/bench_managers.py shows that), never here.
    ("gevent W=1 io=50 + blocking=5 @100/s",
     {"model": "gevent", "workers": 1, "phases": "io:50,blocking:5", "rate": 100},
     ["gunicorn-gevent"]),
    ("asgi-worker W=2 io=50 + blocking=5 @100/s",
     {"model": "asgi-worker", "workers": 2, "phases": "io:50,blocking:5", "rate": 100},
     ["gunicorn-asgi"]),
    ("supervised W=2 io=50 + blocking=5 @100/s",
     {"model": "supervised", "workers": 2, "phases": "io:50,blocking:5", "rate": 100},
     ["uvicorn-workers"]),
    # the finite kitchen: 40 def threads behind a pool of 5 (capacity 5 / 50 ms = 100/s)
    ("threadpool T=40 db=50 pool 5 @80/s",
     {"model": "threadpool", "threads": 40, "phases": "db:50", "db_pool": 5, "rate": 80},
     ["uvicorn-def"]),
    # free-threaded Python: four threads chat on both cores (200/s), where one GIL gives
    # 100/s; live only under a free-threaded interpreter (python3.14t), skipped elsewhere
    ("threaded W=1 T=4 cpu=10 gil off @150/s",
     {"model": "threaded", "workers": 1, "threads": 4, "cpu": "10", "io": "0", "rate": 150,
      "gil": "off"}, []),
]
# The targets of issues 12 and 13, simulated (with calibrated overhead) against live.
TARGETS = {"thr": 0.10, "p50": 0.20, "p99": 0.35}
COUNTS = ("refused", "reset", "timed_out", "failed")


def pct(measured: float, simulated: float) -> str:
    return f"{(measured / simulated - 1) * 100:+6.1f}%" if simulated else "    -  "


def verdict(live, sim) -> str:
    """Which targets the run missed: '' when every one holds."""
    missed = []
    pairs = {"thr": (live.throughput, sim.throughput),
             "p50": (live.latency_ms["p50"], sim.latency_ms["p50"]),
             "p99": (live.latency_ms["p99"], sim.latency_ms["p99"])}
    for key, (a, b) in pairs.items():
        if b and abs(a / b - 1) > TARGETS[key]:
            missed.append(key)
    ld, sd = live.to_dict(), sim.to_dict()
    for key in COUNTS:
        a, b = ld.get(key, 0), sd.get(key, 0)
        if abs(a - b) > max(3, 0.10 * max(a, b)):
            missed.append(key)
    return "ok" if not missed else "off: " + ",".join(missed)


def unavailable(scenario, real: str | None) -> str | None:
    """Why this run cannot happen here (``--gil off`` without a free-threaded Python,
    or on a real server, which runs on this interpreter), or None."""
    try:
        free_threaded_command(scenario, real)
    except ServerError as exc:
        return str(exc)
    return None


def counts(summary) -> str:
    d = summary.to_dict()
    return "/".join(str(d.get(key, 0)) for key in COUNTS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-real", action="store_true", help="skip Gunicorn and Uvicorn")
    parser.add_argument("--only", metavar="TEXT", help="run the cases whose name has TEXT")
    args = parser.parse_args()
    cores = os.cpu_count() or 2
    print(f"{args.seconds:g} s per run, seed {args.seed}, {cores} cores; "
          "thr = throughput (guests/s), p50/p99 latency (ms), sim with calibrated --overhead; "
          "ref/rst/to/fail = refused/reset/timed out/failed; targets: thr 10%, p50 20%, "
          "p99 35%, counts 10% or 3")
    head = (f"{'scenario':44} {'server':19} {'thr sim':>7} {'live':>7} {'p50 sim':>8} "
            f"{'live':>8} {'p99 sim':>8} {'live':>8} {'ref/rst/to/fail sim':>19} "
            f"{'live':>14}  verdict")
    print(head)
    print("-" * len(head))
    for label, values, reals in CASES:
        if args.only and args.only not in label:
            continue
        servers = [None] + ([] if args.no_real else reals)
        for real in servers:
            if real is not None and missing(real):
                print(f"{label:44} {real:19} skipped: {missing(real)}")
                continue
            scenario = build_scenario({**values, "duration": args.seconds, "seed": args.seed,
                                       "cores": cores})
            why = unavailable(scenario, real)
            if why:
                print(f"{label:44} {real or 'minimal ' + scenario.model:19} skipped: {why}")
                continue
            overhead = calibrate(real or scenario.model, duration=2.0).overhead_ms
            run = live_party(scenario, real=real, simulate_too=False)
            sim = simulate(scenario.replace(overhead=overhead))
            live = run.measured.summary
            print(f"{label:44} {real or 'minimal ' + scenario.model:19} "
                  f"{sim.throughput:7.1f} {live.throughput:7.1f} "
                  f"{sim.latency_ms['p50']:8.1f} {live.latency_ms['p50']:8.1f} "
                  f"{sim.latency_ms['p99']:8.1f} {live.latency_ms['p99']:8.1f} "
                  f"{counts(sim):>19} {counts(live):>14}  {verdict(live, sim)}", flush=True)
            if run.measured.behind:
                print(f"{'':44} note: the generator fell behind its schedule in this run")
    return 0


if __name__ == "__main__":
    sys.exit(main())

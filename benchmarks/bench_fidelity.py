"""The fidelity table, live against simulated: ``python benchmarks/bench_fidelity.py``.

Theory of operation. For each scenario of the issue (sync W=4 io=50 at 60/s; async
io=50 at 200/s; async blocking=20 at 30/s; threaded W=1 T=4 io=50 at 60/s), and, with
the ``real`` extra installed, the same scenarios on real Gunicorn and Uvicorn: measure
the server's per-request overhead (``sim.live.calibrate``), run it live for
``--seconds`` with the open-loop generator, and simulate the very same guests twice,
as given and with the calibrated ``--overhead``. Printed: throughput and p50 latency,
simulated and measured, and the exact difference in percent for both simulations.
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

from sim.live.calibrate import calibrate  # noqa: E402
from sim.live.real import missing  # noqa: E402
from sim.run import simulate  # noqa: E402
from sim.scenario import build_scenario  # noqa: E402
from sim.side_by_side import live_party  # noqa: E402

CASES = [
    ("sync W=4 io=50 @60/s", {"model": "sync", "workers": 4, "io": "50", "rate": 60},
     ["gunicorn"]),
    ("async io=50 @200/s", {"model": "async", "io": "50", "rate": 200}, ["uvicorn"]),
    ("async blocking=20 @30/s", {"model": "async", "blocking": "20", "rate": 30},
     ["uvicorn"]),
    ("threaded W=1 T=4 io=50 @60/s",
     {"model": "threaded", "workers": 1, "threads": 4, "io": "50", "rate": 60},
     ["gunicorn-gthread"]),
]


def pct(measured: float, simulated: float) -> str:
    return f"{(measured / simulated - 1) * 100:+6.1f}%" if simulated else "    -  "


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-real", action="store_true", help="skip Gunicorn and Uvicorn")
    args = parser.parse_args()
    cores = os.cpu_count() or 2
    print(f"{args.seconds:g} s per run, seed {args.seed}, {cores} cores; "
          "thr = throughput (guests/s), p50 = latency p50 (ms); "
          "diff = measured vs simulated (as given | with calibrated --overhead)")
    head = (f"{'scenario':30} {'server':17} {'ovh ms':>6} {'thr sim':>8} {'thr live':>8} "
            f"{'diff':>17} {'p50 sim':>8} {'p50 live':>8} {'diff':>17}")
    print(head)
    print("-" * len(head))
    for label, values, reals in CASES:
        servers = [None] + ([] if args.no_real else reals)
        for real in servers:
            if real is not None and missing(real):
                print(f"{label:30} {real:17} skipped: {missing(real)}")
                continue
            scenario = build_scenario({**values, "duration": args.seconds, "seed": args.seed,
                                       "cores": cores})
            overhead = calibrate(real or scenario.model, duration=2.0).overhead_ms
            run = live_party(scenario, real=real, simulate_too=False)
            plain = simulate(scenario)
            honest = simulate(scenario.replace(overhead=overhead))
            live = run.measured.summary
            thr_diff = f"{pct(live.throughput, plain.throughput)} | " \
                       f"{pct(live.throughput, honest.throughput)}"
            p50_diff = f"{pct(live.latency_ms['p50'], plain.latency_ms['p50'])} | " \
                       f"{pct(live.latency_ms['p50'], honest.latency_ms['p50'])}"
            print(f"{label:30} {real or 'minimal ' + scenario.model:17} {overhead:6.2f} "
                  f"{plain.throughput:8.2f} {live.throughput:8.2f} {thr_diff:>17} "
                  f"{plain.latency_ms['p50']:8.1f} {live.latency_ms['p50']:8.1f} "
                  f"{p50_diff:>17}", flush=True)
            if run.measured.behind:
                print(f"{'':30} note: the generator fell behind its schedule in this run")
    return 0


if __name__ == "__main__":
    sys.exit(main())

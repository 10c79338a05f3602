"""Does watching disturb? ``python benchmarks/bench_watched.py``.

Theory of operation. ``partyhost live`` watches its minimal server: every process of it
reports its trace events (``--report``) to a Unix socket the load generator's process
reads. Issue 13 measured what that cost when every event was one write: p50 131 ms
watched against 86 unwatched (async io=50 + blocking=5 at 100/s), and 83/s against
92/s (hybrid W=1 cpu=10 at 150/s). This runs the issue's two cases both ways, watched
(``live_party(watch=True)``: reporting on, as ``partyhost live`` runs) and unwatched
(``watch=False``: no ``--report``, so the server builds no event at all), alternating
them ``--rounds`` times on the same seed so drift on a shared machine hits both
alike, and prints the medians and watched/unwatched ratios. Target (issue 13): p50
within 5%, throughput within 1%.

Each pair of runs holds the shared measurement lock (``--lock``, flock(2), the lock
``flock(1)`` takes), so other benchmarks on the machine do not run at the same time.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sim.scenario import build_scenario  # noqa: E402
from sim.side_by_side import live_party  # noqa: E402

CASES = {
    "hybrid": ("hybrid W=2 cpu=10 @150/s",
               {"model": "hybrid", "workers": 2, "cpu": "10", "rate": 150}),
    "async": ("async io=50 + blocking=5 @100/s",
              {"model": "async", "io": "50", "blocking": "5", "rate": 100}),
}
P50_TARGET = 0.05  # issue 13: a watched server's p50 within 5% of an unwatched one's


@contextlib.contextmanager
def held(path: str | None) -> Iterator[None]:
    """The measurement lock, if a path is given (shared with ``flock(1)`` users)."""
    if not path:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def one(values: dict, seconds: float, seed: int, watch: bool) -> tuple[float, float, float, int]:
    """p50 ms, p99 ms, throughput guests/s, events the server reported (watched only)."""
    scenario = build_scenario({**values, "duration": seconds, "seed": seed})
    run = live_party(scenario, simulate_too=False, watch=watch)
    summary = run.measured.summary
    events = run.events_seen if watch else 0
    return summary.latency_ms["p50"], summary.latency_ms["p99"], summary.throughput, events


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--case", choices=[*CASES, "all"], default="all")
    parser.add_argument("--lock", default="/tmp/partyhost-measure.lock",
                        help="flock this file around each pair of runs ('' for none)")
    args = parser.parse_args()
    names = list(CASES) if args.case == "all" else [args.case]
    print(f"{args.seconds:g} s per run, {args.rounds} rounds (watched and unwatched "
          f"alternating), seed {args.seed}; medians; ratio = watched / unwatched")
    head = (f"{'case':32} {'p50 watched':>11} {'p50 unwatched':>13} {'ratio':>6} "
            f"{'p99 w/u ms':>13} {'thr w/u':>13} {'ratio':>6} {'events':>7}")
    print(head)
    print("-" * len(head))
    worst = 0.0
    for name in names:
        label, values = CASES[name]
        runs: dict[bool, list[tuple[float, float, float, int]]] = {True: [], False: []}
        for round_ in range(args.rounds):
            order = (True, False) if round_ % 2 == 0 else (False, True)
            with held(args.lock):
                for watch in order:
                    runs[watch].append(one(values, args.seconds, args.seed, watch))
                    time.sleep(0.5)
        med = {w: [statistics.median(r[i] for r in runs[w]) for i in range(4)] for w in runs}
        p50_ratio = med[True][0] / med[False][0]
        thr_ratio = med[True][2] / med[False][2]
        worst = max(worst, abs(p50_ratio - 1))
        print(f"{label:32} {med[True][0]:11.1f} {med[False][0]:13.1f} {p50_ratio:6.3f} "
              f"{med[True][1]:6.0f}/{med[False][1]:<6.0f} "
              f"{med[True][2]:6.1f}/{med[False][2]:<6.1f} {thr_ratio:6.3f} "
              f"{med[True][3]:7.0f}", flush=True)
        for watch in (True, False):
            each = ", ".join(f"{r[0]:.1f}" for r in runs[watch])
            print(f"    p50 each run, {'watched' if watch else 'unwatched'}: {each}")
    verdict = "within" if worst <= P50_TARGET else "OUTSIDE"
    print(f"worst p50 ratio off by {worst * 100:.1f}%: {verdict} the {P50_TARGET:.0%} target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Does watching disturb? ``python benchmarks/bench_watched.py``.

Theory of operation. ``partyhost live`` watches its minimal server: every process of it
reports its trace events (``--report``) to a Unix socket the load generator's process
reads. Issue 13 measured what that cost when every event was one write: p50 131 ms
watched against 86 unwatched (async io=50 + blocking=5 at 100/s), and 83/s against
92/s (hybrid W=1 cpu=10 at 150/s). Reporting is now batched (``sim.live.report``).

This runs the issue's two cases in up to three ways on the same seed: watched
(``live_party(watch=True)``, as ``partyhost live`` runs), unwatched (``watch=False``:
no ``--report``, so the server builds no event at all) and, with ``--per-event``, the
old way (``PARTYHOST_REPORT_EVERY=0``: one write per event). The ways alternate in
each of ``--rounds`` rounds, so drift on a shared machine hits them alike. Printed per
case: median p50, p99 and throughput of each way; the watched/unwatched p50 ratio, as
the median of each round's own ratio (a round's runs are seconds apart; that is the
headline, target within 5%); and the server's CPU per guest (ms, from
``RUSAGE_CHILDREN``: the server is our child, its workers the server's, boot
included), which a busy machine does not blur as much as latency.

First, unless ``--no-micro``: the reporting path alone, in this process (a reporter
writing to a Unix socket a thread here reads), for an async guest's 9 events: the CPU
the serving thread spends per guest, unwatched (no reporter: ``if report:`` is false),
batched, and one write per event; and the whole process's (the flusher, the reader).
CPU time, not wall time, so a loaded machine blurs it less.

Each round holds the shared measurement lock (``--lock``, flock(2), the lock
``flock(1)`` takes), so other measurements on the machine do not run at the same time.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import resource
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sim.live.report import EVERY_ENV, FLUSH_EVERY, Reporter  # noqa: E402
from sim.scenario import build_scenario  # noqa: E402
from sim.side_by_side import live_party  # noqa: E402
from sim.trace import (  # noqa: E402
    Arrived,
    Finished,
    LoopBlocked,
    LoopUnblocked,
    PhaseEnded,
    PhaseStarted,
    Started,
)

CASES = {
    "hybrid": ("hybrid W=2 cpu=10 @150/s",
               {"model": "hybrid", "workers": 2, "cpu": "10", "rate": 150}),
    "async": ("async io=50 + blocking=5 @100/s",
              {"model": "async", "io": "50", "blocking": "5", "rate": 100}),
}
P50_TARGET = 0.05  # issue 13: a watched server's p50 within 5% of an unwatched one's
WAYS = ("watched", "unwatched", "per-event")


@dataclass
class Outcome:
    p50: float  # ms
    p99: float  # ms
    throughput: float  # guests/s
    events: int  # trace events the server reported
    cpu_ms_per_guest: float  # the server's CPU (every process), per guest served


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


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one(values: dict, seconds: float, seed: int, way: str) -> Outcome:
    scenario = build_scenario({**values, "duration": seconds, "seed": seed})
    if way == "per-event":
        os.environ[EVERY_ENV] = "0"  # the server inherits our environment
    try:
        before = children_cpu()
        run = live_party(scenario, simulate_too=False, watch=way != "unwatched")
        cpu = children_cpu() - before
    finally:
        os.environ.pop(EVERY_ENV, None)
    summary = run.measured.summary
    return Outcome(summary.latency_ms["p50"], summary.latency_ms["p99"], summary.throughput,
                   run.events_seen, cpu * 1000 / max(summary.served, 1))


def an_async_guest(report: Reporter | None, guest: int) -> None:
    """What the async server reports for one io=50 + blocking=5 guest: 9 events."""
    now = time.monotonic
    if report:
        report(Arrived(now(), guest))
        report(Started(now(), guest, 0))
        report(PhaseStarted(now(), guest, 0, "io"))
        report(PhaseEnded(now(), guest, 0, "io"))
        report(PhaseStarted(now(), guest, 0, "blocking"))
        report(LoopBlocked(now(), 0, guest, "blocking"))
        report(LoopUnblocked(now(), 0, guest))
        report(PhaseEnded(now(), guest, 0, "blocking"))
        report(Finished(now(), guest, 0))


def micro(guests: int = 20_000, rounds: int = 3) -> None:
    """The reporting path alone: CPU us per guest, serving thread and whole process."""
    with tempfile.TemporaryDirectory(prefix="partyhost-bench-") as tmp, \
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        path = os.path.join(tmp, "report.sock")
        listener.bind(path)
        listener.listen(4)

        def read() -> None:  # the observer: one connection per reporter, read to its end
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                with conn:
                    while conn.recv(65536):
                        pass

        threading.Thread(target=read, daemon=True).start()
        ways = {"unwatched": None, "batched": FLUSH_EVERY, "per-event": 0.0}
        costs: dict[str, list[tuple[float, float]]] = {way: [] for way in ways}
        for _ in range(rounds):
            for way, every in ways.items():
                report = Reporter(path, every=every) if every is not None else None
                process, thread = time.process_time(), time.thread_time()
                for guest in range(guests):
                    an_async_guest(report, guest)
                    if guest % 10 == 9:
                        time.sleep(0.001)  # 10 guests a millisecond: the flusher gathers
                thread = time.thread_time() - thread
                if report is not None:
                    report.close()  # its last batch counts too
                process = time.process_time() - process
                costs[way].append((thread * 1e6 / guests, process * 1e6 / guests))
    print(f"the reporting path alone, an async guest's 9 events, {guests:,} guests x {rounds}; "
          "CPU us per guest (medians)")
    print(f"  {'way':10} {'serving thread':>15} {'whole process':>14}")
    med = {way: (statistics.median(c[0] for c in costs[way]),
                 statistics.median(c[1] for c in costs[way])) for way in ways}
    for way in ways:
        print(f"  {way:10} {med[way][0]:15.1f} {med[way][1]:14.1f}")
    print(f"  per-event / batched: serving thread x{med['per-event'][0] / med['batched'][0]:.1f}, "
          f"whole process x{med['per-event'][1] / med['batched'][1]:.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3, help="0: only the reporting path")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--case", choices=[*CASES, "all"], default="all")
    parser.add_argument("--rate", type=float, default=None,
                        help="guests/s instead of the case's own (a machine too busy to "
                             "serve the issue's rate measures only its overload)")
    parser.add_argument("--per-event", action="store_true",
                        help="also run the old way: one write per event")
    parser.add_argument("--lock", default="/tmp/partyhost-measure.lock",
                        help="flock this file around each round ('' for none)")
    parser.add_argument("--no-micro", action="store_true",
                        help="skip the in-process measurement of the reporting path")
    args = parser.parse_args()
    if not args.no_micro:
        with held(args.lock):
            micro()
        print()
    if args.rounds < 1:
        return 0  # --rounds 0: the reporting path alone
    names = list(CASES) if args.case == "all" else [args.case]
    ways = WAYS if args.per_event else WAYS[:2]
    print(f"{args.seconds:g} s per run, {args.rounds} rounds ({', '.join(ways)} alternating), "
          f"seed {args.seed}, {os.cpu_count()} cores; medians")
    worst = 0.0
    for name in names:
        label, values = CASES[name]
        if args.rate is not None:
            values = {**values, "rate": args.rate}
            label = label.split("@")[0] + f"@{args.rate:g}/s"
        runs: dict[str, list[Outcome]] = {way: [] for way in ways}
        for round_ in range(args.rounds):
            order = ways if round_ % 2 == 0 else tuple(reversed(ways))
            with held(args.lock):
                for way in order:
                    runs[way].append(one(values, args.seconds, args.seed, way))
                    time.sleep(0.5)
        print(f"\n{label}")
        print(f"  {'way':10} {'p50 ms':>8} {'p99 ms':>8} {'guests/s':>9} {'events':>7} "
              f"{'server cpu ms/guest':>20}   p50 each run")
        for way in ways:
            rows = runs[way]

            def med(attr: str, rows: list[Outcome] = rows) -> float:
                return statistics.median(getattr(r, attr) for r in rows)

            each = ", ".join(f"{r.p50:.1f}" for r in rows)
            print(f"  {way:10} {med('p50'):8.1f} {med('p99'):8.1f} {med('throughput'):9.1f} "
                  f"{med('events'):7.0f} {med('cpu_ms_per_guest'):20.2f}   {each}")
        for way in ways:
            if way == "unwatched":
                continue
            pairs = zip(runs[way], runs["unwatched"], strict=True)
            ratios = [(w.p50 / u.p50, w.throughput / u.throughput) for w, u in pairs]
            p50_ratio = statistics.median(r[0] for r in ratios)
            thr_ratio = statistics.median(r[1] for r in ratios)
            print(f"  {way} / unwatched: p50 x{p50_ratio:.3f}, throughput x{thr_ratio:.3f} "
                  f"(medians of the rounds' own ratios)")
            if way == "watched":
                worst = max(worst, abs(p50_ratio - 1))
    verdict = "within" if worst <= P50_TARGET else "OUTSIDE"
    print(f"\nwatched p50 off the unwatched by at most {worst * 100:.1f}%: {verdict} the "
          f"{P50_TARGET:.0%} target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

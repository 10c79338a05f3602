"""The numbers a lesson may name: what one run of a scenario measured, by name.

Theory of operation. A lesson never types in a result; it names one, like
``sync.p99`` (the p99 latency of the run called ``sync``), and the value is read from
the run. This module is the catalogue of those names (``METRICS``, with what each
means, for the authoring guide and for errors) and ``run_values``, which turns a
scenario and its ``Summary`` (plus a few counts the summary leaves out, gathered by
``EventCounts`` while the run streams) into a flat ``{name: float}``.

The summary's own nested names (``latency_ms.p99``, ``queue.mean``,
``littles_law.L``, ``scenario.workers``) are accepted too, so a teacher who read
``partyhost simulate --json`` can use what they saw there.
"""

from __future__ import annotations

import math
from typing import Any

from sim.metrics import Summary
from sim.scenario import Scenario
from sim.theory import prediction, saturation
from sim.trace import (
    BLOCKING,
    CPU,
    DB,
    IO,
    REASON_DB_REFUSED,
    REASON_DB_TIMEOUT,
    REASON_LIMIT,
    REASON_REFUSED,
    REASON_TIMED_OUT,
    REASON_TIMEOUT,
    TURNED_AWAY_REASONS,
    UPLOAD,
    Event,
    Failed,
    LoopBlocked,
    LoopUnblocked,
    WorkerKilled,
)

# name -> what it means (unit). The order is the order of the authoring guide.
METRICS: dict[str, str] = {
    "throughput": "guests answered per second in the measured window (guests/s)",
    "p50": "median latency: arrival to answer (ms)",
    "p90": "90th percentile latency (ms)",
    "p99": "99th percentile latency (ms)",
    "p999": "99.9th percentile latency (ms)",
    "mean": "mean latency (ms)",
    "max": "slowest guest's latency (ms)",
    "wait_p50": "median wait in the line before a host takes the guest (ms)",
    "wait_p99": "99th percentile wait in the line (ms)",
    "wait_mean": "mean wait in the line (ms)",
    "wait_max": "longest wait in the line (ms)",
    "utilization": "fraction of host time in use, 0..1",
    "queue": "mean guests in the line (the backlog)",
    "queue_max": "most guests in the line at once",
    "L": "Little's L: mean guests in the house",
    "lambda_W": "Little's lambda x W: admitted guests/s x mean time in the house",
    "arrived": "guests who knocked (whole run)",
    "served": "guests answered (whole run)",
    "turned_away": "guests never let in: refused + reset + timed_out (whole run)",
    "refused": "guests refused at once: RST to the SYN, nobody listening (whole run)",
    "reset": "guests whose connection was reset before the request was sent, as a half-open "
             "guest is with --abort-on-overflow (whole run)",
    "timed_out": "guests who gave up outside: connect timeout or --patience (whole run)",
    "syn_dropped": "knocks lost: SYNs Linux dropped at a full line, each resend counts",
    "half_open": "guests in for their client but not the kernel: their SYN came in a batch "
                 "that found one slot, their request was dropped and resent (whole run)",
    "retries": "guests' retries after giving up (--retries), whole run",
    "wasted": "answered late: answers finished after the guest had gone (whole run)",
    "failed": "guests let in but never answered: 503s and killed workers (whole run)",
    "failed_503": "guests answered 503 by --limit-concurrency (whole run)",
    "failed_timeout": "guests lost when the manager killed their worker (whole run)",
    "failed_db": "guests answered 500 by the database side: no pool connection within "
                 "--db-timeout, or the database at --db-max (whole run)",
    "turned_away_share": "turned_away / arrived, 0..1",
    "refused_share": "refused / arrived, 0..1",
    "timed_out_share": "timed_out / arrived, 0..1",
    "failed_share": "failed / arrived, 0..1",
    "served_share": "served / arrived, 0..1",
    "killed": "workers killed by the manager (Gunicorn's arbiter)",
    "busiest_share": "the busiest worker process's share of the guests served, 0..1",
    "idlest_share": "the idlest worker process's share of the guests served, 0..1",
    "blocked_max_ms": "longest time an event loop stood still (ms)",
    "workers": "worker processes (-w)",
    "threads": "threads per process",
    "hosts": "hosts: workers x threads (or event loops)",
    "cores": "CPU cores (rooms)",
    "backlog": "listen backlog: places in the line",
    "timeout": "the manager's --timeout (s)",
    "rate": "arrival rate (guests/s; open loop)",
    "users": "closed-loop users (0 for open loop)",
    "guests": "guests planned for the run",
    "limit_concurrency": "uvicorn's --limit-concurrency (0 if unset)",
    "connect_timeout": "how long a guest knocks before giving up, --connect-timeout (s)",
    "service_ms": "mean of all a guest's phases together (ms)",
    "cpu_ms": "mean cpu (chatting) per guest (ms)",
    "io_ms": "mean io (kitchen) per guest (ms)",
    "blocking_ms": "mean blocking call per guest (ms)",
    "upload_ms": "mean upload (slow coat) per guest (ms)",
    "saturation": "theory: the most guests/s this model can sustain",
    "load": "theory: rate / saturation, the share of capacity asked for",
    "theory_wait_ms": "theory: mean wait in line (M/M/c, M/G/1), when a formula applies",
    "theory_latency_ms": "theory: mean latency, when a formula applies",
    "p_wait": "theory: chance a guest waits at all (Erlang C), when a formula applies",
}

# The summary's own nested names, as `partyhost simulate --json` prints them.
ALIASES: dict[str, str] = {
    **{f"latency_ms.{k}": k for k in ("p50", "p90", "p99", "p999", "mean", "max")},
    **{f"wait_ms.{k}": f"wait_{k}" for k in ("p50", "p99", "mean", "max")},
    "queue.mean": "queue",
    "queue.max": "queue_max",
    "littles_law.L": "L",
    "littles_law.lambda_W": "lambda_W",
    **{f"scenario.{k}": k for k in ("workers", "threads", "cores", "backlog", "timeout",
                                     "rate", "users", "guests", "limit_concurrency",
                                     "connect_timeout")},
}

THEORY = ("theory_wait_ms", "theory_latency_ms", "p_wait")


def known(name: str) -> bool:
    return name in METRICS or name in ALIASES


def canonical(name: str) -> str:
    return ALIASES.get(name, name)


class EventCounts:
    """A sink counting what ``Summary`` leaves out: kills, failure reasons, loop stalls."""

    def __init__(self) -> None:
        self.killed = 0
        self.failed_503 = 0
        self.failed_timeout = 0
        self.failed_db = 0
        self.blocked_max = 0.0
        self._blocked_since: dict[int, float] = {}

    def __call__(self, event: Event) -> None:
        kind = type(event)
        if kind is WorkerKilled:
            self.killed += 1
            self._blocked_since.pop(event.worker, None)  # type: ignore[attr-defined]
        elif kind is Failed:
            reason = event.reason  # type: ignore[attr-defined]
            if reason == REASON_LIMIT:
                self.failed_503 += 1
            elif reason == REASON_TIMEOUT:
                self.failed_timeout += 1
            elif reason in (REASON_DB_TIMEOUT, REASON_DB_REFUSED):
                self.failed_db += 1
        elif kind is LoopBlocked:
            self._blocked_since[event.worker] = event.t  # type: ignore[attr-defined]
        elif kind is LoopUnblocked:
            start = self._blocked_since.pop(event.worker, None)  # type: ignore[attr-defined]
            if start is not None:
                self.blocked_max = max(self.blocked_max, event.t - start)


def _mean_ms(scenario: Scenario, *kinds: str) -> float:
    return sum(step.dist.mean for step in scenario.script if step.kind in kinds)


def run_values(scenario: Scenario, summary: Summary, counts: EventCounts) -> dict[str, float]:
    """Every catalogued number for one run (theory values are NaN where no formula fits)."""
    arrived = summary.served + summary.turned_away + summary.failed
    share = (lambda n: n / arrived) if arrived else (lambda n: 0.0)
    values: dict[str, Any] = {
        "throughput": summary.throughput,
        **{k: summary.latency_ms[k] for k in ("p50", "p90", "p99", "p999", "mean", "max")},
        **{f"wait_{k}": summary.wait_ms[k] for k in ("p50", "p99", "mean", "max")},
        "utilization": summary.utilization,
        "queue": summary.queue_mean,
        "queue_max": summary.queue_max,
        "L": summary.littles_L,
        "lambda_W": summary.littles_lambda_W,
        "arrived": arrived,
        "served": summary.served,
        "turned_away": summary.turned_away,
        **{reason: summary.turned_away_by.get(reason, 0) for reason in TURNED_AWAY_REASONS},
        "syn_dropped": summary.syn_dropped,
        "half_open": summary.half_open,
        "retries": summary.retries,
        "wasted": summary.wasted,
        "failed": summary.failed,
        "failed_503": counts.failed_503,
        "failed_timeout": counts.failed_timeout,
        "failed_db": counts.failed_db,
        "turned_away_share": share(summary.turned_away),
        "refused_share": share(summary.turned_away_by.get(REASON_REFUSED, 0)),
        "timed_out_share": share(summary.turned_away_by.get(REASON_TIMED_OUT, 0)),
        "failed_share": share(summary.failed),
        "served_share": share(summary.served),
        "killed": counts.killed,
        "blocked_max_ms": counts.blocked_max * 1000,
        # how evenly the line (or the lines, --reuse-port) spread the guests
        "busiest_share": max((w["share"] for w in summary.per_worker), default=0.0),
        "idlest_share": min((w["share"] for w in summary.per_worker), default=0.0),
    }
    values.update(scenario_values(scenario))
    return {k: float(v) for k, v in values.items()}


def scenario_values(scenario: Scenario) -> dict[str, float]:
    """The numbers a scenario fixes before anything runs: knobs, means, theory."""
    s = scenario
    sat = saturation(s)
    guess = prediction(s)
    nan = math.nan
    return {
        "workers": s.workers,
        "threads": s.threads,
        "hosts": s.hosts,
        "cores": s.cores,
        "backlog": s.backlog,
        "timeout": s.timeout,
        "rate": s.rate or 0.0,
        "users": s.users or 0,
        "guests": s.guests or 0,
        "limit_concurrency": s.limit_concurrency or 0,
        "connect_timeout": s.connect_timeout,
        "service_ms": _mean_ms(s, UPLOAD, CPU, IO, DB, BLOCKING),
        "cpu_ms": _mean_ms(s, CPU),
        "io_ms": _mean_ms(s, IO),
        "blocking_ms": _mean_ms(s, BLOCKING),
        "upload_ms": _mean_ms(s, UPLOAD),
        "saturation": sat,
        "load": (s.rate / sat) if (s.rate and sat and not s.users) else nan,
        "theory_wait_ms": guess.wait * 1000 if guess else nan,
        "theory_latency_ms": guess.latency * 1000 if guess else nan,
        "p_wait": guess.p_wait if guess and guess.p_wait is not None else nan,
    }

"""The run's result: the shots folded into ``simulate``'s very summary, plus the generator's say.

``summarize`` turns each shot into client-side trace events (``sim.trace``) and folds
them with ``sim.metrics``, so ``HitResult.summary`` has the shape of ``simulate``'s.
Server times are ``time.monotonic()`` on the same machine, the clock the generator's
loop runs on; for a remote target they are ignored.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sim.live.loadgen.shot import OK, REFUSED, RESET, TIMED_OUT, Shot
from sim.metrics import Distribution, Summary, metrics_for, shares
from sim.scenario import Scenario
from sim.trace import (
    REASON_ERROR,
    REASON_LIMIT,
    REASON_REFUSED,
    REASON_RESET,
    REASON_TIMED_OUT,
    Arrived,
    Event,
    Failed,
    Finished,
    Queued,
    ServerStarted,
    Started,
    TurnedAway,
)

HEALTHY_LAG_P99 = 0.002  # s: the generator's own bar (see benchmarks/bench_loadgen.py)
BEHIND_LAG_P99 = 0.010  # s: a send-lag p99 above this: the generator fell behind
BEHIND_RATE = 0.98  # sent fewer than this share of the schedule's rate: fell behind

TURNED_AWAY_REASON = {REFUSED: REASON_REFUSED, RESET: REASON_RESET, TIMED_OUT: REASON_TIMED_OUT}


@dataclass
class Snapshot:
    """How the run is going, for a live display (read it, do not keep it)."""

    elapsed: float
    planned: int | None  # guests the schedule holds, when known
    sent: int
    served: int
    turned_away: int
    failed: int
    in_flight: int
    p50_ms: float
    p99_ms: float
    lag_p99_ms: float
    retries: int = 0


@dataclass
class HitResult:
    """A run's outcome: the summary in ``simulate``'s shape, plus the generator's own say."""

    summary: Summary
    shots: list[Shot]
    send_lag: Distribution
    latency: Distribution  # every answered guest, for the HDR histogram
    planned_rate: float | None  # guests/s the schedule asked for (open loop)
    sent_rate: float  # guests/s really sent
    elapsed: float  # s from the first instant to the last answer
    closed: bool
    keep_alive: bool
    capped: bool
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def behind(self) -> bool:
        """Did the generator fail to keep to its schedule (so the numbers flatter)?"""
        lag = self.send_lag.summary_ms()["p99"] / 1000
        if self.closed:
            return False
        slow = self.planned_rate is not None and self.sent_rate < BEHIND_RATE * self.planned_rate
        return lag > BEHIND_LAG_P99 or slow

    def to_dict(self) -> dict[str, Any]:
        out = self.summary.to_dict()
        out["send_lag_ms"] = self.send_lag.summary_ms()
        out["generator"] = {
            "loop": "closed" if self.closed else "open",
            "keep_alive": self.keep_alive,
            "planned_rate": self.planned_rate,
            "sent_rate": round(self.sent_rate, 3),
            "elapsed_s": round(self.elapsed, 3),
            "behind_schedule": self.behind,
            "errors": dict(self.errors),
        }
        return out


def summarize(shots: list[Shot], scenario: Scenario, t0: float, *,
              use_server_times: bool = True) -> Summary:
    """Fold the shots into ``Metrics`` as client-side trace events, in time order.

    ``Arrived`` (with its ``attempt``) at the intended send time; ``Queued``/``Started``
    at the server's ``X-Started-At`` if it said (else the guest has no wait and no host
    in the numbers); then ``Finished`` when the answer was in, ``TurnedAway`` with the
    client's reason (refused, reset, timed out), or ``Failed`` (``503`` for a 503 answer,
    else ``error``). A guest who ran out of patience hung up: whatever the server did
    for it later reached nobody, and nothing more is told. Workers are numbered in the
    order their ``X-Worker`` first appears.
    """
    workers: dict[str, int] = {}
    events: list[tuple[float, int, Event]] = []
    for shot in shots:
        arrival = shot.intended - t0
        done = max(shot.done - t0, arrival)
        events.append((arrival, 0, Arrived(arrival, shot.guest, shot.kind, shot.attempt)))
        reason = TURNED_AWAY_REASON.get(shot.outcome)
        if reason is not None:
            events.append((done, 3, TurnedAway(done, shot.guest, reason)))
            continue
        worker = workers.setdefault(shot.worker, len(workers)) if shot.worker is not None else -1
        if use_server_times and shot.started_at is not None and worker >= 0:
            started = min(max(shot.started_at - t0, arrival), done)
            events.append((arrival, 1, Queued(arrival, shot.guest, 0)))
            events.append((started, 2, Started(started, shot.guest, worker)))
        if shot.outcome == OK:
            events.append((done, 3, Finished(done, shot.guest, worker)))
        else:
            why = REASON_LIMIT if shot.status == 503 else REASON_ERROR
            events.append((done, 3, Failed(done, shot.guest, worker, why)))
    events.sort(key=lambda e: (e[0], e[1]))
    metrics = metrics_for(scenario)
    s = scenario
    metrics(ServerStarted(0.0, s.model, s.workers, s.threads, s.cores, max(s.hosts, 1), s.backlog))
    for _, _, event in events:
        metrics(event)
    summary = metrics.summary(scenario.to_dict())
    return dataclasses.replace(summary, per_worker=per_process(shots, s.workers))


def wasted(shots: list[Shot], server_events: list[Event]) -> int:
    """Answers the server finished for a guest who had already hung up (patience ran out
    after the request went): the work the simulation counts as ``wasted``. Only the
    server knows it finished them, so this needs its own trace (the minimal servers'
    ``--report``); a real server's is not known and stays 0. It counts what the server
    finished before ``live`` stopped it, while the simulation's party runs until the
    line is empty: with a line far longer than the run, the simulation counts more."""
    gone = {shot.guest for shot in shots if shot.outcome == TIMED_OUT and shot.sent}
    if not gone:
        return 0
    return sum(1 for e in server_events if isinstance(e, Finished) and e.guest in gone)


def per_process(shots: list[Shot], processes: int) -> tuple[dict[str, Any], ...]:
    """``per_worker`` from the answers: guests served (answered OK) by each worker
    process, numbered in the order its pid first answered (a replaced worker is a new
    one); at least ``processes`` rows, so a worker that served nobody shows as 0."""
    counts: dict[str, int] = {}
    for shot in shots:
        if shot.outcome == OK:
            key = shot.process if shot.process is not None else "?"
            counts[key] = counts.get(key, 0) + 1
    served = list(counts.values())
    return shares(served + [0] * (processes - len(served)))

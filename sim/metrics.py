"""Metrics: fold a trace, as it streams, into the numbers a learner reads.

Theory of operation. ``Metrics`` is a sink: hand it every event in order and it keeps
only running sums (no list of events, so a million guests cost a few counters). It
needs the ``ServerStarted`` event first (hosts and model).

The *measured window* runs from the end of the warmup to the last arrival. The warmup
is a time in seconds, or "until guest k arrives" (the default leaves out the first 10%
of the guests); the window ends at the last arrival because after that the load
drops while the house drains. Time averages (queue, guests in the house, busy hosts)
and throughput cover the window. Latency and wait percentiles cover every guest who
arrived inside it, however late they left: leaving out the slow ones still inside at
the end would flatter the server.

Definitions (times in ms in the summary):
- wait: arrival until a worker takes the guest (accept);
- latency: arrival until the answer (``Finished``);
- utilisation: the fraction of host time in use. A sync or threaded host is in use
  from accept to goodbye, idle kitchen waits included (that is the point); an event
  loop only while it runs a cpu phase or is stuck in a blocking one;
- Little's law: L (mean guests in the house) against lambda (admitted arrivals per
  second) times W (mean time in the house, failed guests included);
- failed_by: the failed guests by reason (``sim.trace``'s ``REASON_*``: a timeout, a 503,
  ``db_timeout``...), in ``--json`` when any failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from sim.fold import Tally
from sim.scenario import Scenario
from sim.trace import (
    TURNED_AWAY_REASONS,
    Arrived,
    Failed,
    Finished,
    PhaseEnded,
    PhaseStarted,
    ServerStarted,
    Started,
    TurnedAway,
)
from sim.workload import format_script

US = 1_000_000  # microseconds in a second: the histograms' unit
PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p999", 99.9))


class Distribution:
    """Exact mean and max, HDR-histogram percentiles (3 significant digits).

    Recording straight into ``HdrHistogram`` costs several microseconds a value in pure
    Python, as much as simulating the guest. So values are first counted by their HDR
    bucket (for 3 digits a bucket is the value with all but its top 11 bits cleared,
    the same rule HdrHistogram uses) and handed to the histogram, with their counts,
    when percentiles are read. The percentiles are the ones direct recording gives.
    """

    SUB_BUCKET_BITS = 11  # 2048 sub-buckets: 3 significant decimal digits

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def record(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        if seconds > self.max:
            self.max = seconds
        value = int(seconds * US)
        shift = value.bit_length() - self.SUB_BUCKET_BITS
        if shift > 0:
            value = value >> shift << shift
        buckets = self.buckets
        buckets[value] = buckets.get(value, 0) + 1

    def histogram(self) -> HdrHistogram:
        hist = HdrHistogram(1, 24 * 3600 * US, 3)
        for value, count in self.buckets.items():
            hist.record_value(value, count)
        return hist

    def summary_ms(self) -> dict[str, float]:
        if not self.count:
            return {"mean": 0.0, **{k: 0.0 for k, _ in PERCENTILES}, "max": 0.0}
        hist = self.histogram()
        out = {"mean": round(self.total / self.count * 1000, 3)}
        for key, pct in PERCENTILES:
            value = min(hist.get_value_at_percentile(pct) / US, self.max)
            out[key] = round(value * 1000, 3)
        out["max"] = round(self.max * 1000, 3)
        return out


class KindCounts:
    """One kind of guest's own numbers, in a mix."""

    def __init__(self) -> None:
        self.served = self.turned_away = self.failed = 0
        self.latency = Distribution()


@dataclass(frozen=True)
class Summary:
    """What a run measured; ``to_dict`` is the ``--json`` shape."""

    scenario: dict[str, Any]
    served: int
    turned_away: int
    failed: int
    throughput: float
    latency_ms: dict[str, float]
    wait_ms: dict[str, float]
    utilization: float
    queue_mean: float
    queue_max: int
    littles_L: float
    littles_lambda_W: float
    window: tuple[float, float]
    turned_away_by: dict[str, int] = field(default_factory=dict)
    failed_by: dict[str, int] = field(default_factory=dict)
    syn_dropped: int = 0
    half_open: int = 0
    retries: int = 0
    wasted: int = 0
    kinds: tuple[dict[str, Any], ...] = ()  # per kind of guest, when the workload is a mix
    per_worker: tuple[dict[str, Any], ...] = ()  # guests served by each worker process

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "served": self.served,
            "turned_away": self.turned_away,
            **{reason: self.turned_away_by.get(reason, 0) for reason in TURNED_AWAY_REASONS},
            "failed": self.failed,
            "failed_by": dict(self.failed_by),
            "syn_dropped": self.syn_dropped,
            "half_open": self.half_open,
            "retries": self.retries,
            "wasted": self.wasted,
            "throughput": self.throughput,
            "latency_ms": self.latency_ms,
            "wait_ms": self.wait_ms,
            "utilization": self.utilization,
            "queue": {"mean": self.queue_mean, "max": self.queue_max},
            "littles_law": {"L": self.littles_L, "lambda_W": self.littles_lambda_W},
            **({"kinds": list(self.kinds)} if self.kinds else {}),
            "per_worker": list(self.per_worker),
        }


class Metrics(Tally):
    """A sink that folds a trace into running sums; ``summary()`` reads them out.

    The counts, the house and the integrals are ``sim.fold.Tally``'s; this adds the
    measured window (integrals start when the warmup ends), the latencies of the
    guests who arrived in it, and a mix's numbers per kind.
    """

    def __init__(self, warmup: float | None = None, warmup_guests: int = 0,
                 kinds: tuple[tuple[float, str], ...] = ()):
        super().__init__(warmup if warmup is not None else (None if warmup_guests else 0.0))
        self.warmup_guest = warmup_guests
        self.in_window: set[int] = set()  # guests inside who arrived in the window
        self.window_end = 0.0
        self.at_end = (0.0, 0.0, 0.0)  # the areas at the last arrival
        self.admitted_in_window = 0
        self.finished_in_window = 0
        self.finished_at_end = 0
        self.sojourn_total = 0.0  # W's numerator: guests who arrived in the window
        self.sojourn_count = 0
        self.latency = Distribution()
        self.wait = Distribution()
        # a mix: (share, phases) of each kind, each guest's kind, and each kind's numbers
        self.kinds = kinds
        self.kind_of: dict[int, int] = {}
        self.by_kind = [KindCounts() for _ in kinds]
        self.served_by: dict[int, int] = {}  # worker id -> guests it served (whole run)
        self.processes = 1
        self.threads = 1

    # --- the window on top of the tally ----------------------------------------------

    def _server_started(self, e: ServerStarted) -> None:
        Tally._server_started(self, e)
        self.processes, self.threads = max(e.workers, 1), max(e.threads, 1)
        if not self.juggles:  # phases do not change whether a host that stays is in use
            self._on.pop(PhaseStarted, None)
            self._on.pop(PhaseEnded, None)

    def _arrived(self, e: Arrived) -> None:
        Tally._arrived(self, e)
        if self.by_kind:
            self.kind_of[e.guest] = e.endpoint
        if self.t0 is None and e.guest >= self.warmup_guest:
            self.t0 = e.t
        if self.t0 is not None and e.t >= self.t0:
            self.in_window.add(e.guest)
            self.admitted_in_window += 1
            self.window_end = e.t
            self.at_end = (self.area_house, self.area_line, self.area_busy)
            self.finished_at_end = self.finished_in_window

    def _turned_away(self, e: TurnedAway) -> None:
        Tally._turned_away(self, e)
        if self.by_kind:
            self.by_kind[self.kind_of.pop(e.guest, 0)].turned_away += 1
        if e.guest in self.in_window:
            self.in_window.discard(e.guest)
            self.admitted_in_window -= 1

    def _started(self, e: Started) -> None:
        Tally._started(self, e)
        if e.guest in self.in_window:
            self.wait.record(e.t - self.arrival[e.guest])

    def _sojourn(self, t: float, guest: int, worker: int) -> float | None:
        """The guest leaves; its time inside if it arrived in the window."""
        arrival = self._leave(t, guest, worker)
        if arrival is None or guest not in self.in_window:
            return None
        self.in_window.discard(guest)
        self.sojourn_total += t - arrival
        self.sojourn_count += 1
        return t - arrival

    def _gone(self, e: Finished | Failed) -> bool:
        """A guest who gave up already: its answer (or failure) reaches nobody."""
        if e.guest in self.arrival:
            return False
        self._leave(e.t, e.guest, e.worker)
        if isinstance(e, Finished):
            self.wasted += 1
        return True

    def _finished(self, e: Finished) -> None:
        if self._gone(e):
            return
        self.served += 1
        self.served_by[e.worker] = self.served_by.get(e.worker, 0) + 1
        if self.t0 is not None and e.t >= self.t0:
            self.finished_in_window += 1
        sojourn = self._sojourn(e.t, e.guest, e.worker)
        if sojourn is not None:
            self.latency.record(sojourn)
        if self.by_kind:
            counts = self.by_kind[self.kind_of.pop(e.guest, 0)]
            counts.served += 1
            if sojourn is not None:
                counts.latency.record(sojourn)

    def _failed(self, e: Failed) -> None:
        if self._gone(e):
            return
        self.failed += 1
        self.failed_by[e.reason] = self.failed_by.get(e.reason, 0) + 1
        self._sojourn(e.t, e.guest, e.worker)
        if self.by_kind:
            self.by_kind[self.kind_of.pop(e.guest, 0)].failed += 1

    # --- reading out -------------------------------------------------------------

    def summary(self, scenario: dict[str, Any] | None = None, *, final: bool = True) -> Summary:
        """The numbers; ``final=False`` reads a party still going (window ends now)."""
        t0 = self.t0 if self.t0 is not None else 0.0
        if final:
            t1, (house, line, busy), finished = self.window_end, self.at_end, self.finished_at_end
        else:
            t1, house, line, busy = self.now, self.area_house, self.area_line, self.area_busy
            finished = self.finished_in_window
        span = t1 - t0
        if span <= 0:
            span = 0.0
        rate = (lambda x: x / span) if span > 0 else (lambda x: 0.0)
        lam = rate(self.admitted_in_window)
        w = self.sojourn_total / self.sojourn_count if self.sojourn_count else 0.0
        return Summary(
            scenario=scenario or {},
            served=self.served,
            turned_away=self.turned_away,
            failed=self.failed,
            throughput=round(rate(finished), 4),
            latency_ms=self.latency.summary_ms(),
            wait_ms=self.wait.summary_ms(),
            utilization=round(rate(busy) / self.hosts, 4),
            queue_mean=round(rate(line), 4),
            queue_max=self.queue_max,
            littles_L=round(rate(house), 4),
            littles_lambda_W=round(lam * w, 4),
            window=(t0, t1),
            turned_away_by=dict(self.turned_away_by),
            failed_by=dict(self.failed_by),
            syn_dropped=self.syn_dropped,
            half_open=self.half_open,
            retries=self.retries,
            wasted=self.wasted,
            kinds=tuple(
                {"share": share, "phases": phases, "served": counts.served,
                 "turned_away": counts.turned_away, "failed": counts.failed,
                 "latency_ms": counts.latency.summary_ms()}
                for (share, phases), counts in zip(self.kinds, self.by_kind, strict=True)),
            per_worker=self.per_worker(),
        )

    def per_worker(self) -> tuple[dict[str, Any], ...]:
        """Guests served by each worker process (its threads' together), whole run: how
        evenly the line (or the lines, ``--reuse-port``) spread the guests."""
        counts = [0] * self.processes
        for worker, served in self.served_by.items():
            process = worker // self.threads
            if 0 <= process < self.processes:
                counts[process] += served
        return shares(counts)


def shares(counts: list[int]) -> tuple[dict[str, Any], ...]:
    """``per_worker`` rows: each worker's count and its share of all of them."""
    total = sum(counts)
    return tuple({"worker": worker, "guests": served,
                  "share": round(served / total, 4) if total else 0.0}
                 for worker, served in enumerate(counts))


def metrics_for(scenario: Scenario) -> Metrics:
    """The fold a scenario asks for: by default the first 10% of guests (or time) is warmup."""
    kinds = tuple((kind.share, format_script(kind.script)) for kind in scenario.kinds)
    if scenario.warmup is not None:
        return Metrics(warmup=scenario.warmup, kinds=kinds)
    if scenario.guests is not None:
        return Metrics(warmup_guests=scenario.guests // 10, kinds=kinds)
    return Metrics(warmup=0.1 * (scenario.duration or 0.0), kinds=kinds)

"""From samples to an endpoint's profile: percentiles, a fitted phase script, a held loop.

The fit, one honest rule per phase (samples in ms, successful requests only):
- a phase whose mean is under ``ABSENT_MS`` (10 microseconds, below what an interpreter
  call costs) is left out of the script;
- fewer than ``MIN_SAMPLES_TO_SPREAD`` samples, or a spread under ``CONSTANT_CV`` (the
  standard deviation under 5% of the mean), is a constant: the mean;
- otherwise a lognormal with the samples' mean and standard deviation (moment matching).
  Times are positive and right-skewed, and a lognormal is both; matching the mean keeps
  the server's utilisation exact, and a few slow outliers (a GC pause) widen its tail
  rather than move its middle. It is not a maximum-likelihood fit, and a two-humped
  endpoint (a cache hit or miss) is drawn as one hump: the samples are in the file.

``blocking`` counts only when the endpoint holds the loop (``holds_loop``): its median
is at least ``HOLDS_LOOP_MS`` (2 ms) and at least ``HOLDS_LOOP_SHARE`` of the median cpu +
blocking. The median and the 2 ms, because small holds come and go with the machine's
load: ``aiosqlite.connect`` starts a thread from inside the loop (``Thread.start`` waits
for it to run: a median of 0.4 ms, at most 15 ms at a load of 8 on this 2-core machine).
``measure`` takes a new thread's wait for a core out, and then the FastAPI example's
aiosqlite routes read a blocking median of 0-0.2 ms at a load of 6 (0.6-1.6 ms before),
its supplier's 10 ms ``time.sleep`` 9.6-9.9. So an endpoint that blocks in fewer than
half its requests, or for less than 2 ms, is not marked; its ``blocking_ms`` numbers
still say it, but the script leaves it out.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from sim.limits import MAX_PROFILE_SAMPLES
from sim.profile.measure import Sample
from sim.profile.replay import Endpoint

ABSENT_MS = 0.01
MIN_SAMPLES_TO_SPREAD = 3
CONSTANT_CV = 0.05
HOLDS_LOOP_MS = 2.0
HOLDS_LOOP_SHARE = 0.2
PHASES = ("cpu", "io", "blocking")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), linear between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Stats:
    mean: float
    p50: float
    p99: float
    sd: float

    @classmethod
    def of(cls, values: list[float]) -> Stats:
        if not values:
            return cls(0.0, 0.0, 0.0, 0.0)
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return cls(statistics.fmean(values), percentile(values, 50), percentile(values, 99), sd)

    def to_dict(self) -> dict[str, float]:
        return {"mean": _round(self.mean), "p50": _round(self.p50), "p99": _round(self.p99)}


def _round(ms: float) -> float:
    return round(ms, 3)  # a microsecond: finer than any phase means anything


def fit_dist(stats: Stats, count: int) -> str:
    """The phase's distribution in ``sim.workload.parse_dist`` syntax (rule above)."""
    mean = _round(stats.mean)
    if count < MIN_SAMPLES_TO_SPREAD or stats.sd < CONSTANT_CV * stats.mean:
        return f"{mean:g}"
    return f"lognormal:{mean:g},{_round(stats.sd):g}"


@dataclass(frozen=True)
class EndpointProfile:
    endpoint: Endpoint
    share: float  # percent
    count: int  # successful requests, the fitted ones
    failed: int
    statuses: dict[int, int]
    first_error: str
    stats: dict[str, Stats]  # per phase, in ms
    samples: dict[str, list[float]]  # per phase, ms, capped at MAX_PROFILE_SAMPLES
    holds_loop: bool
    phases: str  # sim.workload.parse_phases syntax
    runs_in: str | None = None  # ASGI: "thread" (in a pool, a def route) or "loop"; None
    # for WSGI, or where it cannot be read (``measure.pool_runs``)

    @property
    def wait(self) -> list[float]:
        return [a + b for a, b in zip(self.samples["io"], self.samples["blocking"], strict=True)]


def _thin(values: list[float]) -> list[float]:
    if len(values) <= MAX_PROFILE_SAMPLES:
        return values
    step = len(values) / MAX_PROFILE_SAMPLES
    return [values[int(i * step)] for i in range(MAX_PROFILE_SAMPLES)]


def profile_endpoint(endpoint: Endpoint, share: float, samples: list[Sample],
                     interface: str) -> EndpointProfile:
    ok = [s for s in samples if not s.failed]
    failed = [s for s in samples if s.failed]
    statuses: dict[int, int] = {}
    for s in samples:
        if s.status is not None:
            statuses[s.status] = statuses.get(s.status, 0) + 1
    first_error = next((s.error or f"status {s.status}" for s in failed), "")
    values = {phase: [getattr(s, phase) * 1000 for s in ok] for phase in PHASES}
    stats = {phase: Stats.of(values[phase]) for phase in PHASES}
    held = stats["cpu"].p50 + stats["blocking"].p50
    holds = (interface == "asgi" and stats["blocking"].p50 >= HOLDS_LOOP_MS
             and stats["blocking"].p50 >= HOLDS_LOOP_SHARE * held)
    steps = []
    for phase in PHASES:
        if phase == "blocking" and not holds:
            continue
        if stats[phase].mean >= ABSENT_MS:
            steps.append(f"{phase}:{fit_dist(stats[phase], len(ok))}")
    phases = ",".join(steps) or f"cpu:{ABSENT_MS:g}"  # an instant answer is still a request
    return EndpointProfile(endpoint, share, len(ok), len(failed), statuses, first_error,
                           stats, {p: [_round(v) for v in _thin(values[p])] for p in PHASES},
                           holds, phases, runs_in(ok) if interface == "asgi" else None)


def runs_in(ok: list[Sample]) -> str | None:
    """"thread" when at least half the requests ran in a pool thread, else "loop". Half,
    not all: a pool thread finishing the request before (after it handed its answer
    back) is now and then seen in the next one (1 request in 39 of the FastAPI
    example's ``async def`` /items, after its ``def`` /search)."""
    known = [s.in_pool for s in ok if s.in_pool is not None]
    if not known:
        return None
    return "thread" if 2 * sum(known) >= len(known) else "loop"

"""What the party looks like right now: trace events folded into the picture the widgets draw.

Theory of operation. ``PartyState`` is a sink (call it with each event in order). It
keeps only what a picture needs: the line outside (who, since when), each host and the
guest it serves, each event loop and the guests it juggles, which rooms (cores) are
taken, who holds each process's GIL, the running counts, and a short history for the
charts, and the running numbers (``numbers()``), measured with ``sim.metrics``'s
definitions (throughput, latency from arrival to answer, wait until accept,
utilisation, time-averaged line) over the whole party so far. It does not call
``Metrics.summary`` each frame: reading HDR percentiles costs tens of milliseconds on
a long party, so latencies go into 1%-wide buckets here instead, read in well under a
millisecond (a test holds them to the Metrics' values). No Textual, no SimPy: the same state is
fed by a simulation or by a live server's reports, and rebuilt from scratch by
replaying events (that is how stepping back works).

Each area has a version number that moves when the area changes; a widget redraws
only when the version it last drew is stale. That is the "never redraw what did not
change" rule, kept in one place.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from sim.fold import Tally
from sim.trace import (
    BLOCKING,
    CPU,
    Arrived,
    Event,
    Failed,
    Finished,
    GilPassed,
    HalfOpen,
    Hashed,
    LoopBlocked,
    LoopUnblocked,
    PhaseEnded,
    PhaseStarted,
    Queued,
    ServerStarted,
    Started,
    SynDropped,
    TurnedAway,
    WorkerBooted,
    WorkerKilled,
)

BUCKET = 0.5  # seconds of party time per chart point
HISTORY = 240  # chart points kept
RECENT = 40  # turned-away / failed guests remembered for the door picture
FLASH = 1.0  # seconds of party time a killed or rebooted host stays marked


@dataclass
class Host:
    """One sync or threaded worker: the guest beside it and what they are doing."""

    worker: int
    guest: int | None = None
    phase: str | None = None  # None while greeting or waiting for a core/GIL
    since: float = 0.0
    served: int = 0
    killed_at: float | None = None  # set while dead, until booted
    booted_at: float | None = None  # a replacement's boot time (for a flash)


@dataclass
class Loop:
    """One event loop: the guests it juggles and whether it is frozen."""

    worker: int
    guests: dict[int, str | None] = field(default_factory=dict)  # guest -> phase
    busy_with: int | None = None  # guest whose cpu or blocking phase holds the loop
    busy_phase: str | None = None
    blocked: bool = False
    # the ready queue, first in first out: guest -> since when it waits for a turn
    ready: dict[int, float] = field(default_factory=dict)
    served: int = 0
    killed_at: float | None = None
    booted_at: float | None = None


@dataclass(frozen=True)
class Numbers:
    """The running figures a learner reads; times in ms, rates per second."""

    served: int = 0
    turned_away: int = 0
    failed: int = 0
    throughput: float = 0.0
    latency_p50: float = 0.0
    latency_p99: float = 0.0
    latency_mean: float = 0.0
    wait_mean: float = 0.0
    queue_mean: float = 0.0
    queue_max: int = 0
    utilization: float = 0.0


class Sketch:
    """Counts of values in 1%-wide logarithmic buckets: percentiles cheap to read."""

    STEP = math.log(1.01)

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.total = 0.0

    def record(self, value: float) -> None:
        self.count += 1
        self.total += value
        key = round(math.log(value) / self.STEP) if value > 1e-9 else -10**6
        self.buckets[key] = self.buckets.get(key, 0) + 1

    def percentile(self, pct: float) -> float:
        if not self.count:
            return 0.0
        rank = max(1, int(pct / 100 * self.count + 0.5))  # HdrHistogram's rank rule
        seen = 0
        for key in sorted(self.buckets):
            seen += self.buckets[key]
            if seen >= rank:
                return 0.0 if key == -10**6 else math.exp(key * self.STEP)
        return 0.0

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0


@dataclass
class Point:
    """One chart bucket."""

    t: float
    finished: int = 0
    queue: int = 0
    inside: int = 0
    busy: int = 0


class PartyState(Tally):
    """A sink that folds the trace into what the screen shows (on ``sim.fold.Tally``)."""

    def __init__(self) -> None:
        super().__init__(t0=0.0)
        self.workers = self.threads = 1
        self.cores = 1
        self.backlog = 0
        self.events = 0
        self.started = False
        self.host_list: list[Host] = []
        self.loops: list[Loop] = []
        self.rooms_taken = 0  # hosts in a cpu phase (under a GIL, not all of them run)
        self.gil: dict[int, int] = {}  # process -> worker (thread) holding its GIL
        self.gil_since: dict[int, float] = {}  # process -> when its holder took it
        self.switch_interval = 0.005  # s; 0: free-threaded, no GIL (ServerStarted)
        self.away: deque[tuple[float, int, str]] = deque(maxlen=RECENT)  # t, guest, reason
        self.knocking_now: set[int] = set()  # outside: a SYN dropped, they will knock again
        self.half_open_now: set[int] = set()  # outside, thinking they are in: request resent
        self.gone_failed: deque[tuple[float, int, str]] = deque(maxlen=RECENT)
        self.history: deque[Point] = deque(maxlen=HISTORY)
        self.latency = Sketch()
        self.wait = Sketch()
        self.kind_of: dict[int, int] = {}  # guest inside -> its kind (in a mix)
        self.kind_latency: dict[int, Sketch] = {}  # each kind's time inside (a mix: several)
        self._numbers: tuple[int, Numbers] = (-1, Numbers())
        self.last: Event | None = None
        # versions: a widget redraws an area only when its version moved
        self.v_door = self.v_hosts = self.v_numbers = 0
        self.line_of: dict[int, int] = {}  # --reuse-port: guest knocking -> its process's line
        self.line_per_host = False  # a Hashed event was seen: a line per process
        self._on.update({
            Hashed: self._hashed,
            LoopBlocked: self._loop_blocked,
            LoopUnblocked: self._loop_unblocked,
            WorkerBooted: self._worker_booted,
            SynDropped: self._syn_dropped,
            HalfOpen: self._half_open,
            GilPassed: self._gil_passed,
        })

    @property
    def is_loop(self) -> bool:
        """Are the hosts event loops juggling guests (else each host serves one)?"""
        return self.structure.juggles

    def __call__(self, event: Event) -> None:
        self.events += 1
        self.last = event
        self._clock(event.t)
        handler = self._on.get(type(event))
        if handler is not None:
            handler(event)
        self.v_numbers += 1

    def feed(self, events: list[Event]) -> None:
        for event in events:
            self(event)

    def tick(self, now: float) -> None:
        """The clock moved without events (a quiet moment): keep charts and ages honest."""
        if now > self.now:
            self._clock(now)
            if self.line:
                self.v_door += 1  # waiting guests' colours age

    # --- the clock and the chart -------------------------------------------------

    def _clock(self, t: float) -> None:
        self._advance(t)  # the tally's integrals, from the party's start
        if not self.history:
            self.history.append(Point(0.0))
        while self.now >= self.history[-1].t + BUCKET:
            last = self.history[-1]
            self.history.append(Point(last.t + BUCKET, 0, *self._sample()))
        point = self.history[-1]
        if len(self.line) > point.queue:  # the chart shows each bucket's longest line
            point.queue = len(self.line)

    def _sample(self) -> tuple[int, int, int]:
        return len(self.line), len(self.arrival), len(self.busy)

    def busy_hosts(self) -> int:
        return len(self.busy)

    @property
    def has_gil(self) -> bool:
        """Do the threads of one process take turns on a GIL (not free-threaded)?"""
        return self.structure.gil and self.switch_interval > 0

    def runnable(self) -> int:
        """Hosts that want a core right now: every cpu phase, except that under a GIL a
        process runs one thread at a time (its other cpu threads wait for the token)."""
        if not (self.has_gil and self.threads > 1) or self.is_loop:
            return self.rooms_taken
        threads = max(self.threads, 1)
        return len({h.worker // threads for h in self.host_list if h.phase == CPU})

    def core_share(self) -> float:
        """The share of a core each runnable host gets: Linux time-slices the cores
        (``sim.model.cores``: each of n jobs on C cores runs at C / n)."""
        runnable = self.runnable()
        return 1.0 if runnable <= self.cores else self.cores / runnable

    def numbers(self) -> Numbers:
        """The running figures (cached until the next event)."""
        if self._numbers[0] == self.events:
            return self._numbers[1]
        span = self.now
        numbers = Numbers(
            served=self.served,
            turned_away=self.turned_away,
            failed=self.failed,
            throughput=self.served / span if span > 0 else 0.0,
            latency_p50=self.latency.percentile(50) * 1000,
            latency_p99=self.latency.percentile(99) * 1000,
            latency_mean=self.latency.mean * 1000,
            wait_mean=self.wait.mean * 1000,
            queue_mean=self.area_line / span if span > 0 else 0.0,
            queue_max=self.queue_max,
            utilization=self.area_busy / span / self.hosts if span > 0 else 0.0,
        )
        self._numbers = (self.events, numbers)
        return numbers

    # --- handlers: the tally's, then the picture -------------------------------------

    def _server_started(self, e: ServerStarted) -> None:
        Tally._server_started(self, e)
        self.workers, self.threads = e.workers, e.threads
        self.cores, self.backlog = e.cores, e.backlog
        self.switch_interval = e.switch_interval
        self.started = True
        if self.is_loop:
            self.loops = [Loop(w) for w in range(e.hosts)]
        else:
            self.host_list = [Host(w) for w in range(e.hosts)]
        self.v_hosts += 1
        self.v_door += 1

    def _arrived(self, e: Arrived) -> None:
        Tally._arrived(self, e)
        self.kind_of[e.guest] = e.endpoint

    def _syn_dropped(self, e: SynDropped) -> None:
        Tally._syn_dropped(self, e)
        if e.retry_at is not None:
            self.knocking_now.add(e.guest)
        self.v_door += 1

    def _half_open(self, e: HalfOpen) -> None:
        Tally._half_open(self, e)
        self.knocking_now.discard(e.guest)
        self.half_open_now.add(e.guest)
        self.v_door += 1

    def _queued(self, e: Queued) -> None:
        Tally._queued(self, e)
        self.knocking_now.discard(e.guest)
        self.half_open_now.discard(e.guest)
        self.v_door += 1

    def _hashed(self, e: Hashed) -> None:
        self.line_per_host = True
        self.line_of[e.guest] = e.process

    def _turned_away(self, e: TurnedAway) -> None:
        Tally._turned_away(self, e)
        self.knocking_now.discard(e.guest)
        self.half_open_now.discard(e.guest)
        self.line_of.pop(e.guest, None)
        self.kind_of.pop(e.guest, None)
        self.away.append((e.t, e.guest, e.reason))
        self.v_door += 1

    def _started(self, e: Started) -> None:
        if e.guest in self.line:
            self.v_door += 1
            self.line_of.pop(e.guest, None)
        Tally._started(self, e)
        arrival = self.arrival.get(e.guest)
        if arrival is not None:
            self.wait.record(e.t - arrival)
        if self.is_loop:
            self._loop(e.worker).guests[e.guest] = None
        else:
            host = self._host(e.worker)
            host.guest, host.phase, host.since = e.guest, None, e.t
        self.v_hosts += 1

    def _gil_passed(self, e: GilPassed) -> None:
        self.gil[e.process] = e.worker
        self.gil_since[e.process] = e.t
        self.v_hosts += 1

    def _phase_started(self, e: PhaseStarted) -> None:
        Tally._phase_started(self, e)
        if e.phase == CPU:
            self.rooms_taken += 1
            if self.has_gil:  # a cpu phase starts once its thread holds the GIL
                process = e.worker // max(self.threads, 1)
                if self.gil.get(process) != e.worker:
                    self.gil[process], self.gil_since[process] = e.worker, e.t
        if self.is_loop:
            loop = self._loop(e.worker)
            loop.guests[e.guest] = e.phase
            loop.ready.pop(e.guest, None)
            if e.phase in (CPU, BLOCKING):
                loop.busy_with, loop.busy_phase = e.guest, e.phase
        else:
            host = self._host(e.worker)
            host.phase, host.since = e.phase, e.t
        self.v_hosts += 1

    def _phase_ended(self, e: PhaseEnded) -> None:
        Tally._phase_ended(self, e)
        if e.phase == CPU:
            self.rooms_taken = max(0, self.rooms_taken - 1)
            self._drop_gil(e.worker)
        if self.is_loop:
            loop = self._loop(e.worker)
            if e.guest in loop.guests:
                loop.guests[e.guest] = None
                if e.phase not in (CPU, BLOCKING):  # back from a wait: in line for a turn
                    loop.ready[e.guest] = e.t
            if loop.busy_with == e.guest:
                loop.busy_with = loop.busy_phase = None
        else:
            host = self._host(e.worker)
            if host.guest == e.guest:
                host.phase = None
        self.v_hosts += 1

    def _drop_gil(self, worker: int) -> None:
        """The thread's cpu is over: the GIL is free, unless already passed on (a
        ``GilPassed`` to a waiter comes before the holder's ``PhaseEnded``)."""
        process = worker // max(self.threads, 1)
        if self.gil.get(process) == worker:
            del self.gil[process]

    def _loop_blocked(self, e: LoopBlocked) -> None:
        loop = self._loop(e.worker)
        loop.blocked = True
        self.busy.add(e.worker)
        loop.busy_with, loop.busy_phase = e.guest, e.phase
        self.v_hosts += 1

    def _loop_unblocked(self, e: LoopUnblocked) -> None:
        loop = self._loop(e.worker)
        loop.blocked = False
        self.v_hosts += 1

    def _goodbye(self, guest: int, worker: int) -> None:
        """The picture's side of a guest leaving (the tally has counted it)."""
        self.kind_of.pop(guest, None)
        self.v_door += 1
        if worker < 0:
            return
        if self.is_loop:
            loop = self._loop(worker)
            phase = loop.guests.pop(guest, None)
            loop.ready.pop(guest, None)
            if phase == CPU:  # only a killed loop loses a guest mid-chat
                self.rooms_taken = max(0, self.rooms_taken - 1)
            if loop.busy_with == guest:
                loop.busy_with = loop.busy_phase = None
                loop.blocked = False
                self.busy.discard(worker)
        else:
            host = self._host(worker)
            if host.guest == guest:
                if host.phase == CPU:
                    self.rooms_taken = max(0, self.rooms_taken - 1)
                    self._drop_gil(worker)
                host.guest = host.phase = None
        self.v_hosts += 1

    def _finished(self, e: Finished) -> None:
        arrival = self.arrival.get(e.guest)
        if arrival is not None:
            self.latency.record(e.t - arrival)
            kind = self.kind_of.get(e.guest, 0)
            self.kind_latency.setdefault(kind, Sketch()).record(e.t - arrival)
        Tally._finished(self, e)
        self._goodbye(e.guest, e.worker)
        if self.is_loop:
            self._loop(e.worker).served += 1
        else:
            self._host(e.worker).served += 1
        if self.history:
            self.history[-1].finished += 1

    def _failed(self, e: Failed) -> None:
        Tally._failed(self, e)
        self._goodbye(e.guest, e.worker)
        self.gone_failed.append((e.t, e.guest, e.reason))

    def _worker_killed(self, e: WorkerKilled) -> None:
        Tally._worker_killed(self, e)
        if self.is_loop:
            loop = self._loop(e.worker)
            loop.killed_at, loop.booted_at = e.t, None
            loop.blocked = False
        else:
            host = self._host(e.worker)
            host.killed_at, host.booted_at = e.t, None
        self.v_hosts += 1

    def _worker_booted(self, e: WorkerBooted) -> None:
        if self.is_loop:
            loop = self._loop(e.worker)
            if loop.killed_at is not None:
                self.loops[e.worker] = Loop(e.worker, served=loop.served, booted_at=e.t)
        else:
            host = self._host(e.worker)
            if host.killed_at is not None:
                host.killed_at, host.booted_at = None, e.t
                if host.guest is not None:
                    self.busy.discard(e.worker)
                host.guest = host.phase = None
        self.v_hosts += 1

    # --- lookups that tolerate a live server's surprises ------------------------------

    def _host(self, worker: int) -> Host:
        while worker >= len(self.host_list):
            self.host_list.append(Host(len(self.host_list)))
        return self.host_list[worker]

    def _loop(self, worker: int) -> Loop:
        while worker >= len(self.loops):
            self.loops.append(Loop(len(self.loops)))
        return self.loops[worker]

    def rebooted_recently(self, booted_at: float | None) -> bool:
        return booted_at is not None and self.now - booted_at < FLASH

"""The fold every reader of a trace shares: who is inside, in line, busy, and for how long.

Theory of operation. ``Tally`` is a sink: hand it every event in order and it keeps the
counts (arrived, served, turned away, failed), the guests inside and in line (each with
its arrival time), the hosts in use, and the time integrals of those three from ``t0``
on (``None``: not yet; a subclass sets it when its warmup ends). ``sim.metrics.Metrics``
builds its measured window on it and the app's ``PartyState`` its picture, so "busy",
"in line" and "served" mean one thing in the summary and on the screen, by
construction rather than by a test that keeps two copies in step.

What "in use" means comes from the server's structure (``sim.servers``): a host that
stays with its guest (a process, a thread) is in use from accept to goodbye, kitchen
waits included; an event loop that juggles is in use only while a cpu phase or a
blocking call holds it. Nothing here imports SimPy or Textual.
"""

from __future__ import annotations

from sim.servers import Structure, structure_of
from sim.trace import (
    BLOCKING,
    CPU,
    Arrived,
    Event,
    Failed,
    Finished,
    HalfOpen,
    PhaseEnded,
    PhaseStarted,
    Queued,
    ServerStarted,
    Started,
    SynDropped,
    TurnedAway,
    WorkerKilled,
)


class Tally:
    """Counts and time integrals of a trace; subclasses add what they read out."""

    def __init__(self, t0: float | None = 0.0) -> None:
        self.t0 = t0
        self.model = ""
        self.structure = Structure()
        self.hosts = 1
        self.juggles = False  # are the hosts event loops, busy only while held?
        self.arrived = self.served = self.turned_away = self.failed = 0
        self.turned_away_by: dict[str, int] = {}  # refused / reset / timed_out
        self.failed_by: dict[str, int] = {}  # timeout (killed), 503, error, ...
        self.syn_dropped = 0  # SYNs Linux dropped at a full line (each knock counts)
        self.half_open = 0  # guests who thought they were in while the line was full
        self.retries = 0  # arrivals that were a client's retry of an earlier guest
        self.wasted = 0  # answers served to a guest who had already given up
        self.arrival: dict[int, float] = {}  # guests inside -> arrival time
        self.line: dict[int, float] = {}  # guests in line -> arrival, in order of joining
        self.busy: set[int] = set()  # hosts in use now
        self.now = 0.0
        self.area_house = self.area_line = self.area_busy = 0.0  # integrals from t0
        self.queue_max = 0  # the longest line held since t0 (for any time at all)
        self._on = {
            ServerStarted: self._server_started,
            Arrived: self._arrived,
            Queued: self._queued,
            TurnedAway: self._turned_away,
            SynDropped: self._syn_dropped,
            HalfOpen: self._half_open,
            Started: self._started,
            PhaseStarted: self._phase_started,
            PhaseEnded: self._phase_ended,
            Finished: self._finished,
            Failed: self._failed,
            WorkerKilled: self._worker_killed,
        }

    def __call__(self, event: Event) -> None:
        handler = self._on.get(type(event))
        if handler is not None:
            handler(event)

    def _advance(self, t: float) -> None:
        """Bring the integrals up to ``t`` (only the part after ``t0`` counts)."""
        if t == self.now:
            return
        if self.t0 is not None and t > self.now:
            start = self.now if self.now > self.t0 else self.t0
            if t > start:
                dt = t - start
                self.area_house += len(self.arrival) * dt
                self.area_line += len(self.line) * dt
                self.area_busy += len(self.busy) * dt
                if len(self.line) > self.queue_max:  # a line held for some time, not a
                    self.queue_max = len(self.line)  # guest passing a host in an instant
        self.now = t

    # --- the events ------------------------------------------------------------------

    def _server_started(self, e: ServerStarted) -> None:
        self.model, self.hosts = e.model, max(e.hosts, 1)
        self.structure = structure_of(e.model)
        self.juggles = self.structure.juggles

    def _arrived(self, e: Arrived) -> None:
        self._advance(e.t)
        self.arrived += 1
        if e.attempt:
            self.retries += 1
        self.arrival[e.guest] = e.t

    def _syn_dropped(self, e: SynDropped) -> None:
        self.syn_dropped += 1

    def _half_open(self, e: HalfOpen) -> None:
        self.half_open += 1

    def _queued(self, e: Queued) -> None:
        self._advance(e.t)
        self.line[e.guest] = self.arrival.get(e.guest, e.t)

    def _turned_away(self, e: TurnedAway) -> None:
        self._advance(e.t)
        self.turned_away += 1
        self.turned_away_by[e.reason] = self.turned_away_by.get(e.reason, 0) + 1
        self.arrival.pop(e.guest, None)
        self.line.pop(e.guest, None)

    def _started(self, e: Started) -> None:
        self._advance(e.t)
        self.line.pop(e.guest, None)
        if not self.juggles:
            self.busy.add(e.worker)

    def _phase_started(self, e: PhaseStarted) -> None:
        if self.juggles and (e.phase == CPU or e.phase == BLOCKING):
            self._advance(e.t)
            self.busy.add(e.worker)

    def _phase_ended(self, e: PhaseEnded) -> None:
        if self.juggles and (e.phase == CPU or e.phase == BLOCKING):
            self._advance(e.t)
            self.busy.discard(e.worker)

    def _leave(self, t: float, guest: int, worker: int) -> float | None:
        """A guest goes: the arrival time it had, or None if it was not inside."""
        self._advance(t)
        self.line.pop(guest, None)
        if not self.juggles:
            self.busy.discard(worker)
        return self.arrival.pop(guest, None)

    def _finished(self, e: Finished) -> None:
        if self._leave(e.t, e.guest, e.worker) is None:
            self.wasted += 1  # nobody was waiting for this answer any more
        else:
            self.served += 1

    def _failed(self, e: Failed) -> None:
        if self._leave(e.t, e.guest, e.worker) is not None:
            self.failed += 1
            self.failed_by[e.reason] = self.failed_by.get(e.reason, 0) + 1

    def _worker_killed(self, e: WorkerKilled) -> None:
        self._advance(e.t)
        self.busy.discard(e.worker)

"""One event loop: ``uvicorn app:app``, a single process juggling every guest.

The story. The host is an event loop: it greets a guest (accept), starts their
request, and whenever the guest waits for the kitchen (``await`` on io) it turns to
someone else, so hundreds can wait at once. But it has one pair of hands: while it
chats with a guest (cpu work) or dozes at the kitchen door (a blocking call such as
``time.sleep`` inside ``async def``) nobody else is served, not even a guest whose
food is ready, and no new guest is let in. A slow coat (upload) costs the loop
nothing: bytes arrive while it works.

The loop's attention is a ``simpy.Resource`` of capacity 1: its queue is the loop's
ready queue, first in, first out. ``--limit-concurrency N`` answers 503 at once to a
guest who would make N+1 in flight, as uvicorn does.

No manager watches a lone ``uvicorn``: a blocked loop stays blocked however long, so
``--timeout`` does nothing here (``hybrid`` has Gunicorn's arbiter).

Simplifications: see ``base``. Accepting, parsing and writing take no time; a loop
holds a core only while it runs a cpu phase (sharing it in time slices with the other
processes' cpu work when they outnumber the cores).
"""

from __future__ import annotations

import simpy

from sim.model.base import DbFailed, Party, Process
from sim.trace import (
    BLOCKING,
    CPU,
    DB,
    REASON_LIMIT,
    REASON_TIMEOUT,
    Failed,
    LoopBlocked,
    LoopUnblocked,
    PhaseEnded,
    PhaseStarted,
    Started,
)
from sim.workload import Guest


class Loop:
    """One process's event loop: its attention, its guests, its greeter."""

    def __init__(self, env: simpy.Environment, worker: int):
        self.worker = worker
        self.attention = simpy.Resource(env, capacity=1)
        self.guests: dict[int, simpy.Process] = {}
        self.greeter: simpy.Process | None = None
        self.door: simpy.Event | None = None  # set while the greeter waits at an empty line
        self.greeting: Guest | None = None  # taken from the line, not yet let in
        self.room: simpy.Event | None = None  # set while a full loop waits for a guest to go
        self.holder: object | None = None  # the phase that holds the loop right now


class EventLoopParty(Party):
    """W event loops (here one) sharing one line and C rooms."""

    managed = False  # is there a Gunicorn arbiter watching the loops?

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        s = self.scenario
        self.limit = s.limit_concurrency
        self.contended = s.workers > s.cores and s.has_phase(CPU)
        self.timeout = s.timeout
        self.boot_delay = s.boot / 1000
        self.loops: list[Loop] = []

    @property
    def hosts(self) -> int:
        return self.scenario.workers

    def boot_workers(self) -> None:
        for worker in range(self.hosts):
            self.loops.append(self.start_loop(worker))

    def start_loop(self, worker: int) -> Loop:
        loop = Loop(self.env, worker)
        self.booted(worker)
        loop.greeter = self.env.process(self.greet(loop))
        return loop

    # --- the loop's work -----------------------------------------------------------

    def greet(self, loop: Loop) -> Process:
        """Let guests in from the line, one at a time, whenever the loop turns."""
        env = self.env
        try:
            burst = False  # inside one accept callback: take everyone already in line
            while True:
                while self.full(loop):  # gevent: stop accepting until a guest leaves
                    burst = False
                    loop.room = env.event()
                    yield loop.room
                    loop.room = None
                guest = self.line.pop()
                if guest is None:
                    burst = False
                    loop.door = self.line.wait()
                    guest = yield loop.door
                    loop.door = None
                loop.greeting = guest
                if not burst and self.busy(loop):  # accept waits for the loop's turn
                    with loop.attention.request() as turn:
                        yield turn
                burst = True
                loop.greeting = None
                if self.limit is not None and len(loop.guests) >= self.limit:
                    self.sink(Started(env.now, guest.id, loop.worker))
                    self.leave(Failed(env.now, guest.id, loop.worker, REASON_LIMIT))
                    continue
                self.sink(Started(env.now, guest.id, loop.worker))
                loop.guests[guest.id] = env.process(self.handle(guest, loop))
        except simpy.Interrupt:
            if loop.door is not None and loop.door in self.line.waiting:
                self.line.waiting.remove(loop.door)
            if loop.greeting is not None:
                self.leave(Failed(env.now, loop.greeting.id, loop.worker, REASON_TIMEOUT))

    def full(self, loop: Loop) -> bool:
        """Does the loop stop taking guests from the line? Never here (``gevent``: when
        it holds ``--worker-connections`` guests)."""
        return False

    @staticmethod
    def busy(loop: Loop) -> bool:
        """Is anything running or ready on the loop? Then a newcomer queues behind it."""
        return bool(loop.attention.count or loop.attention.queue)

    def handle(self, guest: Guest, loop: Loop) -> Process:
        """One guest's request as a coroutine on the loop."""
        env, sink, worker = self.env, self.sink, loop.worker
        failed = None
        try:
            for kind, seconds in guest.phases:
                if kind == CPU or kind == BLOCKING:
                    yield from self.hold(loop, guest, kind, seconds)
                    continue
                if kind == DB:  # the pool's checkout is awaited too: others are served
                    yield from self.db(guest, worker, seconds)
                else:
                    sink(PhaseStarted(env.now, guest.id, worker, kind))
                    yield env.timeout(seconds)  # the loop serves others meanwhile
                    sink(PhaseEnded(env.now, guest.id, worker, kind))
                if self.busy(loop):  # the continuation waits for the loop to turn
                    with loop.attention.request() as turn:
                        yield turn
        except simpy.Interrupt:
            self.leave(Failed(env.now, guest.id, worker, REASON_TIMEOUT))
            return
        except DbFailed as exc:  # no db connection: the handler answers 500 at once
            failed = Failed(env.now, guest.id, worker, exc.reason)
        del loop.guests[guest.id]
        if loop.room is not None and not loop.room.triggered:
            loop.room.succeed()  # a full loop takes the next guest from the line
        if failed is not None:
            self.leave(failed)
        else:
            self.done(guest, worker)

    def hold(self, loop: Loop, guest: Guest, kind: str, seconds: float) -> Process:
        """A phase that holds the loop: cpu (with a room) or a blocking call (without)."""
        with loop.attention.request() as turn:
            yield turn
            yield from self._held(loop, guest, kind, seconds)

    def _held(self, loop: Loop, guest: Guest, kind: str, seconds: float) -> Process:
        env, sink, worker = self.env, self.sink, loop.worker
        sink(PhaseStarted(env.now, guest.id, worker, kind))
        if kind == BLOCKING:
            sink(LoopBlocked(env.now, worker, guest.id, kind))
        if self.managed and (seconds >= self.timeout or (kind == CPU and self.contended)):
            self.watch(loop, guest)  # (a shared core can stretch a phase past it)
        if kind == CPU:
            yield from self.compute(seconds)
        else:
            yield env.timeout(seconds)
        loop.holder = None
        if kind == BLOCKING:
            sink(LoopUnblocked(env.now, worker, guest.id))
        sink(PhaseEnded(env.now, guest.id, worker, kind))

    def watch(self, loop: Loop, guest: Guest) -> None:
        """Overridden by ``hybrid``, where Gunicorn's arbiter watches the loops."""

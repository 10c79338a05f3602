"""One event loop: ``uvicorn app:app``, a single process juggling every guest.

The story. The host is an event loop: it greets a guest (accept), starts their
request, and whenever the guest waits for the kitchen (``await`` on io) it turns to
someone else, so hundreds can wait at once. But it has one pair of hands: while it
chats with a guest (cpu work) or dozes at the kitchen door (a blocking call such as
``time.sleep`` inside ``async def``) nobody else is served, not even a guest whose
food is ready, and no new guest is let in. A slow coat (upload) costs the loop
nothing: bytes arrive while it works.

The loop's attention is a ``simpy.Resource`` of capacity 1: its queue is the loop's
ready queue, first in, first out.

Asyncio's turns. A request is not one callback but several, each a turn on the
ready queue, and whatever is ready (a blocking call whose io just ended, another
guest's turn) runs between them. As uvicorn does it (uvloop, httptools;
``uvicorn/protocols/http/httptools_impl.py``):

1. ``ACCEPT``: the listen socket is readable; the loop accepts everyone in line in one
   callback and schedules each connection's ``connection_made``;
2. ``CONNECTION_MADE``: the protocol joins ``server_state.connections`` and reading
   starts;
3. ``READ``: ``data_received`` parses the request; ``on_headers_complete`` checks
   ``--limit-concurrency`` and creates the handler's task;
4. ``TASK``: the task's first step runs the handler up to its first ``await``
   (``Started`` is told here, when the handler begins, as the live servers tell it);
5. ``WRITE``: the answer is written at the end of the handler's last step;
6. ``CLOSE``: ``connection_lost``, a turn later; only then does the connection leave
   ``connections``.

Each turn costs its share of ``--overhead`` (the per-request server cpu that
``partyhost calibrate`` measures; ``Scenario`` puts it in front of the guest's phases
as a cpu phase, which this model takes back and spreads over the turns, ``TURN_SHARE``).
A handler's step runs its cpu and blocking phases back to back without letting
anyone in between, since a coroutine only yields at an ``await``.

Measured (``partyhost live uvicorn ... --json``, 10 s, seed 1, 2 cores busy with other
work): io=50 then blocking=5 at 100/s, uvicorn p50 72 ms, mean 80, p99 140, mean wait
before the handler 12.9 ms; one turn per request (the old model) gave p50 59, mean
60, p99 76, wait 2.0; these turns give p50 70.7, mean 76.5, p99 136, wait 10.7 (with no
``--overhead``; uvicorn's own cpu is 0.34-0.36 ms per request, with which the numbers
barely move, while ``calibrate`` on a busy machine says 0.95 ms, an upper bound that
overshoots: p50 84). ``--limit-concurrency 20``, io=200, 150/s: uvicorn refused 625 of
1,502, the minimal server 640, this model 613, Erlang B with 19 servers 614 (with 20:
571).

``--limit-concurrency N``, as uvicorn decides it: at the ``READ`` turn, a 503 if
``len(connections) >= N``; that set already holds the new connection, and every
connection accepted and not yet lost (guests in their first turns, guests answered
whose ``connection_lost`` has not run yet), so at most N-1 guests are in flight
beside it, not N. The 503 goes out on the next turn (uvicorn runs a tiny
``service_unavailable`` app as a task), then the connection closes.

No manager watches a lone ``uvicorn``: a blocked loop stays blocked however long, so
``--timeout`` does nothing here (``hybrid`` has Gunicorn's arbiter).

Simplifications: see ``base``. The overhead split is uvicorn's on uvloop (asyncio's
own loop takes one more turn, a task that builds the transport, before
``connection_made``; gevent's hub, which inherits this model, fewer); the share of C
code the measurement cannot see (accept, epoll, the syscalls) is spread over accept,
read and close by assumption. The simulation's guests each come on a new connection
(as ``partyhost live`` sends them by default): with ``--keep-alive`` users, each
user's idle connection would also count against the limit (uvicorn keeps it in
``connections`` for ``--timeout-keep-alive``, 5 s), which is not modelled. The ready
queue is one FIFO line; asyncio runs it in batches (what became ready during one
pass waits for the next poll), which the line approximates. A loop holds a core
only while it runs a cpu phase or an overhead turn (sharing it in time slices with
the other processes' cpu work when they outnumber the cores); the overhead turns are
not drawn as phases.
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

# A request's turns on the loop (see the module docstring).
ACCEPT, CONNECTION_MADE, READ, TASK, WRITE, CLOSE = (
    "accept", "connection_made", "read", "task", "write", "close")
# The share of --overhead each turn costs. Measured by benchmarks/loop_turns.py on uvicorn
# 0.54 (uvloop, httptools), empty guests, 3 s, twice: of 0.34-0.36 ms of process cpu per
# request, connection_made 9-10%, data_received 12-15%, the task's step 14-17%, the write
# 18-20%, connection_lost 1-2%, and 37-46% in C the wrappers cannot see (accept and the
# transport, epoll and recv, close), spread here as 15% accept, 15% read, 10% close.
TURN_SHARE = {ACCEPT: 0.15, CONNECTION_MADE: 0.10, READ: 0.28, TASK: 0.16, WRITE: 0.19,
              CLOSE: 0.12}  # fmt: skip

Held = list[tuple[str, float]]  # a step's cpu and blocking phases, run back to back


class Attention(simpy.Resource):
    """The loop's attention, which remembers when it was last let go: a loop with nothing
    running or ready has slept in ``epoll_wait`` since then (``Party.woken``)."""

    def __init__(self, env: simpy.Environment):
        super().__init__(env, capacity=1)
        self.free_since = 0.0

    def release(self, request: simpy.Resource.Request) -> simpy.events.Event:  # type: ignore[override]
        self.free_since = self._env.now
        return super().release(request)


class Loop:
    """One process's event loop: its attention, its guests, its greeter."""

    def __init__(self, env: simpy.Environment, worker: int):
        self.worker = worker
        self.attention = Attention(env)
        self.guests: dict[int, simpy.Process] = {}  # accepted, not yet answered
        self.connections: set[int] = set()  # uvicorn's: connection_made run, not yet lost
        self.greeter: simpy.Process | None = None
        self.door: simpy.Event | None = None  # set while the greeter waits at an empty line
        self.greeting: Guest | None = None  # taken from the line, not yet let in
        self.room: simpy.Event | None = None  # set while a full loop waits for a guest to go
        self.holding = False  # a step's cpu or blocking phases hold the loop right now


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
        overhead = s.overhead / 1000  # Scenario's cpu phase in front of every guest...
        self.skip = 1 if overhead > 0 else 0  # ... taken back, and spent over the turns
        self.cost = {turn: share * overhead for turn, share in TURN_SHARE.items()}

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
        """Let guests in from the line whenever the loop turns (the ``ACCEPT`` turn)."""
        env = self.env
        line = self.line_of(loop.worker)
        try:
            while True:
                while self.full(loop):  # gevent: stop accepting until a guest leaves
                    loop.room = env.event()
                    yield loop.room
                    loop.room = None
                guest = line.pop()
                if guest is None:
                    loop.door = line.wait(listening=lambda: not loop.holding)
                    waited = env.now
                    guest = yield loop.door
                    loop.door = None
                    if not self.busy(loop):  # asleep in epoll_wait: the kernel wakes it
                        loop.greeting = guest
                        yield from self.wake_up(max(waited, loop.attention.free_since))
                loop.greeting = guest
                if self.cost[ACCEPT] or self.busy(loop):  # accept waits for the loop's turn
                    with loop.attention.request() as turn:
                        yield turn
                        yield from self.accept(loop, guest)
                else:
                    yield from self.accept(loop, guest)
        except simpy.Interrupt:
            door = loop.door
            if door is not None and door in line.waiting:
                line.waiting.remove(door)
            elif door is not None and door.triggered and loop.greeting is None:
                line.give_back(door.value)  # handed over as the loop died: not taken
            if loop.greeting is not None:
                self.leave(Failed(env.now, loop.greeting.id, loop.worker, REASON_TIMEOUT))

    def accept(self, loop: Loop, guest: Guest) -> Process:
        """One accept callback: this guest and everyone already in line, while there is
        room; each connection's ``connection_made`` is scheduled for a later turn."""
        cost = self.cost[ACCEPT]
        line = self.line_of(loop.worker)
        while True:
            if cost:
                yield from self.compute(cost)
            loop.greeting = None
            loop.guests[guest.id] = self.env.process(self.handle(guest, loop))
            if self.full(loop):
                return
            guest = line.pop()
            if guest is None:
                return
            loop.greeting = guest

    def full(self, loop: Loop) -> bool:
        """Does the loop stop taking guests from the line? Never here (``gevent``: when
        it holds ``--worker-connections`` guests)."""
        return False

    @staticmethod
    def busy(loop: Loop) -> bool:
        """Is anything running or ready on the loop? Then a newcomer queues behind it."""
        return bool(loop.attention.count or loop.attention.queue)

    def turn(self, loop: Loop, cost: float) -> Process:
        """Wait for the loop's turn, then spend ``cost`` seconds of cpu holding it."""
        with loop.attention.request() as turn:
            yield turn
            if cost:
                yield from self.compute(cost)

    def handle(self, guest: Guest, loop: Loop) -> Process:
        """One guest's connection on the loop: its first turns, the handler's steps (each
        a turn), the write, and ``connection_lost``."""
        env, sink, worker, cost = self.env, self.sink, loop.worker, self.cost
        answered = False
        failed: Failed | None = None
        try:
            if cost[CONNECTION_MADE] or self.busy(loop):
                yield from self.turn(loop, cost[CONNECTION_MADE])
            loop.connections.add(guest.id)
            if cost[READ] or self.busy(loop):
                yield from self.turn(loop, cost[READ])
            if self.limit is not None and len(loop.connections) >= self.limit:
                refusal = cost[TASK] + cost[WRITE]  # uvicorn's service_unavailable task
                if refusal or self.busy(loop):
                    yield from self.turn(loop, refusal)
                answered = self.answered(loop, guest)
                sink(Started(env.now, guest.id, worker))
                self.leave(Failed(env.now, guest.id, worker, REASON_LIMIT))
            else:
                phases = guest.phases[self.skip:] if self.skip else guest.phases
                before, first, held = cost[TASK], True, None
                for kind, seconds in phases:
                    if kind == CPU or kind == BLOCKING:  # runs in the same step as the last
                        held = [(kind, seconds)] if held is None else [*held, (kind, seconds)]
                        continue
                    if held or before or self.busy(loop):
                        yield from self.step(loop, guest, before, held, 0.0, first)
                    elif first:  # the fast path: an idle loop, nothing to spend
                        sink(Started(env.now, guest.id, worker))
                    before, first, held = 0.0, False, None
                    if kind == DB:  # the pool's checkout is awaited too: others are served
                        try:
                            yield from self.db(guest, worker, seconds)
                        except DbFailed as exc:  # no db connection: the handler answers 500
                            failed = Failed(env.now, guest.id, worker, exc.reason)
                            break
                        continue
                    sink(PhaseStarted(env.now, guest.id, worker, kind))
                    yield env.timeout(seconds)  # the loop serves others meanwhile
                    sink(PhaseEnded(env.now, guest.id, worker, kind))
                if failed is None and (held or before or cost[WRITE] or self.busy(loop)):
                    yield from self.step(loop, guest, before, held, cost[WRITE], first)
                elif first:
                    sink(Started(env.now, guest.id, worker))
                answered = self.answered(loop, guest)
                if failed is not None:
                    self.leave(failed)
                else:
                    self.done(guest, worker)
            if cost[CLOSE] or self.busy(loop):
                yield from self.turn(loop, cost[CLOSE])
            loop.connections.discard(guest.id)
        except simpy.Interrupt:
            if not answered:
                self.leave(Failed(env.now, guest.id, worker, REASON_TIMEOUT))

    def answered(self, loop: Loop, guest: Guest) -> bool:
        """The guest has its answer: the loop stops counting them as a guest."""
        del loop.guests[guest.id]
        if loop.room is not None and not loop.room.triggered:
            loop.room.succeed()  # a full loop takes the next guest from the line
        return True

    def step(self, loop: Loop, guest: Guest, before: float, held: Held | None,
             after: float, first: bool) -> Process:  # fmt: skip
        """One step of the handler's task: a turn on the loop that spends ``before``
        (the task's start), runs the held phases back to back, then ``after`` (the
        write). The handler begins (``Started``) in its first step."""
        with loop.attention.request() as turn:
            yield turn
            if before:
                yield from self.compute(before)
            if first:
                self.sink(Started(self.env.now, guest.id, loop.worker))
            if held:
                loop.holding = True  # the loop stops polling its sockets meanwhile
                for kind, seconds in held:
                    yield from self._held(loop, guest, kind, seconds)
                loop.holding = False
                if loop.door is not None:  # it polls again: a guest in line is noticed
                    self.line_of(loop.worker).offer(loop.door)
            if after:
                yield from self.compute(after)

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
        if kind == BLOCKING:
            sink(LoopUnblocked(env.now, worker, guest.id))
        sink(PhaseEnded(env.now, guest.id, worker, kind))

    def watch(self, loop: Loop, guest: Guest) -> None:
        """Overridden by ``hybrid``, where Gunicorn's arbiter watches the loops."""

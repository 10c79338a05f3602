"""What every simulated party shares: the door, the line outside, the rooms, the guests.

Theory of operation. ``Party`` owns the SimPy environment, the listen socket's
backlog (``Backlog``: a line that hands a guest straight to a worker already waiting
at the door), the machine's cores (a ``simpy.Resource``), and the arrival process:
open loop (guests come at their drawn instants whatever happens inside) or closed
loop (each user waits for an answer, thinks, and knocks again). Each model subclasses
it and writes only its hosts: ``boot_workers`` starts them, and they call
``line.pop()``/``line.wait()`` to take the next guest.

Every state change is told to ``sink`` as a trace event. The party ends when the
arrivals are over and every admitted guest has left; ``finished`` is that event, so
``env.run(until=party.finished)`` runs a party to its end and a UI can instead step it.

The cores are shared as Linux shares them (``cores.SharedCores``: processor sharing,
every runnable cpu phase progressing at ``cores / runnable`` of a core).

Simplifications shared by every model: accept and the answer's write take no time;
the network between guest and door is instant.

The wake-up (``wake``, ms; 0 unless given): a host asleep waiting for a guest is woken
by the kernel, and on a virtual machine that is not free. Measured here (2026-11-30,
``gunicorn -w 1``, the Flask shop's ``/health``, one request at a time, medians of 40):
0.98 ms back to back, then 1.11 / 1.18 / 1.51 / 1.58 / 1.95 / 2.52 / 2.21 / 2.36 / 2.47
ms after 0.1 / 0.2 / 0.5 / 1 / 2 / 5 / 10 / 20 / 50 ms of quiet: the longer the sleep,
the deeper, up to about 1.4 ms. ``Party.woken(idle)`` is that curve, ``wake x (1 -
exp(-idle / WAKE_SETTLE))`` with ``WAKE_SETTLE`` 1.5 ms fitted to it (within 0.2 ms at
every gap but 5 ms). A host that finds a guest waiting never sleeps and pays nothing;
so a busy server pays less than a quiet one, which a constant added to every latency
got wrong. Simplified: the client's own wake-up is in the measured curve, and a host
woken by something other than a guest (the kitchen's answer) is taken as awake.

The kitchen (``db`` phases, ``Party.db``): each process has its own pool of
``--db-pool`` connections (SQLAlchemy's ``QueuePool``, one per process as each forked
worker builds its own engine), a ``simpy.Resource``; a guest waits for one at most
``--db-timeout`` s, else the handler answers 500 (``db_timeout``). A pool opens its
connections lazily and keeps them (up to ``pool_size``, as SQLAlchemy does); opening
one when the database already holds ``--db-max`` across all processes fails at once
(``db_refused``, Postgres's "too many clients"). Without ``--db-pool`` each db phase
opens its own connection and closes it after (NullPool). Simplified: connecting takes
no time; SQLAlchemy's ``max_overflow`` (10 extra connections by default, closed when
returned) is not modelled: give ``--db-pool pool_size + max_overflow`` to mirror it;
the connections of a killed worker stay counted by the database (a real one notices
the closed socket).
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass

import simpy

from sim.model import door
from sim.model.cores import SharedCores
from sim.scenario import Scenario
from sim.trace import (
    CPU,
    DB,
    REASON_DB_REFUSED,
    REASON_DB_TIMEOUT,
    REASON_RESET,
    REASON_TIMED_OUT,
    UPLOAD,
    Arrived,
    Event,
    Failed,
    Finished,
    HalfOpen,
    Hashed,
    PhaseEnded,
    PhaseStarted,
    Queued,
    ServerStarted,
    Sink,
    SynDropped,
    TurnedAway,
    WorkerBooted,
)
from sim.workload import Guest

Process = Generator[simpy.Event, object, None]

WAKE_SETTLE = 0.0015  # s: how fast a sleeping host's wake-up grows to ``wake`` (see above)


class Backlog:
    """The line outside the door: the listen socket's accept queue.

    A worker that finds it empty waits at the door (``wait``); the next guest is handed
    straight to the first such worker. ``lifo`` serves the newest guest first.

    The kernel reads a guest's request while the guest waits here, so a slow coat
    (an upload as the first phase) is partly or wholly off by the time a worker takes
    the guest: ``pop`` hands the guest over with what is left of it.
    """

    def __init__(self, env: simpy.Environment, capacity: int, discipline: str = "fifo"):
        self.env = env
        self.capacity = capacity
        self.guests: deque[Guest] = deque()
        self.waiting: deque[simpy.Event] = deque()
        self.since: dict[int, float] = {}  # guests with an upload first -> joined the line
        # the door's SYN batch (sim.model.door): SYNs of one instant pass or fail together
        self.instant, self.passed, self.room = -1.0, 0, True
        self.requests = 0  # request socks of its half-open guests (not syncookies)
        self._take = self.guests.pop if discipline == "lifo" else self.guests.popleft

    def __len__(self) -> int:
        return len(self.guests)

    @property
    def full(self) -> bool:
        return len(self.guests) >= self.capacity

    def put(self, guest: Guest) -> None:
        waiting = self.waiting
        while waiting:
            door = waiting[0]
            if door.triggered:  # a worker killed while waiting leaves its event behind
                waiting.popleft()
                continue
            listening = getattr(door, "listening", None)
            if listening is None or listening():
                waiting.popleft()
                door.succeed(guest)
                return
            for door in list(waiting)[1:]:  # the first waiter is busy: anyone listening?
                listening = getattr(door, "listening", None)
                if not door.triggered and (listening is None or listening()):
                    waiting.remove(door)
                    door.succeed(guest)
                    return
            break
        if _coat_at(guest.phases) is not None:
            self.since[guest.id] = self.env.now
        self.guests.append(guest)

    def pop(self) -> Guest | None:
        """The next guest if one is waiting, else None (then ``yield line.wait()``)."""
        if not self.guests:
            return None
        guest = self._take()
        if self.since:
            joined = self.since.pop(guest.id, None)
            if joined is not None and self.env.now > joined:
                guest = self._uploaded(guest, self.env.now - joined)
        return guest

    @staticmethod
    def _uploaded(guest: Guest, waited: float) -> Guest:
        """The guest with ``waited`` seconds of its coat already read by the kernel."""
        at = _coat_at(guest.phases)
        if at is None:
            return guest
        kind, seconds = guest.phases[at]
        phases = list(guest.phases)
        phases[at] = (kind, max(seconds - waited, 0.0))
        return dataclasses.replace(guest, phases=tuple(phases))

    def wait(self, listening: Callable[[], bool] | None = None) -> simpy.Event:
        """A worker waits at the door for the next guest. ``listening``, if given, says
        whether the worker would notice a guest right now (an event loop held by a
        long phase is not polling its sockets): while it says no, guests stay in line
        for another worker, or until this one calls ``offer``."""
        door = self.env.event()
        if listening is not None:
            door.listening = listening  # type: ignore[attr-defined]
        self.waiting.append(door)
        return door

    def give_back(self, guest: Guest) -> None:
        """A guest handed to a worker that died before taking them: first in line again."""
        self.put(guest)
        if self.guests and self.guests[-1] is guest:
            self.guests.rotate(1)

    def offer(self, door: simpy.Event) -> None:
        """A worker waiting at ``door`` is listening again: the next guest in line is its."""
        if self.guests and not door.triggered and door in self.waiting:
            self.waiting.remove(door)
            door.succeed(self.pop())


def _coat_at(phases) -> int | None:
    """Where the request's upload is, if it comes first (after the server's own parsing
    cost, ``--overhead``, which the model puts in front): the bytes the kernel can read
    before a worker accepts."""
    for at, (kind, _) in enumerate(phases):
        if kind == UPLOAD:
            return at
        if kind != CPU:
            return None
    return None


@dataclass
class HalfOpenGuest:
    """A half-open guest's tries: its request's next resend, and whether it is settled."""

    guest: Guest
    cookie: bool
    line: Backlog  # the listen socket it knocks at
    rto: float
    data_at: float
    done: bool = False


def bare(guest: Guest, wait: float, overhead_first: bool) -> Guest:
    """A guest let in by a bare ACK: its request arrives ``wait`` seconds later, on the
    data resend. Drawn and served as a coat (an upload) the kernel reads while the guest
    waits in line, after the server's own overhead phase if it has one."""
    at = 1 if overhead_first else 0
    phases = (*guest.phases[:at], (UPLOAD, max(wait, 0.0)), *guest.phases[at:])
    return dataclasses.replace(guest, phases=phases)


class DbFailed(Exception):
    """A db phase got no connection: the handler answers 500 (``reason`` says why)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Kitchen:
    """The database side of a party: a pool per process, and the database's own count."""

    def __init__(self, env: simpy.Environment, processes: int, pool: int | None):
        self.pools = [simpy.Resource(env, capacity=pool) for _ in range(processes)] if pool else []
        self.kept = [0] * processes  # connections each process's pool has opened and keeps
        self.open = 0  # connections the database holds, across all processes


class Party:
    """The stage every model shares. Subclasses write ``boot_workers``."""


    def __init__(self, scenario: Scenario, sink: Sink, env: simpy.Environment | None = None):
        self.scenario = scenario
        self.sink = sink
        self.env = env or simpy.Environment()
        self.workload = scenario.workload
        capacity = door.capacity(scenario.backlog, scenario.somaxconn)
        self.line = Backlog(self.env, capacity, scenario.discipline)
        self.lines = [self.line]  # --reuse-port: a listen socket (a line) per process
        self.reuse_port = scenario.reuse_port
        if self.reuse_port:
            self.lines += [Backlog(self.env, capacity, scenario.discipline)
                           for _ in range(scenario.workers - 1)]
            self._hash = random.Random(f"reuse-port {scenario.seed}")
            self._hashed: dict[int, int] = {}  # guest knocking -> the process it hashed to
        self.ladder = door.syn_times(scenario.syn_retries, scenario.syn_linear_timeouts)
        self.last_chance = door.gives_up_after(scenario.syn_retries, scenario.syn_linear_timeouts)
        self.knocking = 0  # guests outside whose SYN was dropped, who will knock again
        self.max_ack_backlog = min(scenario.backlog, scenario.somaxconn)
        self.patience = self.workload.patience_draws()
        self.patient = self.workload.patience is None
        self.pauses = self.workload.backoff_draws()
        self.attempt: dict[int, int] = {}  # a retry's guest id -> which retry it is
        self.inside: dict[int, Guest] = {}  # guests let in (in line or with a host)
        self.outside: set[int] = set()  # guests knocking again after a dropped SYN
        self.gone: set[int] = set()  # guests inside or knocking who gave up
        self.cores = SharedCores(self.env, scenario.cores)
        self.finished = self.env.event()
        self.in_house = 0  # admitted guests not yet gone
        self.arrivals_over = False
        self._answers: dict[int, simpy.Event] = {}  # closed loop: a user waits on these
        self._next_id = 0

    # --- the story ---------------------------------------------------------------

    def open(self) -> Party:
        """Open the doors: announce the server, boot the hosts, let the guests come."""
        s = self.scenario
        gil = 0.0 if s.gil == "off" else s.switch_interval / 1000  # s; 0: free-threaded
        self.sink(
            ServerStarted(
                self.env.now, s.model, s.workers, s.threads, s.cores, self.hosts, s.backlog,
                gil,
            )
        )
        self.boot_workers()
        if self.workload.closed:
            self.env.process(self.closed_arrivals())
        else:
            self.env.process(self.open_arrivals())
        return self

    @property
    def hosts(self) -> int:
        return self.scenario.hosts

    def boot_workers(self) -> None:
        raise NotImplementedError

    contended = False  # can runnable cpu phases outnumber the cores? (set by a model)

    def woken(self, idle: float) -> float:
        """Seconds the kernel takes to wake a host that slept ``idle`` s (see the top)."""
        wake = self.scenario.wake
        if not wake or idle <= 0:
            return 0.0
        return wake / 1000 * -math.expm1(-idle / WAKE_SETTLE)

    def wake_up(self, asleep_since: float) -> Process:
        """A host asleep since ``asleep_since`` has a guest: it wakes first."""
        seconds = self.woken(self.env.now - asleep_since)
        if seconds:
            yield self.env.timeout(seconds)

    def compute(self, seconds: float) -> Process:
        """``seconds`` of cpu work: alone on a core, or sharing the cores with others."""
        if not self.contended:
            yield self.env.timeout(seconds)
            return
        done = self.cores.run(seconds)
        try:
            yield done
        finally:
            self.cores.cancel(done)  # a no-op once done; a killed host stops computing

    # --- the kitchen: db phases -------------------------------------------------------

    _kitchen: Kitchen | None = None

    def process_of(self, worker: int) -> int:
        """The process a worker id belongs to (its pool): threads share their process's."""
        return worker // self.scenario.threads

    def db(self, guest: Guest, worker: int, seconds: float) -> Process:
        """A db phase: a pool connection (waiting at most ``--db-timeout``), the query's
        ``seconds`` of io, the connection back. Raises ``DbFailed`` for a 500.

        Whoever calls it decides what the wait holds: a sync or threaded host waits
        beside its guest (a blocking checkout); an event loop awaits it and turns to
        others. The phase begins (``PhaseStarted``) once the connection is in hand.
        """
        s, env, sink = self.scenario, self.env, self.sink
        if self._kitchen is None:
            self._kitchen = Kitchen(env, s.workers, s.db_pool)
        kitchen = self._kitchen
        if s.db_pool is None:  # no pool: a connection of its own for this query
            if s.db_max is not None and kitchen.open >= s.db_max:
                raise DbFailed(REASON_DB_REFUSED)
            kitchen.open += 1
            try:
                sink(PhaseStarted(env.now, guest.id, worker, DB))
                yield env.timeout(seconds)
                sink(PhaseEnded(env.now, guest.id, worker, DB))
            finally:
                kitchen.open -= 1
            return
        process = self.process_of(worker)
        with kitchen.pools[process].request() as checkout:
            if not checkout.triggered:
                got = yield checkout | env.timeout(s.db_timeout)
                if checkout not in got:
                    raise DbFailed(REASON_DB_TIMEOUT)
            if kitchen.pools[process].count > kitchen.kept[process]:  # none idle: open one
                if s.db_max is not None and kitchen.open >= s.db_max:
                    raise DbFailed(REASON_DB_REFUSED)
                kitchen.kept[process] += 1
                kitchen.open += 1
            sink(PhaseStarted(env.now, guest.id, worker, DB))
            yield env.timeout(seconds)
            sink(PhaseEnded(env.now, guest.id, worker, DB))

    def booted(self, worker: int) -> None:
        self.sink(WorkerBooted(self.env.now, worker))

    def open_arrivals(self) -> Process:
        """Guests come at their drawn instants, whatever happens inside."""
        env = self.env
        for guest in self._budgeted(self.workload.guests()):
            if guest.arrival > env.now:
                yield env.timeout(guest.arrival - env.now)
            if self._next_id != guest.id:  # retries took numbers: keep ids in arrival order
                guest = dataclasses.replace(guest, id=self._next_id)
            self._next_id += 1
            self.knock(guest)
        self._arrivals_end()

    def closed_arrivals(self) -> Process:
        """N users, each waiting for an answer and thinking before knocking again."""
        draws = zip(self.workload.phase_draws(), self.workload.kinds(), strict=False)
        thinks = self.workload.think_times()
        budget = self.scenario.guests
        deadline = self.scenario.duration
        users = [self.env.process(self._user(draws, thinks, budget, deadline))
                 for _ in range(self.workload.users or 0)]
        yield simpy.AllOf(self.env, users)
        self._arrivals_end()

    def _user(self, draws: Iterator, thinks: Iterator, budget: int | None,
              deadline: float | None) -> Process:
        env = self.env
        while budget is None or self._next_id < budget:
            if deadline is not None and env.now >= deadline:
                return
            guest = Guest(self._next_id, env.now, *next(draws))
            self._next_id += 1
            answered = self._answers[guest.id] = env.event()
            self.knock(guest)
            yield answered
            pause = next(thinks)
            if pause > 0:
                yield env.timeout(pause)

    def _budgeted(self, guests: Iterator[Guest]) -> Iterator[Guest]:
        budget = self.scenario.guests
        deadline = self.scenario.duration
        for guest in guests:
            if (budget is not None and guest.id >= budget) or (
                deadline is not None and guest.arrival > deadline
            ):
                return
            yield guest

    def _arrivals_end(self) -> None:
        self.arrivals_over = True
        self._maybe_over()

    def _maybe_over(self) -> None:
        """The party is over once no guest is inside, knocking, or about to retry."""
        if (self.arrivals_over and self.in_house == 0 and self.knocking == 0
                and not self.finished.triggered):
            self.finished.succeed()

    # --- the door ------------------------------------------------------------------

    def knock(self, guest: Guest) -> None:
        """A guest's first SYN reaches the door."""
        self.sink(Arrived(self.env.now, guest.id, guest.kind, self.attempt.get(guest.id, 0)))
        if not self.patient:
            patience = next(self.patience)
            if patience is not None:
                alarm = self.env.timeout(patience)
                alarm.callbacks.append(lambda _: self._out_of_patience(guest))
        self._syn(guest, 1, self.env.now)

    def _syn(self, guest: Guest, sent: int, started: float) -> None:
        """The guest's ``sent``-th SYN (the first went at ``started``): into the line;
        half-open if it came with a batch that found one slot; else dropped."""
        now = self.env.now
        if guest.id in self.gone:  # out of patience while knocking: stopped knocking
            return
        line = self.line
        if self.reuse_port:  # the 4-tuple's hash picks the listen socket, every time
            line = self.line_for(guest)
            if sent == 1:
                self.sink(Hashed(now, guest.id, self._hashed[guest.id]))
        if now != line.instant:  # a new instant: its SYNs all pass or fail one check
            line.instant, line.passed = now, 0
            line.room = not self.door_full(line)
        elif not line.room and not self.door_full(line):  # a worker took a guest meanwhile
            line.room = True
        if line.room:  # the SYN passes: a request sock, or a cookie past the backlog
            cookie = line.requests + line.passed > self.max_ack_backlog
            line.passed += 1
            if not self.door_full(line):
                self._let_in(guest, line)
            else:  # its ACK comes back after the batch's first took the last slot
                self._half_open(guest, cookie, started, line)
            return
        deadline = started + min(self.scenario.connect_timeout, self.last_chance)
        again = (door.fires_at(now, self.ladder[sent] - self.ladder[sent - 1])
                 if sent < len(self.ladder) else None)
        if again is not None and again >= deadline:
            again = None
        self.sink(SynDropped(now, guest.id, sent, again))
        self.knocking += 1
        self.outside.add(guest.id)
        later = self.env.timeout((again if again is not None else deadline) - now)
        later.callbacks.append(
            lambda _: self._knock_again(guest, sent + 1, started, again is None))

    def _let_in(self, guest: Guest, line: Backlog) -> None:
        self.in_house += 1
        self.inside[guest.id] = guest
        if self.reuse_port:
            self._hashed.pop(guest.id, None)
        self.admit(guest, line)

    # --- half-open guests (sim.model.door) ---------------------------------------------

    def _half_open(self, guest: Guest, cookie: bool, started: float, line: Backlog) -> None:
        """The client thinks it is connected; its ACK and request were dropped. It gives
        up ``connect_timeout`` after its first SYN, as partyhost's generator does with its
        defaults (its whole-request cap equals it); a client with no read timeout would
        wait for TCP's 15 data resends, about 13 minutes."""
        env = self.env
        if self.scenario.abort_on_overflow:  # the kernel answers the ACK with a reset
            self._turn_away(guest, REASON_RESET)
            return
        self.sink(HalfOpen(env.now, guest.id, cookie))
        self.knocking += 1
        self.outside.add(guest.id)
        if not cookie:
            line.requests += 1
        resend = HalfOpenGuest(guest, cookie, line, rto=door.RTO_MIN,
                               data_at=door.fires_at(env.now, door.RTO_MIN))
        gives_up = started + self.scenario.connect_timeout
        env.timeout(max(gives_up - env.now, 0.0)).callbacks.append(
            lambda _: self._half_open_gives_up(resend))
        env.timeout(resend.data_at - env.now).callbacks.append(
            lambda _: self._data_resent(resend))
        if not cookie:
            synack_at = door.fires_at(env.now, door.INITIAL_RTO)
            env.timeout(synack_at - env.now).callbacks.append(
                lambda _: self._synack_resent(resend, 1, door.INITIAL_RTO))

    def _still_outside(self, resend: HalfOpenGuest) -> bool:
        """Is this half-open guest still waiting at the door? Tidies up one who left."""
        gid = resend.guest.id
        if resend.done:
            return False
        if gid in self.gone:  # out of patience: it closed its socket
            self._closed(resend)
            if self.reuse_port:
                self._hashed.pop(gid, None)
            self.gone.discard(gid)
            self._maybe_over()
            return False
        return True

    def _closed(self, resend: HalfOpenGuest) -> None:
        resend.done = True
        self.knocking -= 1
        self.outside.discard(resend.guest.id)
        if not resend.cookie:
            resend.line.requests -= 1

    def _half_open_gives_up(self, resend: HalfOpenGuest) -> None:
        if self._still_outside(resend):
            self._closed(resend)
            self._turn_away(resend.guest, REASON_TIMED_OUT)

    def _data_resent(self, resend: HalfOpenGuest) -> None:
        """The request is resent (its segment carries the ACK too): in, if there is room."""
        if not self._still_outside(resend):
            return
        now = self.env.now
        if not self.door_full(resend.line):
            self._closed(resend)
            self._let_in(resend.guest, resend.line)
            return
        resend.rto = min(resend.rto * 2, door.RTO_MAX)
        resend.data_at = door.fires_at(now, resend.rto)
        self.env.timeout(resend.data_at - now).callbacks.append(
            lambda _: self._data_resent(resend))

    def _synack_resent(self, resend: HalfOpenGuest, sent: int, gap: float) -> None:
        """The server resends its SYN-ACK; the client answers with a bare ACK. In, if
        there is room, but without the request: it comes with the next data resend."""
        if not self._still_outside(resend):
            return
        now = self.env.now
        if not self.door_full(resend.line):
            self._closed(resend)
            self._let_in(bare(resend.guest, resend.data_at - now, self.scenario.overhead > 0),
                         resend.line)
            return
        if sent < door.SYNACK_RETRIES:
            at = door.fires_at(now, gap * 2)
            self.env.timeout(at - now).callbacks.append(
                lambda _: self._synack_resent(resend, sent + 1, gap * 2))

    def door_full(self, line: Backlog) -> bool:
        """Is the accept queue full? (Never, where a loop accepts everyone at once.)"""
        return line.full

    def admit(self, guest: Guest, line: Backlog) -> None:
        """The guest is let in: into the accept queue, to wait for a worker."""
        self.sink(Queued(self.env.now, guest.id, len(line) + 1))
        line.put(guest)

    # --- --reuse-port: a line per process ------------------------------------------------

    def line_for(self, guest: Guest) -> Backlog:
        """SO_REUSEPORT: the kernel hashes the connection's 4-tuple to one of the group's
        listen sockets (``reuseport_select_sock``), whatever the others hold; a resent
        SYN has the same 4-tuple, so it comes to the same line (full or not).

        Simplified: the hash is a seeded uniform pick per guest (a retry after a failure
        is a new connection, a new source port, so a new pick); the kernel's is a hash of
        addresses and ports, uniform over many clients. A worker being replaced keeps its
        line here (the kernel closes a dead worker's socket and drops what waited in it;
        the new one binds a new socket).
        """
        process = self._hashed.get(guest.id)
        if process is None:
            process = self._hashed[guest.id] = self._hash.randrange(len(self.lines))
        return self.lines[process]

    def line_of(self, worker: int) -> Backlog:
        """The line worker ``worker`` takes guests from: the one shared line, or with
        ``--reuse-port`` its own process's."""
        return self.lines[self.process_of(worker)] if self.reuse_port else self.line

    def _knock_again(self, guest: Guest, sent: int, started: float, give_up: bool) -> None:
        self.knocking -= 1
        self.outside.discard(guest.id)
        if guest.id in self.gone:  # it gave up while waiting to knock
            self.gone.discard(guest.id)
            if self.reuse_port:
                self._hashed.pop(guest.id, None)
            self._maybe_over()
        elif give_up:
            self._turn_away(guest, REASON_TIMED_OUT)
        else:
            self._syn(guest, sent, started)

    def _turn_away(self, guest: Guest, reason: str) -> None:
        """The guest leaves without being let in (refused, or timed out knocking)."""
        if self.reuse_port:
            self._hashed.pop(guest.id, None)
        self.sink(TurnedAway(self.env.now, guest.id, reason))
        self._unanswered(guest)
        self._maybe_over()

    def _out_of_patience(self, guest: Guest) -> None:
        """The guest hangs up; inside, the server goes on working for nobody."""
        gid = guest.id
        if gid in self.gone or (gid not in self.inside and gid not in self.outside):
            return  # already gone, answered, or turned away
        self.sink(TurnedAway(self.env.now, guest.id, REASON_TIMED_OUT))
        self.gone.add(guest.id)
        self._unanswered(guest)

    def _unanswered(self, guest: Guest) -> None:
        """A guest got no good answer: it tries again if it has retries left, else its
        user (closed loop) hears the bad news."""
        attempt = self.attempt.pop(guest.id, 0)
        if attempt >= self.scenario.retries:
            self._answer(guest.id)
            return
        pause = door.backoff(next(self.pauses), attempt + 1)
        retry = dataclasses.replace(guest, id=self._next_id, arrival=self.env.now + pause)
        self._next_id += 1
        self.attempt[retry.id] = attempt + 1
        if self._answers and guest.id in self._answers:  # the user waits for the retry now
            self._answers[retry.id] = self._answers.pop(guest.id)
        self.knocking += 1
        later = self.env.timeout(pause)
        later.callbacks.append(lambda _: self._retry(retry))

    def _retry(self, guest: Guest) -> None:
        self.knocking -= 1
        self.knock(guest)

    # --- leaving -------------------------------------------------------------------

    def leave(self, event: Event) -> None:
        """A guest goes (finished or failed): tell the sink and whoever waits on it."""
        self.sink(event)
        self.in_house -= 1
        gid = event.guest  # type: ignore[attr-defined]
        guest = self.inside.pop(gid, None)
        if gid in self.gone:  # nobody waits for it any more
            self.gone.discard(gid)
            self.attempt.pop(gid, None)
        elif isinstance(event, Failed) and guest is not None:
            self._unanswered(guest)
        else:
            self.attempt.pop(gid, None)
            self._answer(gid)
        self._maybe_over()

    def done(self, guest: Guest, worker: int) -> None:
        self.leave(Finished(self.env.now, guest.id, worker))

    def _answer(self, guest_id: int) -> None:
        if self._answers:
            answered = self._answers.pop(guest_id, None)
            if answered is not None:
                answered.succeed()

    # --- running -----------------------------------------------------------------

    def run(self) -> Party:
        """Run the whole party to its end."""
        self.env.run(until=self.finished)
        return self

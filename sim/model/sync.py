"""Sync workers: ``gunicorn -w W app:app``, W processes that each serve one guest at a time.

The story. Each host takes the next guest from the line and stays with that guest
until they leave: while the guest chats (cpu) the host needs a room (a core); while
the guest waits for the kitchen (io, or a blocking call: for a sync worker they are
the same) the host stands idle beside them; a slow coat (upload) ties the host up too.
The manager (Gunicorn's arbiter, ``sim.model.arbiter``) watches each host's heartbeat,
which a sync worker gives only between guests (Gunicorn's ``notify()`` just before
``accept``): on its tour, about once a second, the manager sends a host kept past
``--timeout`` a SIGABRT. The host is in Python code (a sleep, a socket read, a pure
Python loop), so the signal handler runs at once: ``sys.exit`` inside the handler,
which the sync worker turns into an HTTP 500 for its guest before the process exits
(measured: real ``gunicorn -w 2 --timeout 1`` answers 500). A new host is ready
``--boot`` ms later. A guest longer than the timeout is therefore killed between
``timeout`` and ``timeout + 1 s`` of service, or not at all if it ends first.

Simplifications: see ``base`` (cores are shared in time slices when the hosts
outnumber them) and ``arbiter``. Every phase here lets the SIGABRT handler run (no
phase is a C call that never returns to the interpreter), so SIGKILL is never needed;
the process exits the instant it is signalled, and boot time is a constant.
"""

from __future__ import annotations

import simpy

from sim.model.arbiter import Arbiter, arbiter_rng
from sim.model.base import DbFailed, Party, Process
from sim.trace import (
    CPU,
    DB,
    REASON_TIMEOUT,
    Failed,
    PhaseEnded,
    PhaseStarted,
    Started,
    WorkerKilled,
)
from sim.workload import Guest


class Killed(Exception):
    """The manager's interrupt cause: this host is being killed."""


class SyncParty(Party):
    """W single-guest hosts sharing one line and C rooms."""


    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        s = self.scenario
        self.timeout = s.timeout
        self.boot_delay = s.boot / 1000
        # Processes that can never outnumber the cores never wait for one.
        self.contended = s.workers > s.cores and s.has_phase(CPU)
        self.serving: dict[int, Guest] = {}
        self.since: dict[int, float] = {}  # worker -> its last heartbeat, while serving
        self.processes: dict[int, simpy.Process] = {}
        self.arbiter = Arbiter(self.env, self.timeout, arbiter_rng(s.seed),
                               last_beat=self.since.get, abort=self.abort, kill=self.abort,
                               over=lambda: self.finished.triggered)

    def boot_workers(self) -> None:
        for worker in range(self.hosts):
            self.booted(worker)
            self.processes[worker] = self.env.process(self.host(worker))

    def host(self, worker: int) -> Process:
        """Take a guest, serve them to the end, take the next; die if the manager says."""
        env = self.env
        line = self.line_of(worker)
        while True:
            guest = line.pop()
            if guest is None:  # asleep at the door until a guest comes, then woken
                asleep = env.now
                guest = yield line.wait()
                yield from self.wake_up(asleep)
            self.sink(Started(env.now, guest.id, worker))
            self.serving[worker] = guest
            self.since[worker] = env.now  # notify() just before accept
            self.watch(worker, guest)
            try:
                yield from self.serve(guest, worker)
            except simpy.Interrupt:
                yield from self.killed(worker, guest)
                continue
            except DbFailed as failed:  # no db connection: a 500, and the host goes on
                del self.serving[worker]
                self.since.pop(worker, None)
                self.arbiter.unwatch(worker)
                self.leave(Failed(env.now, guest.id, worker, failed.reason))
                continue
            del self.serving[worker]
            self.since.pop(worker, None)
            self.arbiter.unwatch(worker)
            self.done(guest, worker)

    def serve(self, guest: Guest, worker: int) -> Process:
        """The guest's script, with this host beside them for all of it."""
        env, sink = self.env, self.sink
        for kind, seconds in guest.phases:
            if kind == CPU:
                yield from self.chat(guest, worker, seconds)
                continue
            if kind == DB:  # the host waits beside the guest for a pool connection too
                yield from self.db(guest, worker, seconds)
                continue
            sink(PhaseStarted(env.now, guest.id, worker, kind))
            yield env.timeout(seconds)
            sink(PhaseEnded(env.now, guest.id, worker, kind))

    def chat(self, guest: Guest, worker: int, seconds: float) -> Process:
        """CPU work: in a room (core), shared in time slices when hosts outnumber rooms."""
        env, sink = self.env, self.sink
        sink(PhaseStarted(env.now, guest.id, worker, CPU))
        yield from self.compute(seconds)
        sink(PhaseEnded(env.now, guest.id, worker, CPU))

    # --- the manager -------------------------------------------------------------

    def watch(self, worker: int, guest: Guest) -> None:
        """Have the arbiter's tours look at this host, unless it cannot possibly go
        silent for ``--timeout`` (a guest shorter than it that waits for nothing)."""
        waits = self.contended or self.scenario.has_phase(DB)  # for a core, a connection
        if not waits and sum(sec for _, sec in guest.phases) <= self.timeout:
            return
        self.arbiter.watch(worker)

    def abort(self, worker: int) -> None:
        """SIGABRT: the handler runs at once; the guest gets a 500 and the host exits."""
        if worker in self.serving:
            self.processes[worker].interrupt(Killed())

    def killed(self, worker: int, guest: Guest) -> Process:
        """The host exits on the manager's signal: its guest is answered 500, a new
        host boots."""
        env = self.env
        del self.serving[worker]
        self.since.pop(worker, None)
        self.arbiter.died(worker)  # SIGCHLD: the master tours again at once
        self.sink(WorkerKilled(env.now, worker, REASON_TIMEOUT))
        self.leave(Failed(env.now, guest.id, worker, REASON_TIMEOUT))
        yield env.timeout(self.boot_delay)
        self.booted(worker)

"""Sync workers: ``gunicorn -w W app:app``, W processes that each serve one guest at a time.

The story. Each host takes the next guest from the line and stays with that guest
until they leave: while the guest chats (cpu) the host needs a room (a core); while
the guest waits for the kitchen (io, or a blocking call: for a sync worker they are
the same) the host stands idle beside them; a slow coat (upload) ties the host up too.
The manager (Gunicorn's arbiter) watches each host's heartbeat, which a sync worker
only gives between guests: a guest kept longer than ``--timeout`` gets the host
killed, the guest gets no answer, and a new host is ready ``--boot`` ms later.

Simplifications: see ``base`` (cores are shared in time slices when the hosts
outnumber them). The arbiter checks at the exact instant (Gunicorn looks
about once a second), and boot time is a constant.
"""

from __future__ import annotations

import simpy

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
        self.processes: dict[int, simpy.Process] = {}

    def boot_workers(self) -> None:
        for worker in range(self.hosts):
            self.booted(worker)
            self.processes[worker] = self.env.process(self.host(worker))

    def host(self, worker: int) -> Process:
        """Take a guest, serve them to the end, take the next; die if the manager says."""
        env = self.env
        while True:
            guest = self.line.pop()
            if guest is None:
                guest = yield self.line.wait()
            self.sink(Started(env.now, guest.id, worker))
            self.serving[worker] = guest
            self.watch(worker, guest)
            try:
                yield from self.serve(guest, worker)
            except simpy.Interrupt:
                yield from self.killed(worker, guest)
                continue
            except DbFailed as failed:  # no db connection: a 500, and the host goes on
                del self.serving[worker]
                self.leave(Failed(env.now, guest.id, worker, failed.reason))
                continue
            del self.serving[worker]
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
        """Arm the arbiter's check for this guest, unless it cannot possibly fire."""
        if not self.contended and sum(sec for _, sec in guest.phases) < self.timeout:
            return
        alarm = self.env.timeout(self.timeout)
        alarm.callbacks.append(lambda _: self.check(worker, guest))

    def check(self, worker: int, guest: Guest) -> None:
        if self.serving.get(worker) is guest:
            self.processes[worker].interrupt(Killed())

    def killed(self, worker: int, guest: Guest) -> Process:
        """The manager kills this host: the guest gets nothing, a new host boots."""
        env = self.env
        del self.serving[worker]
        self.sink(WorkerKilled(env.now, worker, REASON_TIMEOUT))
        self.leave(Failed(env.now, guest.id, worker, REASON_TIMEOUT))
        yield env.timeout(self.boot_delay)
        self.booted(worker)

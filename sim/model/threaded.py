"""Threaded workers: ``gunicorn -w W --threads T app:app`` (gthread), W processes x T threads.

The story. Each process holds T hosts (threads), each serving one guest at a time as
a sync host does, so W x T guests can wait for the kitchen at once. But a process has
one GIL (``gil.GIL``): only one of its threads can chat (run Python) at a time,
whatever the number of rooms. So for cpu work a threaded process is worth one core,
and T threads only help guests who wait. The GIL is passed as CPython passes it:

- a thread chatting while another waits is made to hand the GIL over after the switch
  interval (``--switch-interval``, 5 ms), so long cpu phases take turns in slices;
- a thread needs the GIL to read the request, and again after each wait for the
  kitchen (to go on, or to write the answer): back from I/O it waits behind a chatting
  thread for up to an interval (the convoy effect);
- the door is kept by the process's main thread, which accepts each guest and hands
  it to the pool; it needs the GIL too, so a guest waits at the door while a thread
  chats. With ``--overhead`` (the server's own cpu per request), the main thread's
  part is ``ACCEPT_SHARE`` of it and the host thread does the rest.

Measured on this machine (2 cores, CPython 3.11, Gunicorn 27, quiet; the issue's
table and ``benchmarks/bench_gil.py``, which prints them afresh beside the model):
``gunicorn -k gthread -w 1 --threads 4`` serving ``cpu:5,io:20`` tops out near 139/s,
not the 160/s four threads x 25 ms allow; at 100/s its p50 was 32-38 ms and p99 63-91
ms, a guest holding its thread 27.6-28.9 ms. Its main thread spent 0.30 ms of cpu
per request (accept, hand-over, close) and the pool threads 0.71 ms (parse, answer).
The model with ``--overhead 1.0``: at 100/s p50 31.0 ms, p99 61.7, a thread held
27.6 ms (the GIL per whole phase, as before: 28.7, 57.9, 27.2); at 180/s it serves
155/s (before: 154/s). So the convoy and the door bring the latencies to the real
ones at 100/s, but not the ceiling: with 5 ms phases and a 5 ms interval a forced
switch rarely comes, the constant phases fall into step, and the remaining 10% is
something else (the cores shared with the load generator; every blocking call in the
real handler, not just one per wait, giving the GIL up and taking it back; CPython's
hand-off, which is not first come first served).

``--gil off`` is free-threaded Python (3.14t, PEP 779; ``python3.14t -X gil=0``): no
GIL, a process's threads chat on every core at once, limited by the cores alone. A C
extension that is not declared free-threading-safe turns the GIL back on when it is
imported (CPython prints a warning), and the party is then the GIL-on one.

The manager: gthread's main thread sends the heartbeat from its own loop, and a
busy handler thread does not stop it, so a slow guest does *not* get the process
killed (unlike a sync worker). This model follows Gunicorn there, whatever the
``--timeout``.

Simplifications: see ``base`` and ``gil``; threads share one line across processes
(the real gthread accepts greedily into a per-process queue), so with W > 1 the guest
is accepted by a process whose GIL is free (else the one with the fewest threads
waiting for it), which need not be the process whose thread serves it; the main
thread's close after the answer is charged with its accept. When the guests do no
cpu work at all, nobody holds the GIL long enough to make another thread wait; with
one thread per process, only the main thread's accepts would. In both cases the
model leaves the GIL out (so theory stays exact).
"""

from __future__ import annotations

from sim.model.base import Process
from sim.model.gil import GIL
from sim.model.sync import SyncParty
from sim.trace import CPU, DB, Arrived, Hashed, PhaseEnded, PhaseStarted, Queued
from sim.workload import Guest

ACCEPT_SHARE = 0.3  # of --overhead, the main thread's part: measured 0.30 of 1.01 ms
ACCEPTOR = -1  # the GIL owner number of a process's main thread (hosts are 0, 1, ...)


class ThreadedParty(SyncParty):
    """W processes of T threads: a host per thread, a GIL per process."""

    acceptor = True  # the process's main thread accepts (gthread); threadpool's loop does

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        s = self.scenario
        self.free_threaded = s.gil == "off"
        if self.free_threaded:  # every thread may chat at once: the cores are the limit
            self.contended = s.hosts > s.cores and s.has_phase(CPU)
        # Only threads that hold the GIL for some time can make others wait for it.
        wanted = not self.free_threaded and s.threads > 1 and s.has_phase(CPU)
        interval = s.switch_interval / 1000  # ms, as sys.setswitchinterval takes seconds
        self.gils: list[GIL] | None = None
        if wanted:
            cores = self.cores if self.contended else None
            self.gils = [GIL(self.env, interval, cores, self.sink, process)
                         for process in range(s.workers)]
        self.overhead = s.overhead / 1000
        self._accepts = 0

    def watch(self, worker: int, guest: Guest) -> None:
        """No check: the main thread keeps the heartbeat going (see the docstring)."""

    # --- the door: the main thread accepts, holding the GIL ----------------------------

    def knock(self, guest: Guest) -> None:
        """The guest comes in line at once (the kernel queues the connection), and is
        accepted once the main thread holds the GIL; only then can a host take them."""
        line = self.line_for(guest) if self.reuse_port else self.line
        if self.gils is None or not self.acceptor or line.full:
            super().knock(guest)  # no GIL to wait for, or turned away as by any server
            return
        now = self.env.now
        self.sink(Arrived(now, guest.id, guest.kind))
        if self.reuse_port:  # the main thread of the process whose socket it hashed to
            process = self._hashed.pop(guest.id)
            self.sink(Hashed(now, guest.id, process))
            gil = self.gils[process]
        else:
            gil = self._accepting_gil()
        self.in_house += 1
        self.sink(Queued(now, guest.id, len(line) + 1))
        job = gil.hold(ACCEPTOR, ACCEPT_SHARE * self.overhead)
        if job.done is None:
            line.put(guest)
        else:
            job.done.callbacks.append(lambda _: line.put(guest))

    def _accepting_gil(self) -> GIL:
        """The process whose main thread wakes first: one whose GIL is free, else the one
        with the fewest threads waiting for it."""
        assert self.gils is not None
        if len(self.gils) == 1:
            return self.gils[0]
        self._accepts += 1
        start = self._accepts % len(self.gils)
        order = self.gils[start:] + self.gils[:start]
        return min(order, key=lambda gil: (gil.holder is not None, len(gil)))

    # --- a host thread -----------------------------------------------------------------

    def serve(self, guest: Guest, worker: int) -> Process:
        """The guest's script; every stretch of Python (reading the request, cpu, going
        on after a wait, writing the answer) needs the process's GIL."""
        if self.gils is None:
            yield from super().serve(guest, worker)
            return
        env, sink = self.env, self.sink
        gil = self.gils[worker // self.scenario.threads]
        phases = guest.phases
        last = len(phases) - 1
        overhead = self.overhead * (1 - ACCEPT_SHARE) if self.acceptor else self.overhead
        python = True  # the thread is about to run Python: it needs the GIL
        for index, (kind, seconds) in enumerate(phases):
            if kind == CPU:
                if index == 0 and self.overhead and abs(seconds - self.overhead) < 1e-12:
                    seconds = overhead  # the main thread did its part at the door
                keep = index < last and phases[index + 1][0] == CPU
                job = gil.hold(worker, seconds, release=not keep)
                if job.got is not None:
                    yield job.got
                sink(PhaseStarted(env.now, guest.id, worker, CPU))
                if job.done is not None:
                    yield job.done
                sink(PhaseEnded(env.now, guest.id, worker, CPU))
                python = False
                continue
            if python:  # reading the request, or going on between two waits
                yield from self.touch(gil, worker)
            if kind == DB:  # a pool connection first (the GIL dropped while it waits)
                yield from self.db(guest, worker, seconds)
                python = True
                continue
            sink(PhaseStarted(env.now, guest.id, worker, kind))
            yield env.timeout(seconds)
            sink(PhaseEnded(env.now, guest.id, worker, kind))
            python = True
        if python:  # back from a wait: the answer is written in Python
            yield from self.touch(gil, worker)

    def touch(self, gil: GIL, worker: int) -> Process:
        """A moment of Python between waits: free if the GIL is, else wait for it."""
        job = gil.hold(worker, 0.0)
        if job.got is not None:
            yield job.got
        if job.done is not None:
            yield job.done

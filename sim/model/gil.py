"""One process's GIL, passed between its threads as CPython passes it.

Theory of operation. A thread running Python holds the GIL; a thread that wants it
while another holds it waits (CPython's ``take_gil``: a timed wait on a condition
variable). A waiter that has waited ``interval`` seconds (``sys.getswitchinterval()``,
5 ms by default) with no switch meanwhile sets the drop request, and the holder drops
the GIL at its next bytecode boundary and hands it to a waiter (``FORCE_SWITCHING``:
the dropper waits until another thread has taken it, then queues up itself). A thread
that blocks (``time.sleep``, a socket read, a database driver that releases the GIL)
drops it at once. So:

- a cpu phase is cut into slices of ``interval`` while other threads of the process
  wait, and the threads take turns, first come first served;
- a thread back from I/O needs the GIL again before it can write its answer, and
  waits one whole ``interval`` behind a CPU-bound thread (the convoy effect): measured
  with CPython 3.11 on this machine (``benchmarks/bench_gil.py``), a thread waking
  from ``time.sleep`` behind one spinning thread waited 1.35 ms at a 1 ms interval,
  5.38 ms at 5 ms and 10.46 ms at 10 ms;
- the thread that accepts connections (gthread's main thread) needs it too.

This class is that state machine, driven by callbacks rather than processes: one
``holder`` job, a FIFO of ``waiters``, a forced-drop timer armed ``interval`` after
the first waiter arrives (or after a switch, if threads still wait), and the holder's
own work running on the machine's cores (``Party.compute``'s two paths: a plain timer
when the cores are never contended, a job on ``SharedCores`` when they may be, since
each process's GIL holder is one runnable thread among the machine's). Timers cannot
be cancelled in SimPy, so each carries the number of the switch or the slice it was
set for, and an outdated one does nothing (as ``SharedCores`` does).

The fast path: a job that finds the GIL free and nobody waiting runs its work with
one timer and no slicing; a zero-length job (a thread touching Python between two
waits) that finds the GIL free costs no event at all. A party whose threads can never
compete for the GIL does not build one (see ``threaded``).

The trace hears of the GIL only at a hand-over to a waiting host thread
(``GilPassed``, one event per switch, so only a contended GIL adds any); a take of a
free GIL and the main thread's short accepts are not told (the accept's hold is a
fraction of a millisecond, and the picture would only flicker).

What it simplifies: the hand-off is first come first served (CPython signals a
condition variable, and the OS picks which waiter wakes; measured behind two spinning
threads, a sleeper waited 1.7-2.2 intervals on average against the 1.5 of FIFO); the
forced drop comes exactly ``interval`` after the waiter or the switch (CPython's
waiters re-arm their own timers, so a holder may keep it up to twice that); the
switch itself costs nothing.
"""

from __future__ import annotations

from collections import deque

import simpy

from sim.model.cores import EPSILON, SharedCores
from sim.trace import GilPassed, Sink


class Job:
    """Some cpu work a thread does holding the GIL: ``got`` fires when it first holds
    it (None if it got it at once), ``done`` when the work is done."""

    __slots__ = ("owner", "left", "release", "got", "done", "started")

    def __init__(self, owner: int, seconds: float, release: bool) -> None:
        self.owner = owner
        self.left = seconds  # seconds of work still to do
        self.release = release  # drop the GIL when done (else the thread keeps it)
        self.got: simpy.Event | None = None
        self.done: simpy.Event | None = None
        self.started = False


class GIL:
    """One process's GIL: ``hold(owner, seconds)`` runs cpu work as CPython would."""

    def __init__(self, env: simpy.Environment, interval: float,
                 cores: SharedCores | None = None, sink: Sink | None = None,
                 process: int = 0) -> None:  # fmt: skip
        self.env = env
        self.sink = sink  # told each hand-over to a waiting host thread (GilPassed)
        self.process = process
        self.told = -1  # the host thread the trace last saw take the GIL
        self.interval = interval
        self.cores = cores  # None: the cores are never contended (a plain timer)
        self.holder: Job | None = None
        self.waiters: deque[Job] = deque()
        self.switches = 0  # CPython's switch_number: a forced drop checks it
        self.armed = -1  # the switch a forced-drop timer is pending for
        self.slice = 0  # the number of the holder's running slice of work
        self.slice_start = 0.0
        self.slice_job: simpy.Event | None = None  # its job on the shared cores
        self.forced = 0  # forced drops so far (switch intervals that ran out)

    def __len__(self) -> int:
        return len(self.waiters)

    # --- what a thread does ------------------------------------------------------------

    def hold(self, owner: int, seconds: float, release: bool = True) -> Job:
        """``seconds`` of cpu work by thread ``owner`` under the GIL; yield ``got`` (if
        not None) then ``done`` (if not None). With ``release`` False the thread keeps
        the GIL after it (its next cpu work follows at once)."""
        job = Job(owner, seconds, release)
        holder = self.holder
        if holder is None or (holder.owner == owner and holder.left <= EPSILON):
            # free, or kept by this very thread: it runs now (the fast path)
            job.started = True
            if holder is None:
                self.switches += 1  # CPython counts every take
                if owner >= 0:
                    self.told = owner  # its PhaseStarted (or touch) needs no GilPassed
            if seconds <= EPSILON:  # a touch of Python: no event at all
                if not release:
                    self.holder = job
                elif holder is not None:  # it kept the GIL: dropped now, to a waiter
                    self._release()
                return job
            self.holder = job
            self._run(job)
            return job
        job.got = self.env.event()
        job.done = self.env.event()
        self.waiters.append(job)
        if self.armed != self.switches:
            self._arm()
        return job

    # --- the state machine -------------------------------------------------------------

    def _run(self, job: Job) -> None:
        """The holder works: a timer, or a job on the shared cores."""
        if job.done is None:
            job.done = self.env.event()
        self.slice += 1
        number = self.slice
        self.slice_start = self.env.now
        if self.cores is None:
            timer = self.env.timeout(job.left)
        else:
            timer = self.slice_job = self.cores.run(job.left)
        timer.callbacks.append(lambda _: self._worked(number))

    def _worked(self, number: int) -> None:
        holder = self.holder
        if number != self.slice or holder is None:
            return  # a slice cut short by a forced drop
        self.slice_job = None
        holder.left = 0.0
        assert holder.done is not None
        holder.done.succeed()
        if holder.release:
            self._release()

    def _release(self) -> None:
        """The holder drops the GIL: the first waiter takes it. Waiters that only touch
        Python (no work) take it and drop it again at once, in turn."""
        self.holder = None
        self.slice += 1  # no slice runs now
        while self.waiters:
            job = self.waiters.popleft()
            self.switches += 1
            if not job.started:
                job.started = True
                assert job.got is not None
                job.got.succeed()
            if job.left <= EPSILON:
                assert job.done is not None
                job.done.succeed()
                if job.release:
                    continue
            self.holder = job
            if self.sink is not None and job.owner >= 0 and job.owner != self.told:
                self.told = job.owner  # a host thread (not the acceptor) the trace
                self.sink(GilPassed(self.env.now, self.process, job.owner))  # did not see
            if self.waiters:
                self._arm()
            if job.left > EPSILON:
                self._run(job)
            return

    def _arm(self) -> None:
        """A waiter's timed wait: ``interval`` from now, unless a switch comes first."""
        switch = self.armed = self.switches
        timer = self.env.timeout(self.interval)
        timer.callbacks.append(lambda _: self._force(switch))

    def _force(self, switch: int) -> None:
        """The drop request: the holder hands the GIL to the first waiter."""
        holder = self.holder
        if switch != self.switches or holder is None or not self.waiters:
            return
        if holder.left <= EPSILON:  # kept between two pieces of work: dropped now
            self.forced += 1
            self._release()
            return
        left = self._left(holder)
        self.slice += 1  # the holder's running slice is cut here
        if left <= EPSILON:  # done at this very instant: not a cut
            holder.left = 0.0
            assert holder.done is not None
            holder.done.succeed()
            self._release()
            return
        self.forced += 1
        holder.left = left
        self.waiters.append(holder)  # FORCE_SWITCHING: it queues behind the others
        self._release()

    def _left(self, job: Job) -> float:
        """The holder's work still to do, its running slice stopped now."""
        if self.cores is None:
            return job.left - (self.env.now - self.slice_start)
        done, cores = self.slice_job, self.cores
        self.slice_job = None
        if done is None or done not in cores.jobs:
            return 0.0
        left = cores.jobs[done] - (self.env.now - cores.last) * cores.rate
        cores.cancel(done)
        return left

"""The rooms: C cores shared by every runnable cpu phase, as Linux shares them.

Theory of operation. Linux does not hand a core to one process until its work is done;
it runs every runnable process in time slices, so with more runnable processes than
cores each gets ``cores / runnable`` of a core and all of them finish later. That is
processor sharing (PS), and this class models it exactly in the fluid limit: each cpu
phase is a job with its remaining work in seconds; while n jobs run on C cores each
progresses at ``min(1, C / n)`` seconds of work per second. Whenever a job starts, ends
or is cancelled (its host killed), the remaining work of all is brought up to date
and one timer is set for the next job to finish; an older timer finds itself
superseded and does nothing.

What it simplifies: the time slice itself (Linux's CFS slices are a few ms; the fluid
model slices infinitely fine, which is what M/M/1-PS assumes too), and the cost of a
context switch. A party whose processes can never outnumber the cores skips this
class altogether (each model's ``contended`` flag), so the common case costs nothing.
"""

from __future__ import annotations

import simpy

EPSILON = 1e-12  # seconds of work below which a job is done (floating-point dust)


class SharedCores:
    """C cores in processor sharing: ``run(seconds)`` is an event that fires when done."""

    def __init__(self, env: simpy.Environment, cores: int):
        self.env = env
        self.cores = cores
        self.jobs: dict[simpy.Event, float] = {}  # done event -> remaining work (s)
        self.last = env.now
        self.version = 0  # the current timer's number; older timers do nothing

    def __len__(self) -> int:
        return len(self.jobs)

    @property
    def rate(self) -> float:
        """Seconds of work each running job gets per second."""
        return 1.0 if len(self.jobs) <= self.cores else self.cores / len(self.jobs)

    def run(self, seconds: float) -> simpy.Event:
        """Start ``seconds`` of cpu work now; the event fires when it is done."""
        self._settle()
        done = self.env.event()
        self.jobs[done] = seconds
        self._schedule()
        return done

    def cancel(self, done: simpy.Event) -> None:
        """A job whose host was killed: it stops using the cores at once."""
        if done in self.jobs:
            self._settle()
            del self.jobs[done]
            self._schedule()

    def _settle(self) -> None:
        now = self.env.now
        if now > self.last and self.jobs:
            work = (now - self.last) * self.rate
            for job in self.jobs:
                self.jobs[job] -= work
        self.last = now

    def _schedule(self) -> None:
        self.version += 1
        if not self.jobs:
            return
        shortest = max(min(self.jobs.values()), 0.0)
        version = self.version
        timer = self.env.timeout(shortest / self.rate)
        timer.callbacks.append(lambda _: self._tick(version))

    def _tick(self, version: int) -> None:
        if version != self.version:
            return
        self._settle()
        for job in [job for job, left in self.jobs.items() if left <= EPSILON]:
            del self.jobs[job]
            job.succeed()
        self._schedule()

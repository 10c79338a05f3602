"""Gunicorn running Uvicorn workers: ``gunicorn -w W -k uvicorn_worker.UvicornWorker``.

The story. W processes, each an event loop (see ``event_loop``), share one line at
the door: whichever loop turns first lets the next guest in. Loops in different
processes chat in different rooms, so cpu work scales with W up to the number of
cores, and then stops. The manager (Gunicorn's arbiter) watches each loop's
heartbeat, which the loop only gives when it turns: a single phase that holds a loop
past ``--timeout`` (a long blocking call, a long computation) gets the whole process
killed, and every guest in it leaves unanswered. A new loop is ready ``--boot`` ms later.

Simplifications: see ``event_loop``. The arbiter's check fires the instant a phase
has held the loop for ``--timeout`` seconds (Gunicorn looks about once a second).
"""

from __future__ import annotations

from sim.model.base import Process
from sim.model.event_loop import EventLoopParty, Loop
from sim.trace import REASON_TIMEOUT, WorkerKilled
from sim.workload import Guest


class HybridParty(EventLoopParty):
    """W event loops, one per process, watched by Gunicorn's arbiter."""

    managed = True

    def watch(self, loop: Loop, guest: Guest) -> None:
        token = loop.holder = (guest.id, self.env.now)
        alarm = self.env.timeout(self.timeout)
        alarm.callbacks.append(lambda _: self.check(loop, token))

    def check(self, loop: Loop, token: object) -> None:
        if loop.holder is token and self.loops[loop.worker] is loop:
            self.env.process(self.kill(loop))

    def kill(self, loop: Loop) -> Process:
        """The arbiter kills the process: its guests get nothing; a new loop boots."""
        env = self.env
        self.sink(WorkerKilled(env.now, loop.worker, REASON_TIMEOUT))
        loop.holder = None
        for process in list(loop.guests.values()):
            process.interrupt()
        loop.guests.clear()
        if loop.greeter is not None and loop.greeter.is_alive:
            loop.greeter.interrupt()
        yield env.timeout(self.boot_delay)
        self.loops[loop.worker] = self.start_loop(loop.worker)

"""Gunicorn running Uvicorn workers: ``gunicorn -w W -k uvicorn_worker.UvicornWorker``.

The story. W processes, each an event loop (see ``event_loop``), share one line at
the door: whichever loop turns first lets the next guest in. Loops in different
processes chat in different rooms, so cpu work scales with W up to the number of
cores, and then stops. The manager (Gunicorn's arbiter, ``sim.model.arbiter``) tours
about once a second and kills a process whose heartbeat is older than ``--timeout``;
every guest in it leaves unanswered, and a new loop is ready ``--boot`` ms later.

The heartbeat, read in uvicorn 0.54 (``Server.main_loop``/``on_tick``) and
uvicorn-worker 0.4: the loop ticks every 0.1 s, and on every tenth tick (about once a
second) calls Gunicorn's ``notify()``, but only if more than ``timeout / 2`` has passed
since the last time (``timeout_notify`` is the worker's ``timeout``, which Gunicorn
sets to ``--timeout / 2``). A tick is a timer on the loop, so a phase that holds the
loop (a long blocking call, a long computation) stops it; the overdue tick runs when
the loop turns again. So the heartbeat can be up to ``timeout / 2 + 1`` s old before
a hold even starts, and a hold is killed somewhere between about ``timeout / 2`` and
``timeout + 1`` s (``--timeout 1``: between 0 and 2 s; measured with real Gunicorn and
a 1.5 s blocking call at about 1/s: 7 of 12 killed, after 1.1 to 2.4 s).

SIGABRT: UvicornWorker resets it to the default action, so the process dies at once
(the guests see the connection close, no 500: measured). ``AsgiParty`` is Gunicorn's
own ``-k asgi`` worker, which differs in both rules (see there).

Simplifications: see ``event_loop`` and ``arbiter``. The tenth-tick count is kept
per second: a hold that swallows a due tick delays the next check by the ticks left
in that second; a short hold that ends between two checks delays nothing. A new loop
counts as a heartbeat when it is ready (Gunicorn's heartbeat file is made at fork).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import simpy

from sim.model.arbiter import Arbiter, arbiter_rng
from sim.model.base import Process
from sim.model.event_loop import EventLoopParty, Loop
from sim.trace import BLOCKING, CPU, REASON_TIMEOUT, WorkerKilled
from sim.workload import Guest

TICK = 1.0  # s: the loop's heartbeat check, every tenth 0.1 s tick (uvicorn on_tick)
SUBTICK = 0.1  # s: uvicorn main_loop's asyncio.sleep(0.1)


@dataclass
class Heartbeat:
    """One loop's heartbeat: its last ``notify()`` and the hold that may stop it."""

    last: float  # the last notify() (what Gunicorn's arbiter reads)
    check: float  # the last tick that looked at the clock
    held_since: float | None = None  # a phase holds the loop since then
    released: simpy.Event | None = None  # the heartbeat waits for the hold to end
    abort_pending: bool = False  # SIGABRT came while the loop was held (AsgiParty)


class HybridParty(EventLoopParty):
    """W event loops, one per process, watched by Gunicorn's arbiter."""

    managed = True
    notify_every_tick = False  # UvicornWorker: only after timeout / 2 (see the docstring)
    abort_waits_for_loop = False  # UvicornWorker: SIGABRT's default action kills at once

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        s = self.scenario
        self.arbiter = Arbiter(self.env, self.timeout, arbiter_rng(s.seed),
                               last_beat=self.last_beat, abort=self.abort, kill=self.sigkill,
                               over=lambda: self.finished.triggered)
        self.beats: dict[int, Heartbeat] = {}
        self.dying: set[Loop] = set()  # signalled to death, not yet replaced
        # Only a phase that holds the loop can stop the heartbeat: without one, no tours.
        self.holds = s.has_phase(CPU) or s.has_phase(BLOCKING)

    def start_loop(self, worker: int) -> Loop:
        loop = super().start_loop(worker)
        if self.holds:
            now = self.env.now
            beat = self.beats[worker] = Heartbeat(last=now, check=now)
            self.env.process(self.heartbeat(loop, beat))
            self.arbiter.watch(worker)
        return loop

    # --- the heartbeat ---------------------------------------------------------------

    def alive(self, loop: Loop) -> bool:
        return self.loops[loop.worker] is loop and not self.finished.triggered

    def heartbeat(self, loop: Loop, beat: Heartbeat) -> Process:
        """The loop's own timer: a check once a second; notify() by the class's rule."""
        env = self.env
        while True:
            yield env.timeout(max(0.0, beat.check + TICK - env.now))
            if not self.alive(loop):
                return
            if beat.held_since is not None:  # overdue: it runs when the loop turns
                held_from = beat.held_since
                beat.released = env.event()
                yield beat.released
                if not self.alive(loop):
                    return
                late = 0.0 if self.notify_every_tick else (  # a sleep(1.0) fires now
                    self.ticks_left(held_from - beat.check) * SUBTICK)
                if late > 0:
                    yield env.timeout(late)
                    if not self.alive(loop):
                        return
            beat.check = env.now
            if self.notify_every_tick or env.now - beat.last > self.timeout / 2:
                beat.last = env.now

    def ticks_left(self, into_second: float) -> int:
        """0.1 s ticks still to run after a hold that began ``into_second`` after the last
        check: the hold swallowed one; uvicorn counts ten from check to check."""
        done = min(9, max(0, math.floor(into_second / SUBTICK + 1e-9)))
        return 9 - done

    def last_beat(self, worker: int) -> float | None:
        beat = self.beats.get(worker)
        return beat.last if beat is not None else None

    def _held(self, loop: Loop, guest: Guest, kind: str, seconds: float) -> Process:
        beat = self.beats.get(loop.worker)
        if beat is None or self.loops[loop.worker] is not loop:
            yield from super()._held(loop, guest, kind, seconds)
            return
        beat.held_since = self.env.now
        yield from super()._held(loop, guest, kind, seconds)
        beat.held_since = None
        if beat.released is not None and not beat.released.triggered:
            beat.released.succeed()
        if beat.abort_pending:  # the signal handler runs now that the loop turns
            beat.abort_pending = False
            self.env.process(self.kill(loop))

    def watch(self, loop: Loop, guest: Guest) -> None:
        """Not used: the arbiter reads the heartbeat on its tours instead."""

    # --- the manager's signals ---------------------------------------------------------

    def abort(self, worker: int) -> None:
        """SIGABRT: UvicornWorker dies at once; ``abort_waits_for_loop``: when it turns."""
        loop = self.loops[worker]
        beat = self.beats.get(worker)
        if self.abort_waits_for_loop and beat is not None and beat.held_since is not None:
            beat.abort_pending = True
            return
        self.env.process(self.kill(loop))

    def sigkill(self, worker: int) -> None:
        beat = self.beats.get(worker)
        if beat is not None:
            beat.abort_pending = False
        self.env.process(self.kill(self.loops[worker]))

    def kill(self, loop: Loop) -> Process:
        """The process dies: its guests get nothing; a new loop boots."""
        env = self.env
        if self.loops[loop.worker] is not loop or loop in self.dying:
            return
        self.dying.add(loop)
        self.sink(WorkerKilled(env.now, loop.worker, REASON_TIMEOUT))
        beat = self.beats.pop(loop.worker, None)
        if beat is not None and beat.released is not None and not beat.released.triggered:
            beat.released.succeed()  # the dead loop's heartbeat ends
        self.arbiter.died(loop.worker)  # SIGCHLD: the master tours again at once
        for process in list(loop.guests.values()):
            process.interrupt()
        loop.guests.clear()
        if loop.greeter is not None and loop.greeter.is_alive:
            loop.greeter.interrupt()
        yield env.timeout(self.boot_delay)
        self.dying.discard(loop)
        self.loops[loop.worker] = self.start_loop(loop.worker)


class AsgiParty(HybridParty):
    """Gunicorn's own ASGI worker: ``gunicorn -w W -k asgi`` (Gunicorn 24 and later).

    The same shape as ``HybridParty`` (a loop per process, the arbiter's tours), two
    rules apart, read in gunicorn 27.0.1 (``workers/gasgi.py``): the heartbeat is a
    task that calls ``notify()`` and sleeps one second, every time (no ``timeout / 2``
    rule), so a hold is killed between ``timeout`` and ``timeout + 1`` s after it began
    minus at most one second of heartbeat age; and SIGABRT is a handler on the loop
    (``loop.add_signal_handler``), so a held loop cannot run it: the worker exits when
    the hold ends, after the guest that held it is answered, or takes SIGKILL on the
    next tour if it is still held. Measured (``--timeout 1``, a 1.5 s blocking call at
    about 1/s): 7 of 12 guests lost their connection, one of them reset; Gunicorn
    logged "exited with code 1" for the aborts the loop handled.
    """

    notify_every_tick = True
    abort_waits_for_loop = True

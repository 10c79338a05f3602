"""Gunicorn's arbiter, simulated: a tour about once a second, SIGABRT, then SIGKILL.

What the real one does (read in gunicorn 27.0.1, ``arbiter.py``; the same rule since
Gunicorn 19). The master loop waits for a signal for at most one second
(``wait_for_signals(timeout=1.0)``), then runs ``murder_workers()`` and
``manage_workers()``: that is the manager's tour. A signal wakes it early, and the one
that matters here is SIGCHLD: a worker that dies starts a tour at once, the dead one is
replaced (``spawn_workers`` sleeps ``0.1 * random()`` s after each fork), and the next
tour comes a second after that. On a tour, a worker whose heartbeat is older than
``--timeout`` gets SIGABRT ("WORKER TIMEOUT"); a worker still silent on a later tour
gets SIGKILL. (``--graceful-timeout`` plays no part: it is for shutdowns and reloads.)

So a host stuck past the timeout is not caught at the timeout but on the first tour
after it: between ``timeout`` and ``timeout + 1 s``. Measured on this machine (real
``gunicorn -w 2 --timeout 1``, a handler that sleeps 1.5 s, Poisson arrivals at 1/s,
20 guests): 14 answered HTTP 500 after 1.24 to 1.88 s of service, 6 served; a 1.5 s
guest is caught when a tour falls in the half second between 1 s and 1.5 s of its
service, about one time in two.

The tour's phase is unknown from outside (the master started before the first guest),
so it is drawn once from the scenario's seed on its own stream (``ARBITER_STREAM``),
and every worker death moves it, as SIGCHLD does.

What a party supplies: ``last_beat(worker)``, the time of that worker's last
heartbeat (None while it cannot go silent), ``abort(worker)`` (SIGABRT: the worker
may die at once, answering 500 where it can, or not at all while blocked) and
``kill(worker)`` (SIGKILL). The party calls ``died(worker)`` when a process is gone:
that is the SIGCHLD. The tours run only while some worker is watched (and the party
is not over), so a party that cannot be killed has no tour events at all, and a long
party pays for tours only while a guest could outlast the timeout.

Simplifications: the tour itself takes no time, and the pause after each fork is
uniform in [0, 0.1) s as in ``spawn_workers``; the fork itself is instant (a new
host is ready ``--boot`` ms later, as before).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import simpy

from sim.model.base import Process

TOUR = 1.0  # s: wait_for_signals(timeout=1.0) in Gunicorn's master loop
SPAWN_PAUSE = 0.1  # s: spawn_workers sleeps 0.1 * random() after each fork
ARBITER_STREAM = "arbiter"  # the random stream of the tour's phase and the pauses


def arbiter_rng(seed: int) -> random.Random:
    """The arbiter's own stream: drawing from it never moves the guests' draws."""
    return random.Random(f"partyhost:{seed}:{ARBITER_STREAM}")


class Arbiter:
    """The master's tours over a party's workers; see the module docstring."""

    def __init__(self, env: simpy.Environment, timeout: float, rng: random.Random, *,
                 last_beat: Callable[[int], float | None], abort: Callable[[int], None],
                 kill: Callable[[int], None], over: Callable[[], bool]) -> None:  # fmt: skip
        self.env = env
        self.timeout = timeout
        self.rng = rng
        self.last_beat = last_beat
        self.abort = abort
        self.kill = kill
        self.over = over
        self.next_tour = rng.uniform(0.0, TOUR)  # the phase of the master's loop
        self.watched: set[int] = set()
        self.aborted: set[int] = set()  # SIGABRT sent: SIGKILL on the next tour
        self.deaths = 0  # SIGCHLDs not yet handled by a tour
        self.wake: simpy.Event | None = None
        self.process: simpy.Process | None = None

    def watch(self, worker: int) -> None:
        """``worker`` could go silent: tour from now on (the tours keep their phase)."""
        self.watched.add(worker)
        if self.process is None:
            now = self.env.now
            if self.next_tour < now:
                self.next_tour += math.ceil((now - self.next_tour) / TOUR) * TOUR
            self.process = self.env.process(self.tours())

    def unwatch(self, worker: int) -> None:
        self.watched.discard(worker)

    def died(self, worker: int) -> None:
        """SIGCHLD: a worker process is gone; the master wakes for a tour at once."""
        self.aborted.discard(worker)
        self.watched.discard(worker)
        if self.process is None:
            return
        self.deaths += 1
        if self.wake is not None and not self.wake.triggered:
            self.wake.succeed()

    def tours(self) -> Process:
        env = self.env
        while self.watched and not self.over():  # nobody to look at: no tours (the
            self.wake = env.event()  # phase is kept: ``watch`` picks it up again)
            if self.deaths == 0:
                yield env.timeout(max(0.0, self.next_tour - env.now)) | self.wake
            self.murder()
            if self.deaths:  # reaped; each replacement forked, then a pause
                pauses = sum(self.rng.uniform(0.0, SPAWN_PAUSE) for _ in range(self.deaths))
                self.deaths = 0
                self.next_tour = env.now + pauses + TOUR
            else:
                self.next_tour = env.now + TOUR
        self.process = None

    def murder(self) -> None:
        """``murder_workers``: SIGABRT to a worker silent past the timeout, then SIGKILL."""
        now = self.env.now
        for worker in sorted(self.watched):
            beat = self.last_beat(worker)
            if beat is None or now - beat <= self.timeout:
                continue
            if worker in self.aborted:
                self.kill(worker)
            else:
                self.aborted.add(worker)
                self.abort(worker)

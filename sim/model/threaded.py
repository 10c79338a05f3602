"""Threaded workers: ``gunicorn -w W --threads T app:app`` (gthread), W processes x T threads.

The story. Each process holds T hosts (threads), each serving one guest at a time as
a sync host does, so W x T guests can wait for the kitchen at once. But a process has
one GIL: only one of its threads can chat (run Python) at a time, whatever the number
of rooms. So for cpu work a threaded process is worth one core, and T threads only
help guests who wait.

The manager: gthread's main thread sends the heartbeat from its own loop, and a
busy handler thread does not stop it, so a slow guest does *not* get the process
killed (unlike a sync worker). This model follows Gunicorn there, whatever the
``--timeout``.

Simplifications: see ``base``; threads share the process's line (the real gthread
accepts greedily into a per-process queue); the GIL is handed over per whole cpu
phase, first come first served (CPython switches every 5 ms).
"""

from __future__ import annotations

import simpy

from sim.model.base import Process
from sim.model.sync import SyncParty
from sim.trace import CPU, PhaseEnded, PhaseStarted
from sim.workload import Guest


class ThreadedParty(SyncParty):
    """W processes of T threads: a host per thread, a GIL per process."""


    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.gils = [simpy.Resource(self.env, capacity=1) for _ in range(self.scenario.workers)]

    def watch(self, worker: int, guest: Guest) -> None:
        """No check: the main thread keeps the heartbeat going (see the docstring)."""

    def chat(self, guest: Guest, worker: int, seconds: float) -> Process:
        """CPU work: first the process's GIL, then a room (shared, as ``sync`` shares it)."""
        env, sink = self.env, self.sink
        with self.gils[worker // self.scenario.threads].request() as gil:
            yield gil
            sink(PhaseStarted(env.now, guest.id, worker, CPU))
            yield from self.compute(seconds)
        sink(PhaseEnded(env.now, guest.id, worker, CPU))

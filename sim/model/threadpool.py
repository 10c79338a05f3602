"""FastAPI/Starlette ``def`` endpoints: one event loop handing handlers to a thread pool.

The story. ``uvicorn app:app`` serving a plain ``def`` route: the event loop lets every
guest in at once (accept and parse cost it almost nothing) and hands each handler to
AnyIO's worker threads, behind a limiter of ``--threads`` tokens (40 by default,
shared in real apps with sync dependencies). A guest beyond the tokens waits inside
the house for a thread. Each thread then serves its guest as a gthread host does: it
stands beside them while they wait for the kitchen (io, or a blocking call: in a
thread ``time.sleep`` releases the GIL and blocks nobody else), and to chat (cpu) it
needs the process's one GIL and a room. So a ``def`` endpoint does not freeze the loop,
but its CPU work is worth one core, and the pool can run out.

``--limit-concurrency N`` answers 503 at once to a guest who would make N in the
house, as uvicorn does (it counts open connections, the newcomer's own included:
``event_loop``). No manager watches a lone uvicorn: ``--timeout`` does nothing.

A slow coat (upload) costs a thread nothing: the loop reads the body while it serves
others, and the guest asks for a token once it has arrived.

The pool threads pass the GIL as gthread's threads do (``threaded``, ``gil``): in
slices of ``--switch-interval`` while others wait, and needed again after each wait;
``--gil off`` (free-threaded Python) lets them chat on every core.

Simplifications: see ``threaded``; the loop's own thread needs the GIL too, for every
turn, and the model leaves it out. The line drawn is the guests waiting for a token
(the kernel's accept queue stays empty, since the loop accepts at once), so it is never
full; the loop's own turns (accept, parse, hand-over, write) take no time.
"""

from __future__ import annotations

import math

from sim.model.base import Backlog, Process
from sim.model.threaded import ThreadedParty
from sim.trace import REASON_LIMIT, UPLOAD, Failed, Queued
from sim.workload import Guest


class ThreadPoolParty(ThreadedParty):
    """One process: an event loop at the door and T threads behind it, one GIL."""

    acceptor = False  # the loop's own turns (accept, parse, hand-over) are left out

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.line.capacity = math.inf  # the loop accepts everyone; they wait for a token
        self.limit = self.scenario.limit_concurrency

    def door_full(self, line: Backlog) -> bool:
        return False  # the loop accepts every connection at once

    def admit(self, guest: Guest, line: Backlog) -> None:
        """The loop lets the guest in, unless uvicorn's limit says 503; a slow coat is
        taken by the loop (the body is read before the ``def`` handler is called), so
        the guest asks for a thread only once it is off."""
        now = self.env.now
        if self.limit is not None and self.in_house >= self.limit:  # N-1 others inside
            self.leave(Failed(now, guest.id, -1, REASON_LIMIT))
            return
        coat = sum(seconds for kind, seconds in guest.phases if kind == UPLOAD)
        if coat > 0:
            self.env.process(self.take_coat(guest, coat))
            return
        self.wait_for_token(guest)

    def take_coat(self, guest: Guest, seconds: float) -> Process:
        yield self.env.timeout(seconds)
        rest = tuple(phase for phase in guest.phases if phase[0] != UPLOAD)
        self.wait_for_token(Guest(guest.id, guest.arrival, rest, guest.kind))

    def wait_for_token(self, guest: Guest) -> None:
        self.sink(Queued(self.env.now, guest.id, len(self.line) + 1))
        self.line.put(guest)

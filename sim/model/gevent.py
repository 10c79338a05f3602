"""Gunicorn's gevent worker: ``gunicorn -w W -k gevent --worker-connections N``.

The story. W processes share one line at the door, as in ``hybrid``, but each host is
a gevent hub with a greenlet per guest rather than an asyncio loop. Monkey patching
makes the guest's waits for the kitchen (socket reads, ``time.sleep``) yield to the
hub, which turns to other guests meanwhile: the ``io`` phase, exactly as an awaited
io in ``event_loop``. A call into C that gevent cannot patch (a database driver that
does not cooperate) holds the whole hub: nobody else in that process moves, as with a
blocking call on an event loop. That is the ``blocking`` phase; gevent needs no phase
kind of its own. Chatting (cpu) holds the hub too, and needs a room.

What differs is the door. Each hub lets in at most ``--worker-connections`` guests
(1000 by default): Gunicorn spawns each connection's greenlet from a
``gevent.pool.Pool`` of that size, and while the pool is full gevent's server stops
watching the listen socket. So there is no 503: the hub simply stops taking guests
from the line, and the next ones wait outside, in the kernel's accept queue, counted
against ``--backlog``, until a guest leaves and the hub, on its next turn, accepts
again. Beyond the backlog, Linux drops the knock as for any full line.

The manager (Gunicorn's arbiter) watches each hub's heartbeat, a greenlet that calls
``notify()`` and ``gevent.sleep(1.0)`` (read in gunicorn 27.0.1, ``ggevent.py``), so it
runs only when the hub turns, every second (no ``timeout / 2`` rule, unlike
UvicornWorker): a phase that holds the hub past ``--timeout`` gets the process killed
on the arbiter's next tour, with every guest in it (see ``hybrid``).

Simplifications: see ``hybrid``. The cap counts guests, not connections: a kept-alive
connection between two requests still holds a slot in the real pool (for up to
``--keep-alive``, 2 s), and here each guest is one connection. With several workers
Gunicorn accepts one connection per turn of a hub (``max_accept = 1``); here a hub
that turns takes every guest already in line, as a loop does.
"""

from __future__ import annotations

from sim.model.event_loop import Loop
from sim.model.hybrid import HybridParty


class GeventParty(HybridParty):
    """W gevent hubs, one per process, each letting in at most N guests at once."""

    notify_every_tick = True  # notify(); gevent.sleep(1.0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.connections = self.scenario.worker_connections

    def full(self, loop: Loop) -> bool:
        """The pool of greenlets is full: stop accepting; the rest wait in the line."""
        return self.connections is not None and len(loop.guests) >= self.connections

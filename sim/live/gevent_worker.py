"""The gevent model: ``gunicorn -w W -k gevent --worker-connections N``.

Theory of operation. The arbiter forks W workers around one listen socket, as for
``hybrid``, and each worker runs the async server's event loop (``async_server``):
asyncio stands in for the gevent hub. Both schedule cooperatively: a guest's awaited
``io`` (``asyncio.sleep`` here, a monkey-patched ``time.sleep`` or socket read under
gevent) hands the loop to other guests, while ``cpu`` and ``blocking`` (``time.sleep``
here; an unpatched C call, such as a database driver that does not cooperate, under
gevent) hold it, and every guest of the worker waits. Our minimal servers stay
stdlib asyncio; gevent itself is only in the real runner (``real``: gunicorn-gevent).

What differs from ``hybrid`` is the door. Gunicorn's gevent worker spawns a greenlet
per connection from a ``gevent.pool.Pool(worker_connections)``, and gevent's server
stops watching the listen socket while that pool is full (``BaseServer._do_read``),
then starts again when a greenlet ends. No 503: the connections beyond N stay in the
kernel's accept queue, the line outside, until a slot frees. ``GeventServer.listen``
does the same with an ``asyncio.Semaphore(N)``: it takes a slot, then accepts one
connection (``loop.sock_accept``); the slot is given back when the connection closes.

The heartbeat is a timer on the loop, as in Gunicorn's gevent worker (its main
greenlet calls ``notify()`` and then ``gevent.sleep(1.0)``, so it beats only when the
hub turns): a blocking call or cpu phase past ``--timeout`` gets the worker killed.

Simplification: gevent frees a slot when the connection's greenlet returns; here, when
we start to close the connection (the linger that follows costs no slot).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from sim.live.arbiter import WorkerContext
from sim.live.async_server import HttpProtocol, LoopServer
from sim.live.hybrid import hybrid_worker


class PooledProtocol(HttpProtocol):
    """A connection that holds one of the worker's slots until it closes."""

    def __init__(self, server: GeventServer):
        super().__init__(server)
        self.slot_held = True

    def give_back(self) -> None:
        if self.slot_held:
            self.slot_held = False
            self.server.slots.release()  # type: ignore[attr-defined]

    def close(self) -> None:
        super().close()
        self.give_back()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.give_back()


class GeventServer(LoopServer):
    """The async server's loop, accepting only while it holds fewer than N connections."""

    slots: asyncio.Semaphore
    accepting: asyncio.Task | None = None

    async def listen(self, listener: socket.socket) -> None:
        self.slots = asyncio.Semaphore(self.config.worker_connections or 1000)
        listener.setblocking(False)
        self.accepting = asyncio.create_task(self.accept(listener))

    async def accept(self, listener: socket.socket) -> None:
        """Take a slot, then one connection; while no slot is free, accept nothing."""
        loop = asyncio.get_running_loop()
        while not self.closing:
            await self.slots.acquire()
            try:
                conn, _ = await loop.sock_accept(listener)
            except asyncio.CancelledError:
                self.slots.release()
                raise
            except OSError:  # a connection reset before we took it: try the next
                self.slots.release()
                continue
            try:
                await loop.connect_accepted_socket(lambda: PooledProtocol(self), conn)
            except OSError:
                conn.close()
                self.slots.release()

    async def shutdown(self) -> None:
        if self.accepting is not None:  # stop accepting first, as server.close() does
            self.accepting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.accepting
        await super().shutdown()


def gevent_worker(ctx: WorkerContext) -> None:
    """One cooperative loop with at most N connections, until SIGTERM or its master goes."""
    hybrid_worker(ctx, server_class=GeventServer)

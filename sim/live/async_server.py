"""The async model: ``uvicorn app:app``, one process, one asyncio event loop.

Theory of operation. One thread runs the loop; the loop runs everything. Each
connection is an ``HttpProtocol``: when bytes arrive the loop calls it, it feeds them
to the connection's ``HttpSession`` and, for each complete request, either answers at
once (the hello, a 404) or starts a task that interprets the guest's phases with
``handler.run_async``, eagerly (``sim.live.eager``): the guest's first phase begins as
soon as its request is read, not after every other request read in the same turn.
While a task awaits its io (``asyncio.sleep``), the loop serves every other
connection; a cpu phase or a blocking call (``time.sleep``) holds the loop, and then
nothing else moves, not even accepting. Requests on one connection are answered in
order: while a guest is served, the connection stops reading.

``--limit-concurrency N``, as uvicorn decides it (``on_headers_complete`` in
``uvicorn/protocols/http/httptools_impl.py``): once a request is parsed, a 503 if
``len(connections) >= N or len(tasks) >= N``. The connections already hold the
newcomer's own and every idle kept-alive one, so at most N-1 guests are in flight
beside it, not N. Uvicorn sends the 503 from a task, on the loop's next turn, with
``connection: close``; so do we (``open`` counts a connection from
``connection_made`` until we close it, as uvicorn's ``transport.close()`` right after
its answer; our lingering for the client's FIN is not counted).

Kept-alive connections idle for ``KEEPALIVE`` seconds are closed (uvicorn's
``--timeout-keep-alive``), by one sweep a second over the loop's connections rather
than a timer set and cancelled for every request (about 5% of the hello world's rate,
measured); an idle connection may so live up to a second longer.
The same sweep answers 408 and closes a connection whose request has been arriving for
longer than ``--header-timeout`` (a client trickling bytes, slowloris); uvicorn has
no such limit on the head, only h11's size limit.

Why ``BufferedProtocol`` and not streams: ``asyncio`` stream readers allocate a fresh
buffer for every read, and on this machine that cost page faults on every request and
halved the hello-world rate; here every connection of the loop reads into one shared
64 KB buffer (the bytes are copied out at once), so an idle connection holds no buffer.

SIGTERM or SIGINT: stop accepting, close idle connections, let guests in flight finish
for up to ``--graceful-timeout``, cancel the rest, and exit. ``hybrid`` runs this same
loop in each of its forked workers; ``threadpool`` runs it too, but hands each guest's
handler to a pool of threads (``LoopServer.run_guest`` is the one place that differs);
``gevent_worker`` runs it in forked workers that stop accepting while full
(``LoopServer.listen``).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator

from sim.live.config import ServerConfig
from sim.live.eager import start_eagerly
from sim.live.handler import Guest, Report, admit, finish, run_async, server_error, start
from sim.live.http import CLOSED, NEED_DATA, HttpSession, Reject, Request, error_bytes
from sim.trace import REASON_LIMIT, Failed, WorkerBooted

RECV_SIZE = 64 * 1024
KEEPALIVE = 5.0  # s, uvicorn's --timeout-keep-alive
LINGER = 1.0  # s to wait for the client's end after we closed ours
SWEEP_EVERY = 1.0  # s between looks for connections idle past KEEPALIVE


class LoopServer:
    """The state one event loop shares between its connections."""

    def __init__(self, config: ServerConfig, worker: int, report: Report,
                 numbers: Iterator[int]):  # fmt: skip
        self.config = config
        self.worker = worker
        self.report = report
        self.numbers = numbers
        self.pid = os.getpid()
        self.limit = config.limit_concurrency
        self.in_flight = 0
        self.open = 0  # connections made and not yet closed: uvicorn's len(connections)
        self.connections: set[HttpProtocol] = set()
        self.tasks: set[asyncio.Task] = set()
        self.closing = False
        self.server: asyncio.Server | None = None
        # One read buffer for every connection of this loop: asyncio calls get_buffer,
        # recv_into and buffer_updated in one go, and buffer_updated copies the bytes
        # out at once, so no connection needs a buffer of its own between reads.
        self.buffer = bytearray(RECV_SIZE)
        self.view = memoryview(self.buffer)
        self.sweep_every = min(SWEEP_EVERY, max(0.05, config.header_timeout / 2))

    @property
    def worker_ids(self) -> tuple[int, ...] | range:
        """The trace's worker ids this server's guests are served by: the loop itself."""
        return (self.worker,)

    async def run_guest(self, guest: Guest) -> None:
        """Run a guest's handler, from Started to Finished: here, on the loop itself.

        The one hook for a server that runs handlers elsewhere (``threadpool``: in a
        pool of threads). It is called eagerly, as soon as the request is read.
        """
        start(guest, self.report)
        await run_async(guest, self.report)
        finish(guest, self.report)

    async def start(self, listener: socket.socket) -> None:
        await self.listen(listener)
        asyncio.get_running_loop().call_later(self.sweep_every, self.sweep)

    async def listen(self, listener: socket.socket) -> None:
        """Accept on ``listener``: asyncio's server takes every knock whenever the loop
        turns. The one hook for a server that accepts on its own terms (``gevent``: not
        while it holds ``--worker-connections`` connections)."""
        self.server = await asyncio.get_running_loop().create_server(
            lambda: HttpProtocol(self), sock=listener, backlog=self.config.backlog
        )

    def sweep(self) -> None:
        """Close the connections idle past ``KEEPALIVE``, and those whose request has
        been arriving for longer than ``--header-timeout`` (a 408); look again soon."""
        if self.closing:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        limit = now - KEEPALIVE
        slow = now - self.config.header_timeout
        for conn in list(self.connections):
            if 0 < conn.idle_since < limit:
                conn.close()
            elif not conn.busy and 0 < conn.head_since < slow:
                conn.time_out()
        loop.call_later(self.sweep_every, self.sweep)

    async def shutdown(self) -> None:
        """Graceful, then for good: see the module docstring."""
        self.closing = True
        if self.server is not None:
            self.server.close()
        for conn in list(self.connections):
            if not conn.busy:
                conn.close()
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=self.config.graceful_timeout)
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=1.0)
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()


class HttpProtocol(asyncio.BufferedProtocol):
    """One client connection on the loop."""

    def __init__(self, server: LoopServer):
        self.server = server
        self.session = HttpSession(keep_alive=True)
        self.transport: asyncio.Transport | None = None
        self.accepted_at = 0.0
        self.first = True
        self.counted = False  # in server.open
        self.busy = False  # a guest of this connection is being served
        self.closing = False
        self.idle_since = 0.0  # loop time the connection began to wait for a request; 0: not
        self.head_since = 0.0  # loop time the first byte of the next request came; 0: none
        self.loop = asyncio.get_running_loop()
        self.linger: asyncio.TimerHandle | None = None

    # --- asyncio's callbacks --------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.accepted_at = time.monotonic()
        self.server.connections.add(self)
        self.server.open += 1
        self.counted = True
        self.idle_since = self.loop.time()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.uncount()
        self.closing = True
        if self.linger is not None:
            self.linger.cancel()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.server.view  # shared by the loop's connections: see LoopServer

    def buffer_updated(self, nbytes: int) -> None:
        if self.closing:
            return  # lingering: the client's bytes are read and dropped
        self.idle_since = 0.0
        if not self.head_since:
            self.head_since = self.loop.time()
        self.session.feed(self.server.buffer[:nbytes])
        if self.busy:
            self.transport.pause_reading()  # one guest at a time per connection
        else:
            self.pump()

    def eof_received(self) -> bool:
        if self.closing:
            self.transport.close()
            return True
        self.session.feed(b"")
        if not self.busy:
            self.pump()
        return True  # we close when we are done writing

    # --- requests -------------------------------------------------------------------

    def pump(self) -> None:
        """Take every complete request received so far, in order, one guest at a time."""
        if self.busy:
            return
        server = self.server
        while not self.closing:
            item = self.session.next_request()
            if item is NEED_DATA:
                self.idle_since = self.loop.time()
                return
            if item is CLOSED:
                self.close()
                return
            if isinstance(item, Reject):
                self.transport.write(error_bytes(item.status, item.reason))
                self.close()
                return
            request: Request = item  # type: ignore[assignment]
            self.head_since = 0.0  # it arrived in time
            request.head_at = time.monotonic()
            accepted_at = self.accepted_at if self.first else request.head_at
            self.first = False
            try:
                admitted = admit(request, server.worker, accepted_at, server.numbers)
            except Exception as exc:  # a request never takes the loop's callback down
                admitted = server_error(exc, None, server.report)
            if not isinstance(admitted, Guest):
                status, headers, body = admitted
                headers = [*headers, ("x-worker", str(server.worker))]
                self.transport.write(self.session.respond(request, status, headers, body))
            elif server.limit is not None and (server.open >= server.limit
                                               or server.in_flight >= server.limit):
                self.busy = True  # nothing more is read from this connection
                self.loop.call_soon(self._turn_away, request, admitted)  # uvicorn: a task
                return
            else:
                self.busy = True
                server.in_flight += 1
                # eagerly: its first phase begins now, not after the rest of this turn
                task = start_eagerly(self.serve(request, admitted), self.loop)
                server.tasks.add(task)
                task.add_done_callback(server.tasks.discard)
                return
            if not self.session.next_cycle() or server.closing:
                self.close()
                return

    def _turn_away(self, request: Request, guest: Guest) -> None:
        """Over the limit: a 503 on the turn after the parse, without running a single
        phase, and the connection closed (uvicorn's ``service_unavailable``)."""
        server = self.server
        if self.closing:
            return
        start(guest, server.report)
        guest.finished_at = guest.started_at
        if server.report:
            server.report(Failed(guest.started_at, guest.id, guest.worker, REASON_LIMIT))
        headers = [*guest.headers(server.pid), ("retry-after", "1"), ("connection", "close")]
        body = (f"503: {server.limit} connections open, this one's included "
                "(--limit-concurrency)\n").encode()
        self.transport.write(self.session.respond(request, 503, headers, body))
        self.close()

    async def serve(self, request: Request, guest: Guest) -> None:
        server = self.server
        failed = False
        try:
            await server.run_guest(guest)
            if not self.closing:
                self.transport.write(
                    self.session.respond(request, 200, guest.headers(server.pid), guest.body())
                )
        except Exception as exc:  # a 500 for this guest; the loop and its guests go on
            failed = True
            status, _, body = server_error(exc, guest, server.report)
            if not self.closing:
                self.transport.write(error_bytes(status, body.decode().removeprefix("500: ")))
        finally:
            server.in_flight -= 1
            self.busy = False
        if self.closing:
            return
        if failed:
            self.close()
            return
        if not self.session.next_cycle() or server.closing:
            self.close()
            return
        self.transport.resume_reading()
        # on the next turn: a guest that never waited finished inside pump() itself,
        # and a pipelined run of such guests must not become a pile of nested calls
        self.loop.call_soon(self.pump)

    # --- closing --------------------------------------------------------------------

    def time_out(self) -> None:
        """The request did not arrive within ``--header-timeout``: a 408, and close."""
        if self.closing or self.transport is None or self.transport.is_closing():
            return
        timeout = self.server.config.header_timeout
        reason = f"the request did not arrive within {timeout:g} s (--header-timeout)"
        self.transport.write(error_bytes(408, reason))
        self.close()

    def uncount(self) -> None:
        if self.counted:
            self.counted = False
            self.server.open -= 1

    def close(self) -> None:
        """Close gently: our FIN first, the client's bytes dropped, then close."""
        if self.closing:
            return
        self.closing = True
        self.uncount()
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if transport.can_write_eof():
            try:
                transport.write_eof()
            except OSError:  # the client reset while we were not reading: nothing to say
                transport.abort()
                return
            transport.resume_reading()
            self.linger = self.loop.call_later(LINGER, transport.close)
        else:
            transport.close()


# --- running it ----------------------------------------------------------------------


async def run_loop(
    config: ServerConfig,
    listener: socket.socket,
    *,
    worker: int,
    report: Report,
    numbers: Iterator[int],
    stop_signals: tuple[int, ...],
    on_ready: Callable[[], None] | None = None,
    heartbeat: Callable[[], bool] | None = None,
    tick: float = 1.0,
    server_class: type[LoopServer] = LoopServer,
) -> None:
    """Serve on ``listener`` until a stop signal (or ``heartbeat`` returns False)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in stop_signals:
        loop.add_signal_handler(sig, stop.set)
    server = server_class(config, worker, report, numbers)
    await server.start(listener)
    if heartbeat is not None:

        def beat() -> None:  # runs on the loop: a blocked loop cannot beat
            if heartbeat():
                loop.call_later(tick, beat)
            else:
                stop.set()

        beat()
    if report:
        now = time.monotonic()
        for host in server.worker_ids:
            report(WorkerBooted(now, host))
    if on_ready is not None:
        on_ready()
    await stop.wait()
    await server.shutdown()


def run_async_server(config: ServerConfig, listener: socket.socket, report: Report,
                     on_ready: Callable[[], None] | None = None) -> int:  # fmt: skip
    """The async model: this process is the server (no arbiter, as a lone uvicorn)."""
    asyncio.run(
        run_loop(config, listener, worker=0, report=report, numbers=itertools.count(),
                 stop_signals=(signal.SIGTERM, signal.SIGINT), on_ready=on_ready)
    )  # fmt: skip
    return 0

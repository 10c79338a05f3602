"""The threadpool model: FastAPI/Starlette ``def`` endpoints under ``uvicorn app:app``.

Theory of operation. One process, one asyncio event loop, and T threads. The loop is
the async model's (``async_server``): it accepts, parses, answers the hello and the
404s itself, and writes every response. What differs is where a guest's handler runs.
Starlette runs a plain ``def`` endpoint with ``anyio.to_thread.run_sync``: in one of
AnyIO's worker threads, behind a ``CapacityLimiter`` of 40 tokens by default (shared
with sync dependencies). Here that is an ``asyncio.Semaphore(T)`` in front of a
``ThreadPoolExecutor(max_workers=T)``: a guest beyond T waits on the loop for a token,
without a thread, and the loop goes on serving everyone else.

In the thread, the guest is served as a gthread host serves it
(``handler.run_blocking``): ``io`` and ``blocking`` are both ``time.sleep``, which
releases the GIL, so a ``def`` endpoint that calls a sync driver does not freeze the
loop (the classic ``async def`` mistake, made harmless by the thread); ``cpu`` spins
holding the GIL, and the T threads and the loop itself take turns on it (CPython
passes it every 5 ms). So T threads overlap their waits, never their computing, and a
busy thread slows the loop's accepting and parsing too.

Worker ids are thread slots 0..T-1: each pool thread takes the next slot when the
executor starts it and keeps it. ``Started`` is reported when a thread takes the guest
(a guest waiting for a token has no event yet, as in a gthread process's queue), then
``PhaseStarted``/``PhaseEnded`` with that slot, and ``Finished`` when the thread hands
the guest back; the loop then writes the answer. The loop's own answers (hello, 404,
the 503 of ``--limit-concurrency``, which counts guests waiting for a token too, as
uvicorn counts its tasks) carry worker 0.

One process and no manager, as a lone uvicorn: nothing kills a stuck thread. SIGTERM
or SIGINT stops as the async server does; a thread cannot be cancelled, so a guest
still in a phase after ``--graceful-timeout`` runs to its end before the process exits
(AnyIO's worker threads are not daemons either).
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from sim.live.async_server import LoopServer, run_loop
from sim.live.config import ServerConfig
from sim.live.handler import Guest, Report, finish, run_blocking, start


class PoolServer(LoopServer):
    """The async server's loop, with each guest's handler run in one of T threads."""

    def __init__(self, config: ServerConfig, worker: int, report: Report,
                 numbers: Iterator[int]):  # fmt: skip
        super().__init__(config, worker, report, numbers)
        self.threads = config.threads
        self.tokens = asyncio.Semaphore(self.threads)  # AnyIO's CapacityLimiter
        self.slot = threading.local()
        slots = itertools.count()
        self.pool = ThreadPoolExecutor(
            max_workers=self.threads,
            thread_name_prefix="pool",
            initializer=lambda: setattr(self.slot, "index", next(slots)),
        )

    @property
    def worker_ids(self) -> range:
        return range(self.threads)

    async def run_guest(self, guest: Guest) -> None:
        """Wait for a token on the loop, then serve the guest in a pool thread."""
        async with self.tokens:
            await asyncio.get_running_loop().run_in_executor(self.pool, self.host, guest)

    def host(self, guest: Guest) -> None:
        """In a pool thread: the whole handler, as a gthread host runs it."""
        guest.worker = self.slot.index
        start(guest, self.report)
        run_blocking(guest, self.report)
        finish(guest, self.report)

    async def shutdown(self) -> None:
        await super().shutdown()
        self.pool.shutdown(wait=False, cancel_futures=True)


def run_threadpool_server(config: ServerConfig, listener: socket.socket, report: Report,
                          on_ready: Callable[[], None] | None = None) -> int:  # fmt: skip
    """The threadpool model: this process is the server (no arbiter, as a lone uvicorn)."""
    asyncio.run(
        run_loop(config, listener, worker=0, report=report, numbers=itertools.count(),
                 stop_signals=(signal.SIGTERM, signal.SIGINT), on_ready=on_ready,
                 server_class=PoolServer)
    )  # fmt: skip
    return 0

"""The hybrid model: ``gunicorn -w W -k uvicorn_worker.UvicornWorker``.

Theory of operation. The arbiter forks W workers around one listen socket, and each
worker runs the async model's event loop (``async_server.run_loop``) on that shared
socket: W loops, each juggling its own guests, the kernel spreading new connections
among whichever loop accepts first. Worker id = the process's slot.

The heartbeat is a timer on the loop itself, as in Uvicorn's Gunicorn worker: while
the loop turns, it stamps; while a blocking call holds it, it cannot. So the arbiter
kills exactly the workers whose loop has been stuck longer than ``--timeout`` (with
every guest that loop held), and forks a fresh one into the slot.

Only SIGTERM stops a worker; SIGINT (Ctrl-C reaches the whole process group) is the
arbiter's to handle, so workers ignore it.
"""

from __future__ import annotations

import asyncio
import signal

from sim.live.arbiter import WorkerContext
from sim.live.async_server import LoopServer, run_loop


def hybrid_worker(ctx: WorkerContext, server_class: type[LoopServer] = LoopServer) -> None:
    """One event loop in one forked worker, until SIGTERM or its master is gone."""

    def heartbeat() -> bool:
        ctx.beat()
        return ctx.parent_alive()

    ctx.beat()
    asyncio.run(
        run_loop(ctx.config, ctx.listener, worker=ctx.slot, report=ctx.report,
                 numbers=ctx.guest_numbers, stop_signals=(signal.SIGTERM,),
                 heartbeat=heartbeat, tick=ctx.tick, server_class=server_class)
    )  # fmt: skip

"""The hybrid model: ``gunicorn -w W -k uvicorn_worker.UvicornWorker``.

Theory of operation. The arbiter forks W workers around one listen socket, and each
worker runs the async model's event loop (``async_server.run_loop``) on that shared
socket: W loops, each juggling its own guests, the kernel spreading new connections
among whichever loop accepts first. Worker id = the process's slot.

The heartbeat is a timer on the loop itself, as in Uvicorn's Gunicorn worker: while
the loop turns, it stamps; while a blocking call holds it, it cannot. So the arbiter
kills only workers whose loop has been stuck (with every guest that loop held), and
forks a fresh one into the slot. The timer fires once a second; for ``hybrid`` it
stamps only when more than ``--timeout / 2`` has passed since the last stamp, as
UvicornWorker does (so a loop can be killed after a hold shorter than the timeout,
as in the simulation, ``sim.model.hybrid``); the other loop workers stamp every time.

Only SIGTERM stops a worker; SIGINT (Ctrl-C reaches the whole process group) is the
arbiter's to handle, so workers ignore it.
"""

from __future__ import annotations

import asyncio
import signal
import time

from sim.live.arbiter import WorkerContext
from sim.live.async_server import LoopServer, run_loop

HEARTBEAT_TICK = 1.0  # s: uvicorn's on_tick looks at the clock every tenth 0.1 s tick


def hybrid_worker(ctx: WorkerContext, server_class: type[LoopServer] = LoopServer) -> None:
    """One event loop in one forked worker, until SIGTERM or its master is gone."""

    half = ctx.config.timeout / 2 if ctx.config.model == "hybrid" else 0.0
    last = time.monotonic()

    def heartbeat() -> bool:
        nonlocal last
        now = time.monotonic()
        if now - last > half:
            ctx.beat()
            last = now
        return ctx.parent_alive()

    ctx.beat()
    asyncio.run(
        run_loop(ctx.config, ctx.listener, worker=ctx.slot, report=ctx.report,
                 numbers=ctx.guest_numbers, stop_signals=(signal.SIGTERM,),
                 heartbeat=heartbeat, tick=HEARTBEAT_TICK, server_class=server_class)
    )  # fmt: skip

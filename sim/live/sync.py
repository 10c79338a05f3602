"""The sync model: ``gunicorn -w W app:app``, one guest per worker process at a time.

Theory of operation. The arbiter forks W of these loops around one shared listen
socket. Each worker waits until the socket is readable (or its heartbeat is due),
accepts one connection, reads one request, serves it entirely in this process (an io
phase is ``time.sleep``: the host waits at the kitchen door with its guest), answers
with ``Connection: close`` as Gunicorn's sync worker does (no keep-alive), closes, and
only then accepts the next. So at most W guests are ever being served; everyone else
waits in the kernel's backlog, which no process here can see.

The heartbeat is stamped between requests only, so a guest that takes longer than
``--timeout`` makes this worker silent and the arbiter kills it, guest and all. So does
a client that connects and then sends its request very slowly, or not at all: the
worker waits for it, as Gunicorn's sync worker does (hence a buffering proxy in front),
but here only for ``--header-timeout`` seconds (default 10): then the client gets a 408
and the worker moves on. Gunicorn's sync worker has no such guard. Connections still
wait their turn in the backlog, first come first served, so a guest behind N slowloris
connections waits about N / W x ``--header-timeout``; a slow upload shorter than the
header timeout ties up the worker exactly as in Gunicorn (and in the simulation). The
guest in hand is written on the heartbeat board so the arbiter can say whose request
died with the worker.

All W workers wait on the same socket; when a connection comes, several may wake
and all but one find nothing to accept (the "thundering herd"). The listen socket is
non-blocking so the losers go back to waiting instead of blocking in ``accept``.
"""

from __future__ import annotations

import os
import selectors
import signal
import time

from sim.live.arbiter import WorkerContext, drain
from sim.live.blocking import LINGER, TIMED_OUT, answer, linger_close, read_request, refuse
from sim.live.http import HttpSession, Reject, Request


def sync_worker(ctx: WorkerContext) -> None:
    """One sync worker process, until SIGTERM or its master is gone."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)

    def on_term(signum: int, frame: object) -> None:
        ctx.alive = False  # finish the guest in hand (if any), then leave

    signal.signal(signal.SIGTERM, on_term)
    listener = ctx.listener
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    ctx.booted()
    while ctx.alive and ctx.parent_alive():
        ctx.beat()
        events = selector.select(ctx.tick)
        if any(key.fd == wake_r for key, _ in events):
            drain(wake_r)
        if not ctx.alive or not any(key.fileobj is listener for key, _ in events):
            continue
        try:
            sock, _ = listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            continue  # another worker was quicker
        serve_connection(sock, ctx, time.monotonic())
    selector.close()


def serve_connection(sock, ctx: WorkerContext, accepted_at: float) -> None:
    """One connection, one request, then close: no keep-alive in a sync worker."""
    sock.setblocking(True)
    session = HttpSession(keep_alive=False)
    linger = LINGER
    try:
        item = read_request(sock, session, ctx.config.header_timeout)
        if isinstance(item, Reject):
            refuse(sock, item)
            if item.status == TIMED_OUT:
                linger = 0.0  # a slow client: do not wait for it any longer
        elif isinstance(item, Request):
            out = answer(item, session, worker=ctx.slot, accepted_at=accepted_at,
                         numbers=ctx.guest_numbers, report=ctx.report, pid=ctx.pid,
                         on_start=lambda guest: ctx.beat(guest.id))  # fmt: skip
            sock.sendall(out)
    except OSError:
        pass  # the client went away; the next one is waiting
    except Exception:  # answer() already turned a handler's failure into a 500
        pass  # anything else (a parser bug) ends this connection, never the worker
    finally:
        linger_close(sock, linger)

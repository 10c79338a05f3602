"""The sync model: ``gunicorn -w W app:app``, one guest per worker process at a time.

Theory of operation. The arbiter forks W of these loops around one shared listen
socket. Each worker waits until the socket is readable (or its heartbeat is due),
accepts one connection, reads one request, serves it entirely in this process (an io
phase is ``time.sleep``: the host waits at the kitchen door with its guest), answers
with ``Connection: close`` as Gunicorn's sync worker does (no keep-alive), closes, and
only then accepts the next. So at most W guests are ever being served; everyone else
waits in the kernel's backlog, which no process here can see.

The heartbeat is stamped between requests only, so a guest that takes longer than
``--timeout`` makes this worker silent, and on its next tour the arbiter sends it
SIGABRT. As in Gunicorn (``handle_abort`` raises ``SystemExit`` inside the handler,
which the sync worker answers with a 500), the handler is interrupted where it
stands (a sleep, a busy loop: Python code), the guest gets an HTTP 500, and the
worker exits; SIGKILL follows on a later tour only if it could not. So does
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
from sim.live.http import HttpSession, Reject, Request, error_bytes
from sim.trace import REASON_TIMEOUT, Failed


class WorkerAborted(BaseException):
    """The arbiter's SIGABRT: silent past ``--timeout``. A ``BaseException``, like
    Gunicorn's ``SystemExit``, so the handler's own ``except Exception`` lets it by."""


def on_abort(signum: int, frame: object) -> None:
    raise WorkerAborted


def sync_worker(ctx: WorkerContext) -> None:
    """One sync worker process, until SIGTERM or its master is gone."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)

    def on_term(signum: int, frame: object) -> None:
        ctx.alive = False  # finish the guest in hand (if any), then leave

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGABRT, on_abort)
    listener = ctx.listener
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    ctx.booted()
    try:
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
    except WorkerAborted:
        pass  # aborted between two guests (a race with the tour): nothing to answer
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
    except WorkerAborted:
        aborted(sock, ctx)
        linger = 0.0
    except OSError:
        pass  # the client went away; the next one is waiting
    except Exception:  # answer() already turned a handler's failure into a 500
        pass  # anything else (a parser bug) ends this connection, never the worker
    finally:
        linger_close(sock, linger)


def aborted(sock, ctx: WorkerContext) -> None:
    """SIGABRT mid-guest: answer 500, say so, and leave (the arbiter replaces us)."""
    ctx.alive = False
    guest = ctx.board.read(ctx.slot)[2]
    try:
        sock.sendall(error_bytes(500, "the worker was silent past --timeout and was "
                                      "aborted by the arbiter"))
    except OSError:
        pass
    if ctx.report and guest >= 0:
        ctx.report(Failed(time.monotonic(), guest, ctx.slot, REASON_TIMEOUT))
    ctx.board.forget_guest(ctx.slot)  # answered: the arbiter must not report it again

"""Serving a connection with plain blocking sockets: the sync and threaded workers' way.

Theory of operation. A blocking worker owns a connection from ``recv`` to ``close``:
``read_request`` feeds socket bytes to the connection's ``HttpSession`` until a whole
request (or a reason to refuse it) is there; ``answer`` admits the guest, runs its
phases with ``handler.run_blocking`` (``time.sleep`` for io: this host waits with the
guest) and returns the response bytes. While this happens the worker does nothing
else; that is the point of the model.

``linger_close`` shuts our side first and reads what the client still sends before
closing. Closing a socket with unread bytes in it makes the kernel send a reset, and a
reset can destroy a response the client has not read yet (a pipelined second request,
or the rest of a request we refused half-way).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

from sim.live.handler import Guest, Report, admit, finish, run_blocking, server_error, start
from sim.live.http import CLOSED, NEED_DATA, Closed, HttpSession, Reject, Request, error_bytes

RECV_SIZE = 64 * 1024
LINGER = 1.0  # s to wait for the client's end after we closed ours
LINGER_MAX = 1024 * 1024  # bytes read at most while lingering
TIMED_OUT = 408  # the status of a request that did not arrive within --header-timeout


def read_request(sock: socket.socket, session: HttpSession,
                 timeout: float | None = None) -> Request | Reject | type[Closed]:  # fmt: skip
    """Read until ``session`` has a whole request, a refusal, or the client is gone.

    ``timeout`` (``--header-timeout``): the whole request must arrive within that many
    seconds of the first look, or it is refused with a 408 (``TIMED_OUT``). A client
    that trickles a byte now and then (slowloris) so holds a host for ``timeout`` at
    most, not forever. The socket is blocking again when this returns.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            item = session.next_request()
            if item is not NEED_DATA:
                if isinstance(item, Request):
                    item.head_at = time.monotonic()
                return item  # type: ignore[return-value]
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return timed_out(timeout)
                sock.settimeout(left)
            try:
                data = sock.recv(RECV_SIZE)
            except TimeoutError:
                return timed_out(timeout)
            except ConnectionError:
                return CLOSED
            session.feed(data)
    finally:
        if deadline is not None:
            sock.settimeout(None)


def timed_out(timeout: float | None) -> Reject:
    return Reject(TIMED_OUT, f"the request did not arrive within {timeout:g} s "
                             "(--header-timeout)")  # fmt: skip


def answer(request: Request, session: HttpSession, *, worker: int, accepted_at: float,
           numbers: Iterator[int], report: Report, pid: int,
           on_start: Callable[[Guest], None] | None = None) -> bytes:  # fmt: skip
    """Serve one request in this thread, start to finish; the response's bytes.

    Whatever the handler raises becomes a 500 with ``Connection: close`` (the session
    is not reused): a request never kills the thread or the worker that serves it.
    """
    guest = None
    try:
        admitted = admit(request, worker, accepted_at, numbers)
        if not isinstance(admitted, Guest):
            status, headers, body = admitted
            return session.respond(request, status, [*headers, ("x-worker", str(worker))], body)
        guest = admitted
        start(guest, report)
        if on_start is not None:
            on_start(guest)
        run_blocking(guest, report)
        finish(guest, report)
        return session.respond(request, 200, guest.headers(pid), guest.body())
    except Exception as exc:  # the point: nothing a request does escapes
        status, _, body = server_error(exc, guest, report)
        return error_bytes(status, body.decode().removeprefix("500: ").strip())


def refuse(sock: socket.socket, rejected: Reject) -> None:
    try:
        sock.sendall(error_bytes(rejected.status, rejected.reason))
    except OSError:
        pass


def linger_close(sock: socket.socket, linger: float = LINGER) -> None:
    """Close gently: our FIN first, then drain the client's bytes, then close.

    ``linger=0`` for a client too slow to wait for (a 408): no draining, just close.
    """
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(LINGER)
        deadline = time.monotonic() + linger
        drained = 0
        while drained < LINGER_MAX and time.monotonic() < deadline:
            data = sock.recv(RECV_SIZE)
            if not data:
                break
            drained += len(data)
    except OSError:
        pass
    finally:
        sock.close()

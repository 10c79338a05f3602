"""The connect fast path: the one module that touches asyncio's private API.

``loop.create_connection`` costs a task, futures and a DNS-shaped detour per connection:
at thousands of connections a second they cost more than the connect itself. On a
selector event loop this module connects a non-blocking socket by hand and hands the
connected socket to the loop's own ``_make_socket_transport`` (private: it exists on
CPython's selector loops since 3.4 and is what ``create_connection`` calls). On any
other loop (``make_transport(loop)`` is None) the generator uses the public API.

``cut_cycle`` undoes one more private detail: the selector transport keeps a bound
method of itself (``_read_ready_cb``), a reference cycle per connection that only the
cyclic garbage collector frees, and the generator holds the collector off for its run.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable
from typing import Any

Connected = Callable[[socket.socket], None]
Failed = Callable[[int], None]


def make_transport(loop: asyncio.AbstractEventLoop) -> Callable[..., Any] | None:
    """The loop's private transport maker, or None (not a selector loop)."""
    return getattr(loop, "_make_socket_transport", None)


def cut_cycle(transport: asyncio.BaseTransport | None) -> None:
    """Cut the selector transport's self-reference (see the module docstring)."""
    if hasattr(transport, "_read_ready_cb"):
        transport._read_ready_cb = None  # type: ignore[union-attr]


class Dialer:
    """Connects sockets without a task or future each; tracks those still connecting."""

    def __init__(self, loop: asyncio.AbstractEventLoop, family: int, address: tuple) -> None:
        self.loop = loop
        self.family = family
        self.address = address
        self.pending: dict[int, socket.socket] = {}  # fd -> socket still connecting

    def dial(self, connected: Connected, failed: Failed) -> int | None:
        """Start a connect; returns the key to ``cancel`` it while it is pending.

        ``connected(sock)`` or ``failed(errno)`` is called once (maybe before this
        returns: on loopback the handshake is usually over at once); None is returned
        then.
        """
        try:
            sock = socket.socket(self.family, socket.SOCK_STREAM)
        except OSError as exc:
            failed(exc.errno or 0)
            return None
        sock.setblocking(False)
        err = sock.connect_ex(self.address)
        if err == 0:
            connected(sock)
            return None
        if err != errno.EINPROGRESS:
            sock.close()
            failed(err)
            return None
        try:  # on loopback the handshake is usually over already: skip a loop turn
            sock.getpeername()
        except OSError:
            pass
        else:
            connected(sock)
            return None
        fd = sock.fileno()
        self.pending[fd] = sock
        self.loop.add_writer(fd, self._writable, sock, connected, failed)
        return fd

    def _writable(self, sock: socket.socket, connected: Connected, failed: Failed) -> None:
        fd = sock.fileno()
        self.loop.remove_writer(fd)
        self.pending.pop(fd, None)
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            sock.close()
            failed(err)
        else:
            connected(sock)

    def cancel(self, fd: int) -> bool:
        """Give up a pending connect (the socket is closed). False: it was not pending."""
        sock = self.pending.pop(fd, None)
        if sock is None:
            return False
        self.loop.remove_writer(fd)
        sock.close()
        return True

    def cancel_all(self) -> None:
        for fd in list(self.pending):
            self.cancel(fd)

"""The reporter: a live server telling an observer what happens, in trace words.

Theory of operation. A server that is watched (``--report PATH``) writes each event as
one JSON line (``sim.trace.to_json``) to PATH. If PATH is a Unix socket someone is
listening on (the terminal app, the load generator), each process of the server
connects to it on its own, so lines from different workers never interleave mid-line;
otherwise PATH is a file opened for appending, where one ``write`` per line keeps lines
whole as well. A worker forked from the master must not share the master's connection,
so the reporter reopens itself whenever it finds itself in a new process.

Times are ``time.monotonic()``, not seconds since the party opened: that one clock is
shared by every process on the machine, so the observer can subtract the
``ServerStarted`` time itself and compare with what a client saw.

An observer that reads slowly slows the server down (the socket's buffer fills and
``sendall`` waits): losing events silently would be worse for a teaching tool.

An unwatched server builds no events at all: call sites write
``if report: report(Event(...))`` and ``open_reporter(None)`` is ``None``. If the
observer goes away, the reporter falls silent; the party goes on.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import threading

from sim.trace import Event, to_json


class Reporter:
    """A trace sink that writes JSON lines to a Unix socket or a file."""

    def __init__(self, path: str):
        self.path = path
        self._pid = -1
        self._fd: int | None = None
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()  # threaded workers report from many threads
        self.broken = False

    def __bool__(self) -> bool:
        return not self.broken

    def __call__(self, event: Event) -> None:
        line = (to_json(event) + "\n").encode()
        with self._lock:
            if self._pid != os.getpid():
                self._open()
            try:
                if self._sock is not None:
                    self._sock.sendall(line)
                elif self._fd is not None:
                    os.write(self._fd, line)
            except OSError:
                self._give_up()

    def _open(self) -> None:
        """(Re)open for this process; the parent's handle is left for the parent."""
        self._pid = os.getpid()
        self._sock, self._fd = None, None
        try:
            if stat.S_ISSOCK(_mode(self.path)):
                self._sock = _connect(self.path)
            else:
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
                self._fd = os.open(self.path, flags, 0o644)
        except OSError:
            self._give_up()

    def _give_up(self) -> None:
        self.broken = True
        self._sock, self._fd = None, None

    def close(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                if self._sock is not None:
                    self._sock.close()
                if self._fd is not None:
                    os.close(self._fd)
            self._sock, self._fd, self._pid = None, None, -1


def _mode(path: str) -> int:
    """The file's mode, 0 if there is none yet; an impossible path raises OSError."""
    try:
        return os.stat(path).st_mode
    except FileNotFoundError:
        return 0


def _connect(path: str) -> socket.socket:
    """A stream socket if the observer listens for streams, else datagrams."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        return sock
    except OSError as exc:
        sock.close()
        if exc.errno != errno.EPROTOTYPE:
            raise
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.connect(path)
    return sock


def open_reporter(path: str | None) -> Reporter | None:
    """The reporter for ``--report PATH``, or ``None``: no observer, no cost."""
    return Reporter(path) if path else None

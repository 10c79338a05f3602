"""The reporter: a live server telling an observer what happens, in trace words.

Theory of operation. A server that is watched (``--report PATH``) writes its events as
JSON lines (the same text as ``sim.trace.to_json``) to PATH. If PATH is a Unix socket
someone is listening on (the terminal app, the load generator), each process of the
server connects to it on its own, so lines from different workers never interleave
mid-line; otherwise PATH is a file opened for appending, where one ``write`` per batch
of whole lines keeps lines whole as well.

Batched, so that watching does not disturb. Reporting an event only appends it to a
queue (``collections.deque.append``: thread-safe, no lock, well under a microsecond);
a flusher thread of the process, woken by the first event of a batch, waits
``FLUSH_EVERY`` (50 ms), then encodes whatever has queued and sends it in one write.
Issue 13 measured the old way, one JSON line and one ``sendall`` per event (8-9 per
guest): every write woke the observer's process, which then shared the two cores with
the server, and a watched async server's p50 was 131 ms against 86 unwatched.
``benchmarks/bench_watched.py`` prints the ratio now. What batching costs: the
observer sees events up to one batch late (``FLUSH_EVERY``, or sooner once ``BATCH``
events are waiting), and a process killed outright (SIGKILL) loses the batch it had
not sent yet. Whoever stops normally flushes first: ``close()`` (the server's own
``finally``, and each forked worker before its ``os._exit``). Order is kept within a
process (one queue, one sender), so a guest's events, all reported by the process
that served it, arrive in the order they happened; across processes the observer
sorts by time, as it always had to.

The wire format stays JSON lines (not a binary one): every reader, and a trace file a
learner opens, keeps working unchanged. The encoding moves off the request's path into
the flusher, and is about 10x cheaper than ``to_json`` (1.1 against 12.5 us of CPU for
a ``PhaseStarted``, measured on the 2-core box under load: a template per event class
instead of ``asdict`` and a new ``json`` encoder per call), which a test holds to the
exact same text for every kind of event.

Processes. A worker forked from the master must not share the master's connection, its
queue (the master's unsent events are the master's to send) or its locks (a lock held
by the master's flusher at the fork would stay held forever in the child): after a
fork the child's reporters start empty and reopen on their first event
(``os.register_at_fork``). Times are ``time.monotonic()``, one clock for every process
on the machine, so the observer can subtract the ``ServerStarted`` time itself.

An observer that reads slowly slows only the flusher (``sendall`` waits), and the
queue grows meanwhile: losing events silently would be worse for a teaching tool.
An unwatched server builds no events at all: call sites write
``if report: report(Event(...))`` and ``open_reporter(None)`` is ``None``. If the
observer goes away, the reporter falls silent; the party goes on.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import threading
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import fields
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]

from sim.trace import Event

FLUSH_EVERY = 0.05  # s from a batch's first event to its write: the observer's lag
EVERY_ENV = "PARTYHOST_REPORT_EVERY"  # seconds, to measure: 0 writes each event at once
BATCH = 512  # events: send at once when this many wait (a burst, a slow flusher)

_ENCODE = json.JSONEncoder(separators=(",", ":")).encode
_CONVERT = {"float": "repr", "int": "repr", "str": "_esc",  # by field annotation
            "float | None": "_maybe",  # SynDropped.retry_at: null when the client gives up
            "bool": "_bool"}  # HalfOpen.cookie
_ENCODERS: dict[type, Callable[[Event], str]] = {}


def encode(event: Event) -> str:
    """``sim.trace.to_json(event)``, the same text, about 10x faster.

    Each event class gets its own encoder the first time one is seen: a template of
    its fields with each value turned to JSON by its declared type (``repr`` of a
    float or an int is its JSON; a string goes through json's own C escaper), compiled
    once, as ``dataclasses`` compiles ``__init__``. A string field holding something
    else (a TypeError on the way) takes the generic path, ``json`` itself.
    Simplified: a float that is not finite would come out as Python spells it
    (``inf``), not as ``json`` does (``Infinity``); every time in a trace is finite.
    """
    encoder = _ENCODERS.get(type(event))
    if encoder is None:
        encoder = _ENCODERS[type(event)] = _compile(type(event))
    try:
        return encoder(event)
    except TypeError:
        return _encode_slow(event)


def _encode_slow(event: Event) -> str:
    data: dict[str, object] = {"kind": event.kind}
    for f in fields(event):
        data[f.name] = getattr(event, f.name)
    return _ENCODE(data)


def _compile(cls: type[Event]) -> Callable[[Event], str]:
    template, values = '{"kind":' + _ENCODE(cls.kind), []
    for f in fields(cls):
        convert = _CONVERT.get(str(f.type))
        if convert is None or "%" in cls.kind + f.name:  # no fast form: the class goes slow
            return _encode_slow
        template += f',"{f.name}":%s'
        values.append(f"{convert}(e.{f.name})")
    source = f"def encode(e):\n    return {template + '}'!r} % ({', '.join(values)},)\n"
    namespace: dict[str, object] = {"_esc": encode_basestring_ascii, "_maybe": _maybe,
                                    "_bool": _bool}
    exec(compile(source, f"<encoder of {cls.__name__}>", "exec"), namespace)  # noqa: S102
    return namespace["encode"]  # type: ignore[return-value]


def _bool(value: bool) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    raise TypeError("not a bool")  # the generic path takes it


def _maybe(value: float | None) -> str:
    return "null" if value is None else repr(value)


def encode_batch(events: list[Event]) -> bytes:
    """Whole JSON lines, each ending in a newline, in the order given."""
    return "".join([encode(event) + "\n" for event in events]).encode()


class Reporter:
    """A batching trace sink that writes JSON lines to a Unix socket or a file."""

    def __init__(self, path: str, every: float = FLUSH_EVERY, batch: int = BATCH):
        self.path = path
        self.every = every
        self.batch = batch
        self.broken = False
        self.sent = 0  # events written by this process (for tests and curiosity)
        self._fresh()
        _ALL.add(self)

    def _fresh(self) -> None:
        """This process's state: nothing queued, not connected, no flusher yet."""
        self._pid = -1
        self._fd: int | None = None
        self._sock: socket.socket | None = None
        self._queue: deque[Event] = deque()
        self._send_lock = threading.Lock()  # one sender at a time: order, whole writes
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = False
        self._direct = False
        self._eager = self.every <= 0 or self.broken  # write in the caller, now
        self._flusher: threading.Thread | None = None

    def direct(self) -> None:
        """In this process only, write each event at once, with no flusher thread.

        For an arbiter's master: it reports a handful of events (a worker killed or
        dead), and a master that forks should have no thread of ours that could hold a
        lock across the fork. Its forked workers batch (the mark is per process)."""
        self._direct = self._eager = True

    def __bool__(self) -> bool:
        return not self.broken

    def __call__(self, event: Event) -> None:
        """Queue ``event``; the flusher sends it within ``every`` seconds."""
        queue = self._queue
        queue.append(event)
        if self._eager:  # closed, broken (flush drops it), direct, or every=0 (the old way)
            self.flush()
            return
        # Append first, then look: seeing 1 means the flusher had drained everything
        # before this event, so it must be woken; seeing more means an earlier event
        # is still queued, and whoever drains it drains this one too (one FIFO).
        size = len(queue)
        if size == 1:
            if self._flusher is None:
                self._start()
            self._wake.set()  # the first of a batch: the flusher's clock starts now
        elif size == self.batch:
            self._wake.set()  # the flusher may be sleeping out its interval: send now

    def _start(self) -> None:
        with self._start_lock:
            if self._flusher is None and not self._closing:
                self._flusher = threading.Thread(target=self._flush_loop,
                                                 name="partyhost-report", daemon=True)
                self._flusher.start()

    def _flush_loop(self) -> None:
        wake, queue = self._wake, self._queue
        while True:
            wake.wait()
            if self._closing:
                return
            wake.clear()
            if len(queue) < self.batch:
                wake.wait(self.every)  # gather the batch (a full one cuts the wait short)
                wake.clear()
            self.flush()
            if self._closing:
                return

    def flush(self) -> None:
        """Send everything queued by this process now, in order, in one write."""
        with self._send_lock:
            queue = self._queue
            events = []
            try:
                while True:
                    events.append(queue.popleft())
            except IndexError:
                pass
            if not events or self.broken:
                return
            if self._pid != os.getpid():
                self._open()
            data = encode_batch(events)
            try:
                if self._sock is not None and self._sock.type == socket.SOCK_DGRAM:
                    for chunk in _datagrams(data):
                        self._sock.send(chunk)
                elif self._sock is not None:
                    self._sock.sendall(data)
                elif self._fd is not None:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(self._fd, view):]
                self.sent += len(events)
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
        self.broken = self._eager = True
        self._sock, self._fd = None, None
        self._queue.clear()

    def close(self) -> None:
        """Flush what this process queued, stop its flusher, close its connection."""
        with self._start_lock:
            self._closing = self._eager = True
        flusher = self._flusher
        if flusher is not None:
            self._wake.set()
            if flusher is not threading.current_thread():
                flusher.join(timeout=5.0)
        self.flush()
        with self._send_lock:
            if self._pid == os.getpid():
                if self._sock is not None:
                    self._sock.close()
                if self._fd is not None:
                    os.close(self._fd)
            self._sock, self._fd, self._pid = None, None, -1

    def _after_fork(self) -> None:
        """In a forked child: the parent's queue, connection and locks stay the parent's."""
        self._fresh()


_ALL: weakref.WeakSet[Reporter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for reporter in list(_ALL):
        reporter._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


DATAGRAM = 8192  # bytes: a datagram observer gets whole lines in pieces this small


def _datagrams(data: bytes, limit: int = DATAGRAM) -> list[bytes]:
    """Whole lines packed into datagrams of at most ``limit`` bytes (or one long line)."""
    out: list[bytes] = []
    start = 0
    while start < len(data):
        end = data.rfind(b"\n", start, start + limit) + 1
        if end <= start:  # a line longer than the limit goes alone
            end = data.index(b"\n", start) + 1
        out.append(data[start:end])
        start = end
    return out


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
    """The reporter for ``--report PATH``, or ``None``: no observer, no cost.

    ``PARTYHOST_REPORT_EVERY`` (seconds) changes the batch interval, for measuring
    only: ``benchmarks/bench_watched.py`` sets 0 to show what one write per event cost.
    """
    if not path:
        return None
    try:
        every = float(os.environ.get(EVERY_ENV, FLUSH_EVERY))
    except ValueError:
        every = FLUSH_EVERY
    return Reporter(path, every=min(max(every, 0.0), 1.0))

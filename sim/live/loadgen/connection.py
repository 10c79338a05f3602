"""One client connection: sends a request, reads one answer at a time, says how it ended.

Callbacks only (an ``asyncio.BufferedProtocol``): ``send`` writes, ``buffer_updated``
feeds the response parser (``sim.live.loadgen.response``), and the generator's
``on_done(conn, shot)`` is called exactly once per request. A buffered protocol, so
the loop reads into one buffer the generator owns: a plain Protocol makes the loop
allocate a fresh 256 KiB ``bytes`` for every read, which costs more than the read.

How it ended (``sim.live.loadgen.shot``): the connection lost before the request was
wholly written is ``reset``; lost after it (a reset, or a close without a whole
answer) is ``failed``: the server had the request, so the guest was let in.
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING

from sim.live.loadgen.fastconnect import cut_cycle
from sim.live.loadgen.response import Response, ResponseError
from sim.live.loadgen.shot import FAILED, OK, RESET, Shot

if TYPE_CHECKING:
    from sim.live.loadgen.generator import Generator

UPLOAD_STEP = 0.05  # s between the pieces of a slow upload


def _header_float(headers: dict[bytes, bytes], name: bytes) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class Connection(asyncio.BufferedProtocol):
    """One client connection (see the module docstring)."""

    def __init__(self, gen: Generator, first: tuple[Shot, bytes, float] | None = None) -> None:
        self.gen = gen
        self.first = first  # the request to send as soon as connected
        self.transport: asyncio.Transport | None = None
        self.shot: Shot | None = None
        self.response = Response()
        self.closed = False
        self.broken = False  # given up on, or garbage read: never reused
        self.got_bytes = False
        self.request_out = False  # the whole request is written
        self.pending: list[asyncio.TimerHandle] = []
        self.used = 0  # requests sent on this connection
        self.payload = b""
        self.upload = 0.0
        if first is not None:
            first[0].conn = self

    @property
    def reusable(self) -> bool:
        return not self.broken and not self.closed and self.response.reusable

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.gen.conns.add(self)
        if self.first is not None:
            shot, payload, upload = self.first
            self.first = None
            self.send(shot, payload, upload)
        elif self.closed:  # given up on while connecting
            transport.abort()  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        cut_cycle(self.transport)
        self.gen.conns.discard(self)
        self.gen.slot_freed()
        for handle in self.pending:
            handle.cancel()
        if self.shot is None:
            return
        if self.response.eof():  # the body ran until close
            self._complete(OK)
        else:
            self._complete(FAILED if self.request_out else RESET)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.gen.read_view

    def buffer_updated(self, nbytes: int) -> None:
        if self.shot is None:
            return  # bytes nobody asked for (a keep-alive close notice): ignore
        self.got_bytes = True
        try:
            done = self.response.feed(self.gen.read_view[:nbytes])
        except ResponseError as exc:
            self.gen.note_error(f"not HTTP: {exc}")
            self.broken = True
            self._complete(FAILED)
            self.close()
            return
        if done:
            self._complete(OK)

    # requests
    def send(self, shot: Shot, payload: bytes, upload: float) -> None:
        self.shot = shot
        shot.conn = self
        self.got_bytes = False
        self.request_out = False
        self.used += 1
        self.payload, self.upload = payload, upload
        self.response.start(self.gen.keep_alive)
        transport = self.transport
        assert transport is not None
        if upload <= 0:
            transport.write(payload)
            self._written()
            return
        # A slow client: the request leaves in pieces spread over the upload time.
        loop = self.gen.loop
        pieces = max(2, min(64, int(upload / UPLOAD_STEP) + 1))
        size = max(1, math.ceil(len(payload) / pieces))
        chunks = [payload[i : i + size] for i in range(0, len(payload), size)]
        step = upload / max(len(chunks) - 1, 1)
        transport.write(chunks[0])
        start = loop.time()
        last = len(chunks) - 1
        self.pending = [
            loop.call_at(start + i * step, self._write, chunk, i == last)
            for i, chunk in enumerate(chunks) if i
        ]

    def _write(self, chunk: bytes, last: bool) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(chunk)
            if last:
                self._written()

    def _written(self) -> None:
        # A write that failed (the peer reset first) closes the transport at once.
        transport = self.transport
        assert transport is not None
        self.request_out = not transport.is_closing() and transport.get_write_buffer_size() == 0

    def give_up(self, outcome: str) -> None:
        """The guest stops waiting (its patience, or a timeout): hang up, say ``outcome``."""
        self.broken = True
        if self.shot is not None:
            self._complete(outcome)
            self.close()
        elif self.first is not None:  # not connected yet: hang up once it is
            shot = self.first[0]
            self.first = None
            self.closed = True
            self.gen.finish_unsent(shot, outcome)

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    def abort(self) -> None:
        self.shot = None  # the generator has stopped: nothing more is told
        if self.transport is not None:
            self.closed = True
            self.transport.abort()

    def _complete(self, outcome: str) -> None:
        shot = self.shot
        if shot is None:
            return
        self.shot = None
        if shot.outcome:  # given up on while its connect task finished (the public path)
            self.broken = True
            self.close()
            return
        shot.done = self.gen.loop.time()
        head = self.response.head
        if head is not None:
            status, headers = head
            shot.status = status
            if outcome == OK and status >= 400:
                outcome = FAILED
            worker = headers.get(b"x-worker")
            shot.worker = worker.decode("latin-1") if worker is not None else None
            pid = headers.get(b"x-worker-pid")
            shot.process = (pid.decode("latin-1") if pid is not None
                            else shot.worker.partition(".")[0] if shot.worker is not None
                            else None)
            shot.accepted_at = _header_float(headers, b"x-accepted-at")
            shot.started_at = _header_float(headers, b"x-started-at")
            shot.finished_at = _header_float(headers, b"x-finished-at")
        shot.outcome = outcome
        self.gen.on_done(self, shot)

"""Reading one answer at a time off a client connection: status, headers, the body's end.

Two parsers with one interface: ``H11Response`` (h11, the library the project lists,
strict and complete) and ``HandResponse`` (a hand-written one that understands just
what the generator needs: the status, the headers, and where the body ends by
Content-Length, chunked encoding, or the close). ``Response`` is the one in use.

Measured (``python benchmarks/bench_loadgen.py --parsers-only``, under the measuring
lock on this shared 2-core machine, 2026-11-29; the live servers' 200-byte answer in
one read, best of 3 x 50,000; three runs as the machine's load varied): h11 took
112-261 us of CPU per answer with a connection per answer (a new ``h11.Connection``
each, and the request event it must be told about) and 154-209 us on a kept-alive
connection; the hand parser 4.8-10.3 us and 6.0-9.6 us: 13x to 26x less. The
generator's bar is 2,000 guests/s on one core: h11 alone would take 22-52% of that
core, the hand parser 1-2%. So ``Response`` is the hand parser, and h11 stays here
as the reference it is tested against (``tests/sim/live/test_loadgen_response.py``:
the same answers, the same status, headers and end).
"""

from __future__ import annotations

import h11

# h11 keeps each connection's state; it must know a request went out before it reads
# the answer (a HEAD has no body, ``Connection: close`` ends the cycle). The generator
# writes its own bytes; these events only tell h11 what was sent.
_REQUEST_KEEP = h11.Request(method="GET", target="/", headers=[("Host", "x")])
_REQUEST_CLOSE = h11.Request(method="GET", target="/",
                             headers=[("Host", "x"), ("Connection", "close")])
_END = h11.EndOfMessage()


class ResponseError(Exception):
    """The bytes were not an HTTP/1.1 answer."""


class H11Response:
    """One connection's answers, read with h11."""

    __slots__ = ("conn", "head", "reusable")

    def __init__(self) -> None:
        self.conn: h11.Connection | None = None
        self.head: tuple[int, dict[bytes, bytes]] | None = None
        self.reusable = False

    def start(self, keep_alive: bool) -> None:
        """A request is about to go out on this connection."""
        conn = self.conn
        if conn is None:
            conn = self.conn = h11.Connection(h11.CLIENT)
        elif conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        conn.send(_REQUEST_KEEP if keep_alive else _REQUEST_CLOSE)
        conn.send(_END)
        self.head = None
        self.reusable = False

    def feed(self, data: bytes | memoryview) -> bool:
        """More bytes: is the whole answer in? (Raises ``ResponseError`` on garbage.)"""
        assert self.conn is not None
        self.conn.receive_data(bytes(data))
        return self._events()

    def eof(self) -> bool:
        """The server closed: was that the end of a complete answer?"""
        if self.conn is None or self.head is None:
            return False
        try:
            self.conn.receive_data(b"")
            return self._events()
        except ResponseError:
            return False

    def _events(self) -> bool:
        conn = self.conn
        assert conn is not None
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA or event is h11.PAUSED:
                    return False
                kind = type(event)
                if kind is h11.Response:
                    self.head = (event.status_code, dict(event.headers))
                elif kind is h11.EndOfMessage:
                    self.reusable = conn.their_state is h11.DONE
                    return True
                elif kind is h11.ConnectionClosed:
                    return False
        except h11.RemoteProtocolError as exc:
            raise ResponseError(str(exc)) from None


class HandResponse:
    """One connection's answers, read by hand (what the generator needs, no more)."""

    __slots__ = ("buf", "head", "need", "body_start", "reusable")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.head: tuple[int, dict[bytes, bytes]] | None = None
        self.need = -1  # body bytes still expected; -1: until close; -2: chunked
        self.body_start = 0
        self.reusable = False

    def start(self, keep_alive: bool) -> None:
        self.head = None
        self.reusable = False
        del self.buf[:]

    def feed(self, data: bytes | memoryview) -> bool:
        self.buf += data
        if self.head is None and not self._parse_head():
            return False
        if self.need >= 0:
            return len(self.buf) - self.body_start >= self.need
        return self.need == -2 and self._chunked_done()

    def eof(self) -> bool:
        return self.head is not None and self.need == -1  # the body ran until close

    def _parse_head(self) -> bool:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        lines = bytes(self.buf[:end]).split(b"\r\n")
        try:
            status = int(lines[0].split(b" ", 2)[1])
        except (IndexError, ValueError):
            raise ResponseError(f"not a status line: {lines[0][:40]!r}") from None
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        self.head = (status, headers)
        self.body_start = end + 4
        length = headers.get(b"content-length")
        if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            self.need = -2
        elif length is not None and length.isdigit():
            self.need = int(length)
        elif status in (204, 304) or 100 <= status < 200:
            self.need = 0
        else:
            self.need = -1
        self.reusable = self.need != -1 and headers.get(b"connection", b"").lower() != b"close"
        return True

    def _chunked_done(self) -> bool:
        pos = self.body_start
        buf = self.buf
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return False
            try:
                size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
            except ValueError:
                return True  # a broken body: take what came
            if size == 0:
                return buf.find(b"\r\n\r\n", eol) >= 0 or buf.endswith(b"0\r\n\r\n")
            pos = eol + 2 + size + 2
            if pos > len(buf):
                return False


Response = HandResponse  # measured: see the module docstring

"""HTTP/1.1 for the live servers: h11, a few guards, and nothing that does I/O.

Theory of operation. An ``HttpSession`` is one client connection's parser state. The
server, blocking or asyncio alike, hands it bytes (``feed``) and asks for the next
complete request (``next_request``); the session answers with a ``Request``, with
``NEED_DATA``, with ``CLOSED``, or with a ``Reject`` (a 4xx to send before closing).
It builds response bytes (``respond``) and says whether the connection may carry
another request (``next_cycle``). It never touches a socket, which is why the very same
parser state machine (h11's) runs under the sync, threaded, async and hybrid servers.

A request is read to its end, body included (then thrown away), before the handler
runs: a malformed body or trailer must become a 400, never a 200 followed by garbage.

Guards beyond h11, each the answer to a request smuggling or confusion trick that
Gunicorn's test corpus (``shared/conformance/gunicorn-requests``) plays:

- limits as Gunicorn's defaults: request line 4094 bytes (414), 100 header fields and
  8190 bytes per field line (431); h11 alone would only cap the whole head;
- obs-fold (a header line starting with a space) is refused, not unfolded; h11
  unfolds silently, so the raw head is checked before h11 reads it;
- header names with ``_`` (``Content_Length`` means ``Content-Length`` to some CGI
  bridges), ``Content-Length`` other than digits (``5, 5``), both Content-Length and
  Transfer-Encoding, Transfer-Encoding in HTTP/1.0, control characters in values, a
  second Host/Content-Length/Content-Type, a Host that is not host[:port], a target
  that is not ``/path`` (or ``*`` for OPTIONS, ``host:port`` for CONNECT, an absolute
  URL), a version other than 1.0/1.1, and framing fields in trailers;
- every protocol error is a 4xx. h11 suggests 501 for a Transfer-Encoding it does not
  implement (``gzip, chunked``); we answer 400: the client sent what we refuse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import h11

LIMIT_REQUEST_LINE = 4094  # bytes, gunicorn's --limit-request-line
LIMIT_REQUEST_FIELDS = 100  # header fields, gunicorn's --limit-request-fields
LIMIT_REQUEST_FIELD_SIZE = 8190  # bytes per header line with its CRLF
MAX_HEAD = 64 * 1024  # bytes of request head at most (h11's max_incomplete_event_size)
MAX_BODY = 1024 * 1024  # bytes of request body read (and discarded) at most

SINGLETON_FIELDS = {b"host", b"content-length", b"content-type"}
FORBIDDEN_TRAILERS = {b"content-length", b"transfer-encoding", b"host", b"content-type"}
HOST_RE = re.compile(rb"^(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
AUTHORITY_RE = HOST_RE
CTL_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
DIGITS_RE = re.compile(rb"^[0-9]+$")

NEED_DATA = h11.NEED_DATA


class Closed:
    """Sentinel: the client closed the connection between requests (all is well)."""


CLOSED = Closed


@dataclass(frozen=True, slots=True)
class Reject:
    """A request we will not serve: answer ``status`` and close the connection."""

    status: int
    reason: str


@dataclass(slots=True)
class Request:
    """A complete request as a handler sees it; the body has been read and dropped."""

    method: str
    target: str
    path: str
    query: dict[str, str]
    headers: dict[bytes, bytes]
    http_version: str
    head_at: float = 0.0  # monotonic s when its head was complete (set by the server)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_head(self) -> bool:
        return self.method == "HEAD"


REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def error_bytes(status: int, reason: str) -> bytes:
    """A whole error response, written by hand: after a parse error, h11's state is gone."""
    body = f"{status} {REASONS.get(status, 'Error')}: {reason}\n".encode("ascii", "replace")
    return (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
        f"content-type: text/plain; charset=utf-8\r\ncontent-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    ).encode() + body


def check_head(buffer: bytes) -> Reject | None:
    """Gunicorn's limits and the obs-fold ban, on the raw bytes of one request head.

    ``buffer`` starts where the next request starts; the head may be incomplete, in
    which case only what can already be judged is judged.
    """
    start = 0
    while buffer.startswith((b"\r\n", b"\n"), start):  # blank lines before a request
        start += 2 if buffer.startswith(b"\r\n", start) else 1
    line_end = buffer.find(b"\n", start)
    if (line_end < 0 and len(buffer) - start > LIMIT_REQUEST_LINE) or (
        line_end - start > LIMIT_REQUEST_LINE + 1
    ):
        return Reject(414, f"request line longer than {LIMIT_REQUEST_LINE} bytes")
    end = buffer.find(b"\r\n\r\n", start)
    if end < 0:
        end = buffer.find(b"\n\n", start)
    if end < 0:
        if len(buffer) > MAX_HEAD:
            return Reject(431, f"request head longer than {MAX_HEAD} bytes")
        return None
    lines = buffer[line_end + 1 : end].split(b"\n")
    if len(lines) > LIMIT_REQUEST_FIELDS:
        return Reject(431, f"more than {LIMIT_REQUEST_FIELDS} header fields")
    for line in lines:
        line = line.removesuffix(b"\r")
        if line[:1] in (b" ", b"\t"):
            return Reject(400, "obsolete line folding in a header")
        if len(line) + 2 > LIMIT_REQUEST_FIELD_SIZE:
            return Reject(431, f"a header line longer than {LIMIT_REQUEST_FIELD_SIZE} bytes")
        name, _, value = line.partition(b":")
        if b"_" in name:
            return Reject(400, f"underscore in header name {name[:40]!r}")
        if name.strip().lower() == b"content-length" and not DIGITS_RE.match(value.strip()):
            return Reject(400, "Content-Length is not a plain number")
    return None


def check_request(event: h11.Request) -> Reject | None:
    """What h11 accepts but a careful server should not."""
    if event.http_version not in (b"1.0", b"1.1"):
        return Reject(400, f"HTTP version {event.http_version.decode('ascii', 'replace')}")
    seen: set[bytes] = set()
    for name, value in event.headers:
        if CTL_RE.search(value):
            return Reject(400, f"control character in header {name.decode('ascii', 'replace')}")
        if name in SINGLETON_FIELDS:
            if name in seen:
                return Reject(400, f"more than one {name.decode()} header")
            seen.add(name)
            if name == b"host" and not HOST_RE.match(value):
                return Reject(400, "Host is not host[:port]")
        elif name == b"transfer-encoding":
            if b"content-length" in {n for n, _ in event.headers}:
                return Reject(400, "both Content-Length and Transfer-Encoding")
            if event.http_version == b"1.0":
                return Reject(400, "Transfer-Encoding in an HTTP/1.0 request")
    target, method = event.target, event.method
    if target.startswith(b"/") or target.startswith((b"http://", b"https://")):
        return None
    if target == b"*" and method == b"OPTIONS":
        return None
    if method == b"CONNECT" and AUTHORITY_RE.match(target):
        return None
    return Reject(400, "request target is not /path, an absolute URL, * or host:port")


class HttpSession:
    """One connection's HTTP state: bytes in, requests out, response bytes back.

    ``keep_alive=False`` answers every request with ``Connection: close``, as
    Gunicorn's sync worker does.
    """

    def __init__(self, keep_alive: bool = True):
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self.keep_alive = keep_alive
        self._pending: Request | None = None
        self._body = 0
        self._head_checked = False

    def feed(self, data: bytes) -> None:
        """Bytes from the client; ``b""`` means the client closed its side."""
        self.conn.receive_data(data)

    @property
    def buffered(self) -> bool:
        """Are there bytes of a next request already received (pipelining)?"""
        return bool(self.conn.trailing_data[0])

    def next_request(self) -> Request | Reject | type[Closed] | object:
        """The next complete request, ``NEED_DATA``, ``CLOSED`` or a ``Reject``."""
        conn = self.conn
        try:
            while True:
                if not self._head_checked and conn.their_state is h11.IDLE:
                    data, _ = conn.trailing_data
                    rejected = check_head(data)
                    if rejected is not None:
                        return rejected
                    self._head_checked = b"\n\n" in data or b"\r\n\r\n" in data
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    return NEED_DATA
                if isinstance(event, h11.Request):
                    rejected = check_request(event)
                    if rejected is not None:
                        return rejected
                    self._pending = _request(event)
                elif isinstance(event, h11.Data):
                    self._body += len(event.data)
                    if self._body > MAX_BODY:
                        return Reject(413, f"body larger than {MAX_BODY} bytes")
                elif isinstance(event, h11.EndOfMessage):
                    for name, _ in event.headers:
                        if name in FORBIDDEN_TRAILERS:
                            return Reject(400, f"{name.decode()} in a trailer")
                    request, self._pending = self._pending, None
                    assert request is not None
                    return request
                elif isinstance(event, h11.ConnectionClosed):
                    return CLOSED
                elif event is h11.PAUSED:  # a CONNECT's tunnel: never granted here
                    return Reject(405, "no tunnels here")
        except h11.RemoteProtocolError as exc:
            status = exc.error_status_hint if 400 <= exc.error_status_hint < 500 else 400
            return Reject(status, str(exc))

    def respond(self, request: Request, status: int, headers: list[tuple[str, str]],
                body: bytes) -> bytes:  # fmt: skip
        """The bytes of a whole response to ``request`` (no body for HEAD)."""
        headers = [*headers, ("content-length", str(len(body)))]
        if not self.keep_alive:
            headers.append(("connection", "close"))
        conn = self.conn
        out = conn.send(h11.Response(status_code=status, headers=headers,
                                     reason=REASONS.get(status, "")))  # fmt: skip
        if body and not request.is_head:
            out += conn.send(h11.Data(data=body))
        return out + conn.send(h11.EndOfMessage())

    def next_cycle(self) -> bool:
        """After a response: may this connection carry another request?"""
        conn = self.conn
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
            self._body = 0
            self._head_checked = False
            return True
        return False


def _request(event: h11.Request) -> Request:
    target = event.target.decode("latin-1")
    if target.startswith("/") and "?" not in target and "#" not in target:
        path, query = target, {}  # the common case, without urlsplit's work
    else:
        parts = urlsplit(target)
        path, query = parts.path or "/", dict(parse_qsl(parts.query))
    return Request(
        method=event.method.decode("ascii"),
        target=target,
        path=path,
        query=query,
        headers=dict(event.headers),
        http_version=event.http_version.decode("ascii"),
    )

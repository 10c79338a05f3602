"""A tiny asyncio HTTP server in a thread, for testing the load generator alone.

It answers ``GET /guest?phases=...`` after awaiting the guest's io phases (cpu and
blocking are ignored: this is a stand-in, not a model), with the same ``X-...``
headers the live servers send. ``freeze(seconds)`` stops its event loop with
``time.sleep``, as a blocking call in a real async server would; the sleeping thread
releases the GIL, so the generator in the test's own thread keeps its schedule.
"""

from __future__ import annotations

import asyncio
import threading
import time
from urllib.parse import parse_qs, urlsplit


def io_seconds(target: str) -> float:
    query = parse_qs(urlsplit(target).query)
    total = 0.0
    for piece in query.get("phases", [""])[0].split(","):
        kind, _, ms = piece.partition(":")
        if kind == "io":
            total += float(ms) / 1000
    return total


class _Serve(asyncio.Protocol):
    def __init__(self, server: TinyServer) -> None:
        self.server = server
        self.buf = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.accepted = time.monotonic()
        self.server.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while b"\r\n\r\n" in self.buf:
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            target = lines[0].split(" ")[1]
            close = any(line.lower() == "connection: close" for line in lines[1:])
            self.server.requests += 1
            started = time.monotonic()
            delay = io_seconds(target)
            loop = asyncio.get_running_loop()
            loop.call_later(delay, self._answer, started, close)

    def _answer(self, started: float, close: bool) -> None:
        if self.transport.is_closing():
            return
        finished = time.monotonic()
        body = b"ok\n"
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Worker: 0\r\n"
            + f"X-Accepted-At: {self.accepted:.6f}\r\nX-Started-At: {started:.6f}\r\n".encode()
            + f"X-Finished-At: {finished:.6f}\r\n".encode()
            + (b"Connection: close\r\n" if close else b"")
            + b"\r\n" + body
        )
        if close:
            self.transport.close()


class TinyServer:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.requests = 0
        self.connections = 0
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            self.loop.create_server(lambda: _Serve(self), "127.0.0.1", 0, backlog=1024)
        )
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        server.close()
        self.loop.run_until_complete(server.wait_closed())
        self.loop.close()

    def __enter__(self) -> TinyServer:
        self.thread.start()
        self.ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/guest"

    def freeze_at(self, delay: float, seconds: float) -> None:
        """Stop the server's loop for ``seconds``, ``delay`` seconds from now."""
        self.loop.call_soon_threadsafe(self.loop.call_later, delay, time.sleep, seconds)

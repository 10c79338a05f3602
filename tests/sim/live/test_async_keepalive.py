"""The event loop's keep-alive: idle connections are closed, busy ones are not.

The loop runs in a thread of this process (``run_loop``, the very code of ``serve
async``) so the keep-alive limit can be shortened for the test: 0.3 s idle, swept
every 0.05 s. Tolerances are wide (seconds), as everything on a shared CI machine.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from sim.live import async_server
from sim.live.config import ServerConfig

KEEPALIVE = 0.3


@contextmanager
def loop_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setattr(async_server, "KEEPALIVE", KEEPALIVE)
    monkeypatch.setattr(async_server, "SWEEP_EVERY", 0.05)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    done, ready = threading.Event(), threading.Event()
    serving = async_server.run_loop(
        ServerConfig(model="async", port=0), listener, worker=0, report=None,
        numbers=itertools.count(), stop_signals=(), on_ready=ready.set,
        heartbeat=lambda: not done.is_set(), tick=0.05,
    )  # fmt: skip
    thread = threading.Thread(target=asyncio.run, args=(serving,), daemon=True)
    thread.start()
    try:
        assert ready.wait(10), "the loop never got ready"
        yield listener.getsockname()[1]
    finally:
        done.set()
        thread.join(15)
        listener.close()
    assert not thread.is_alive(), "the loop did not stop"


def ask(sock: socket.socket, path: str) -> bytes:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += receive(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += receive(sock)
    return head


def receive(sock: socket.socket) -> bytes:
    data = sock.recv(65536)
    assert data, "the server closed the connection before answering"
    return data


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed its end, or None if it did not."""
    start = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return None
    return time.monotonic() - start


def test_an_idle_kept_alive_connection_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    with loop_server(monkeypatch) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        assert ask(sock, "/").startswith(b"HTTP/1.1 200")
        assert ask(sock, "/health").startswith(b"HTTP/1.1 200")  # kept alive
        after = closed_within(sock, 5.0)
    assert after is not None, "an idle connection was kept past its keep-alive"
    assert after >= KEEPALIVE * 0.9


def test_a_guest_in_service_is_not_swept_away(monkeypatch: pytest.MonkeyPatch) -> None:
    """A guest who waits 1 s for the kitchen: far past the 0.3 s idle limit."""
    with loop_server(monkeypatch) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(10)
        head = ask(sock, "/guest?io=1000")
        assert head.startswith(b"HTTP/1.1 200")
        assert closed_within(sock, 5.0) is not None  # and then idle: closed

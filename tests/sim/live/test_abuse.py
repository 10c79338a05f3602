"""Hold up under abuse (issue 11): no request, however odd, takes a server down.

Every test runs against all four minimal servers, each on loopback port 0, and checks
that ``/health`` still answers afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import threading
import time

import pytest

from sim.limits import MAX_REQUEST_SECONDS
from tests.sim.live.conftest import exchange, get, serving

KNOBS = {
    "sync": {"workers": 2},
    "threaded": {"workers": 1, "threads": 2},
    "async": {},
    "hybrid": {"workers": 2},
}
MODELS = list(KNOBS)

# A server whose handler raises on /guest?boom=1: the way to test that an unexpected
# exception becomes a 500 and the server goes on, whatever the bug behind it.
BOOM = """
import sys
import sim.live.handler as handler
real_plan = handler.plan
def plan(query, guest_id):
    if "boom" in query:
        raise RuntimeError("a bug in the handler")
    return real_plan(query, guest_id)
handler.plan = plan
from sim.live.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("model", MODELS)
def test_overflowing_distribution_is_a_400_and_the_server_goes_on(model):
    with serving(model, **KNOBS[model]) as server:
        for _ in range(5):  # more than the threaded server's hosts, the sync workers
            reply = get(server.port, "/guest?io=lognormal:1,1e300", timeout=5)
            assert reply.status == 400, reply.body
            assert b"600000" in reply.body
        assert get(server.port, "/health", timeout=5).status == 200
        assert get(server.port, "/guest?io=lognormal:5,2", timeout=5).status == 200


@pytest.mark.parametrize("model", MODELS)
def test_an_exception_in_the_handler_is_a_500_and_the_server_goes_on(model):
    with serving(model, command=[sys.executable, "-c", BOOM], **KNOBS[model]) as server:
        for _ in range(5):
            reply = get(server.port, "/guest?boom=1", timeout=5)
            assert reply.status == 500, reply.body
            assert b"RuntimeError" in reply.body
        assert get(server.port, "/health", timeout=5).status == 200
        assert get(server.port, "/guest?io=1", timeout=5).status == 200


@pytest.mark.parametrize("model", MODELS)
def test_a_request_over_the_total_limit_is_refused_at_once(model):
    pinning = ",".join(["blocking:599999"] * 253)  # each phase under 600 s, 42 hours in all
    with serving(model, **KNOBS[model]) as server:
        for path in (f"/guest?phases={pinning}", "/guest?io=400000&blocking=400000"):
            reply = get(server.port, path, timeout=5)
            assert reply.status == 400, reply.body
            assert f"{MAX_REQUEST_SECONDS:g} s".encode() in reply.body
            assert b"MAX_REQUEST_SECONDS" in reply.body
        assert get(server.port, "/health", timeout=5).status == 200


# --- slow clients (--header-timeout) ---------------------------------------------------


class Trickler:
    """Slowloris: connections that send a request head one header line at a time."""

    def __init__(self, port: int, count: int, every: float = 0.2):
        self.socks = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            self.socks.append(sock)
        self.every = every
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.done.wait(self.every):
            for sock in self.socks:
                try:
                    sock.sendall(b"X-a: b\r\n")
                except OSError:
                    pass  # closed on us: that is the point

    def close(self) -> None:
        self.done.set()
        self.thread.join(5)
        for sock in self.socks:
            sock.close()


def test_sync_answers_a_plain_get_behind_slowloris_connections():
    """20 slowloris connections ahead of it in the backlog, 2 workers, 0.5 s to send a
    request: the GET waits about 20 / 2 x 0.5 = 5 s (it waited 30 s per pair before,
    until the arbiter killed the silent workers)."""
    with serving("sync", workers=2, header_timeout=0.5) as server:
        trickler = Trickler(server.port, 20)
        try:
            began = time.monotonic()
            reply = get(server.port, "/", timeout=20)
            waited = time.monotonic() - began
        finally:
            trickler.close()
        assert reply.status == 200
        assert waited < 10, f"waited {waited:.1f} s behind the slowloris connections"
        assert get(server.port, "/health", timeout=5).status == 200


@pytest.mark.parametrize("model", MODELS)
def test_a_connection_trickling_bytes_is_closed_after_the_header_timeout(model):
    with serving(model, header_timeout=1, **KNOBS[model]) as server:
        trickler = Trickler(server.port, 1)
        sock = trickler.socks[0]
        try:
            began = time.monotonic()
            sock.settimeout(10)
            said = b""
            with contextlib.suppress(ConnectionResetError):
                while chunk := sock.recv(4096):
                    said += chunk
            closed_after = time.monotonic() - began
        finally:
            trickler.close()
        assert said.startswith(b"HTTP/1.1 408"), said
        assert b"--header-timeout" in said
        assert closed_after < 4, f"closed after {closed_after:.1f} s"
        assert get(server.port, "/health", timeout=5).status == 200


def test_the_loop_reads_every_connection_into_one_buffer():
    """An idle connection holds no read buffer of its own (64 KB each, before)."""
    from sim.live.async_server import HttpProtocol, LoopServer
    from sim.live.config import ServerConfig

    async def two() -> tuple[object, object]:
        server = LoopServer(ServerConfig(model="async"), 0, None, iter(range(10)))
        return HttpProtocol(server).get_buffer(-1), HttpProtocol(server).get_buffer(-1)

    first, second = asyncio.run(two())
    assert first is second


# --- limits on the request and the flags ---------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_a_huge_request_line_or_head_is_refused_with_a_4xx(model):
    with serving(model, **KNOBS[model]) as server:
        line = exchange(server.port, b"GET /" + b"a" * 1_000_000 + b" HTTP/1.1\r\n\r\n")
        head = exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n" + b"A: b\r\n" * 20_000)
        assert line.startswith(b"HTTP/1.1 414"), line[:80]
        assert head.startswith(b"HTTP/1.1 431"), head[:80]
        assert get(server.port, "/health", timeout=5).status == 200


@pytest.mark.parametrize(("flags", "says"), [
    (["--graceful-timeout", "inf"], "MAX_GRACEFUL_TIMEOUT"),
    (["--graceful-timeout", "nan"], "0..600"),
    (["--backlog", "99999999999"], "somaxconn"),
    (["--workers", "100000"], "at most 64"),
    (["--threads", "100000"], "at most 256"),
    (["--header-timeout", "inf"], "MAX_HEADER_TIMEOUT"),
    (["--header-timeout", "0"], "--header-timeout"),
    (["--report", "{file}/trace.jsonl"], "cannot write there"),
])  # fmt: skip
def test_serve_refuses_what_it_cannot_do_in_one_line(flags, says, tmp_path):
    afile = tmp_path / "a-file"
    afile.write_text("")
    flags = [flag.format(file=afile) for flag in flags]
    model = "threaded" if "--threads" in flags else "sync"
    result = subprocess.run([sys.executable, "-m", "tui", "serve", model, "--port", "0", *flags],
                            capture_output=True, text=True, timeout=30)  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert says in result.stderr

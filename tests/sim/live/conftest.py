"""Helpers for the live-server tests: a plain HTTP client and the process-table check.

Every server is started on loopback port 0 and stopped in a ``finally``; ``serving``
also remembers every process of the server's tree while it runs and, after stopping
it, checks that none of them is left (no orphan worker, ever).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from sim.live import ServerProcess, start_server
from sim.trace import Event, from_json

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def time(self, name: str) -> float:
        return float(self.headers[f"x-{name}-at"])


def get(port: int, path: str, headers: dict[str, str] | None = None,
        timeout: float = 10.0) -> Reply:  # fmt: skip
    """One GET on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        conn.close()


def exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes, close our side, and read everything until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may refuse and close before we are done sending
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
        return b"".join(chunks)


def my_children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def tree(pid: int) -> set[int]:
    try:
        root = psutil.Process(pid)
        return {pid} | {p.pid for p in root.children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (zombies count as gone: they hold no socket)."""
    left = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                left.add(pid)
        except psutil.NoSuchProcess:
            pass
    return left


def wait_gone(pids: set[int], within: float) -> set[int]:
    deadline = time.monotonic() + within
    while (left := alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


@contextlib.contextmanager
def serving(model: str, **knobs: object) -> Iterator[ServerProcess]:
    """A started server; stopped, and its whole process tree checked gone, afterwards."""
    before = my_children()
    server = start_server(model, **knobs)
    pids: set[int] = set()
    try:
        pids = tree(server.pid)
        yield server
        pids |= tree(server.pid)
    finally:
        server.stop()
        left = wait_gone(pids | (my_children() - before), within=5.0)
        assert not left, f"processes left behind by {model}: {left}"


def read_trace(path: Path) -> list[Event]:
    if not path.exists():
        return []
    return [from_json(line) for line in path.read_text().splitlines() if line.strip()]


def overlap(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


@pytest.fixture
def trace_path(tmp_path: Path) -> Path:
    return tmp_path / "trace.jsonl"


def as_json(events: list[Event]) -> str:
    return json.dumps([e.kind for e in events])


def at_once(port: int, paths: list[str]) -> tuple[list[Reply], float]:
    """Send every request at the same moment, each on its own connection; and how long."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(paths)) as pool:
        begin = time.monotonic()
        replies = list(pool.map(lambda path: get(port, path), paths))
        return replies, time.monotonic() - begin


def rounds(replies: list[Reply]) -> list[float]:
    """When each guest began its service, relative to the first (seconds, sorted)."""
    begun = sorted(float(r.headers["x-started-at"]) for r in replies)
    return [s - begun[0] for s in begun]

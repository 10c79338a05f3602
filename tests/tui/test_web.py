"""`partyhost web` serves the app's page on loopback and stops with nothing left behind."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from tui.cli import main
from tui.commands import web

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, deadline: float) -> tuple[int, str]:
    """GET ``url``, retrying while the server is still starting (until ``deadline``)."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return answer.status, answer.read().decode("utf-8", "replace")
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_web_serves_the_page_on_loopback_and_stops_by_pid() -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tui", "web", "--port", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    try:
        status, page = get(f"http://127.0.0.1:{port}/", time.monotonic() + 30)
        assert status == 200
        assert "<html" in page.lower() and "textual" in page.lower()
        listening = [c for c in psutil.Process(server.pid).net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN]
        assert [c.laddr.ip for c in listening] == ["127.0.0.1"]  # loopback only, by default
    finally:
        family = [server.pid] + [c.pid for c in _children(server.pid)]
        os.kill(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
    out, err = server.communicate()
    assert "serving on http://127.0.0.1:" in out
    assert "warning" not in err
    assert "Traceback" not in err
    assert not [pid for pid in family if psutil.pid_exists(pid)
                and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_bad_port_is_one_line_exit_2(capsys) -> None:
    assert main(["web", "--port", "99999"]) == 2
    assert capsys.readouterr().err.strip() == (
        "partyhost: error: --port: must be 1 to 65535, got 99999"
    )


@pytest.fixture
def served(monkeypatch):
    """``partyhost web`` up to serving: the socket it bound, not served (closed at once)."""
    from tui.commands import web

    calls = []

    def serve(sock, url, sessions):
        calls.append((sock.getsockname()[:2], url, sessions))
        sock.close()

    monkeypatch.setattr(web, "serve", serve)
    return calls


def test_another_host_prints_a_warning(capsys, served) -> None:
    """--host is allowed (a classroom network) but never silently: the warning comes first."""
    port = free_port()
    assert main(["web", "--host", "0.0.0.0", "--port", str(port)]) == 0
    out, err = capsys.readouterr()
    assert err.startswith("partyhost: warning: serving on 0.0.0.0")
    assert served == [(("0.0.0.0", port), f"http://0.0.0.0:{port}", 8)]
    assert f"serving on http://0.0.0.0:{port}" in out


def test_every_loopback_address_is_loopback(capsys, served) -> None:
    assert main(["web", "--host", "127.0.0.2", "--port", str(free_port())]) == 0
    assert capsys.readouterr().err == ""
    assert served[0][0][0] == "127.0.0.2"


@pytest.mark.parametrize("argv, needle", [
    (["--host", ""], "--host: empty"),
    (["--host", "  "], "--host: empty"),
    (["--host", "192.0.2.1"], "--host 192.0.2.1: not an address of this machine"),
    (["--host", "no-such-host.invalid"], "--host no-such-host.invalid: cannot resolve"),
    (["--max-sessions", "0"], "--max-sessions: must be 1 to 64"),
    (["--max-sessions", "many"], "--max-sessions: expected a number"),
])
def test_a_bad_address_is_one_line_before_any_announcement(capsys, served, argv, needle):
    assert main(["web", "--port", str(free_port()), *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and not served
    assert err.count("\n") == 1 and err.startswith("partyhost: error: ") and needle in err


def test_a_port_in_use_is_one_line_before_any_announcement(capsys, served) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["web", "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and not served
    assert err == f"partyhost: error: --port {port}: already in use on 127.0.0.1 " \
                  "(another server? choose another --port)\n"


def open_websocket(port: int, query: str) -> tuple[socket.socket, int]:
    """A websocket handshake by hand: the socket (never read again) and the status."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET /ws?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    return sock, int(head.split(b" ", 2)[1])


def drop(sock: socket.socket) -> None:
    """Vanish, as a tab whose machine went away: a reset, no closing handshake."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def apps(server_pid: int) -> list[psutil.Process]:
    return [p for p in _children(server_pid) if "tui.commands.web" in " ".join(_cmdline(p))]


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def gone(processes: list[psutil.Process], within: float) -> bool:
    _, alive = psutil.wait_procs(processes, timeout=within)
    return not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def wait_for(predicate, within: float):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    return predicate()


def test_sessions_are_capped_clamped_ended_when_dropped_and_die_with_the_server() -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tui", "web", "--port", str(port), "--max-sessions", "1"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    held: list[socket.socket] = []
    seen: list[psutil.Process] = []  # every app, to be sure none is left if a check fails
    try:
        get(f"http://127.0.0.1:{port}/", time.monotonic() + 30)
        # A tab asking for a huge terminal gets a capped one.
        sock, status = open_websocket(port, "width=100000&height=100000")
        held.append(sock)
        assert status == 101
        first = wait_for(lambda: apps(server.pid), 10)
        seen += first
        assert len(first) == 1
        env = first[0].environ()
        assert int(env["COLUMNS"]) <= web.MAX_WIDTH and int(env["ROWS"]) <= web.MAX_HEIGHT
        # One session at most: the next tab and the page are told so.
        other, status = open_websocket(port, "width=80&height=24")
        other.close()
        assert status == 503
        with pytest.raises(urllib.error.HTTPError) as full:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
        assert full.value.code == 503 and b"sessions are in use" in full.value.read()
        # The tab vanishes without reading a byte: its app ends, its slot frees.
        time.sleep(2.0)  # the app is up and writing to a socket nobody reads
        drop(held.pop())
        assert gone(first, web.STOP_GRACE + 4)
        for _ in range(30):  # the slot frees as the session's handler returns
            sock, status = open_websocket(port, "width=80&height=24")
            if status == 101:
                break
            sock.close()
            time.sleep(0.1)
        held.append(sock)
        assert status == 101
        second = wait_for(lambda: apps(server.pid), 10)
        seen += second
        assert len(second) == 1 and second[0].pid != first[0].pid
        time.sleep(1.0)
        # The server killed outright: its tab's app does not run on under PID 1.
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        assert gone(second, 5.0)
    finally:
        for sock in held:
            sock.close()
        seen += apps(server.pid) if server.poll() is None else []
        if server.poll() is None:
            os.kill(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        for process in seen:
            with contextlib.suppress(psutil.Error):
                process.kill()
    out, err = server.communicate()
    assert "at most 1 tabs at once" in out
    assert "Traceback" not in err

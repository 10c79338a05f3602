"""`partyhost web` serves the app's page on loopback and stops with nothing left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from tui.cli import main

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


def test_another_host_prints_a_warning(capsys, monkeypatch) -> None:
    """--host is allowed (a classroom network) but never silently: the warning comes first."""
    served = []

    class FakeServer:
        def __init__(self, command: str, host: str, port: int, title: str) -> None:
            served.append((command, host, port))

        def serve(self) -> None:
            pass

    import textual_serve.server

    monkeypatch.setattr(textual_serve.server, "Server", FakeServer)
    assert main(["web", "--host", "0.0.0.0", "--port", "8123"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("partyhost: warning: serving on 0.0.0.0")
    assert served == [(f"{sys.executable} -m tui", "0.0.0.0", 8123)]

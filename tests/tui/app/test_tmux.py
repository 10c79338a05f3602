"""A person at a real terminal: open partyhost, free play, live, back, quit; nothing left.

Runs the real ``partyhost`` (or ``python -m tui``) inside tmux on a private tmux
socket, types keys with ``send-keys`` and reads the screen with ``capture-pane``, the
way a learner would see it. The processes under the pane are checked with psutil.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    def __init__(self, command: str, width: int = 120, height: int = 40) -> None:
        self.socket = f"partyhost-test-{uuid.uuid4().hex[:8]}"
        self.tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height),
                  "-c", str(REPO), command)
        self.pid = int(self.tmux("display", "-p", "-t", "t", "#{pane_pid}").strip())

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True,
                              capture_output=True, text=True, timeout=10).stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen:\n{self.screen()}")

    def processes(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def wait_for_servers(self, timeout: float = 30.0) -> list[psutil.Process]:
        """The live server's processes under the app, once it has booted its workers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = []
            for proc in self.processes():
                try:
                    if "sim.live" in " ".join(proc.cmdline()):
                        found.append(proc)
                except psutil.NoSuchProcess:
                    pass
            if len(found) >= 2:  # the master and at least one worker
                time.sleep(0.5)
                return found + [p for p in self.processes() if p not in found
                                and "sim.live" in " ".join(p.cmdline())]
            time.sleep(0.2)
        return []

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


def partyhost_command() -> str:
    exe = shutil.which("partyhost")
    return exe if exe else f"{sys.executable} -m tui"


def test_free_play_live_and_back_then_quit_leaves_no_process():
    term = Tmux(partyhost_command())
    servers: list[psutil.Process] = []
    try:
        term.wait_for("Free play")
        term.keys("2")
        term.wait_for("SIMULATED")
        term.wait_for("host 3")
        term.keys("l")
        term.wait_for("LIVE")
        servers = term.wait_for_servers()
        assert servers, "the live server runs under the app"
        term.wait_for("guest ")  # real guests drawn
        term.keys("l")
        term.wait_for("SIMULATED")
        gone, alive = psutil.wait_procs(servers, timeout=10)
        assert not alive, "switching back stops the server"
        term.keys("l")
        term.wait_for("LIVE")
        servers = term.wait_for_servers()
        app = psutil.Process(term.pid)
        term.keys("q")
        _, alive = psutil.wait_procs([app, *servers], timeout=15)
        assert not alive, f"left behind: {[(p.pid, p.cmdline()) for p in alive]}"
    finally:
        term.close()
        for proc in servers:  # only if an assertion above failed: never leave them
            if proc.is_running():
                os.kill(proc.pid, 9)

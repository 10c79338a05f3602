"""``partyhost live`` leaves no ``partyhost-live-*`` folder behind, even when killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from tui.cli import main
from tui.commands import live

REPO = Path(__file__).resolve().parents[2]


def make(base: Path, name: str, *, socket_bound: bool = False, age: float = 0.0,
         listening: list[socket.socket] | None = None) -> Path:
    folder = base / name
    folder.mkdir()
    if socket_bound or listening is not None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(folder / "report.sock"))
        sock.listen()
        if listening is not None:
            listening.append(sock)  # still bound: someone's live party
        else:
            sock.close()  # the file stays, nobody has it: a killed owner's
    if age:
        past = time.time() - age
        os.utime(folder, (past, past))
    return folder


def test_only_stale_folders_are_removed(tmp_path) -> None:
    listening: list[socket.socket] = []
    try:
        dead = make(tmp_path, "partyhost-live-dead", socket_bound=True)
        alive = make(tmp_path, "partyhost-live-alive", listening=listening, age=3600)
        old_empty = make(tmp_path, "partyhost-live-oldempty", age=3600)
        new_empty = make(tmp_path, "partyhost-live-starting")  # mkdtemp, not bound yet
        other = make(tmp_path, "someone-else", socket_bound=True, age=3600)
        removed = live.remove_stale_live_folders(str(tmp_path))
    finally:
        for sock in listening:
            sock.close()
    assert sorted(removed) == sorted([str(dead), str(old_empty)])
    assert alive.exists() and new_empty.exists() and other.exists()
    assert not dead.exists() and not old_empty.exists()


def test_a_killed_live_partys_folder_is_gone_by_the_next_live(tmp_path, monkeypatch) -> None:
    env = dict(os.environ, TMPDIR=str(tmp_path))
    party = subprocess.Popen(
        [sys.executable, "-m", "tui", "live", "async", "--rate", "5", "--io", "5",
         "--duration", "30", "--json"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)
    family: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 30
        while not list(tmp_path.glob("partyhost-live-*/report.sock")):
            assert time.monotonic() < deadline and party.poll() is None, "no live party"
            time.sleep(0.1)
        time.sleep(1.0)  # the server is up and reporting
        family = psutil.Process(party.pid).children(recursive=True)
        os.kill(party.pid, signal.SIGKILL)  # no finally, no atexit: the folder stays
        party.wait(10)
        _, alive = psutil.wait_procs(family, timeout=5)  # the server watches its owner
        assert not alive
    finally:
        if party.poll() is None:
            party.kill()
            party.wait(10)
        for process in family:
            if process.is_running():
                process.kill()
    left = list(tmp_path.glob("partyhost-live-*"))
    assert len(left) == 1  # what the kill left behind

    from sim.live.loadgen import LoadgenError

    def no_party(*args, **kwargs):
        raise LoadgenError("not this time")

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr("sim.side_by_side.live_party", no_party)
    assert main(["live", "async", "--guests", "1"]) == 2  # the next live, stopped early
    assert not list(tmp_path.glob("partyhost-live-*"))

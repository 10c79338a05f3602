"""Real Gunicorn and Uvicorn die with the program that started them (issue 11).

``partyhost serve gunicorn|uvicorn`` killed outright (SIGKILL) or hung up on (SIGHUP, a
closed terminal), or a ``partyhost live`` run (``start_real``) killed outright: the real
server and every worker it forked must be gone within seconds, not run on under PID 1.
Skipped cleanly where the ``real`` extra is not installed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import psutil
import pytest

from sim.live.real import missing

PID_RE = re.compile(r"\(pid (\d+)\)")

START_REAL = """
import sys, time
from sim.live.real import start_real
from sim.scenario import build_scenario
name = sys.argv[1]
knobs = {} if name == "uvicorn" else {"workers": 2}
server = start_real(name, build_scenario({"model": "async" if name == "uvicorn" else "sync",
                                          **knobs}))
print(f"ready (pid {server.pid})", flush=True)
time.sleep(120)
"""


def owner_command(how: str, name: str) -> list[str]:
    if how == "serve":  # partyhost serve NAME
        workers = [] if name == "uvicorn" else ["--workers", "2"]
        return [sys.executable, "-m", "tui", "serve", name, "--port", "0", *workers]
    return [sys.executable, "-c", START_REAL, name]  # what partyhost live does


@pytest.mark.parametrize(("how", "name", "sig"), [
    ("serve", "uvicorn", signal.SIGKILL),
    ("serve", "uvicorn", signal.SIGHUP),
    ("serve", "gunicorn", signal.SIGKILL),
    ("serve", "gunicorn", signal.SIGHUP),
    ("start_real", "uvicorn", signal.SIGKILL),
    ("start_real", "gunicorn", signal.SIGHUP),
])  # fmt: skip
def test_a_real_server_dies_with_its_owner(how, name, sig):
    why = missing(name)
    if why:
        pytest.skip(why)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    owner = subprocess.Popen(owner_command(how, name), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=env)  # fmt: skip
    family: list[psutil.Process] = []
    try:
        line = owner.stdout.readline()
        match = PID_RE.search(line)
        assert match, f"no pid in {line!r}"
        server = psutil.Process(int(match.group(1)))
        assert server.ppid() == owner.pid
        family = [server, *server.children(recursive=True)]
        if name == "gunicorn":
            assert len(family) == 3, "the arbiter and its two workers"
        owner.send_signal(sig)
        owner.wait(10)
        # SIGTERM reaches the server at once; gunicorn stops its workers within 2 s
        gone, alive = psutil.wait_procs(family, timeout=10)
        assert not alive, f"outlived their owner: {[(p.pid, p.name()) for p in alive]}"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait(5)
        for proc in family:  # never leave one behind, even when the test fails
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass


@pytest.mark.parametrize(("args", "says"), [
    (["uvicorn", "--port", "70000"], "0..65535"),
    (["gunicorn", "--port", "70000"], "0..65535"),
    (["uvicorn", "--workers", "2"], "gunicorn-uvicorn"),
    (["gunicorn", "--workers", "100000"], "MAX_LIVE_WORKERS"),
    (["gunicorn-gthread", "--threads", "100000"], "MAX_LIVE_THREADS"),
    (["uvicorn", "--backlog", "99999999999"], "MAX_BACKLOG"),
    (["gunicorn", "--header-timeout", "5"], "partyhost's own"),
    (["uvicorn", "--graceful-timeout", "inf"], "2 s grace"),
])  # fmt: skip
def test_serve_real_refuses_a_flag_it_would_misuse_or_ignore(args, says):
    result = subprocess.run([sys.executable, "-m", "tui", "serve", *args],
                            capture_output=True, text=True, timeout=30)  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert says in result.stderr

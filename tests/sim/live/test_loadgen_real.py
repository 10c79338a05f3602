"""Real Gunicorn and Uvicorn (the optional `real` extra) serving the guest apps.

Every real runner starts, serves 40 guests and stops with nothing left: not its tree
nor anything in the process group it leads (``stop()`` ends with SIGKILL to the group,
so "gone" is waited for, up to 5 s: a killed process takes a moment to exit). This
holds for ``uvicorn-workers`` and ``gunicorn-asgi`` too, which test_managers_live once
started again only to check the group. Skipped cleanly where the extra is not
installed (CI installs only the test extra).
"""

from __future__ import annotations

import subprocess
import time

import psutil
import pytest

from sim.live.loadgen import hit
from sim.live.real import REAL_SERVERS, missing, model_of, start_real
from sim.scenario import build_scenario
from tests.sim.live.conftest import wait_gone


def gone(pid: int, within: float = 3.0) -> list[str]:
    """What is left of the process group ``pid`` led, after ``within`` seconds at most."""
    deadline = time.monotonic() + within
    while True:
        left = subprocess.run(["pgrep", "-g", str(pid)], capture_output=True,
                              text=True).stdout.split()  # fmt: skip
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


@pytest.mark.parametrize("name", list(REAL_SERVERS))
def test_real_server_serves_the_guests_and_stops(name):
    why = missing(name)
    if why:
        pytest.skip(why)
    model = model_of(name)
    knobs = {"workers": 2} if model not in ("async", "threadpool") else {}
    scenario = build_scenario({"model": model, **knobs, "rate": 100, "cpu": 1, "io": 20,
                               "guests": 40})
    before = children()
    server = start_real(name, scenario)
    try:
        assert {"gunicorn", "uvicorn"} & set(server.command_line.split())
        assert "127.0.0.1" in server.command_line
        tree = {p.pid for p in psutil.Process(server.pid).children(recursive=True)}
        result = hit(server.url, scenario)
    finally:
        server.stop()
    assert not wait_gone((children() - before) | tree, within=5.0), \
        "the real server outlived stop()"
    assert gone(server.pid) == [], "a process of the server's group outlived stop()"
    summary = result.summary
    assert summary.served == 40 and summary.failed == 0
    assert summary.latency_ms["p50"] >= 20  # 1 ms cpu + 20 ms io, really done
    assert summary.wait_ms["max"] > 0  # the app reported X-Started-At: waits were counted
    assert all(shot.worker for shot in result.shots)

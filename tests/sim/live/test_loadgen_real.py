"""Real Gunicorn and Uvicorn (the optional `real` extra) serving the guest apps.

Skipped cleanly where the extra is not installed (CI installs only the test extra).
"""

from __future__ import annotations

import psutil
import pytest

from sim.live.loadgen import hit
from sim.live.real import REAL_SERVERS, missing, model_of, start_real
from sim.scenario import build_scenario


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
    assert children() <= before, "the real server outlived stop()"
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
                   for pid in tree)
    summary = result.summary
    assert summary.served == 40 and summary.failed == 0
    assert summary.latency_ms["p50"] >= 20  # 1 ms cpu + 20 ms io, really done
    assert summary.wait_ms["max"] > 0  # the app reported X-Started-At: waits were counted
    assert all(shot.worker for shot in result.shots)

"""``--reuse-port`` live: a socket per worker, and ``per_worker`` from the X-Worker answers.

Short runs (40 guests at 200/s); skipped cleanly without the ``real`` extra.
"""

from __future__ import annotations

import psutil
import pytest

from sim.live.loadgen import hit
from sim.live.process import start_for
from sim.live.real import RealServerError, command, missing, start_real
from sim.scenario import build_scenario


def children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def listening(port: int) -> int:
    """Listen sockets on ``port`` (one shared, or one per worker)."""
    return sum(1 for c in psutil.net_connections("tcp")
               if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port)


SCENARIO = {"model": "hybrid", "workers": 2, "reuse_port": True, "rate": 200, "io": 10,
            "cpu": 0, "guests": 40, "seed": 1}


def test_real_gunicorn_with_reuse_port_reports_per_worker_summing_to_served():
    why = missing("gunicorn-uvicorn")
    if why:
        pytest.skip(why)
    scenario = build_scenario(SCENARIO)
    before = children()
    server = start_real("gunicorn-uvicorn", scenario)
    try:
        assert "--reuse-port" in server.command_line
        sockets = listening(server.port)
        result = hit(server.url, scenario)
    finally:
        server.stop()
    assert children() <= before, "the real server outlived stop()"
    assert sockets == 2  # each worker bound its own (the arbiter none)
    rows = result.summary.per_worker
    assert len(rows) == 2 and sum(row["guests"] for row in rows) == result.summary.served == 40
    assert abs(sum(row["share"] for row in rows) - 1) < 1e-3


def test_the_minimal_server_binds_a_socket_per_worker():
    scenario = build_scenario(SCENARIO)
    with start_for(scenario) as server:
        port = int(server.url.rstrip("/").rsplit(":", 1)[1])
        sockets = listening(port)
        result = hit(server.url, scenario)
    assert sockets == 2
    rows = result.summary.per_worker
    assert sum(row["guests"] for row in rows) == result.summary.served == 40


def test_uvicorn_workers_has_no_reuse_port():
    scenario = build_scenario({**SCENARIO, "model": "hybrid"})
    with pytest.raises(RealServerError, match="no --reuse-port"):
        command("uvicorn-workers", scenario, 8000)

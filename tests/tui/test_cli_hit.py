"""The live commands' CLI: hit, live, calibrate; JSON shape; one-line errors; no orphans."""

from __future__ import annotations

import json

import psutil
import pytest

from tests.sim.live.loadgen_tiny_server import TinyServer
from tui.cli import main

SIMULATE_KEYS = {"scenario", "served", "turned_away", "failed", "throughput", "latency_ms",
                 "wait_ms", "utilization", "queue", "littles_law"}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    for needle in needles:
        assert needle in err


def test_hit_json_is_simulates_shape_plus_the_generators_say(capsys):
    with TinyServer() as server:
        code, out, _ = run(capsys, "hit", server.url, "--rate", "100", "--io", "5",
                           "--guests", "40", "--json")
    assert code == 0
    data = json.loads(out)
    assert SIMULATE_KEYS <= set(data)
    assert data["served"] == 40 and data["failed"] == 0
    assert data["generator"]["loop"] == "open" and "p99" in data["send_lag_ms"]


def test_hit_report_has_the_histogram_and_the_lag(capsys):
    with TinyServer() as server:
        code, out, _ = run(capsys, "hit", server.url, "--users", "2", "--io", "2",
                           "--guests", "30", "--keep-alive")
    assert code == 0
    assert "latency histogram" in out and "99.9%" in out
    assert "closed loop, keep-alive" in out


@pytest.mark.parametrize("argv, needles", [
    (["hit", "http://192.0.2.7:80"], ["--allow-remote"]),
    (["hit", "https://127.0.0.1:1"], ["http://"]),
    (["hit", "127.0.0.1:1", "--guests", "2000000"], ["--guests"]),
    (["hit", "127.0.0.1:1", "--duration", "9999"], ["--duration"]),
    (["hit", "127.0.0.1:1", "--request-timeout", "-1"], ["--request-timeout"]),
    (["hit", "127.0.0.1:1", "--rate", "abc"], ["--rate"]),
    (["hit", "http://[::1"], ["URL", "cannot read"]),
    (["hit", "127.0.0.1:1", "--request-timeout", "1e9"], ["--request-timeout", "at most 60 s"]),
    (["live", "async", "--request-timeout", "1e9"], ["--request-timeout", "at most 60 s"]),
    (["hit", "127.0.0.1:1", "--rate", "1e6", "--duration", "1"],
     ["--rate x --duration", "at most 200,000 guests"]),
    (["live", "nginx"], ["MODEL", "gunicorn"]),
    (["calibrate", "async", "--duration", "0"], ["--duration"]),
])
def test_mistakes_are_one_line(capsys, argv, needles):
    code, _, err = run(capsys, *argv)
    one_line_error(code, err, *needles)


@pytest.mark.parametrize("argv", [
    ["live", "gunicorn", "--rate", "10", "--guests", "5"],
    ["live", "uvicorn", "--rate", "10", "--guests", "5"],
    ["calibrate", "gunicorn-uvicorn"],
    ["serve", "gunicorn-gthread"],
])
def test_real_servers_without_the_extra_say_how_to_install(capsys, monkeypatch, argv):
    import sim.live.real as real

    monkeypatch.setattr(real.importlib.util, "find_spec", lambda name: None)
    code, _, err = run(capsys, *argv)
    one_line_error(code, err, "pip install -e '.[real]'")


def test_live_json_puts_the_three_side_by_side(capsys):
    before = children()
    code, out, _ = run(capsys, "live", "async", "--rate", "50", "--io", "10",
                       "--duration", "1.5", "--json")
    assert children() <= before, "the live server outlived the run"
    assert code == 0
    data = json.loads(out)
    assert {"theory", "simulation", "measured", "server_view", "difference_pct",
            "command"} <= set(data)
    assert data["theory"]["formula"].startswith("M/G/inf")
    assert data["measured"]["served"] == data["simulation"]["served"]
    assert "uvicorn app:app" in data["command"]
    # 10 ms of io per guest: no answer can come sooner (fidelity is test_fidelity's job)
    assert data["measured"]["latency_ms"]["p50"] >= 10
    assert data["difference_pct"]["latency p50"] > -5


def test_utilisation_note_says_whose_view_it_is(capsys):
    with TinyServer() as server:
        code, out, _ = run(capsys, "hit", server.url, "--rate", "100", "--io", "5",
                           "--guests", "20")  # fmt: skip
    assert code == 0 and "hosts busy is the client's view" in " ".join(out.split())
    code, out, _ = run(capsys, "live", "async", "--rate", "50", "--io", "5", "--guests", "20")
    assert code == 0
    assert "client's view" not in out  # live reads our server's own trace


def test_calibrate_measures_an_overhead(capsys):
    before = children()
    code, out, _ = run(capsys, "calibrate", "async", "--duration", "0.6", "--json")
    assert children() <= before
    assert code == 0
    data = json.loads(out)
    # A Python server spends tens of microseconds to a few ms per request: not zero,
    # and not more than a request every 20 ms would allow.
    assert 0.01 < data["overhead_ms"] < 20

"""Measured ratios for the live servers, printed; run ``python benchmarks/bench_live_servers.py``.

Theory of operation. Two questions, each answered in one run on this machine, with
``wrk`` (Debian's package) as the client:

1. Hello world, requests/s: our minimal async server against uvicorn with the same
   parser (``--http h11 --loop asyncio``: it pays for the ASGI layer, we do not, so we
   should be faster) and against uvicorn at its fastest (``--http httptools --loop
   uvloop``: a C parser and a C event loop; we report that ratio as it is). The three
   servers take turns, ``--rounds`` times, so a change in the machine's state hits all
   three alike; the best round of each counts. On two or more cores the server is
   pinned to one core and wrk to another, so they do not fight for one.
2. ``/guest?io=50``: each model's throughput against its theoretical ceiling, the
   number of guests it can hold at once over 50 ms (sync: W/0.05 s; threaded: W*T/0.05;
   async and hybrid: wrk's connections/0.05, since a loop holds as many as come).

Needs the ``real`` extra (gunicorn, uvicorn) plus uvloop and httptools, and ``wrk``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sim.live import start_server  # noqa: E402

IO_SECONDS = 0.050
RATE_RE = re.compile(r"Requests/sec:\s+([\d.]+)")
BAD_RE = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
ERR_RE = re.compile(r"Socket errors:.*")


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def pin(core: int) -> list[str]:
    """A taskset prefix, if there is a core to spare and taskset to do it."""
    if cores() >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", str(core)]
    return []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def wrk(url: str, connections: int, duration: float) -> tuple[float, str]:
    """Requests/s, and a note on errors (empty if none)."""
    out = subprocess.run(
        [*pin(1), "wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rate = float(RATE_RE.search(out).group(1))
    notes = [m.group(0) for m in (BAD_RE.search(out), ERR_RE.search(out)) if m]
    return rate, "; ".join(notes)


class Uvicorn:
    """uvicorn serving the hello ASGI app, in a child process stopped by its pid."""

    def __init__(self, http: str, loop: str):
        self.port = free_port()
        self.popen = subprocess.Popen(
            [*pin(0), sys.executable, "-m", "uvicorn", "benchmarks._asgi_hello:app",
             "--http", http, "--loop", loop, "--port", str(self.port),
             "--no-access-log", "--log-level", "warning"],
            cwd=REPO,
        )  # fmt: skip
        wait_port(self.port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


def hello(rounds: int, duration: float, connections: int) -> dict[str, float]:
    ours = start_server("async", command=[*pin(0), sys.executable, "-m", "sim.live"])
    servers = {
        "partyhost async (h11)": ours,
        "uvicorn h11+asyncio": Uvicorn("h11", "asyncio"),
        "uvicorn httptools+uvloop": Uvicorn("httptools", "uvloop"),
    }
    best: dict[str, float] = dict.fromkeys(servers, 0.0)
    try:
        for server in servers.values():  # warm up
            wrk(server.url + "/", connections, 1)
        for round_ in range(rounds):
            for name, server in servers.items():
                rate, notes = wrk(server.url + "/", connections, duration)
                best[name] = max(best[name], rate)
                print(f"  round {round_ + 1}: {name:26} {rate:9.0f} req/s {notes}", flush=True)
    finally:
        for server in servers.values():
            server.stop()
    return best


GUEST_MODELS = [  # (model, knobs, wrk connections, guests held at once)
    ("sync", {"workers": 4}, 8, 4),
    ("threaded", {"workers": 2, "threads": 4}, 16, 8),
    ("async", {}, 50, 50),
    ("hybrid", {"workers": 2}, 50, 50),
]


def guests(duration: float) -> list[tuple[str, float, float, str]]:
    results = []
    for model, knobs, connections, held in GUEST_MODELS:
        server = start_server(model, **knobs)
        try:
            wrk(server.url + "/guest?io=50", connections, 1)  # warm up
            rate, notes = wrk(server.url + "/guest?io=50", connections, duration)
        finally:
            server.stop()
        ceiling = held / IO_SECONDS
        label = f"{model} {' '.join(f'{k}={v}' for k, v in knobs.items())} c={connections}"
        results.append((label, rate, ceiling, notes))
        print(f"  {label:34} {rate:8.1f} / {ceiling:6.0f} req/s = {rate / ceiling:6.1%} {notes}",
              flush=True)  # fmt: skip
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="hello-world rounds")
    parser.add_argument("--connections", type=int, default=50, help="hello-world connections")
    parser.add_argument("--part", choices=["all", "hello", "guests"], default="all")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    ok = True
    if args.part in ("all", "hello"):
        print(f"hello world, wrk -t1 -c{args.connections} -d{args.duration:g}s, {cores()} cores")
        best = hello(args.rounds, args.duration, args.connections)
        ours = best["partyhost async (h11)"]
        h11_ratio = ours / best["uvicorn h11+asyncio"]
        fast_ratio = ours / best["uvicorn httptools+uvloop"]
        print(f"  best: {', '.join(f'{k} {v:.0f}' for k, v in best.items())}")
        print(f"  ratio to uvicorn h11+asyncio:      {h11_ratio:.2f}x (target >= 1.2x)")
        print(f"  ratio to uvicorn httptools+uvloop: {fast_ratio:.2f}x")
        ok = h11_ratio >= 1.2
    if args.part in ("all", "guests"):
        print(f"\n/guest?io=50 against the ceiling, wrk -t1 -d{args.duration:g}s")
        results = guests(args.duration)
        worst = min(rate / ceiling for _, rate, ceiling, _ in results)
        print(f"  worst: {worst:.1%} of the ceiling (target >= 90%)")
        ok = ok and worst >= 0.9
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

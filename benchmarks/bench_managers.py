"""The managers side by side: real Gunicorn/Uvicorn against the simulation, --timeout 1.

Each case sends N guests (Poisson, RATE/s, seeded) to a real server with
``--workers 2 --timeout 1`` and a handler that holds for 1.5 s, and counts what the
client saw (HTTP 200, HTTP 500, the connection closed without an answer); then runs the
same scenario in the simulation and prints the share killed in both.

Measured here (2 cores, loaded): gunicorn sync io=1500 at 1/s, 20 guests: 14 x 500,
6 x 200; UvicornWorker blocking=1500 at 0.5/s, 30 guests: 23 closed, 7 x 200;
gunicorn -k asgi blocking=1500 at 1/s, 12 guests: 7 closed, 5 x 200;
uvicorn --workers 2 blocking=8000: 200 after 8.0 s, no worker replaced.
One run of this script (15 guests at 1/s): gunicorn 47% not served, simulated 49%;
UvicornWorker 40%, simulated 83%; -k asgi 20%, simulated 41%; uvicorn --workers 0%, 0%.
Then a held loop's greeter still took guests from the line in the simulation, so a kill
took more guests with it. Now a held loop does not poll its listen socket (the guest
waits in line for a loop that does, as epoll would wake it), and the same 30 guests at
1/s, run three times against the real servers: UvicornWorker 93%, 67% not served,
-k asgi 57%; simulated over 20 seeds: hybrid 63-77% (median 70%), asgi-worker 13-37%
(median 27%). The real runs spread as wide as the seeds do (one arrival sequence, the
arbiter's tours and the heartbeats falling differently each time); -k asgi still loses
more guests live than simulated.

Run: ``flock /tmp/partyhost-measure.lock python benchmarks/bench_managers.py [N] [RATE]``
(needs the ``real`` extra; about N / RATE + 10 s per case).
"""

from __future__ import annotations

import collections
import random
import socket
import sys
import threading
import time

from sim.live.real import missing, start_real
from sim.model import build_party
from sim.scenario import build_scenario
from sim.trace import Failed, Finished

CASES = (  # real server, model, the guest's phase (query and scenario)
    ("gunicorn", "sync", "io=1500", "io:1500"),
    ("gunicorn-uvicorn", "hybrid", "blocking=1500", "blocking:1500"),
    ("gunicorn-asgi", "asgi-worker", "blocking=1500", "blocking:1500"),
    ("uvicorn-workers", "supervised", "blocking=1500", "blocking:1500"),
)


def ask(port: int, query: str) -> str:
    """One guest on its own connection: what the client saw."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
            sock.sendall(f"GET /guest?{query} HTTP/1.1\r\nHost: x\r\n"
                         "Connection: close\r\n\r\n".encode())
            data = b""
            while chunk := sock.recv(4096):
                data += chunk
    except ConnectionResetError:
        return "reset"
    except OSError as exc:
        return f"error {exc.__class__.__name__}"
    return data.split(b" ", 2)[1].decode() if data else "closed"


def real_case(name: str, model: str, query: str, guests: int, rate: float) -> collections.Counter:
    seen: collections.Counter = collections.Counter()
    rng = random.Random(1)
    with start_real(name, build_scenario({"model": model, "workers": 2, "timeout": 1})) as srv:
        threads = []
        for _ in range(guests):
            thread = threading.Thread(target=lambda: seen.update([ask(srv.port, query)]))
            thread.start()
            threads.append(thread)
            time.sleep(rng.expovariate(rate))
        for thread in threads:
            thread.join()
    return seen


def simulated(model: str, phases: str, guests: int, rate: float) -> tuple[int, int]:
    killed = served = 0
    for seed in range(1, 11):
        events: list = []
        scenario = build_scenario({"model": model, "workers": 2, "timeout": 1, "phases": phases,
                                   "rate": rate, "guests": guests, "seed": seed})
        build_party(scenario, events.append).run()
        killed += sum(isinstance(e, Failed) for e in events)
        served += sum(isinstance(e, Finished) for e in events)
    return killed, served


def main() -> None:
    guests = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    for name, model, query, phases in CASES:
        killed, served = simulated(model, phases, guests, rate)
        sim_share = killed / max(1, killed + served)
        why = missing(name)
        if why:
            print(f"{name:18} real: skipped ({why}); simulated {model}: {sim_share:.0%} killed")
            continue
        seen = real_case(name, model, query, guests, rate)
        real_share = 1 - seen.get("200", 0) / max(1, sum(seen.values()))
        print(f"{name:18} real: {dict(seen)} ({real_share:.0%} not served); "
              f"simulated {model} (10 seeds): {sim_share:.0%} killed")


if __name__ == "__main__":
    main()

"""Calibration: how much a real server spends on each request besides the guest's phases.

Theory of operation. The simulation charges a guest only its phases; a real server
also accepts the connection, parses the request, writes the answer and closes it. That
work holds the host (a sync worker, or the event loop) like a short cpu phase, so it
can be fed to the simulation as ``--overhead MS`` (``Scenario.overhead`` prepends a
cpu phase of that length). Measuring it, rather than guessing, keeps the model honest
instead of tuned.

The measurement: one host alone (one worker, one thread), guests with nothing to do
(``io:0``), sent by a closed loop of several users so the host never waits for the
next guest. Then the host is busy all the time with overhead only, and

    overhead = 1 / throughput   (seconds of host time per request).

Also reported: the mean latency of one user alone (one request at a time), the whole
round trip including the client's half, as a sanity check. The client shares the
machine with the server, so on a small machine the number is an upper bound: when
the load generator itself is the slower side, it says so (``client_bound``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.live.loadgen import Generator, HitResult, Target
from sim.scenario import build_scenario
from sim.servers import server as server_row

USERS = 8  # enough to keep one host always busy
EMPTY = "io:0"  # a guest with nothing to do


@dataclass(frozen=True)
class Calibration:
    server: str
    overhead_ms: float  # host time per request: the --overhead to use
    throughput: float  # empty guests/s one host served
    round_trip_ms: float  # one user alone: mean latency of an empty guest
    served: int
    client_bound: bool  # the generator, not the server, may have been the limit

    def to_dict(self) -> dict[str, object]:
        return {
            "server": self.server,
            "overhead_ms": self.overhead_ms,
            "throughput": self.throughput,
            "round_trip_ms": self.round_trip_ms,
            "served": self.served,
            "client_bound": self.client_bound,
        }


def _hit(port: int, model: str, users: int, duration: float, keep_alive: bool) -> HitResult:
    scenario = build_scenario({"model": model, "users": users, "phases": EMPTY,
                               "duration": duration, "warmup": min(0.5, duration / 5)})
    return Generator(Target("127.0.0.1", port), scenario, keep_alive=keep_alive).run()


def calibrate(server: str, *, duration: float = 3.0, keep_alive: bool = False) -> Calibration:
    """Measure ``server`` (a model, or a real server's name) with one host.

    ``keep_alive`` should match how the live run will connect (default: a connection
    per guest, as ``partyhost live`` does).
    """
    from sim.live import start_server
    from sim.live.real import REAL_SERVERS, model_of, start_real

    model = model_of(server) if server in REAL_SERVERS else server
    one = {key: 1 for key in ("workers", "threads") if server_row(model).has(key)}
    if server in REAL_SERVERS:
        running = start_real(server, build_scenario({"model": model, **one}))
    else:
        running = start_server(model, graceful_timeout=1.0, **one)
    try:
        alone = _hit(running.port, model, 1, min(1.0, duration / 3), keep_alive)
        busy = _hit(running.port, model, USERS, duration, keep_alive)
    finally:
        running.stop()
    throughput = busy.summary.throughput
    overhead = 1000.0 / throughput if throughput > 0 else 0.0
    round_trip = alone.summary.latency_ms["mean"]
    # If the generator cannot send faster than one user alone is answered, the
    # "saturated" number measures the client: it says so instead of blaming the server.
    client_bound = overhead >= 0.9 * round_trip
    return Calibration(server, round(overhead, 3), round(throughput, 1), round(round_trip, 3),
                       busy.summary.served, client_bound)

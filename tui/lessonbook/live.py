"""Live runs for lessons: the real minimal server on 127.0.0.1, hit by the real load generator.

Theory of operation. A ``scenario NAME live`` block describes the same party as a
simulated one; here its server knobs start ``sim.live``'s server on a free loopback
port (``start_server``), its guests are sent by ``sim.live.loadgen.hit`` on their
scheduled instants, and the server is stopped by its pid whatever happens. The
generator's summary has the very shape of ``simulate``'s, so the same names
(``real.p99``, ``real.throughput``) work in claims. Counts that only the server sees
(workers killed, loop stalls) are not measured from the client and read as 0.

Imported only when a live run is asked for (``lessons check --live`` or the player),
so checking lessons in CI never starts a server.
"""

from __future__ import annotations

from sim.scenario import Scenario
from tui.lessonbook.values import EventCounts, run_values


def run_live(scenario: Scenario) -> dict[str, float]:
    from sim.live.loadgen import hit
    from sim.live.process import start_for

    with start_for(scenario) as server:
        result = hit(server.url, scenario)
    return run_values(scenario, result.summary, EventCounts())

"""Live runs for lessons: the real minimal server on 127.0.0.1, hit by the real load generator.

Theory of operation. A ``scenario NAME live`` block describes the same party as a
simulated one; here its server knobs start ``sim.live``'s server on a free loopback
port (``start_for``), its guests are sent by ``sim.live.loadgen.hit`` on their
scheduled instants, and the server is stopped by its pid whatever happens. The
generator's summary has the very shape of ``simulate``'s, so the same names
(``real.p99``, ``real.throughput``) work in claims.

What the client cannot see is not a number here but undefined (NaN), so a claim or a
placeholder naming it on a live run is an error (``a value is not defined for this
run``) instead of a claim that holds because it reads 0: workers killed and the guests
lost with them (the manager's business), how long a loop stood still, and, for a server
whose hosts are event loops, ``utilization`` (a loop is in use while a phase holds it,
which the client never sees; for a host that stays with its guest, the server's
``X-Started-At`` and the answer bound it, so it is kept). A 503 the client does see:
``failed_503`` is counted from the answers.

Imported only when a live run is asked for (``lessons check --live`` or the player),
so checking lessons in CI never starts a server.
"""

from __future__ import annotations

import math

from sim.metrics import Summary
from sim.scenario import Scenario
from sim.trace import REASON_LIMIT
from tui.lessonbook.values import EventCounts, run_values

# Results only the server knows: undefined for a live run.
NOT_SEEN_LIVE = ("killed", "failed_timeout", "blocked_max_ms")


def run_live(scenario: Scenario) -> dict[str, float]:
    from sim.live.loadgen import hit
    from sim.live.process import start_for

    with start_for(scenario) as server:
        result = hit(server.url, scenario)
    return live_values(scenario, result.summary)


def live_values(scenario: Scenario, summary: Summary) -> dict[str, float]:
    """The numbers of a live run: what the client measured, the rest undefined."""
    values = run_values(scenario, summary, EventCounts())
    values["failed_503"] = float(summary.failed_by.get(REASON_LIMIT, 0))
    for name in NOT_SEEN_LIVE:
        values[name] = math.nan
    if scenario.structure.juggles:
        values["utilization"] = math.nan
    return values

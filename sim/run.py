"""Run a scenario headless: the party, the metrics, the summary.

This is what the CLI, the lessons' checks and the tests call.
"""

from __future__ import annotations

from sim.metrics import Summary, metrics_for
from sim.model import build_party
from sim.scenario import Scenario
from sim.trace import Sink, tee


def simulate(scenario: Scenario, sink: Sink | None = None) -> Summary:
    """Simulate the whole party; ``sink`` also hears every event, if given."""
    metrics = metrics_for(scenario)
    build_party(scenario, tee(metrics, sink) if sink else metrics).run()
    return metrics.summary(scenario.to_dict())

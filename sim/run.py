"""Run a scenario headless: the party, the metrics, the summary.

This is what the CLI, the lessons' checks and the tests call. ``metrics_for`` picks
the warmup the scenario asks for (by default: leave out the first 10% of the guests,
or of the duration).
"""

from __future__ import annotations

from sim.metrics import Metrics, Summary
from sim.model import build_party
from sim.scenario import Scenario
from sim.trace import Sink, tee


def metrics_for(scenario: Scenario) -> Metrics:
    if scenario.warmup is not None:
        return Metrics(warmup=scenario.warmup)
    if scenario.guests is not None:
        return Metrics(warmup_guests=scenario.guests // 10)
    return Metrics(warmup=0.1 * (scenario.duration or 0.0))


def simulate(scenario: Scenario, sink: Sink | None = None) -> Summary:
    """Simulate the whole party; ``sink`` also hears every event, if given."""
    metrics = metrics_for(scenario)
    build_party(scenario, tee(metrics, sink) if sink else metrics).run()
    return metrics.summary(scenario.to_dict())

"""The four concurrency models, simulated with SimPy.

``build_party(scenario, sink)`` returns the model's ``Party``, opened: its
environment is ready to ``run`` to the end, or to be stepped a slice at a time.
"""

from __future__ import annotations

import simpy

from sim.model.base import Party
from sim.model.event_loop import EventLoopParty
from sim.model.hybrid import HybridParty
from sim.model.sync import SyncParty
from sim.model.threaded import ThreadedParty
from sim.scenario import Scenario
from sim.trace import Sink

PARTIES: dict[str, type[Party]] = {
    "sync": SyncParty,
    "threaded": ThreadedParty,
    "async": EventLoopParty,
    "hybrid": HybridParty,
}


def build_party(scenario: Scenario, sink: Sink, env: simpy.Environment | None = None) -> Party:
    """The party for ``scenario.model``, doors open, telling ``sink`` everything."""
    return PARTIES[scenario.model](scenario, sink, env).open()


__all__ = ["PARTIES", "Party", "build_party"]

"""The concurrency models, simulated with SimPy: one module per server of ``sim.servers``.

``build_party(scenario, sink)`` returns the party of the scenario's server row (its
``party`` names the class), opened: its environment is ready to ``run`` to the end, or
to be stepped a slice at a time.
"""

from __future__ import annotations

import simpy

from sim.model.base import Party
from sim.scenario import Scenario
from sim.servers import load, server
from sim.trace import Sink


def party_class(model: str) -> type[Party]:
    """The SimPy party the server table names for ``model``."""
    return load(server(model).party)


def build_party(scenario: Scenario, sink: Sink, env: simpy.Environment | None = None) -> Party:
    """The party for ``scenario.model``, doors open, telling ``sink`` everything."""
    return party_class(scenario.model)(scenario, sink, env).open()


__all__ = ["Party", "build_party", "party_class"]

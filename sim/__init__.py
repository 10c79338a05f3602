"""partyhost's engine: the party as a library, with no user interface in it.

``sim.workload`` (the guests), ``sim.scenario`` (the one configuration object),
``sim.trace`` (the event vocabulary), ``sim.model`` (SimPy models), ``sim.live``
(real servers), ``sim.metrics`` (trace -> numbers) and ``sim.theory`` (closed forms).
"""

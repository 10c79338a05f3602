"""``partyhost profile``: measure a real WSGI or ASGI app's endpoints, for the simulator.

Theory of operation. The app is imported in this process (``app.load_app``), and the
requests of a requests file or an access log (``replay``) are handed to it one at a time
by a small instrumented server (``measure``): no sockets, no HTTP parsing, the app's
callable is called with an environ or an ASGI scope, as gunicorn's or uvicorn's workers
would. Each request is split into the simulator's phases: ``cpu`` (the CPU the request
cost), ``io`` (time it waited and let others run) and, for ASGI, ``blocking`` (time it held
the event loop without using the CPU: ``time.sleep`` or a sync driver inside ``async
def``). ``fit`` turns each endpoint's samples into distributions and ``output`` writes
the profile file (a scenario TOML that ``partyhost plan`` and ``verify`` read too) and the
``--json`` object; ``run`` joins them.

What the measurement simplifies (each module says more):
- One request at a time, in-process: no network, no HTTP parsing, no other requests
  competing for the GIL or the cores. The simulator adds the competition; the server's
  own cost per request is what ``partyhost calibrate`` measures (``--overhead``).
- The phases are totals: a handler that computes, queries, computes again is written as
  one cpu phase then one wait; the simulated order is cpu, io, blocking.
- The app's database is whatever it opens: the examples use SQLite in a local file, where
  a "query" is mostly CPU in this process, not a wait on a network database.
"""

from __future__ import annotations


class ProfileError(ValueError):
    """A profile that cannot be made (bad app, requests file or log): one line, why."""

"""Uvicorn's own processes: ``uvicorn --workers N app:app``, W loops under its supervisor.

The story. The same house as ``hybrid``: W processes, each an event loop, sharing one
line at the door. What differs is the manager. Uvicorn's supervisor (read in uvicorn
0.54, ``supervisors/multiprocess.py``) wakes every 0.5 s, handles HUP (replace every
worker, each new one ready before the old one goes), TTIN and TTOU (one worker more or
less), restarts a worker that has exited, and pings each worker through a pipe,
killing one that does not answer within ``--timeout-worker-healthcheck`` (5 s by
default). But the answer comes from a thread of the worker (``always_pong``), not
from its event loop: a loop held by a blocking call (which releases the GIL) or by
Python computation (which hands the GIL over every 5 ms) still answers. Measured
here: ``uvicorn --workers 2`` with an 8 s ``time.sleep`` in ``async def`` answered 200
after 8.0 s, and a 7 s computation after 18 s on a loaded machine; no worker was
replaced. Only a process that holds the GIL in C for longer than the ping timeout, or
is stopped, or deadlocked, misses the ping, and none of partyhost's phases does that.

So the difference that shows in numbers: a loop held past ``--timeout`` is killed by
Gunicorn's arbiter (``hybrid``: every guest inside it fails) and never here (every
guest is served, late). ``--timeout`` does nothing, as for a lone ``uvicorn``.

Simplifications: see ``event_loop``. No worker here ever exits on its own, so the
restart on exit never fires; HUP/TTIN/TTOU are operator actions, not modelled. Uvicorn
keeps idle connections 5 s (``--timeout-keep-alive``) where UvicornWorker under
Gunicorn takes Gunicorn's 2 s; each guest here is one connection, so it does not show.
"""

from __future__ import annotations

from sim.model.event_loop import EventLoopParty


class SupervisedParty(EventLoopParty):
    """W event loops, one per process, restarted by uvicorn's supervisor only on exit."""

    managed = False  # the supervisor's ping is answered by a thread: no heartbeat kill

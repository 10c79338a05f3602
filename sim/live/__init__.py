"""Live parties: minimal real servers, one per concurrency model, on loopback.

Theory of operation. The simulation (``sim.model``) claims to model real servers;
these are real servers, small enough to read, faithful enough to check it against.
They never import ``sim.model``: the two meet only in ``sim.workload`` (the guest's
phase script) and ``sim.trace`` (the events both report in).

Reading order, one idea per module:

- ``http``: h11 and the guards around it; no I/O, shared by every server.
- ``handler``: what a guest asks (``/guest?cpu=2&io=50``) and the two interpreters
  of its phases, blocking and asyncio.
- ``report``: trace events as JSON lines to an observer, or nothing at all.
- ``blocking`` then ``sync``: a worker process serving one guest at a time.
- ``arbiter``: the pre-fork master that watches heartbeats and replaces workers.
- ``threaded``: a doorman thread and T host threads per process.
- ``async_server``: one event loop; ``hybrid``: one per forked process.
- ``threadpool``: that event loop handing each guest to one of T threads
  (Starlette's ``def`` endpoints).
- ``serve``: binding and choosing; ``process``: a server in a child process.

``start_server(model, **knobs)`` is the way in for code that needs a server (the load
generator, the terminal app, tests).
"""

from sim.live.config import ConfigError, ServerConfig
from sim.live.process import ServerError, ServerProcess, start_server

__all__ = ["ConfigError", "ServerConfig", "ServerError", "ServerProcess", "start_server"]

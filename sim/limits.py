"""Hard limits on what one command or one request may ask of this machine.

Theory of operation. partyhost runs on a learner's laptop, sometimes on a shared
machine, and its live servers answer anyone who can reach them. A typo (``--workers
100000``) or a hostile query (``/guest?phases=blocking:599999,...`` 253 times) must
become one clear refusal, not a machine that forks until it cannot, or a host pinned for
days. Each limit is a named constant here, so the CLI, the scenario, the live config and
the servers quote the same number; each is far above anything a lesson needs.

- ``MAX_WORKERS = 64``: worker processes. Gunicorn suggests 2-4 per core; 64 covers a
  16-core machine at that rate, and at 20-30 MB each it is already 1-2 GB of memory.
- ``MAX_THREADS = 256``: threads per process. Gunicorn's gthread guide suggests 2-4
  per core as well; 256 leaves room for an io-heavy demo (a thread waiting on io costs
  little) while 64 x 256 is still a number of threads a kernel will give.
- ``MAX_BACKLOG = 65535``: the listen backlog. The kernel silently caps it at
  ``net.core.somaxconn`` anyway (4096 by default since Linux 5.4); beyond an int,
  ``listen`` itself fails.
- ``MAX_GRACEFUL_TIMEOUT = 600.0`` s: how long a stop may wait for guests in flight.
  A longer (or infinite) grace would make Ctrl-C unable to stop a server; one request
  may not be longer than this anyway (``MAX_REQUEST_SECONDS``).
- ``MAX_HEADER_TIMEOUT = 600.0`` s: how long a live server waits for a request to
  arrive once its connection is in hand.
- ``MAX_REQUEST_SECONDS = 600.0`` s: the phases of one request, all together (the
  total, not each phase), ten minutes. It lives in ``sim.workload``, which reads the
  phase scripts, and is repeated here for the servers.
"""

from __future__ import annotations

MAX_WORKERS = 64
MAX_THREADS = 256
MAX_BACKLOG = 65535
MAX_GRACEFUL_TIMEOUT = 600.0  # s
MAX_HEADER_TIMEOUT = 600.0  # s
MAX_REQUEST_SECONDS = 600.0  # s of phases in one request, all phases together

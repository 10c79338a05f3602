"""The server table: every server partyhost knows, one row each.

Theory of operation. A server model is declared here once, as a ``Server`` row: its
name, the real command it stands for, its knobs (which of ``KNOBS`` it has, with its
own defaults), its ``Structure`` (processes, threads, an event loop or not, a pool of
threads behind the loop, a GIL, a manager, how it accepts), which closed forms of
``sim.theory`` describe it, and by dotted name the SimPy party (``sim.model``), the
live server (``sim.live``) and the real servers (``sim.live.real``) that stand for it.

Everything that varies by server reads the row: ``sim.scenario`` checks knobs with it,
the CLI builds its flags and ``--help`` from it, ``sim.theory`` picks formulas from
the structure, ``sim.live.config`` and ``serve`` start what it names, and the app
draws hosts from the structure, never from the name. Adding a server is one row here,
one SimPy module, one live module, and tests. This module imports neither
``sim.model`` nor ``sim.live`` (they never import each other either): it names them,
and ``load`` imports what a row names only when it is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.limits import MAX_THREADS, MAX_WORKER_CONNECTIONS, MAX_WORKERS


class UnknownServer(ValueError):
    """A model name that is not in the table; the message lists the ones that are."""


@dataclass(frozen=True)
class Knob:
    """A server knob: the scenario key, its flag, unit, words, and bounds."""

    key: str
    unit: str
    party: str  # what a learner reads ("hosts (processes)")
    help: str  # the flag's help, without the default (each server has its own)
    minimum: int = 1
    maximum: int | None = None
    otherwise: int | None = None  # the value of a server without it: 1 for a count of
    # hosts (one process, one thread), None for a limit (no limit)

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")


KNOBS: dict[str, Knob] = {
    knob.key: knob
    for knob in (
        Knob("workers", "processes", "hosts (processes)",
             "worker processes, like gunicorn -w", maximum=MAX_WORKERS, otherwise=1),
        Knob("threads", "threads per process", "hosts per process",
             "threads per process (gunicorn --threads), or the thread pool's tokens",
             maximum=MAX_THREADS, otherwise=1),
        Knob("limit_concurrency", "guests", "max guests juggled",
             "answer 503 once N connections are open, the newcomer's own included (so N-1 "
             "in flight), like uvicorn --limit-concurrency"),
        Knob("worker_connections", "connections", "guests let in per host",
             "a worker with N connections open stops accepting (the rest wait in the line), "
             "like gunicorn --worker-connections", maximum=MAX_WORKER_CONNECTIONS),
    )
}  # fmt: skip


@dataclass(frozen=True)
class Structure:
    """What a server is made of: all a picture, a formula or a check needs to know.

    ``processes`` and ``threads`` are a knob's key (its value counts them) or a fixed
    number. ``event_loop``: each process runs an event loop that accepts and parses.
    ``pool``: the loop hands each handler to a bounded pool of threads (Starlette's
    ``def`` endpoints); without a pool, the loop runs handlers itself and juggles its
    guests. ``gil``: the threads of one process share one GIL. ``manager``: who
    restarts workers: ``"arbiter"`` (Gunicorn's: also kills one whose heartbeat is
    older than ``--timeout``), ``"supervisor"`` (uvicorn's: restarts one that exits; its
    ping is answered by a thread, so a held loop is never killed), or None. ``accept``:
    how guests get from the line to the hosts, in words; servers whose ``processes`` is
    the ``workers`` knob also take ``--reuse-port`` (``REUSE_PORT``).
    """

    processes: str | int = 1
    threads: str | int = 1
    event_loop: bool = False
    pool: bool = False
    gil: bool = False
    manager: str | None = None
    accept: str = "one shared listen socket: every worker takes from the same line"

    @property
    def juggles(self) -> bool:
        """Are the hosts event loops that juggle many guests at once?"""
        return self.event_loop and not self.pool

    @property
    def takes_reuse_port(self) -> bool:
        """Can each worker process bind a socket of its own (``--reuse-port``)? Gunicorn's
        workers can; uvicorn's supervisor binds one socket for all; one process has one."""
        return self.processes == "workers" and self.manager != "supervisor"

    @property
    def threaded(self) -> bool:
        """Does a process hold several hosts (threads) that share it?"""
        return self.threads != 1


@dataclass(frozen=True)
class Server:
    """One row of the table: a server model, as a real deployment would run it."""

    name: str
    command: str  # the real thing, with {workers}, {threads}... filled in from knobs
    summary: str  # one line, party words and the real ones
    knobs: Mapping[str, int | None]  # the knobs it has -> its default
    structure: Structure
    theory: frozenset[str]  # which closed forms can describe it (see sim.theory)
    party: str  # "module:Class" of its SimPy party
    live: str  # "module:function" of its minimal live server
    real: tuple[str, ...] = ()  # names in sim.live.real.REAL_SERVERS that deploy it
    absent: Mapping[str, str] = field(default_factory=dict)  # knob -> why it has none
    example: Mapping[str, int] = field(default_factory=dict)  # knobs worth showing it with

    def has(self, knob: str) -> bool:
        return knob in self.knobs

    def default(self, knob: str) -> int | None:
        """This server's default for ``knob`` (1 for a count it does not have, None for
        a limit it does not have)."""
        if knob in self.knobs:
            return self.knobs[knob]
        return KNOBS[knob].otherwise

    def real_command(self, **knobs: Any) -> str:
        values = {k: self.default(k) for k in KNOBS}
        values.update({k: v for k, v in knobs.items() if v is not None})
        return self.command.format(**values)

    def why_not(self, knob: str) -> str:
        """The one-line reason this server refuses ``knob``."""
        if knob in self.absent:
            return self.absent[knob]
        having = [s.name for s in SERVERS.values() if s.has(knob)]
        return (f"{self.name} ({self.real_command().split('  #')[0]}) has no such knob; "
                f"{KNOBS[knob].help}: only {', '.join(having)}")


# How every multi-process server accepts with --reuse-port (scenario ``reuse_port``).
REUSE_PORT = ("--reuse-port: a listen socket (a line) per worker process; the kernel hashes "
              "each connection's addresses and ports to one of them (a resent SYN hashes the "
              "same), and a full one drops the SYN even if another is empty")
LOOP_ACCEPT = ("one shared listen socket: the loop that wakes first accepts everything "
               "waiting (asyncio accepts up to 100 per wake), so a burst can land on one loop")

# The closed forms of sim.theory, by what they assume of the hosts.
HOSTS_ARE_SERVERS = "hosts-are-servers"  # M/M/c, M/G/1: a host holds a guest throughout
LOOP_IS_SERVER = "loop-is-server"  # one loop, its held phases the service (M/G/1)
IO_NEVER_WAITS = "io-never-waits"  # awaited io under a loop: M/G/inf

LOOP_THEORY = frozenset({LOOP_IS_SERVER, IO_NEVER_WAITS})

SERVERS: dict[str, Server] = {
    s.name: s
    for s in (
        Server(
            "sync", "gunicorn -w {workers} app:app",
            "W processes, each a host that stays with one guest until they leave",
            {"workers": 1},
            Structure(processes="workers", manager="arbiter"),
            frozenset({HOSTS_ARE_SERVERS}),
            party="sim.model.sync:SyncParty", live="sim.live.sync:sync_worker",
            real=("gunicorn",), example={"workers": 4},
        ),
        Server(
            "threaded", "gunicorn -w {workers} --threads {threads} app:app",
            "W processes of T threads: T hosts per process sharing one GIL",
            {"workers": 1, "threads": 4},
            Structure(processes="workers", threads="threads", gil=True, manager="arbiter"),
            frozenset({HOSTS_ARE_SERVERS}),
            party="sim.model.threaded:ThreadedParty", live="sim.live.threaded:threaded_worker",
            real=("gunicorn-gthread",), example={"workers": 2, "threads": 4},
        ),
        Server(
            "async", "uvicorn app:app",
            "one process, one event loop juggling every guest",
            {"limit_concurrency": None},
            Structure(event_loop=True),
            LOOP_THEORY,
            party="sim.model.event_loop:EventLoopParty",
            live="sim.live.async_server:run_async_server",
            real=("uvicorn",),
            absent={"workers": "async is one event loop in one process (uvicorn app:app); "
                               "for several, use --model hybrid"},
        ),
        Server(
            "hybrid", "gunicorn -w {workers} -k uvicorn_worker.UvicornWorker app:app",
            "W processes, each an event loop, watched by Gunicorn's arbiter",
            {"workers": 1, "limit_concurrency": None},
            Structure(processes="workers", event_loop=True, manager="arbiter",
                      accept=LOOP_ACCEPT),
            LOOP_THEORY,
            party="sim.model.hybrid:HybridParty", live="sim.live.hybrid:hybrid_worker",
            real=("gunicorn-uvicorn",), example={"workers": 2},
        ),
        # Two more managers of the same house (a loop per process): they differ in what
        # kills a held loop. UvicornWorker (hybrid) beats once a second only after
        # timeout/2; Gunicorn's own asgi worker beats every second and runs SIGABRT on
        # its loop; uvicorn's supervisor pings a thread, so a held loop is never killed.
        Server(
            "asgi-worker", "gunicorn -w {workers} -k asgi app:app",
            "W processes, each Gunicorn's own event loop, watched by Gunicorn's arbiter",
            {"workers": 1},
            Structure(processes="workers", event_loop=True, manager="arbiter",
                      accept=LOOP_ACCEPT),
            LOOP_THEORY,
            party="sim.model.hybrid:AsgiParty", live="sim.live.hybrid:hybrid_worker",
            real=("gunicorn-asgi",),
            absent={"limit_concurrency": "gunicorn -k asgi has no --limit-concurrency "
                                         "(a uvicorn flag): use --model supervised"},
            example={"workers": 2},
        ),
        Server(
            "supervised", "uvicorn --workers {workers} app:app",
            "W processes, each an event loop, restarted by uvicorn's supervisor only if one "
            "exits: a held loop is never killed",
            {"workers": 1, "limit_concurrency": None},
            Structure(processes="workers", event_loop=True, manager="supervisor",
                      accept=LOOP_ACCEPT + "; uvicorn --workers has no --reuse-port (its "
                                           "supervisor binds the one socket)"),
            LOOP_THEORY,
            party="sim.model.supervised:SupervisedParty", live="sim.live.hybrid:hybrid_worker",
            real=("uvicorn-workers",), example={"workers": 2},
        ),
        Server(
            "threadpool", "uvicorn app:app  # FastAPI/Starlette def endpoints, {threads} tokens",
            "one event loop that hands each guest's handler to a pool of T threads, one GIL",
            {"threads": 40, "limit_concurrency": None},
            Structure(threads="threads", event_loop=True, pool=True, gil=True,
                      accept="the event loop accepts at once; guests wait inside for a thread"),
            frozenset({HOSTS_ARE_SERVERS}),
            party="sim.model.threadpool:ThreadPoolParty",
            live="sim.live.threadpool:run_threadpool_server",
            real=("uvicorn-def",),
            absent={"workers": "threadpool is one uvicorn process; its --threads is the pool's "
                               "size (AnyIO's 40 tokens by default)"},
            example={"threads": 40},
        ),
        # A gevent hub is drawn as a loop: monkey-patched io yields to the hub as an
        # awaited io yields to a loop, and an unpatched C call (a driver that does not
        # cooperate) stalls the hub as a blocking call stalls a loop, so the phase
        # kinds are the same (io, blocking) and no new one is needed.
        Server(
            "gevent",
            "gunicorn -w {workers} -k gevent --worker-connections {worker_connections} app:app",
            "W processes, each a gevent hub with a greenlet per guest, up to N guests each",
            {"workers": 1, "worker_connections": 1000},
            Structure(processes="workers", event_loop=True, manager="arbiter",
                      accept="one shared listen socket; a worker holding --worker-connections "
                             "guests stops taking from the line until one leaves"),
            LOOP_THEORY,
            party="sim.model.gevent:GeventParty", live="sim.live.gevent_worker:gevent_worker",
            real=("gunicorn-gevent",),
            absent={"limit_concurrency": "gevent never answers 503: a worker with "
                                         "--worker-connections guests stops accepting, and "
                                         "the rest wait in the line"},
            example={"workers": 2},
        ),
    )
}  # fmt: skip

DEFAULT = "sync"
NAMES: tuple[str, ...] = tuple(SERVERS)


def server(name: str) -> Server:
    """The row for ``name``; an ``UnknownServer`` that lists the others if none."""
    try:
        return SERVERS[name]
    except (KeyError, TypeError):
        raise UnknownServer(f"unknown model {name!r}: choose {', '.join(NAMES)}") from None


def structure_of(name: str) -> Structure:
    """The structure a trace's ``ServerStarted`` names; a plain one for a name not here."""
    row = SERVERS.get(name)
    return row.structure if row is not None else Structure()


def model_of_real(real: str) -> str:
    """The model a real server (``gunicorn-gthread``) deploys."""
    for row in SERVERS.values():
        if real in row.real:
            return row.name
    raise UnknownServer(f"no model is deployed by {real!r}")


def knob_values(name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Of ``values``, the server knobs ``name`` has (the others dropped)."""
    row = server(name)
    return {k: v for k, v in values.items() if k in KNOBS and row.has(k)}


def contrast(name: str) -> tuple[str, dict[str, int]]:
    """A server to set beside ``name``: a loop beside hosts, hosts beside a loop."""
    if server(name).structure.juggles:
        return DEFAULT, dict(SERVERS[DEFAULT].example)
    loop = next(s for s in SERVERS.values() if s.structure.juggles and not s.has("workers"))
    return loop.name, dict(loop.example)


def load(target: str) -> Any:
    """Import what a row names (``module:attribute``), only when it is needed."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


# How a real command line deploys a row: partyhost verify reads a --config with these, and
# partyhost plan offers a WSGI app only the servers that run WSGI.
GUNICORN_CLASSES = {  # gunicorn -k CLASS -> the row it deploys
    "sync": "sync",
    "gthread": "threaded",
    "gevent": "gevent",
    "uvicorn_worker.UvicornWorker": "hybrid",
    "uvicorn.workers.UvicornWorker": "hybrid",  # the old, deprecated path
}
GUNICORN_SYNC, GUNICORN_GTHREAD = "sync", "gthread"  # -k sync with --threads > 1 is gthread
UVICORN_ALONE, UVICORN_WORKERS = "async", "supervised"  # uvicorn, uvicorn --workers N > 1
WSGI_SERVERS = ("sync", "threaded", "gevent")  # the rows that run a WSGI app
DEPLOY_NEEDS = {  # the modules a real deployment of each row imports
    "sync": ("gunicorn",), "threaded": ("gunicorn",), "gevent": ("gunicorn", "gevent"),
    "hybrid": ("gunicorn", "uvicorn", "uvicorn_worker"), "async": ("uvicorn",),
    "supervised": ("uvicorn",),
}

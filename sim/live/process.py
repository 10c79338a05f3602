"""A live server in a child process: start it, learn its port, stop it by its pid.

Theory of operation. ``start_server("sync", workers=4)`` runs
``python -m sim.live sync --workers 4 --port 0 ...`` as a child in its own session (so
a Ctrl-C meant for the caller's terminal is not also delivered to the server behind
its back), reads the child's stdout until the banner line says which port the kernel
picked, and returns a ``ServerProcess``. That happens only once every worker is ready.
A daemon thread keeps reading the child's output afterwards (kept in ``output``), so a
chatty server can never block on a full pipe.

``stop()`` sends SIGTERM to the server's pid (the master, or the lone event loop),
which stops its own workers gracefully; if the server has not exited after its grace
period and a margin, it is killed with SIGKILL. Its workers die with it: they asked the
kernel for that (see ``arbiter``). Use it as a context manager, or call ``stop()`` in a
``finally``: a test or a load generator must never leave a server behind.

Example::

    with start_server("async", limit_concurrency=10) as server:
        urllib.request.urlopen(server.url + "/guest?io=50")
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sim.live.config import ConfigError, ServerConfig, check
from sim.live.serve import OWNER_ENV, READY_PREFIX
from sim.scenario import Scenario
from sim.servers import UnknownServer, server

URL_RE = re.compile(r"http://(\[[^\]]+\]|[^\s/:]+):(\d+)")
REPO = Path(__file__).resolve().parents[2]  # where ``sim`` can be imported from


class ServerError(RuntimeError):
    """The server did not start (its own words are in the message)."""


class ServerProcess:
    """A running live server: ``url``, ``port``, ``pid``; ``stop()`` ends it."""

    def __init__(self, config: ServerConfig, command: list[str] | None = None):
        self.config = config
        self.command = command or [sys.executable, "-m", "sim.live"]
        self.popen: subprocess.Popen[str] | None = None
        self.port = 0
        self.output: collections.deque[str] = collections.deque(maxlen=200)

    @property
    def pid(self) -> int:
        assert self.popen is not None, "not started"
        return self.popen.pid

    @property
    def url(self) -> str:
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"http://{host}:{self.port}"

    def start(self, ready_timeout: float = 20.0) -> ServerProcess:
        """Start the child and wait until it announces its port; returns self."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        env[OWNER_ENV] = str(os.getpid())  # the server stops itself if we die unannounced
        self.popen = subprocess.Popen(
            [*self.command, *self.config.to_argv()],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            start_new_session=True,
        )
        found = threading.Event()
        threading.Thread(target=self._read_output, args=(found,), daemon=True).start()
        if not found.wait(ready_timeout) or not self.port:
            self.stop()
            said = "\n".join(self.output) or "(nothing)"
            raise ServerError(f"server did not start within {ready_timeout:g} s; it said:\n{said}")
        return self

    def _read_output(self, found: threading.Event) -> None:
        assert self.popen is not None and self.popen.stdout is not None
        for line in self.popen.stdout:
            self.output.append(line.rstrip("\n"))
            if not found.is_set() and line.startswith(READY_PREFIX):
                match = URL_RE.search(line)
                if match:
                    self.port = int(match.group(2))
                found.set()
        found.set()  # the child exited: stop waiting

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the server's pid (the master), if it still runs."""
        if self.running():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM, wait for the grace period (plus a margin), then SIGKILL. Exit code."""
        if self.popen is None:
            return None
        if timeout is None:
            timeout = self.config.graceful_timeout + 3.0
        self.signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            return self.popen.wait(5.0)
        finally:
            if self.popen.stdout is not None:
                deadline = time.monotonic() + 1.0
                while self.popen.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.01)

    def __enter__(self) -> ServerProcess:
        if self.popen is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(model: str, *, ready_timeout: float = 20.0, command: list[str] | None = None,
                 **knobs: object) -> ServerProcess:  # fmt: skip
    """Start a live ``model`` server on loopback, on a free port, and wait until ready.

    ``knobs`` are ``ServerConfig`` fields (``workers``, ``threads``, ``timeout``,
    ``graceful_timeout``, ``limit_concurrency``, ``worker_connections``, ``report``,
    ``backlog``, ``host``, ``port``); ``port`` defaults to 0 (any free port), ``threads``
    and ``worker_connections`` to the model's own. ``command`` replaces
    ``python -m sim.live`` (for example ``[sys.executable, "-m", "tui", "serve"]``).
    """
    knobs.setdefault("port", 0)
    try:
        knobs.setdefault("threads", server(model).default("threads"))
        knobs.setdefault("worker_connections", server(model).default("worker_connections"))
    except UnknownServer as exc:
        raise ConfigError(str(exc)) from None
    config = check(ServerConfig(model=model, **knobs))  # type: ignore[arg-type]
    return ServerProcess(config, command).start(ready_timeout)


def start_for(scenario: Scenario, **extra: object) -> ServerProcess:
    """The minimal server that stands for ``scenario``: its model and server knobs, its
    line and its manager's patience; ``extra`` sets the rest (``report``, ...)."""
    knobs: dict[str, object] = {"backlog": scenario.backlog, "timeout": scenario.timeout,
                                **scenario.server_knobs()}
    if scenario.db_pool is not None:  # the kitchen: the same pool and database limit
        knobs.update(db_pool=scenario.db_pool, db_timeout=scenario.db_timeout)
    if scenario.db_max is not None:
        knobs["db_max"] = scenario.db_max
    if scenario.reuse_port:
        knobs["reuse_port"] = True
    return start_server(scenario.model, **{**knobs, **extra})


# --- placement: the server and the load generator on cores of their own ---------------


@dataclass(frozen=True)
class Placement:
    """Which cores the server's processes and the load generator's process run on.

    Issue 13 measured the generator at 0.15-0.2 of a core: on a 2-core machine the
    server the simulation is given 2 cores for really has about 1.8. With 3 cores or
    more, ``plan_placement`` gives the generator one core of its own and the server the
    rest (``os.sched_setaffinity``), and the simulation is told the server's count.
    With 2 cores, pinning the server to one would halve what is being measured, so
    nothing is pinned and the output says the generator shares the cores.
    """

    server: tuple[int, ...]  # cores the server's processes may run on
    generator: tuple[int, ...]  # cores the load generator's process may run on
    pinned: bool  # False: both may run anywhere (too few cores, or not Linux)
    available: int  # cores this process was allowed at the start

    @property
    def server_cores(self) -> int:
        return len(self.server)

    def describe(self) -> str:
        """One line for a learner: what was placed where, in the party's words."""
        if self.pinned:
            return (f"server pinned to {_cores(self.server)}, load generator to "
                    f"{_cores(self.generator)} of {self.available}: the server really had "
                    f"{self.server_cores} core{'s' if self.server_cores != 1 else ''}")
        return (f"not pinned: only {self.available} core{'s' if self.available != 1 else ''}, "
                "shared by the server and the load generator (pinning the server to fewer "
                "would change what is measured)")

    def to_dict(self) -> dict[str, object]:
        return {"pinned": self.pinned, "server_cores": list(self.server),
                "generator_cores": list(self.generator), "available": self.available}


def _cores(cores: tuple[int, ...]) -> str:
    return ("core " if len(cores) == 1 else "cores ") + ",".join(map(str, cores))


def allowed_cores() -> tuple[int, ...]:
    """The cores this process may run on (all of them, if the OS cannot say)."""
    try:
        return tuple(sorted(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return tuple(range(os.cpu_count() or 1))


MIN_TO_PIN = 3  # cores: one for the generator still leaves the server two


def plan_placement(want: int | None = None, cores: tuple[int, ...] | None = None) -> Placement:
    """The generator on the last allowed core, the server on the others (``want`` of
    them at most, when the learner asked for that many), when there are at least
    ``MIN_TO_PIN``; otherwise nobody is pinned."""
    cores = allowed_cores() if cores is None else cores
    if len(cores) < MIN_TO_PIN or not hasattr(os, "sched_setaffinity"):
        return Placement(cores, cores, False, len(cores))
    server_cores = cores[:-1][:want] if want else cores[:-1]
    return Placement(server_cores, cores[-1:], True, len(cores))


@contextlib.contextmanager
def spawning_on(cores: tuple[int, ...] | None) -> Iterator[None]:
    """Children started in this block run on ``cores`` (and so do their own children).

    Only the calling thread's mask changes (Linux's ``sched_setaffinity(0)`` is per
    thread), and a forked child inherits its parent thread's; restored afterwards.
    """
    if not cores or not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


@contextlib.contextmanager
def running_on(cores: tuple[int, ...] | None) -> Iterator[None]:
    """Every thread of this process on ``cores`` in this block (new threads inherit);
    each thread's own mask back afterwards."""
    if not cores or not hasattr(os, "sched_setaffinity"):
        yield
        return
    before: dict[int, set[int]] = {}
    for tid in _threads():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            before[tid] = os.sched_getaffinity(tid)
            os.sched_setaffinity(tid, cores)
    try:
        yield
    finally:
        for tid, mask in before.items():
            with contextlib.suppress(OSError):
                os.sched_setaffinity(tid, mask)
        with contextlib.suppress(OSError):  # threads born in the block: as this one was
            mine = before.get(threading.get_native_id(), os.sched_getaffinity(0))
            for tid in set(_threads()) - set(before):
                os.sched_setaffinity(tid, mine)


def _threads() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc/self/task")]
    except OSError:
        return [threading.get_native_id()]

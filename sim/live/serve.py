"""Opening the party: bind the socket, say where, and hand over to the model.

Theory of operation. Whatever the model, the listen socket is bound here, once, in the
first process, with the configured backlog: the kernel's line outside the door. Then
either this process becomes the whole server (a server with no manager in the table,
as a lone uvicorn) or it becomes the arbiter that forks the workers, each running the
worker loop the table names (Gunicorn's shape). ``announce``
is called once every worker is ready, with the real port (``--port 0`` picks one),
which is how ``partyhost serve`` prints its URL and how ``ServerProcess`` knows the
server can take guests.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from sim.live.arbiter import Arbiter
from sim.live.config import ConfigError, ServerConfig
from sim.live.handler import open_kitchen
from sim.live.report import open_reporter
from sim.servers import load, server
from sim.trace import ServerStarted

READY_PREFIX = "partyhost serve:"  # the first line once ready; ServerProcess looks for it
OWNER_ENV = "PARTYHOST_OWNER_PID"  # set by ServerProcess: stop when that process is gone
OWNER_POLL = 0.5  # seconds between looks at the owner


def stop_with_owner() -> None:
    """If a program started us (the app, a test), stop gracefully when it dies.

    A program killed outright (SIGKILL, a closed terminal) cannot stop its server, and
    the server would live on as an orphan. So the server watches: once its parent is no
    longer the owner that started it, it sends itself SIGTERM, the same graceful stop
    Ctrl-C gives. A thread only sleeps and looks, so forked workers do not inherit it.
    """
    owner = os.environ.get(OWNER_ENV)
    if not owner or not owner.isdigit():
        return

    def watch() -> None:
        while os.getppid() == int(owner):
            time.sleep(OWNER_POLL)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="owner-watch", daemon=True).start()


def usable_cores() -> int:
    """The cores this process may run on (``partyhost live`` may have pinned it to
    fewer than the machine has: ``sim.live.process.Placement``)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def listen_on(host: str, port: int, backlog: int, *, reuse_port: bool = False,
              listen: bool = True) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening; raises ``OSError`` (a
    ``socket.gaierror`` for a name that does not resolve).

    ``reuse_port``: SO_REUSEPORT, so each worker can bind a socket of its own to the
    same port (``--reuse-port``); the kernel hashes each connection to one of the
    listening ones. ``listen=False``: bound only, which holds the port (and learns it,
    for port 0) but takes no connections: the master's socket then, as Gunicorn's
    arbiter binds none with ``--reuse-port``.
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        if listen:
            sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def bind(config: ServerConfig) -> socket.socket:
    """The listen socket, bound and listening; a mistake is a ``ConfigError``."""
    try:
        return listen_on(config.host, config.port, config.backlog,
                         reuse_port=config.reuse_port, listen=not config.reuse_port)
    except socket.gaierror as exc:
        raise ConfigError(f"--host {config.host}: {exc.strerror}") from None
    except OSError as exc:
        raise ConfigError(f"cannot listen on {config.host}:{config.port}: {exc.strerror}") from None


def describe_hosts(config: ServerConfig) -> str:
    """"2 workers x 4 threads", "1 event loop", "an event loop + 40 threads", by structure."""
    shape = server(config.model).structure

    def count(n: int, word: str) -> str:
        return f"{n} {word}{'s' if n != 1 else ''}"

    if shape.pool:
        return f"an event loop + a pool of {count(config.threads, 'thread')}"
    if shape.juggles:
        return count(config.workers, "event loop")
    if shape.threaded:
        return f"{count(config.workers, 'worker')} x {count(config.threads, 'thread')}"
    return count(config.workers, "worker")


def banner(config: ServerConfig) -> list[str]:
    """What a learner sees: where, what it stands for, how to try it, how to stop it."""
    host = f"[{config.host}]" if ":" in config.host else config.host
    url = f"http://{host}:{config.port}"
    hosts = describe_hosts(config)
    lines = [
        f"{READY_PREFIX} {config.model} ({hosts}) on {url}/  (pid {os.getpid()})",
        f"  the real thing: {config.real_command()}",
        f"  try:            curl '{url}/guest?cpu=2&io=50'",
    ]
    if config.loopback:
        lines.append(f"  bound to {config.host} only: nobody else on the network can reach it")
    else:
        lines.append(f"  bound to {config.host} as asked: other machines may reach it")
    if config.report:
        lines.append(f"  reporting trace events to {config.report}")
    lines.append(
        f"  slow clients: a request must arrive within {config.header_timeout:g} s, or "
        "the connection is closed (gunicorn's sync worker has no such guard)"
    )
    lines.append("  Ctrl-C (or SIGTERM) stops it, finishing guests in flight first")
    return lines


def serve(config: ServerConfig, announce: Callable[[ServerConfig], None] | None = None) -> int:
    """Run the server in this process until SIGTERM/SIGINT; the exit code."""
    stop_with_owner()
    open_kitchen(config.db_pool, config.db_timeout, config.db_max)  # before any fork
    row = server(config.model)
    listener = bind(config)
    config = replace(config, port=listener.getsockname()[1])
    report = open_reporter(config.report)
    if report is not None:
        if row.structure.manager:
            report.direct()  # the master writes its few events itself; workers batch
        report(ServerStarted(time.monotonic(), config.model, config.workers, config.threads,
                             usable_cores(), config.hosts, config.backlog))  # fmt: skip
        report.flush()  # first on the wire, before any worker's; and a bad PATH shows now
        if report.broken:  # said once, at the start, rather than silently never
            listener.close()
            raise ConfigError(f"--report {config.report}: cannot write there")

    def ready() -> None:
        if announce is not None:
            announce(config)

    try:
        run = load(row.live)  # a worker's loop under the arbiter, or the whole server
        if row.structure.manager:
            return Arbiter(config, listener, run, report, ready).run()
        return run(config, listener, report, on_ready=ready)
    finally:
        listener.close()
        if report:
            report.close()

"""The knobs of a live server, read once from flags and checked in one place.

Theory of operation. ``partyhost serve`` (in ``tui``) and ``python -m sim.live`` (what
``ServerProcess`` starts) accept the very same flags, so both call
``add_server_arguments`` and ``config_from_args`` here. A mistake becomes one
``ConfigError`` with a message a learner can act on; the CLI prints it as one line.
The result is a frozen ``ServerConfig`` that every server module reads and nobody
changes, and that can turn itself back into flags (``to_argv``) for a child process.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
from dataclasses import dataclass, replace

from sim import limits
from sim.servers import DEFAULT, KNOBS, NAMES, UnknownServer, server

DEFAULT_HOST = "127.0.0.1"  # loopback: nobody else on the network can reach the party
DEFAULT_PORT = 8000
DEFAULT_BACKLOG = 2048  # gunicorn's --backlog
DEFAULT_TIMEOUT = 30.0  # s, gunicorn's --timeout
DEFAULT_GRACE = 5.0  # s to finish in-flight guests after SIGTERM (gunicorn's is 30)
DEFAULT_HEADER_TIMEOUT = 10.0  # s for a request to arrive once its connection is taken
DEFAULT_DB_TIMEOUT = 30.0  # s a guest waits for a pool connection: SQLAlchemy's pool_timeout


class ConfigError(ValueError):
    """A server knob that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class ServerConfig:
    """One live server: its model, its hosts, where it listens and who listens to it."""

    model: str = DEFAULT
    workers: int = 1
    threads: int = 1
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    backlog: int = DEFAULT_BACKLOG
    timeout: float = DEFAULT_TIMEOUT
    graceful_timeout: float = DEFAULT_GRACE
    limit_concurrency: int | None = None
    worker_connections: int | None = None  # gevent: connections a worker holds at most
    report: str | None = None
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    db_pool: int | None = None  # database connections per process (sim.live.handler.Kitchen)
    db_timeout: float = DEFAULT_DB_TIMEOUT  # s a guest waits for one, then a 500
    db_max: int | None = None  # the database's max_connections, all processes together
    reuse_port: bool = False  # each worker binds its own SO_REUSEPORT socket (a line each)

    @property
    def hosts(self) -> int:
        """How many worker ids the trace will use (processes x threads, or loops)."""
        return self.workers * self.threads

    @property
    def managed(self) -> bool:
        """Is there an arbiter (a Gunicorn master)? A lone uvicorn has none."""
        return server(self.model).structure.manager is not None

    @property
    def loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost"

    def real_command(self, port: int | None = None) -> str:
        """The Gunicorn or Uvicorn command line this server stands in for."""
        port = self.port if port is None else port
        base = server(self.model).real_command(workers=self.workers, threads=self.threads,
                                               worker_connections=self.worker_connections)
        base, _, note = base.partition("  # ")
        name, rest = base.split(" ", 1)
        if name == "uvicorn":
            extra = [f"--host {self.host}", f"--port {port}", "--no-access-log"]
            if self.backlog != DEFAULT_BACKLOG:
                extra.append(f"--backlog {self.backlog}")
            if self.limit_concurrency is not None:
                extra.append(f"--limit-concurrency {self.limit_concurrency}")
            return f"{base} {' '.join(extra)}" + (f"  # {note}" if note else "")
        flags = [f"--bind {self.host}:{port}"]
        if self.backlog != DEFAULT_BACKLOG:
            flags.append(f"--backlog {self.backlog}")
        if self.timeout != DEFAULT_TIMEOUT:
            flags.append(f"--timeout {self.timeout:g}")
        if self.graceful_timeout != 30:
            flags.append(f"--graceful-timeout {self.graceful_timeout:g}")
        if self.reuse_port:
            flags.append("--reuse-port")
        app = rest.rsplit(" ", 1)
        command = f"{name} {app[0]} {' '.join(flags)} {app[1]}"
        if self.limit_concurrency is not None:  # uvicorn's flag, passed through its worker
            command += f"  # plus limit_concurrency={self.limit_concurrency} in a worker subclass"
        return command

    def to_argv(self) -> list[str]:
        """These knobs as flags again, for a child ``python -m sim.live``."""
        argv = [
            self.model,
            "--workers", str(self.workers),
            "--host", self.host,
            "--port", str(self.port),
            "--backlog", str(self.backlog),
            "--timeout", f"{self.timeout:g}",
            "--graceful-timeout", f"{self.graceful_timeout:g}",
            "--header-timeout", f"{self.header_timeout:g}",
        ]  # fmt: skip
        if server(self.model).has("threads"):
            argv += ["--threads", str(self.threads)]
        if self.limit_concurrency is not None:
            argv += ["--limit-concurrency", str(self.limit_concurrency)]
        if self.worker_connections is not None:
            argv += ["--worker-connections", str(self.worker_connections)]
        if self.report:
            argv += ["--report", self.report]
        if self.db_pool is not None:
            argv += ["--db-pool", str(self.db_pool), "--db-timeout", f"{self.db_timeout!r}"]
        if self.db_max is not None:
            argv += ["--db-max", str(self.db_max)]
        if self.reuse_port:
            argv += ["--reuse-port"]
        return argv

    def replace(self, **changes: object) -> ServerConfig:
        return check(replace(self, **changes))  # type: ignore[arg-type]


def check(config: ServerConfig) -> ServerConfig:
    """Refuse combinations the real servers do not have, in the words of the real flags."""
    try:
        row = server(config.model)
    except UnknownServer as exc:
        raise ConfigError(str(exc)) from None
    for key, most in (("workers", limits.MAX_LIVE_WORKERS), ("threads", limits.MAX_LIVE_THREADS)):
        value = getattr(config, key)
        if value < 1:
            raise ConfigError(f"{KNOBS[key].flag} must be at least 1, got {value}")
        if value > most:
            raise ConfigError(f"{KNOBS[key].flag} at most {most} for a live server "
                              f"(each is a real {'process' if key == 'workers' else 'thread'}), "
                              f"got {value:,}")
        if not row.has(key) and value != 1:
            raise ConfigError(row.why_not(key))
    if not 0 <= config.port <= 65535:
        raise ConfigError(f"--port must be 0..65535 (0: any free port), got {config.port}")
    if config.backlog < 1:
        raise ConfigError(f"--backlog must be at least 1, got {config.backlog}")
    if config.backlog > limits.MAX_BACKLOG:
        raise ConfigError(
            f"--backlog: at most {limits.MAX_BACKLOG} (MAX_BACKLOG), got {config.backlog}; the "
            f"kernel caps it at net.core.somaxconn anyway (4096 by default)"
        )
    if not config.timeout > 0:
        raise ConfigError(f"--timeout must be > 0 seconds, got {config.timeout:g}")
    if not (math.isfinite(config.graceful_timeout)
            and 0 <= config.graceful_timeout <= limits.MAX_GRACEFUL_TIMEOUT):  # fmt: skip
        raise ConfigError(
            f"--graceful-timeout must be 0..{limits.MAX_GRACEFUL_TIMEOUT:g} seconds "
            f"(MAX_GRACEFUL_TIMEOUT: a stop must end), got {config.graceful_timeout:g}"
        )
    if not (math.isfinite(config.header_timeout)
            and 0 < config.header_timeout <= limits.MAX_HEADER_TIMEOUT):  # fmt: skip
        raise ConfigError(
            f"--header-timeout must be > 0 and at most {limits.MAX_HEADER_TIMEOUT:g} seconds "
            f"(MAX_HEADER_TIMEOUT), got {config.header_timeout:g}"
        )
    if config.limit_concurrency is not None:
        if not row.has("limit_concurrency"):
            raise ConfigError(row.why_not("limit_concurrency"))
        if config.limit_concurrency < 1:
            raise ConfigError(
                f"--limit-concurrency must be at least 1, got {config.limit_concurrency}"
            )
    if config.worker_connections is not None:
        if not row.has("worker_connections"):
            raise ConfigError(row.why_not("worker_connections"))
        if not 1 <= config.worker_connections <= limits.MAX_WORKER_CONNECTIONS:
            raise ConfigError(
                f"--worker-connections must be 1..{limits.MAX_WORKER_CONNECTIONS:,} "
                f"(MAX_WORKER_CONNECTIONS), got {config.worker_connections:,}"
            )
    if not config.host:
        raise ConfigError("--host must not be empty")
    if config.reuse_port and not row.structure.takes_reuse_port:
        raise ConfigError(f"--reuse-port: {row.name} has no socket per worker (one process, "
                          "or uvicorn's supervisor binding one socket for all)")
    for flag, value, most in (("--db-pool", config.db_pool, limits.MAX_DB_POOL),
                              ("--db-max", config.db_max, limits.MAX_LIVE_DB_MAX)):
        if value is not None and not 1 <= value <= most:
            raise ConfigError(f"{flag} must be 1..{most:,} for a live server, got {value:,}")
    if not (math.isfinite(config.db_timeout)
            and 0 < config.db_timeout <= limits.MAX_DB_TIMEOUT):  # fmt: skip
        raise ConfigError(f"--db-timeout must be > 0 and at most {limits.MAX_DB_TIMEOUT:g} "
                          f"seconds (MAX_DB_TIMEOUT), got {config.db_timeout:g}")
    return config


# --- flags ---------------------------------------------------------------------------


FLAGS = [  # (flag, short, metavar, help)
    ("--workers", "-w", "W", "worker processes, like gunicorn -w (default 1)"),
    ("--threads", None, "T", "threads per process, or the thread pool's size (default: "
     + ", ".join(f"{s.name} {s.default('threads')}" for s in map(server, NAMES)
                 if s.has("threads")) + ")"),
    ("--host", None, "ADDR", f"address to bind (default {DEFAULT_HOST}: this machine only)"),
    ("--port", "-p", "P", f"port (default {DEFAULT_PORT}; 0 picks a free one)"),
    ("--backlog", None, "B", f"listen backlog: the line outside (default {DEFAULT_BACKLOG})"),
    ("--timeout", None, "S", "seconds before the arbiter kills a silent worker (default 30)"),
    ("--graceful-timeout", None, "S",
     f"seconds to finish guests after SIGTERM or Ctrl-C (default {DEFAULT_GRACE:g})"),
    ("--limit-concurrency", None, "N",
     "answer 503 once N connections are open (N-1 in flight), as uvicorn ("
     + ", ".join(n for n in NAMES if server(n).has("limit_concurrency")) + ")"),
    ("--worker-connections", None, "N", "a worker with N connections open stops accepting, "
     "as gunicorn's gevent worker (" + ", ".join(
         f"{n} {server(n).default('worker_connections')}" for n in NAMES
         if server(n).has("worker_connections")) + ")"),
    ("--report", None, "PATH", "send trace events as JSON lines to a Unix socket or a file"),
    ("--header-timeout", None, "S",
     f"seconds for a request to arrive once its connection is taken, else the connection "
     f"is closed (default {DEFAULT_HEADER_TIMEOUT:g}; a guard against slow clients that "
     f"gunicorn's sync worker lacks)"),
    ("--db-pool", None, "N", "database connections per process for db phases, like "
     "SQLAlchemy's pool_size (default: no pool, a connection per query)"),
    ("--db-timeout", None, "S", "seconds a guest waits for a pool connection, then a 500 "
     f"(default {DEFAULT_DB_TIMEOUT:g}, SQLAlchemy's pool_timeout)"),
    ("--db-max", None, "N", "the database's max_connections across all processes: beyond it "
     "a connection is refused at once, a 500 (default: no limit)"),
    ("--reuse-port", None, None, "each worker binds its own SO_REUSEPORT socket, as gunicorn "
     "--reuse-port: the kernel hashes each connection to one worker's line"),
]  # fmt: skip


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``partyhost serve``; values stay strings until ``config_from_args``."""
    parser.add_argument("model", metavar="MODEL", help=" | ".join(NAMES))
    for flag, short, metavar, text in FLAGS:
        names = [flag, short] if short else [flag]
        if metavar is None:  # a switch
            parser.add_argument(*names, action="store_true", help=text)
            continue
        parser.add_argument(*names, metavar=metavar, help=text)


def _number(raw: str | None, flag: str, kind: type, default: float | int | None):
    if raw is None:
        return default
    try:
        return kind(str(raw).strip())
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{flag}: expected {what}, got {raw!r}") from None


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    """Read and check the flags added by ``add_server_arguments``."""
    model = str(args.model).strip().lower()
    try:
        threads_default = server(model).default("threads")
    except UnknownServer as exc:
        raise ConfigError(str(exc)) from None
    grace = _number(args.graceful_timeout, "--graceful-timeout", float, DEFAULT_GRACE)
    connections = _number(args.worker_connections, "--worker-connections", int,
                          server(model).default("worker_connections"))
    return check(
        ServerConfig(
            model=model,
            workers=_number(args.workers, "--workers", int, 1),
            threads=_number(args.threads, "--threads", int, threads_default),
            host=(args.host or DEFAULT_HOST).strip(),
            port=_number(args.port, "--port", int, DEFAULT_PORT),
            backlog=_number(args.backlog, "--backlog", int, DEFAULT_BACKLOG),
            timeout=_number(args.timeout, "--timeout", float, DEFAULT_TIMEOUT),
            graceful_timeout=grace,
            limit_concurrency=_number(args.limit_concurrency, "--limit-concurrency", int, None),
            worker_connections=connections,
            report=args.report or None,
            header_timeout=_number(args.header_timeout, "--header-timeout", float,
                                   DEFAULT_HEADER_TIMEOUT),
            db_pool=_number(getattr(args, "db_pool", None), "--db-pool", int, None),
            db_timeout=_number(getattr(args, "db_timeout", None), "--db-timeout", float,
                               DEFAULT_DB_TIMEOUT),
            db_max=_number(getattr(args, "db_max", None), "--db-max", int, None),
            reuse_port=bool(getattr(args, "reuse_port", False)),
        )
    )  # fmt: skip

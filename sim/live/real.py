"""Real Gunicorn and Uvicorn on loopback, serving the guest apps (``sim.live.apps``).

Theory of operation. Each name in ``REAL_SERVERS`` is a real deployment of one of the
models: ``gunicorn`` (sync workers), ``gunicorn-gthread`` (``-k gthread --threads``),
``uvicorn`` (one event loop), ``gunicorn-uvicorn`` (``-k uvicorn_worker.UvicornWorker``;
the old ``uvicorn.workers`` path is deprecated), ``gunicorn-gevent`` (``-k gevent
--worker-connections N``: the WSGI app, monkey-patched so its ``io`` sleep yields to
the hub, while its ``blocking`` sleep stays unpatched), ``gunicorn-asgi`` (Gunicorn's own
asyncio worker, ``-k asgi``, in Gunicorn releases that have it), ``uvicorn-workers``
(``uvicorn --workers N``: uvicorn's own supervisor, no Gunicorn) and ``uvicorn-def``
(Starlette, FastAPI's core, with a plain ``def`` route: AnyIO's thread pool, its
tokens passed in ``PARTYHOST_THREADS``). ``command(name, ...)``
builds the exact command line from a scenario's knobs; ``start_real`` runs it as a
child in its own session on a free loopback port, waits until ``/health`` answers,
and returns a ``RealServer`` whose ``stop()`` sends SIGTERM to that pid (Gunicorn's
arbiter then stops its workers) and, after a grace period, SIGKILL to the process
group the child leads, so no worker outlives a run.

An owner that dies without calling ``stop()`` (SIGKILL, a closed terminal's SIGHUP)
must not leave the real server running under PID 1. On Linux the child asks the kernel,
between fork and exec, for SIGTERM when its parent dies (``PR_SET_PDEATHSIG``, which
survives the exec): Gunicorn's arbiter then stops its workers within its graceful
timeout, and Uvicorn shuts down within ``--timeout-graceful-shutdown``. Beware: the
kernel sends it when the *thread* that forked the child exits, not the process, so
``start_real`` must be called from a thread that lives as long as the server (every
caller here starts and stops the server in one call on one thread). Elsewhere there is
no such guard, only ``stop()``.

These servers are an optional extra: without them, ``RealServerMissing`` says to
``pip install -e '.[real]'`` and the CLI exits 2.
"""

from __future__ import annotations

import collections
import ctypes
import importlib.util
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sim.live.apps import THREADS_ENV
from sim.scenario import Scenario
from sim.servers import knob_values, model_of_real, server

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
READY_TIMEOUT = 20.0  # s for the server to answer /health
STOP_GRACE = 5.0  # s between SIGTERM and SIGKILL
GRACE = 2  # s real servers get to finish guests when stopped (their own graceful flags)
PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
INSTALL_HINT = "pip install -e '.[real]'"


@dataclass(frozen=True)
class RealKind:
    """One real server: the modules it needs (the table says which model it deploys)."""

    needs: tuple[str, ...]
    blurb: str


REAL_SERVERS: dict[str, RealKind] = {
    "gunicorn": RealKind(("gunicorn",), "Gunicorn, sync workers (WSGI)"),
    "gunicorn-gthread": RealKind(("gunicorn",), "Gunicorn, gthread workers (WSGI)"),
    "gunicorn-gevent": RealKind(("gunicorn", "gevent"),
                                "Gunicorn, gevent workers: a hub and a greenlet per connection "
                                "(WSGI, monkey-patched)"),
    "uvicorn": RealKind(("uvicorn",), "Uvicorn, one event loop (ASGI)"),
    "gunicorn-uvicorn": RealKind(("gunicorn", "uvicorn", "uvicorn_worker"),
                                 "Gunicorn with uvicorn_worker.UvicornWorker (ASGI)"),
    "gunicorn-asgi": RealKind(("gunicorn",), "Gunicorn's own asyncio worker (ASGI)"),
    "uvicorn-workers": RealKind(("uvicorn",), "Uvicorn, N processes under its own "
                                              "supervisor (ASGI)"),
    "uvicorn-def": RealKind(("uvicorn", "starlette"),
                            "Uvicorn serving a Starlette app with a plain def route "
                            "(AnyIO thread pool)"),
}


class RealServerMissing(RuntimeError):
    """The ``real`` extra is not installed (or this Gunicorn lacks the worker)."""


class RealServerError(RuntimeError):
    """The real server did not come up; its own words are in the message."""


def missing(name: str) -> str | None:
    """Why ``name`` cannot run here, or None if it can."""
    kind = REAL_SERVERS[name]
    absent = [mod for mod in kind.needs if importlib.util.find_spec(mod) is None]
    if absent:
        return f"{name} needs {', '.join(absent)}: {INSTALL_HINT}"
    if name == "gunicorn-asgi":
        from gunicorn.workers import SUPPORTED_WORKERS

        if "asgi" not in SUPPORTED_WORKERS:
            return "gunicorn-asgi needs a Gunicorn with its asyncio worker (-k asgi): " \
                   "pip install -U gunicorn"
    return None


def model_of(name: str) -> str:
    return model_of_real(name)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def command(name: str, scenario: Scenario, port: int) -> list[str]:
    """The exact command line for ``name`` with the scenario's knobs."""
    s = scenario
    py = [sys.executable, "-m"]
    if name == "uvicorn-def":  # the limiter's tokens come in by environment()
        argv = [*py, "uvicorn", "sim.live.apps:starlette_def_app", "--host", HOST,
                "--port", str(port), "--backlog", str(s.backlog), "--no-access-log",
                "--log-level", "warning", "--lifespan", "on"]
        if s.limit_concurrency:
            argv += ["--limit-concurrency", str(s.limit_concurrency)]
        return argv
    if name in ("uvicorn", "uvicorn-workers"):
        argv = [*py, "uvicorn", "sim.live.apps:asgi_app", "--host", HOST, "--port", str(port),
                "--backlog", str(s.backlog), "--no-access-log", "--log-level", "warning",
                "--lifespan", "off", "--timeout-graceful-shutdown", str(GRACE)]
        if name == "uvicorn-workers":  # the supervisor's ping timeout stays its default 5 s
            if s.reuse_port:
                raise RealServerError("uvicorn --workers has no --reuse-port: its supervisor "
                                      "binds one socket that every worker shares; use "
                                      "gunicorn-uvicorn --reuse-port")
            argv += ["--workers", str(s.workers)]
        if s.limit_concurrency:
            argv += ["--limit-concurrency", str(s.limit_concurrency)]
        return argv
    argv = [*py, "gunicorn", "--bind", f"{HOST}:{port}", "--workers", str(s.workers),
            "--backlog", str(s.backlog), "--timeout", f"{s.timeout:g}",
            "--graceful-timeout", str(GRACE), "--log-level", "warning"]
    if s.reuse_port:  # each worker binds its own SO_REUSEPORT socket after fork
        argv += ["--reuse-port"]
    if name == "gunicorn-gthread":
        argv += ["--worker-class", "gthread", "--threads", str(s.threads)]
    elif name == "gunicorn-uvicorn":
        argv += ["--worker-class", "uvicorn_worker.UvicornWorker"]
    elif name == "gunicorn-asgi":
        argv += ["--worker-class", "asgi"]
    elif name == "gunicorn-gevent":
        argv += ["--worker-class", "gevent", "--worker-connections",
                 str(s.worker_connections
                     or server(model_of_real(name)).default("worker_connections"))]
    wsgi = ("gunicorn", "gunicorn-gthread", "gunicorn-gevent")
    app = "sim.live.apps:wsgi_app" if name in wsgi else "sim.live.apps:asgi_app"
    return [*argv, app]


def environment(name: str, scenario: Scenario) -> dict[str, str]:
    """Knobs a real server reads from its environment: uvicorn-def's limiter tokens."""
    if name == "uvicorn-def":
        return {THREADS_ENV: str(scenario.threads)}
    return {}


def shell_line(argv: list[str]) -> str:
    """The command as a person would type it (``python -m`` spelled as the interpreter)."""
    return shlex.join(argv)


class RealServer:
    """A running real server: ``port``, ``pid``, ``command_line``; ``stop()`` ends it."""

    def __init__(self, name: str, argv: list[str], port: int, settle: float = 0.0,
                 env: dict[str, str] | None = None) -> None:  # fmt: skip
        self.name = name
        self.settle = settle
        self.argv = argv
        self.port = port
        self.env = env or {}
        self.command_line = " ".join([*(f"{k}={shlex.quote(v)}" for k, v in self.env.items()),
                                      shell_line(argv)])
        self.output: collections.deque[str] = collections.deque(maxlen=200)
        self.popen: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    # what a subclass may change: where the server runs, and what "ready" means
    root: str = str(REPO)

    def ready(self) -> bool:
        return _healthy(self.port)

    def not_ready(self) -> str:
        said = "\n".join(self.output) or "(nothing)"
        return f"{self.name} did not answer /health on port {self.port}; it said:\n{said}"

    def start(self, ready_timeout: float = READY_TIMEOUT) -> RealServer:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [self.root, env.get("PYTHONPATH")]))
        env.update(self.env)
        self.popen = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, text=True, env=env, start_new_session=True,
            cwd=self.root, preexec_fn=_die_with_owner(),
        )
        threading.Thread(target=self._read_output, daemon=True).start()
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                break
            if self.ready():
                time.sleep(self.settle)  # the other workers boot beside the first
                return self
            time.sleep(0.05)
        self.stop()
        raise RealServerError(self.not_ready())

    def _read_output(self) -> None:
        assert self.popen is not None and self.popen.stdout is not None
        for line in self.popen.stdout:
            self.output.append(line.rstrip("\n"))

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, grace: float = STOP_GRACE) -> int | None:
        """SIGTERM to the pid; if it lingers, SIGKILL to the group it leads."""
        if self.popen is None:
            return None
        if self.running():
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            code = self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            code = None
        try:  # any worker left behind is in the session (and group) the child leads
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if code is None:
            code = self.popen.wait(5.0)
        return code

    def __enter__(self) -> RealServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _die_with_owner() -> Callable[[], None] | None:
    """What the child runs between fork and exec: SIGTERM me when my parent dies.

    Linux only (``PR_SET_PDEATHSIG``), else None. The libc function is looked up here,
    in the parent, so the child only calls it. If the parent died before the call,
    nobody would ever send the signal, so the child checks and leaves at once.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    owner = os.getpid()

    def in_child() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != owner:
            os._exit(1)

    return in_child


def _healthy(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def start_real(name: str, scenario: Scenario, *, port: int = 0,
               ready_timeout: float = READY_TIMEOUT) -> RealServer:  # fmt: skip
    """Start real ``name`` for ``scenario`` on loopback; raises RealServerMissing."""
    if name not in REAL_SERVERS:
        raise RealServerError(f"unknown real server {name!r}: choose {', '.join(REAL_SERVERS)}")
    why = missing(name)
    if why:
        raise RealServerMissing(why)
    port = port or free_port()
    several = name.startswith("gunicorn") or name == "uvicorn-workers"
    settle = min(0.2 * scenario.workers, 1.0) if several else 0.0
    return RealServer(name, command(name, scenario, port), port, settle,
                      env=environment(name, scenario)).start(ready_timeout)


def serve_real(name: str, scenario: Scenario, port: int = 8000,
               announce=print) -> int:  # fmt: skip
    """``partyhost serve gunicorn ...``: run in the foreground until Ctrl-C or SIGTERM."""
    server = start_real(name, scenario, port=port)
    announce(f"partyhost serve: {REAL_SERVERS[name].blurb} on {server.url}/  (pid {server.pid})")
    announce(f"  command: {server.command_line}")
    announce(f"  try:     curl '{server.url}/guest?phases=cpu:2,io:50'")
    stop = threading.Event()
    stops = (signal.SIGTERM, signal.SIGHUP)  # SIGHUP: the terminal closed
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in stops}
    try:
        while server.running() and not stop.is_set():
            stop.wait(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        code = server.stop()
    return 0 if code in (0, -signal.SIGTERM, None) else code


OWN_FLAGS = {  # partyhost serve's flags that only partyhost's own servers have
    "--report": "real servers send no trace events; only partyhost's own servers do",
    "--header-timeout": "a guard of partyhost's own servers; gunicorn and uvicorn have none",
    "--graceful-timeout": f"real servers here stop with a {GRACE} s grace "
                          f"(gunicorn --graceful-timeout {GRACE})",
}


def _port(raw: object) -> int:
    """``--port`` for a real server: 0..65535, 0 for any free port, 8000 if not given."""
    if raw is None:
        return 8000
    try:
        port = int(str(raw).strip())
    except ValueError:
        raise ValueError(f"--port: expected a whole number, got {raw!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"--port must be 0..65535 (0: any free port), got {port}")
    return port


def _within_limits(values: dict[str, object]) -> None:
    """The limits of ``sim.limits`` for the knobs passed on to a real server."""
    from sim.limits import MAX_BACKLOG, MAX_LIVE_THREADS, MAX_LIVE_WORKERS

    for key, most, name in (("workers", MAX_LIVE_WORKERS, "MAX_LIVE_WORKERS"),
                            ("threads", MAX_LIVE_THREADS, "MAX_LIVE_THREADS"),
                            ("backlog", MAX_BACKLOG, "MAX_BACKLOG")):  # fmt: skip
        try:
            value = int(str(values.get(key, 0)).strip())
        except ValueError:
            continue  # build_scenario says what is wrong with it
        if value > most:
            raise ValueError(f"--{key}: at most {most} here ({name}), got {value}")


def serve_real_from_args(args: object) -> int:
    """``partyhost serve gunicorn|uvicorn|...`` with ``partyhost serve``'s own flags.

    Raises ``RealServerMissing`` (no extra), ``ValueError`` (a bad flag) or
    ``RealServerError``; the CLI turns each into one line and exit 2.
    """
    from sim.scenario import ScenarioError, build_scenario

    name = str(getattr(args, "model", "")).strip().lower()
    host = getattr(args, "host", None)
    if host and host not in (HOST, "localhost"):
        raise ValueError(f"--host: real servers here bind {HOST} only")
    for key, why in OWN_FLAGS.items():  # never silently ignored
        if getattr(args, key.removeprefix("--").replace("-", "_"), None) is not None:
            raise ValueError(f"{key}: {why}")
    model = model_of(name)
    given = {key: getattr(args, key, None)
             for key in ("workers", "threads", "backlog", "timeout", "limit_concurrency",
                         "worker_connections")}
    row = server(model)
    for key in ("workers", "threads", "limit_concurrency", "worker_connections"):  # never dropped
        if given[key] is None or row.has(key) or str(given[key]).strip() == "1":
            continue
        if key == "workers":
            raise ValueError(
                f"--workers: {name} here is one event loop in one process (uvicorn app:app); "
                "for several, serve gunicorn-uvicorn (gunicorn -k uvicorn_worker.UvicornWorker)"
            )
        raise ValueError(row.why_not(key))
    values = {"model": model, "backlog": given["backlog"], "timeout": given["timeout"],
              **knob_values(model, given)}
    if getattr(args, "reuse_port", False):  # build_scenario refuses it where there is none
        values["reuse_port"] = True
    try:
        _within_limits(values)
        scenario = build_scenario(values)
        port = _port(getattr(args, "port", None))
    except (ScenarioError, ValueError) as exc:
        raise ValueError(str(exc)) from None
    why = missing(name)
    if why:
        raise RealServerMissing(why)
    return serve_real(name, scenario, port=port)

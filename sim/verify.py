"""Verify a plan: the profiled app under the real server, beside its prediction.

Theory of operation. ``parse_config("gunicorn -w 6")`` reads a real command line (only
``gunicorn`` with ``-w``, ``-k sync|gthread|gevent|uvicorn_worker.UvicornWorker``,
``--threads``, ``--worker-connections``, and ``uvicorn`` with ``--workers``) into the
model and knobs of the server table that stand for it. ``verify`` then does what a
careful person would by hand: start that server for real on a free loopback port, in
the profile's root (as the app was profiled: ``cwd`` and ``PYTHONPATH``), wait until it
answers anything at all on ``/`` (the app need not have a ``/health``), send it the
profile's mix with the project's open-loop generator (``sim.live.loadgen``: the same
guests, arrival instants and kinds as a simulation with that seed; each guest sends
its endpoint's own ``METHOD PATH`` and body), stop the process group by its pid
(``sim.live.real.RealServer.stop``), and simulate the very same scenario
(``REPLICATIONS`` seeds, ``sim.plan``) for the prediction.

What it simplifies: the profile timed the app alone, so the real server's own cost
per request (parsing, the WSGI/ASGI layers, a gunicorn sync worker's new connection per
guest, and its threads' wait in the run queue for a core the generator has) is measured
by a quiet run first (``quiet_run``), as one cost for every kind of guest, and added to
the prediction's cpu with the wake-up below; and on a
2-core machine the load generator shares the cores with the server, and other processes
may take a share too: ``sim.live.neighbours`` counts it during the run, and a run where
they took a quarter of a core or more says so beside its numbers.

The wake-up. A server and a client that sleep between guests are woken by the kernel
for each, and on this virtual machine a request after a sleep is slower by a millisecond
or more that no queue holds (``sim.model.base``: ``/health`` under ``gunicorn -w 1`` takes
0.98 ms back to back and 2.47 ms after 50 ms of quiet). ``quiet_run`` measures it on the
real server before every run: the profile's mix sent quiet (``QUIET_RATE``), measured p50
less simulated. The prediction then simulates it as the scenario's ``wake``: each host
that slept before its guest pays its part of it, one that found a guest waiting pays
nothing. (Before 2026-11-30 it was a constant added to every predicted latency, which
overestimated a busy server's; and it was measured with http.client, one request quiet
against back to back, which read anything from 0 to 2.3 ms on the same server.)
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import shlex
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sim.limits import MAX_LIVE_THREADS, MAX_LIVE_WORKERS, MAX_VERIFY_SECONDS, MAX_WAKE_MS
from sim.live.neighbours import Neighbours, Share
from sim.live.real import (
    GRACE,
    HOST,
    RealServer,
    free_port,
)
from sim.plan import GUESTS, REPLICATIONS, Config, Profile, Runner, serial
from sim.scenario import Scenario
from sim.servers import (
    DEPLOY_NEEDS,
    GUNICORN_CLASSES,
    GUNICORN_GTHREAD,
    GUNICORN_SYNC,
    SERVERS,
    UVICORN_ALONE,
    UVICORN_WORKERS,
    WSGI_SERVERS,
)
from sim.side_by_side import Row
from sim.trace import CPU

MAX_VERIFY_GUESTS = 200_000  # the generator's own cap per run
DEFAULT_SECONDS = 10.0
DEFAULT_RATE = 10.0


class VerifyError(ValueError):
    """A --config or a run that cannot be verified: one line, exit 2."""


@dataclass(frozen=True)
class Deployment:
    """A real command line read: the program, the model it deploys and its knobs."""

    program: str  # "gunicorn" or "uvicorn"
    model: str
    knobs: dict[str, int] = field(default_factory=dict)
    worker_class: str | None = None  # gunicorn -k

    def argv(self, app: str, port: int) -> list[str]:
        """The exact command, on loopback, with the graceful stops ``sim.live.real`` uses."""
        py = [sys.executable, "-m"]
        if self.program == "uvicorn":
            argv = [*py, "uvicorn", app, "--host", HOST, "--port", str(port),
                    "--no-access-log", "--log-level", "warning",
                    "--timeout-graceful-shutdown", str(GRACE)]
            if "workers" in self.knobs:  # uvicorn --workers N: its supervisor
                argv += ["--workers", str(self.knobs["workers"])]
            return argv
        argv = [*py, "gunicorn", "--bind", f"{HOST}:{port}",
                "--workers", str(self.knobs.get("workers", 1)), "--timeout", "30",
                "--graceful-timeout", str(GRACE), "--log-level", "warning"]
        if "threads" in self.knobs:
            argv += ["--worker-class", GUNICORN_GTHREAD, "--threads", str(self.knobs["threads"])]
        elif self.worker_class not in (None, GUNICORN_SYNC):
            argv += ["--worker-class", self.worker_class]
            if "worker_connections" in self.knobs:
                argv += ["--worker-connections", str(self.knobs["worker_connections"])]
        return [*argv, app]


def _value(flag: str, tokens: list[str], i: int) -> tuple[str, int]:
    """The value of ``flag`` at ``tokens[i]`` (``-w 4``, ``-w4``, ``--workers=4``)."""
    token = tokens[i]
    if "=" in token and token.startswith("--"):
        return token.split("=", 1)[1], i + 1
    if not token.startswith("--") and len(token) > 2:
        return token[2:], i + 1
    if i + 1 >= len(tokens):
        raise VerifyError(f"--config: {flag} needs a value")
    return tokens[i + 1], i + 2


def _count(flag: str, text: str, most: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise VerifyError(f"--config: {flag} takes a whole number, got {text!r}") from None
    if not 1 <= value <= most:
        raise VerifyError(f"--config: {flag} must be 1..{most}, got {value}")
    return value


def parse_config(text: str, interface: str, app: str) -> Deployment:
    """Read ``gunicorn -w 6 [-k ...] [--threads T]`` or ``uvicorn [--workers N]``."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise VerifyError(f"--config: cannot read {text!r}: {exc}") from None
    if not tokens or tokens[0] not in ("gunicorn", "uvicorn"):
        program = tokens[0] if tokens else ""
        raise VerifyError(f"--config: {program!r} is not a server verify runs: give "
                          "gunicorn ... or uvicorn ...")
    program = tokens[0]
    options = {"gunicorn": {"-w": "workers", "--workers": "workers", "-k": "class",
                            "--worker-class": "class", "--threads": "threads",
                            "--worker-connections": "worker_connections"},
               "uvicorn": {"--workers": "workers"}}[program]
    given: dict[str, str] = {}
    i = 1
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("-"):
            if token not in (app, "app:app"):
                raise VerifyError(f"--config: {token!r}: the app comes from the profile "
                                  f"({app})")
            i += 1
            continue
        name = next((o for o in options if token == o or token.startswith(o + "=")
                     or (not o.startswith("--") and token.startswith(o))), None)
        if name is None:
            raise VerifyError(f"--config: {program} option {token.split('=')[0]!r} is not one "
                              f"verify sets; it takes {', '.join(options)}")
        given[options[name]], i = _value(name, tokens, i)
    knobs: dict[str, int] = {}
    if "workers" in given:
        knobs["workers"] = _count("--workers", given["workers"], MAX_LIVE_WORKERS)
    if program == "uvicorn":
        model = UVICORN_WORKERS if knobs.get("workers", 1) > 1 else UVICORN_ALONE
        if model == UVICORN_ALONE:
            knobs = {}
        worker_class = None
    else:
        worker_class = given.get("class", GUNICORN_SYNC)
        if worker_class not in GUNICORN_CLASSES:
            raise VerifyError(f"--config: -k {worker_class!r}: verify runs "
                              f"{', '.join(GUNICORN_CLASSES)}")
        model = GUNICORN_CLASSES[worker_class]
        knobs.setdefault("workers", 1)
        threads = _count("--threads", given["threads"], MAX_LIVE_THREADS) \
            if "threads" in given else 1
        if worker_class == GUNICORN_SYNC and threads > 1:  # gunicorn's own rule: sync
            worker_class = GUNICORN_GTHREAD  # with threads is gthread
            model = GUNICORN_CLASSES[GUNICORN_GTHREAD]
        if SERVERS[model].has("threads"):
            knobs["threads"] = threads
        elif "threads" in given:
            raise VerifyError(f"--config: --threads is for gthread workers, not -k {worker_class}")
        if SERVERS[model].has("worker_connections"):
            knobs["worker_connections"] = _count(
                "--worker-connections", given.get("worker_connections", "1000"), 1 << 20)
        elif "worker_connections" in given:
            raise VerifyError("--config: --worker-connections is for -k gevent here")
    wants = "wsgi" if model in WSGI_SERVERS else "asgi"
    if wants != interface:
        raise VerifyError(f"--config: {text.strip()} serves {wants.upper()} apps; this "
                          f"profile's app is {interface.upper()}")
    absent = [mod for mod in DEPLOY_NEEDS[model] if importlib.util.find_spec(mod) is None]
    if absent:
        raise VerifyError(f"--config: {text.strip()} needs {', '.join(absent)}: "
                          "pip install -e '.[real]'")
    return Deployment(program, model, knobs, worker_class)


# --- the server ---------------------------------------------------------------------


class AppServer(RealServer):
    """A real server running the profiled app: in the app's root, ready when it answers."""

    def __init__(self, name: str, argv: list[str], port: int, root: str,
                 settle: float = 0.0) -> None:
        super().__init__(name, argv, port, settle)
        self.root = root

    def ready(self) -> bool:
        return answers(self.port)  # the app need not have a /health

    def not_ready(self) -> str:
        said = "\n".join(self.output) or "(nothing)"
        return (f"{self.name} did not answer on port {self.port}: "
                f"{reason(list(self.output))}\n{said}")


def reason(output: list[str]) -> str:
    """The line of a server's output that says why it stopped: the last exception
    (``ModuleNotFoundError: No module named 'shop'``), else its last line."""
    for line in reversed(output):
        if re.match(r"^[A-Za-z_.]*(Error|Exception)\b.*:", line.strip()):
            return line.strip()
    return output[-1].strip() if output else "it said nothing"


def answers(port: int) -> bool:
    """Does anything answer HTTP on ``port`` (any status: the app may have no ``/``)?"""
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as sock:
            sock.settimeout(2.0)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return sock.recv(16).startswith(b"HTTP/1.")
    except OSError:
        return False


# --- the run ------------------------------------------------------------------------


@dataclass(frozen=True)
class Quiet:
    """What a quiet run of the real server told, all in ms a request: ``overhead_ms``
    goes on every guest's cpu, the server's time on a core and waiting for one
    (``cpu_ms + runq_ms``) beyond the profile's cpu (``profile_cpu_ms``, its --overhead
    in it), never below 0; ``wake_ms`` is the wake-up of a guest who finds it asleep."""

    overhead_ms: float = 0.0
    wake_ms: float = 0.0
    cpu_ms: float = 0.0
    runq_ms: float = 0.0
    profile_cpu_ms: float = 0.0


@dataclass
class VerifyRun:
    """A verify run: the deployment, its prediction and its measurement."""

    profile: Profile
    deployment: Deployment
    scenario: Scenario
    command: str
    predicted: Config
    measured: Any  # sim.live.loadgen.HitResult
    machine: Share | None = None  # what the rest of the machine used during the run
    quiet: Quiet = field(default_factory=Quiet)  # what the quiet run before told

    @property
    def wake_ms(self) -> float:
        """The measured wake-up, simulated as the scenario's ``wake``."""
        return self.quiet.wake_ms

    @property
    def overhead_ms(self) -> float:
        """What the quiet run added to every guest's cpu."""
        return self.quiet.overhead_ms

    def disturbed(self) -> str | None:
        """A sentence when other processes took a share of the cores during the run."""
        return self.machine.disturbed(self.scenario.cores) if self.machine else None

    def rows(self) -> list[Row]:
        p, m = self.predicted, self.measured.summary
        return [
            Row("throughput", "guests/s", None, round(self.scenario.rate or 0.0, 2),
                m.throughput),
            Row("latency mean", "ms", None, p.stat("latency_mean").mean, m.latency_ms["mean"]),
            Row("latency p50", "ms", None, p.stat("p50").mean, m.latency_ms["p50"]),
            Row("latency p99", "ms", None, p.stat("p99").mean, m.latency_ms["p99"]),
            Row("failed", "guests", None, 0, m.failed + m.turned_away),
        ]

    def to_dict(self) -> dict[str, Any]:
        return {"app": self.profile.app, "command": self.command,
                "model": self.deployment.model, "knobs": self.deployment.knobs,
                "rate": self.scenario.rate, "guests": self.scenario.guests,
                "predicted": self.predicted.to_dict(self.profile),
                "measured": self.measured.to_dict(), "wake_ms": self.wake_ms,
                "overhead_ms": self.overhead_ms, "quiet": dataclasses.asdict(self.quiet),
                "machine": self.machine.to_dict() if self.machine else None,
                "difference_pct": {row.name: row.difference for row in self.rows()}}


def scenario_for(profile: Profile, deployment: Deployment, rate: float, seconds: float,
                 cores: int) -> Scenario:
    """The live run's scenario: the profile's mix on the deployment, ``seconds`` long."""
    if not 0 < seconds <= MAX_VERIFY_SECONDS:
        raise VerifyError(f"--seconds: must be > 0 and at most {MAX_VERIFY_SECONDS:g}, "
                          f"got {seconds:g}")
    guests = max(int(round(rate * seconds)), 1)
    if guests > MAX_VERIFY_GUESTS:
        raise VerifyError(f"--rate x --seconds is {guests:,} guests; at most "
                          f"{MAX_VERIFY_GUESTS:,} in a verify run")
    return profile.scenario(model=deployment.model, rate=rate, cores=cores, guests=guests,
                            **deployment.knobs)


def predict(scenario: Scenario, runner: Runner = serial, guests: int | None = None) -> Config:
    """The simulated prediction: ``REPLICATIONS`` seeds, each at least ``guests`` long."""
    longer = scenario.replace(guests=max(scenario.guests or 0, guests or GUESTS))
    config = Config(scenario.model, {}, longer)
    config.samples = runner([longer.replace(seed=s) for s in range(1, REPLICATIONS + 1)])
    return config


QUIET_WARMUP = 20  # requests before: a fresh worker's first ones (imports, a connection,
# the database's pages) are slower than any that follow
QUIET_RATE = 20.0  # guests/s of the quiet run: 50 ms between guests on average
QUIET_GUESTS = 120  # 6 s: the mix's p50 over 120 guests, and the server's cpu over them


def quiet_run(port: int, group: int, scenario: Scenario,
              requests: list[tuple[str, str, bytes]], warm: tuple[str, str, bytes],
              guests: int = QUIET_GUESTS) -> Quiet:
    """The profile's own mix, sent by the same generator at ``QUIET_RATE`` (a server
    mostly asleep, a line mostly empty), tells what the model misses:

    - the server's cpu a request (its process group's, ``/proc``) beyond the profile's
      mean cpu a guest: the server's own cost on this app, which ``partyhost calibrate``
      measures on a trivial one (Flask shop, ``gunicorn -w 1``: 3.9 ms a request at
      20/s, 3.7 at 60/s, 3.2 at 120/s, against a profile of 1.7 + calibrate's 0.83);
    - and the time its threads waited in a run queue for a core (schedstat's second
      field) while the generator and the rest of the machine had it: 0.61-0.68 ms a
      request at 20/s and 60/s alike, 0.45 at 100/s (the same server). It is paid by
      every guest, asleep or not, so it is simulated as more of the server's own cpu:
      the cpu only a sleeping host paid before, as part of the wake-up, left the
      prediction 10-25% short on p50 at 60/s (p50 measured - simulated grew from 0 at
      20/s). With more than one worker, the workers that lose each accept race wait in
      the run queue too, while the guest does not (``gunicorn -w 2``, a tiny shop: 1.3-1.5
      ms a request, and the quiet p50 simulated 0.6-0.9 ms above the measured): that
      time on every guest is capped at what leaves the quiet p50 where it was measured.
      Simplified: where workers outnumber the cores it takes core time the simulation
      gives to no one else;
    - then, that cost given, the measured p50 less the p50 the simulation of the very
      same guests gives: the wake-up (``sim.model.base``), simulated per sleeping host.

    Why not the same request quiet against back to back with http.client (as before):
    a request after a sleep is slower in all of it, not by a constant (``/health``
    0.64-0.92 ms hot and 2.55-2.71 after 50 ms of quiet, ``/items?page=3`` 2.13 and
    4.92), and three runs of that read 1.25, 2.30 and 0.00 ms on the same server. And
    with the wake-up alone the real server fell behind its prediction as the rate grew
    (p50 measured - simulated: 2.0 ms at 10/s, 3.0 at 60/s, 3.9 at 80/s): its host
    time was longer than the model's. Simplified: the cost is taken as the same for
    every guest (the run cannot tell the endpoints apart), and the generator's own cost
    counts as a wake-up. ``requests`` are the kinds' own, in order; ``warm`` is the
    request the warm-up sends (the app's most frequent)."""
    import http.client

    from sim.live.loadgen import Generator, Target
    from sim.live.neighbours import group_times
    from sim.run import simulate

    method, path, body = warm
    for _ in range(QUIET_WARMUP):
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        try:
            conn.request(method, path, body=body or None)
            conn.getresponse().read()
        finally:
            conn.close()
    quiet = scenario.replace(rate=QUIET_RATE, guests=guests, wake=0.0, warmup=0.0)
    ran, waited = group_times(group)
    measured = Generator(Target(HOST, port, "/"), quiet, timeout=10.0,
                         requests=requests).run().summary
    after = group_times(group)
    served = max(measured.served, 1)
    cpu_ms, runq_ms = ((after[0] - ran) * 1000 / served, (after[1] - waited) * 1000 / served)
    if measured.served < guests // 2:
        return Quiet()  # a server that fails its guests is not asleep: the run will say so
    profile_cpu = quiet.workload.mean_ms(CPU)
    extra = max(0.0, cpu_ms + runq_ms - profile_cpu)
    costed = quiet.replace(overhead=quiet.overhead + extra)
    gap = measured.latency_ms["p50"] - simulate(costed).latency_ms["p50"]
    if gap < 0:  # more than the guests waited: the workers that lost the accept race
        extra = max(0.0, extra + gap)  # (no more than the quiet p50 leaves room for)
    return Quiet(extra, min(max(gap, 0.0), MAX_WAKE_MS), cpu_ms, runq_ms, profile_cpu)


def verify(profile: Profile, deployment: Deployment, scenario: Scenario, *,
           timeout: float = 10.0, on_start: Callable[[str], None] | None = None,
           runner: Runner = serial, predict_guests: int | None = None,
           calibrate: bool = True, quiet_guests: int = QUIET_GUESTS) -> VerifyRun:
    """Run the app for real under ``deployment`` with ``scenario``'s guests, and predict
    (``calibrate``: with what a quiet run first tells of the server, ``quiet_run``)."""
    from sim.live.loadgen import Generator, Target

    port = free_port()
    argv = deployment.argv(profile.app, port)
    several = deployment.knobs.get("workers", 1) > 1
    server = AppServer(deployment.program, argv, port, profile.root,
                       settle=min(0.2 * deployment.knobs.get("workers", 1), 1.0)
                       if several else 0.0)
    requests = [(e.method, e.path, e.body) for e in profile.endpoints]
    server.start()
    try:
        command = shlex.join(["gunicorn" if deployment.program == "gunicorn" else "uvicorn",
                              *argv[3:]])
        if on_start is not None:
            on_start(command)
        first = max(range(len(requests)), key=lambda i: profile.endpoints[i].share)
        quiet = quiet_run(port, server.pid, scenario, requests, requests[first],
                          quiet_guests) if calibrate else Quiet()
        gen = Generator(Target(HOST, port, "/"), scenario, timeout=timeout, requests=requests)
        neighbours = Neighbours(server.pid)
        neighbours.start()
        measured = gen.run()
        machine = neighbours.stop()
    finally:
        server.stop()
    costed = scenario.replace(overhead=scenario.overhead + quiet.overhead_ms,
                              wake=quiet.wake_ms)
    predicted = predict(costed, runner, predict_guests)
    return VerifyRun(profile, deployment, scenario, command, predicted, measured, machine,
                     quiet)

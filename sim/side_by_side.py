"""A live party beside its simulation: theory, simulation and measurement in one table.

It sits in ``sim/`` and not in ``sim/live/`` because it is the one place that uses
both the SimPy models and the real servers: they meet here, through the scenario and
the trace, and never import each other.

Theory of operation. ``live_party(scenario)`` does what a careful person would do by
hand: start the minimal server of the scenario's model on a free loopback port (with
``--report`` pointing at a Unix socket we listen on), hit it with the scenario's own
guests (``sim.live.loadgen``, open loop, latency from the intended send time), stop
it by its pid, simulate the very same scenario (``sim.run.simulate``), and ask
``sim.theory`` what a closed form says where one applies.

The measurement is the client's (``HitResult.summary``): what a guest lived through,
including the time in the kernel's backlog that no server can see. The server's own
trace adds what only the server knows: how busy its hosts were. Both use
``time.monotonic()``, so the server's events are shifted onto the party's clock by
subtracting the generator's start.

A real Gunicorn or Uvicorn (``sim.live.real``) can stand in for the minimal server;
it reports no trace, so its utilisation is the client's estimate from the
``X-Started-At``/``X-Finished-At`` headers the guest app sends.

Nothing here is tuned: the simulation gets the scenario as given, plus ``overhead``
only if the learner passes what ``partyhost calibrate`` measured.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import resource
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.live.loadgen import Generator, HitResult, Snapshot, Target, alone, wasted
from sim.live.neighbours import Neighbours, Share
from sim.metrics import Summary, metrics_for
from sim.run import simulate
from sim.scenario import Scenario
from sim.theory import Prediction, prediction, saturation
from sim.trace import Event, ServerStarted, TraceFormatError, from_json

if TYPE_CHECKING:
    from sim.live.process import Placement

REPORT_DRAIN = 0.3  # s to keep reading the server's trace after the last answer
GRACE = 2.0  # s: the minimal server's --graceful-timeout in a live run


@dataclass
class LiveRun:
    """One live party and its twin simulation."""

    scenario: Scenario
    server: str  # what ran: the minimal server's model or a real server's name
    command: str  # the command line it stands for (or ran, for a real server)
    measured: HitResult
    simulated: Summary
    theory: Prediction | None
    ceiling: float  # sim.theory.saturation, guests/s
    server_view: Summary | None  # folded from the server's own trace, when it reports
    events_seen: int = 0  # trace events the server reported (0 unwatched or real)
    placement: Placement | None = None  # where the server and the generator ran
    generator_cpu: float | None = None  # cores' worth the generator's process used
    machine: Share | None = None  # what the rest of the machine used during the run

    def placement_dict(self) -> dict[str, Any] | None:
        if self.placement is None:
            return None
        return {**self.placement.to_dict(), "simulated_cores": self.scenario.cores,
                "generator_cpu": None if self.generator_cpu is None
                else round(self.generator_cpu, 3),
                "said": self.placement.describe()}

    def rows(self) -> list[Row]:
        return comparison_rows(self)

    def to_dict(self) -> dict[str, Any]:
        theory = None
        if self.theory is not None:
            theory = {
                "formula": self.theory.formula,
                "throughput": _finite(self.theory.throughput),
                "latency_mean_ms": _finite(self.theory.latency * 1000),
                "wait_mean_ms": _finite(self.theory.wait * 1000),
            }
        return {
            "scenario": self.scenario.to_dict(),
            "server": self.server,
            "command": self.command,
            "theory": theory,
            "saturation": _finite(self.ceiling),
            "simulation": self.simulated.to_dict(),
            "measured": self.measured.to_dict(),
            "server_view": self.server_view.to_dict() if self.server_view else None,
            "difference_pct": {row.name: row.difference for row in self.rows()},
            "placement": self.placement_dict(),
            "machine": self.machine.to_dict() if self.machine else None,
        }


def _finite(value: float) -> float | None:
    return round(value, 4) if math.isfinite(value) else None


@dataclass(frozen=True)
class Row:
    """One line of the table: a quantity by theory, simulation and measurement."""

    name: str
    unit: str
    theory: float | None
    simulated: float
    measured: float

    @property
    def difference(self) -> float | None:
        """Measured against simulated, in percent (None when the simulation says 0)."""
        if self.simulated == 0:
            return None
        return round((self.measured / self.simulated - 1) * 100, 2)


def comparison_rows(run: LiveRun) -> list[Row]:
    sim, meas = run.simulated, run.measured.summary
    pred = run.theory
    stable_rate = None
    if pred is not None and math.isfinite(pred.wait):
        stable_rate = pred.throughput
    elif not run.scenario.users and math.isfinite(run.ceiling):
        stable_rate = min(run.scenario.rate or 0.0, run.ceiling)
    latency = pred.latency * 1000 if pred is not None and math.isfinite(pred.latency) else None
    wait = pred.wait * 1000 if pred is not None and math.isfinite(pred.wait) else None
    util_measured = run.server_view.utilization if run.server_view else meas.utilization
    return [
        Row("throughput", "guests/s", stable_rate, sim.throughput, meas.throughput),
        Row("latency mean", "ms", latency, sim.latency_ms["mean"], meas.latency_ms["mean"]),
        Row("latency p50", "ms", None, sim.latency_ms["p50"], meas.latency_ms["p50"]),
        Row("latency p99", "ms", None, sim.latency_ms["p99"], meas.latency_ms["p99"]),
        Row("wait mean", "ms", wait, sim.wait_ms["mean"], meas.wait_ms["mean"]),
        Row("utilisation", "%", None, sim.utilization * 100, util_measured * 100),
        Row("turned away", "guests", None, sim.turned_away, meas.turned_away),
        Row("failed", "guests", None, sim.failed, meas.failed),
    ]


# --- the server's reports --------------------------------------------------------------


class _ReportReader(asyncio.Protocol):
    """Collects one server process's JSON lines; parsing waits for the end of the run."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)


def _events(chunks_by_conn: list[list[bytes]]) -> list[Event]:
    events: list[Event] = []
    for chunks in chunks_by_conn:
        for line in b"".join(chunks).splitlines():
            if not line.strip():
                continue
            try:
                events.append(from_json(line.decode()))
            except (TraceFormatError, UnicodeDecodeError):
                continue  # a torn last line from a killed worker
    return events


def server_summary(events: list[Event], scenario: Scenario, t0: float) -> Summary | None:
    """Fold the server's own trace (monotonic times) on the party's clock."""
    if not events:
        return None
    metrics = metrics_for(scenario)
    s = scenario
    metrics(ServerStarted(0.0, s.model, s.workers, s.threads, s.cores, max(s.hosts, 1),
                          s.backlog))
    shifted = sorted(
        (dataclasses.replace(e, t=max(e.t - t0, 0.0)) for e in events
         if not isinstance(e, ServerStarted)),
        key=lambda e: e.t,
    )
    for event in shifted:
        metrics(event)
    return metrics.summary(scenario.to_dict())


# --- running ---------------------------------------------------------------------------


async def _hit_while_listening(gen: Generator, listener: socket.socket | None,
                               chunks: list[list[bytes]]) -> HitResult:  # fmt: skip
    loop = asyncio.get_running_loop()
    reader = None
    if listener is not None:

        def factory() -> _ReportReader:
            chunks.append([])
            return _ReportReader(chunks[-1])

        reader = await loop.create_unix_server(factory, sock=listener)
    try:
        result = await gen.arun(own_loop=alone())
        if reader is not None:
            await asyncio.sleep(REPORT_DRAIN)
        return result
    finally:
        if reader is not None:
            reader.close()


FREE_THREADED = ("python3.14t", "python3.13t")  # free-threaded builds (PEP 703, PEP 779)


def free_threaded_command(scenario: Scenario, real: str | None) -> list[str] | None:
    """``--gil off`` live: the minimal server run by a free-threaded Python with the GIL
    off (``-X gil=0``), or a one-line ``ServerError`` where there is none; None with
    the GIL on. Real servers run on this interpreter, which has a GIL."""
    import shutil
    import sys

    from sim.live import ServerError

    if not (scenario.structure.gil and scenario.gil == "off"):
        return None
    if real is not None:
        raise ServerError(f"--gil off: {real} runs on this Python, which has a GIL; live "
                          "free-threading needs partyhost's own server and python3.14t")
    if getattr(sys, "_is_gil_enabled", lambda: True)() is False:
        return [sys.executable, "-X", "gil=0", "-m", "sim.live"]
    found = next((path for name in FREE_THREADED if (path := shutil.which(name))), None)
    if found is None:
        raise ServerError("--gil off: no free-threaded Python (python3.14t, PEP 779) on PATH "
                          "here, so no live party; `partyhost simulate --gil off` shows it")
    return [found, "-X", "gil=0", "-m", "sim.live"]


def live_party(
    scenario: Scenario,
    *,
    real: str | None = None,
    keep_alive: bool = False,
    timeout: float = 10.0,
    on_progress: Callable[[Snapshot], None] | None = None,
    on_start: Callable[[str], None] | None = None,
    simulate_too: bool = True,
    watch: bool = True,
    placement: Placement | None = None,
) -> LiveRun:
    """Run the scenario live (minimal server, or the ``real`` one) and simulated.

    ``on_start`` hears the command line of the server once it is up. ``watch=False``
    runs the minimal server without ``--report`` (no trace, no ``server_view``): the
    baseline ``benchmarks/bench_watched.py`` compares the watched run against.
    ``placement`` (``sim.live.process.plan_placement``) puts the server's processes on
    some cores and this process, the generator's, on another, for the run.
    """
    from sim.live.process import running_on, spawning_on, start_for
    from sim.live.real import start_real

    interpreter = free_threaded_command(scenario, real)
    chunks: list[list[bytes]] = []
    pinned = placement is not None and placement.pinned
    server_cores = placement.server if pinned else None
    generator_cores = placement.generator if pinned else None
    with tempfile.TemporaryDirectory(prefix="partyhost-live-") as tmp, \
            spawning_on(server_cores):
        listener = None
        if real is None and not watch:
            server = start_for(scenario, graceful_timeout=GRACE)
            command = server.config.real_command(server.port) + "   (stood in by partyhost serve)"
        elif real is None:
            path = os.path.join(tmp, "report.sock")
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(path)
            listener.listen(256)
            server = start_for(scenario, graceful_timeout=GRACE, report=path,
                               **({"command": interpreter} if interpreter else {}))
            command = server.config.real_command(server.port) + "   (stood in by partyhost serve)"
        else:
            server = start_real(real, scenario)
            command = server.command_line
        try:
            if on_start is not None:
                on_start(command)
            gen = Generator(Target("127.0.0.1", server.port), scenario, keep_alive=keep_alive,
                            timeout=timeout, on_progress=on_progress)
            neighbours = Neighbours(server.pid)
            with running_on(generator_cores):
                cpu_before, wall_before = _cpu_seconds(), time.monotonic()
                neighbours.start()
                measured = asyncio.run(_hit_while_listening(gen, listener, chunks))
                machine = neighbours.stop()
                generator_cpu = (_cpu_seconds() - cpu_before) / max(
                    time.monotonic() - wall_before, 1e-9)
        finally:
            server.stop()
            if listener is not None:
                listener.close()
    events = _events(chunks)
    server_view = server_summary(events, scenario, gen.t0) if real is None else None
    if events:  # only the server knows it finished guests who had hung up
        measured.summary = dataclasses.replace(measured.summary,
                                               wasted=wasted(measured.shots, events))
    simulated = simulate(scenario) if simulate_too else measured.summary
    return LiveRun(
        scenario=scenario,
        server=real or scenario.model,
        command=command,
        measured=measured,
        simulated=simulated,
        theory=prediction(scenario),
        ceiling=saturation(scenario),
        server_view=server_view,
        events_seen=len(events),
        placement=placement,
        generator_cpu=generator_cpu,
        machine=machine,
    )


def _cpu_seconds() -> float:
    """CPU seconds this process (every thread: the generator, the trace reader) used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

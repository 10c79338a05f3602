"""Plan a deployment: the cheapest server configuration that meets a latency target.

Theory of operation. A profile (``partyhost profile``, see ``load_profile``) is a
scenario file whose guest mix is the app's own endpoints. ``plan`` simulates that mix
at the target rate under every server model of the table (``sim.servers``), over the
knob each model scales with (its processes, or its threads), and keeps, per model, the
cheapest configuration whose mean p99 meets the target.

*Cheapest* is fewest processes, then fewest threads in all (``cost``): memory and
cores are bought per process, and a thread is cheap beside one.

The grid is bounded and pruned. Each model is a ``Line`` along one knob (threaded is
one line of threads per process count, 1..cores). A line starts at the smallest value
theory says is stable (``sim.theory.saturation`` above the rate by ``RHO_MAX``: a
saturated configuration, or one so near saturation that its line would take minutes
to settle, is never simulated; its why is read from ``ceilings``), doubles until
the target is met (or more no longer helps: two doublings that cut p99 by less than
10% each), then bisects down to the cheapest value that meets it. That assumes p99
falls as the knob grows, which holds for hosts and threads below the cores' ceiling;
above it the line stops, the cores being the limit. Every line takes one step per
*wave*, and a wave's simulations run together (on a process pool in the CLI), so the
plan takes about as many waves as the longest line's log2 of its range. Lines whose
first configuration came out the same in every replication (one event loop under
uvicorn, uvicorn's supervisor or Gunicorn's arbiter: they differ only in who restarts
a loop, which no guest here needs) are the same party: the later ones copy the first's
replications rather than run them (``_twins``).

Each configuration is simulated ``REPLICATIONS`` times with different seeds (the same
seeds for every configuration: common random numbers, so two configurations differ by
their knobs, not their luck). The 95% confidence intervals are Student's t over the
replications; the configurations printed get more rounds of replications until the p99
interval is within ``TIGHT`` (5%) of its mean, at most ``MAX_ROUNDS`` rounds.

Why a configuration fails is read from its structure and its run, never from the
model's name: a saturated one from the ceiling that binds (cores, the GIL, a loop held
by blocking calls, the database pool, too few hosts); a stable one that misses the
target from where its guests' time went (in the line for a host, inside waiting for
a core, the GIL or the loop, or in their own phases).

What it simplifies: the profile's phases are taken as the app's whole cost (a real
server adds its own per-request overhead, which ``partyhost calibrate`` measures and
``--overhead`` would add); gevent is planned as if every wait cooperates with the hub
(patched sockets and sleeps: a C driver that does not, like sqlite3, holds the hub as
a blocking call holds a loop).
"""

from __future__ import annotations

import dataclasses
import math
import os
import stat
import statistics
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.limits import MAX_PLAN_THREADS, MAX_PLAN_WORKERS
from sim.run import simulate
from sim.scenario import Scenario, ScenarioError, build_scenario, layer
from sim.servers import SERVERS, WSGI_SERVERS, server
from sim.theory import db_sizing, saturation
from sim.trace import BLOCKING, CPU, DB, IO, UPLOAD

REPLICATIONS = 4  # seeds per round: the fewest that give a t interval worth reading
GUESTS = 2000  # per replication; the first 10% are warm-up
TIGHT = 0.05  # the p99 interval's half-width, as a share of its mean, that is enough
MAX_ROUNDS = 8  # rounds of REPLICATIONS for a printed configuration, at most
NO_HELP = 0.9  # a doubling that leaves p99 above 90% of what it was did not help
RHO_MAX = 0.95  # busier than this in theory is planned as saturated: near saturation the
# line grows for minutes before it settles, longer than any replication runs
FAILED_SHARE = 0.001  # more failed or turned-away guests than this misses the target
MAX_PROFILE_BYTES = 20_000_000  # a profile holds samples, but not this many
# t(0.975, df) for df = 1..30; beyond, the normal's 1.96 is within 2%.
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201,
        2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074,
        2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


class PlanError(ValueError):
    """A profile or a target that cannot be planned: one line, exit 2."""


# --- the profile --------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One of the app's requests: what the load generator sends for its kind of guest."""

    method: str
    path: str
    share: float
    body: bytes = b""
    runs_in: str | None = None  # ASGI: "thread" (a def route, in the pool) or "loop"; None
    # when the profile does not say (WSGI, or made before it did)


@dataclass(frozen=True)
class Profile:
    """A profile file read: the app, where it lives, its endpoints and its guest mix."""

    path: str
    app: str
    interface: str  # "wsgi" or "asgi"
    root: str  # the directory the app imports from
    endpoints: tuple[Endpoint, ...]
    values: dict[str, Any]  # the scenario keys ([[mix]] or phases), for build_scenario
    origins: dict[str, str]

    def scenario(self, **over: Any) -> Scenario:
        """The profile's mix with the server, knobs, rate... laid on top."""
        values, origins = layer(self.values, self.origins, over)
        return build_scenario(values, origins)

    def with_overhead(self, ms: float) -> Profile:
        """This profile with the server's own cpu per request (``partyhost calibrate``)
        in front of every guest's phases."""
        values = {**self.values, "overhead": ms}
        build_scenario(values, self.origins)
        return dataclasses.replace(self, values=values)

    def command(self, scenario: Scenario) -> str:
        """The real command line, with the profile's app in place of ``app:app``."""
        return scenario.real_command.replace("app:app", self.app)


def load_profile(path: str) -> Profile:
    """Read a profile file (see ``briefs/format.md``); a ``PlanError`` names what is wrong."""
    file = Path(path)
    try:
        info = file.stat()
    except OSError as exc:
        raise PlanError(f"{path}: cannot read the profile: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise PlanError(f"{path}: not a regular file")
    if info.st_size > MAX_PROFILE_BYTES:
        raise PlanError(f"{path}: {info.st_size:,} bytes is too big for a profile")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise PlanError(f"{path}: not a text file (a profile is TOML)") from None
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{path}: not valid TOML: {str(exc).split(' (at')[0]}") from None
    meta = data.pop("profile", None)
    if not isinstance(meta, dict) or "app" not in meta:
        raise PlanError(f"{path}: not a profile (no [profile] table with app = ...); "
                        "make one with `partyhost profile APP`")
    interface = str(meta.get("interface", "wsgi")).lower()
    if interface not in ("wsgi", "asgi"):
        raise PlanError(f"{path}: [profile] interface must be wsgi or asgi, got {interface!r}")
    root = str(meta.get("root") or file.resolve().parent)
    raw = meta.get("endpoints")
    if not isinstance(raw, list) or not raw:
        raise PlanError(f"{path}: [[profile.endpoints]] lists no endpoint")
    endpoints = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict) or "path" not in entry:
            raise PlanError(f"{path}: endpoint {i + 1} has no path")
        body = b""
        if entry.get("body"):
            body_path = _body_path(str(entry["body"]), root, meta.get("requests"), file)
            try:
                body = body_path.read_bytes()
            except OSError as exc:
                raise PlanError(f"{path}: endpoint {i + 1}: cannot read its body "
                                f"{body_path}: {exc.strerror}") from None
        runs_in = entry.get("runs_in")
        endpoints.append(Endpoint(str(entry.get("method", "GET")).upper(), str(entry["path"]),
                                  float(entry.get("share", 0.0)), body,
                                  runs_in if runs_in in ("thread", "loop") else None))
    values = {k: v for k, v in data.items() if k in ("mix", "phases")}
    if not values:
        raise PlanError(f"{path}: no [[mix]] or phases = ... (the endpoints' phases)")
    if "mix" in values and len(values["mix"]) != len(endpoints):
        raise PlanError(f"{path}: {len(values['mix'])} [[mix]] entries but "
                        f"{len(endpoints)} [[profile.endpoints]]; they go in the same order")
    if "phases" in values and len(endpoints) != 1:
        raise PlanError(f"{path}: phases = ... is for one endpoint; {len(endpoints)} need "
                        "[[mix]] entries")
    origins = {key: f"{path} ({'[[mix]]' if key == 'mix' else key})" for key in values}
    try:
        build_scenario(values, origins)
    except ScenarioError as exc:
        raise PlanError(str(exc)) from None
    return Profile(str(path), str(meta["app"]), interface, root, tuple(endpoints),
                   values, origins)


def _body_path(body: str, root: str, requests: Any, profile: Path) -> Path:
    """A body file as the requests file named it: beside the requests file (as
    ``partyhost profile`` reads it), else under the root, else beside the profile."""
    places = [Path(root, str(requests)).parent] if isinstance(requests, str) else []
    places += [Path(root), profile.resolve().parent]
    for place in places:
        if (place / body).is_file():
            return place / body
    return places[0] / body


def left_out(profile: Profile) -> dict[str, str]:
    """The models that do not draw this app, each with why (one line).

    A pool model (``Structure.pool``: FastAPI/Starlette ``def`` routes) runs every
    guest's handler in a pool thread: a wait there holds a thread, not the loop, and a
    guest needs one of the pool's tokens. That is this app only if every endpoint ran in
    a pool thread (``runs_in``). With ``async def`` routes among them, the loop models
    draw it closer: a ``def`` route's cpu holds the loop there as its thread's GIL holds
    the loop thread's, and only the pool's tokens (40) are not drawn; the pool model
    would take the ``async def`` routes' blocking calls off the loop. Left in when the
    profile does not say (made before ``runs_in``)."""
    ran = [e.runs_in for e in profile.endpoints]
    if profile.interface != "asgi" or None in ran or all(r == "thread" for r in ran):
        return {}
    threads = [e.method + " " + e.path for e in profile.endpoints if e.runs_in == "thread"]
    if not threads:
        why = ("no endpoint ran in a worker thread: every handler ran on the event loop "
               "(async def), never in the pool this model draws")
    else:
        why = (f"it runs every guest in a pool thread, but only {len(threads)} of "
               f"{len(ran)} endpoints did ({', '.join(threads)}); the loop models draw the "
               "mix (a def route's cpu holds the loop as the GIL would)")
    return {name: why for name, row in SERVERS.items() if row.structure.pool}


def models_for(interface: str) -> tuple[str, ...]:
    """The table's servers that can run an app of this interface."""
    if interface == "wsgi":
        return tuple(name for name in SERVERS if name in WSGI_SERVERS)
    return tuple(name for name in SERVERS if name not in WSGI_SERVERS)


# --- one configuration's numbers ----------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """What one replication measured: small, so it crosses a process boundary cheaply."""

    p50: float
    p99: float
    utilization: float
    latency_mean: float
    wait_mean: float
    served: int
    failed: int  # failed and turned away


def measure(scenario: Scenario) -> Sample:
    """Simulate one replication (a top-level function: a process pool can run it)."""
    s = simulate(scenario)
    return Sample(s.latency_ms["p50"], s.latency_ms["p99"], s.utilization,
                  s.latency_ms["mean"], s.wait_ms["mean"], s.served,
                  s.failed + s.turned_away)


Runner = Callable[[Sequence[Scenario]], list[Sample]]


def serial(scenarios: Sequence[Scenario]) -> list[Sample]:
    """Run replications one after another (the CLI uses a process pool instead)."""
    return [measure(s) for s in scenarios]


@dataclass(frozen=True)
class Interval:
    """A mean and its 95% confidence interval's half-width (Student's t)."""

    mean: float
    half: float

    @property
    def relative(self) -> float:
        return self.half / self.mean if self.mean > 0 else 0.0

    def to_dict(self) -> dict[str, float]:
        return {"mean": round(self.mean, 3), "low": round(self.mean - self.half, 3),
                "high": round(self.mean + self.half, 3)}


def interval(values: Sequence[float]) -> Interval:
    mean = statistics.fmean(values)
    if len(values) < 2:
        return Interval(mean, math.inf)
    df = len(values) - 1
    t = T975[df - 1] if df <= len(T975) else 1.96
    return Interval(mean, t * statistics.stdev(values) / math.sqrt(len(values)))


@dataclass
class Config:
    """One configuration of one model, its replications and what they say."""

    model: str
    knobs: dict[str, int]
    scenario: Scenario
    samples: list[Sample] = field(default_factory=list)
    why: str = ""  # why it misses the target ("" if it meets it)
    saturated: bool = False  # refused by theory, never simulated

    @property
    def processes(self) -> int:
        return self.scenario.workers

    @property
    def threads(self) -> int:
        return self.scenario.workers * self.scenario.threads

    @property
    def cost(self) -> tuple[int, int]:
        """Fewest processes, then fewest threads in all."""
        return (self.processes, self.threads)

    def stat(self, name: str) -> Interval:
        return interval([getattr(s, name) for s in self.samples])

    @property
    def p99(self) -> Interval:
        return self.stat("p99")

    def failed_share(self) -> float:
        served = sum(s.served + s.failed for s in self.samples)
        return sum(s.failed for s in self.samples) / served if served else 0.0

    def meets(self, target_ms: float) -> bool:
        return (not self.saturated and bool(self.samples) and self.p99.mean <= target_ms
                and self.failed_share() <= FAILED_SHARE)

    def label(self) -> str:
        knobs = " ".join(f"{k}={v}" for k, v in self.knobs.items())
        return f"{self.model} {knobs}".strip()

    def to_dict(self, profile: Profile | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model, "knobs": dict(self.knobs), "processes": self.processes,
            "threads": self.threads,
            "command": profile.command(self.scenario) if profile else self.scenario.real_command,
        }
        if self.samples:
            out.update(replications=len(self.samples),
                       p50_ms=self.stat("p50").to_dict(), p99_ms=self.p99.to_dict(),
                       utilization=self.stat("utilization").to_dict(),
                       p99_tight=self.p99.relative <= TIGHT)
        if self.why:
            out["why"] = self.why
        return out


# --- why a configuration fails ------------------------------------------------------


def _mean_ms(s: Scenario, *kinds: str) -> float:
    return s.workload.mean_ms(*kinds)


def ceilings(s: Scenario) -> list[tuple[str, float]]:
    """Each limit of ``sim.theory.saturation`` by name, guests/s; their minimum is it.

    Written again here, named, because ``saturation`` keeps only the minimum; a test
    holds ``min`` of these equal to it.
    """
    shape = s.structure
    cpu = _mean_ms(s, CPU) / 1000
    out: list[tuple[str, float]] = []
    if cpu > 0:
        out.append(("cores", s.cores / cpu))
    if shape.juggles:
        held = _mean_ms(s, CPU, BLOCKING) / 1000
        if held > 0:
            out.append(("loop", s.workers / held))
        stay = _mean_ms(s, UPLOAD, CPU, IO, DB, BLOCKING) / 1000
        if s.worker_connections and stay > 0:
            out.append(("connections", s.workers * s.worker_connections / stay))
    else:
        lead = sum(k.share * k.script[0].dist.mean for k in (s.workload.mix or ())
                   if k.script and k.script[0].kind == UPLOAD)
        if not s.workload.mix and s.script and s.script[0].kind == UPLOAD:
            lead = s.script[0].dist.mean
        busy = (_mean_ms(s, UPLOAD, CPU, IO, DB, BLOCKING) - lead) / 1000
        out.append(("hosts", s.hosts / busy if busy > 0 else math.inf))
        if shape.gil and s.gil == "on" and cpu > 0:
            out.append(("gil", s.workers / cpu))
    sizing = db_sizing(s)
    if sizing is not None and math.isfinite(sizing.ceiling):
        out.append(("db pool", sizing.ceiling))
    return out


def _close(rate: float, ceiling: float) -> str:
    """Said of a ceiling just above the rate, which ``RHO_MAX`` also counts as saturated."""
    if ceiling <= rate:
        return ""
    return f" ({rate / ceiling:.0%} of it at {rate:g}/s: too close to saturation to plan on)"


def saturated_why(s: Scenario) -> str:
    """One line: which ceiling keeps this configuration below the rate."""
    limits = ceilings(s)
    name, ceiling = min(limits, key=lambda item: item[1])
    rate = s.rate or 0.0
    cpu, blocking = _mean_ms(s, CPU), _mean_ms(s, BLOCKING)
    if name == "cores":
        return (f"saturated cores: {rate:g} guests/s x {cpu:.2f} ms of cpu needs "
                f"{rate * cpu / 1000:.2f} cores, there are {s.cores}{_close(rate, ceiling)}")
    if name == "gil":
        return (f"the GIL: each of {s.workers} process(es) runs one thread's cpu at a time, "
                f"{cpu:.2f} ms a guest: at most {ceiling:,.0f} guests/s{_close(rate, ceiling)}")
    if name == "loop":
        if blocking > 0:
            return (f"a loop held by blocking calls: each guest holds its loop "
                    f"{blocking:.2f} ms blocking + {cpu:.2f} ms cpu, so {s.workers} loop(s) "
                    f"serve at most {ceiling:,.0f} guests/s{_close(rate, ceiling)}")
        return (f"the loop's cpu: each guest holds its loop {cpu:.2f} ms, so {s.workers} "
                f"loop(s) serve at most {ceiling:,.0f} guests/s{_close(rate, ceiling)}")
    if name == "connections":
        return (f"the worker connections: {s.workers} x {s.worker_connections} guests at "
                f"once serve at most {ceiling:,.0f} guests/s{_close(rate, ceiling)}")
    if name == "db pool":
        return f"the db pool: {s.workers} x {s.db_pool} connections serve at most " \
               f"{ceiling:,.0f} guests/s{_close(rate, ceiling)}"
    return (f"not enough workers: {s.hosts} host(s), each busy "
            f"{_mean_ms(s, UPLOAD, CPU, IO, DB, BLOCKING):.1f} ms a guest, serve at most "
            f"{ceiling:,.0f} guests/s{_close(rate, ceiling)}")


def missed_why(config: Config, target_ms: float) -> str:
    """One line: where the guests' time went in a stable configuration that misses."""
    s = config.scenario
    lat, wait = config.stat("latency_mean").mean, config.stat("wait_mean").mean
    own = _mean_ms(s)
    inside = max(lat - wait - own, 0.0)
    cpu, blocking = _mean_ms(s, CPU), _mean_ms(s, BLOCKING)
    core_load = (s.rate or 0.0) * cpu / 1000 / s.cores
    head = f"p99 {config.p99.mean:,.0f} ms > {target_ms:g}"
    if config.failed_share() > FAILED_SHARE:
        return f"{config.failed_share():.1%} of guests failed or were turned away"
    if core_load >= 0.8:
        return f"{head}: saturated cores ({core_load:.0%} of {s.cores} busy with cpu alone)"
    busy = config.stat("utilization").mean
    if s.structure.juggles and wait + inside > 0.05 * lat:  # a loop: all waiting is for it
        waiting = wait + inside
        if blocking > 0:
            return (f"{head}: a loop held by blocking calls ({blocking:.1f} ms blocking + "
                    f"{cpu:.1f} ms cpu a guest; the others wait {waiting:,.1f} ms on "
                    f"average for the loop, {busy:.0%} busy)")
        return (f"{head}: the loop's cpu (guests wait {waiting:,.1f} ms on average for the "
                f"loop, {busy:.0%} busy)")
    if wait >= inside and wait > 0.05 * lat:
        return (f"{head}: not enough workers (guests wait {wait:,.1f} ms on average in the "
                f"line for a host, hosts {busy:.0%} busy)")
    if inside > 0.05 * lat:
        if s.structure.gil and s.structure.threaded:
            return (f"{head}: the GIL (a process's threads take turns for cpu, "
                    f"+{inside:,.1f} ms a guest)")
        if db_sizing(s) is not None and s.db_pool:
            return f"{head}: the db pool (+{inside:,.1f} ms a guest waiting for a connection)"
        return f"{head}: cpu phases wait {inside:,.1f} ms a guest for a core"
    return f"{head}: the requests' own spread (they take {own:.1f} ms on average)"


# --- the search ---------------------------------------------------------------------


@dataclass
class Line:
    """One model along one knob (the others fixed): where the target starts to be met."""

    model: str
    fixed: dict[str, int]
    knob: str | None  # None: a model with nothing to scale (one event loop)
    low: int  # the smallest stable value
    high: int
    tried: dict[int, Config] = field(default_factory=dict)
    done: bool = False
    saturated: Config | None = None  # at ``high``, when nothing in range is stable
    below: Config | None = None  # at ``low - 1``: the dearest that theory calls saturated

    def passing(self, target_ms: float) -> dict[int, Config]:
        return {n: c for n, c in self.tried.items() if c.meets(target_ms)}

    def next(self, target_ms: float) -> int | None:
        """The next value to try, or None when this line is settled."""
        if self.done:
            return None
        if self.knob is None:
            return None if self.tried else 1
        passing = self.passing(target_ms)
        failing = [n for n in self.tried if n not in passing]
        worst = max(failing, default=self.low - 1)
        if not passing:
            if not self.tried:
                return self.low
            if worst >= self.high or self._no_help():
                return None
            return min(max(worst + 1, worst * 2), self.high)
        best = min(passing)
        if best - worst <= 1:
            return None
        return (best + worst) // 2

    def _no_help(self) -> bool:
        """Two doublings in a row that each left p99 above ``NO_HELP`` of before."""
        values = sorted(self.tried)
        if len(values) < 3:
            return False
        p = [self.tried[n].p99.mean for n in values[-3:]]
        return p[1] > NO_HELP * p[0] and p[2] > NO_HELP * p[1]

    def cheapest(self, target_ms: float) -> Config | None:
        passing = self.passing(target_ms)
        return passing[min(passing)] if passing else None

    def nearest_miss(self, target_ms: float) -> Config | None:
        """The dearest failing configuration below the cheapest that meets (or, with
        none that meets, the last tried; or the saturated one)."""
        best = self.cheapest(target_ms)
        ceiling = math.inf if best is None or self.knob is None else best.knobs[self.knob]
        failing = [n for n, c in self.tried.items() if not c.meets(target_ms) and n < ceiling]
        if failing:
            return self.tried[max(failing)]
        return self.saturated or self.below


@dataclass
class ModelPlan:
    """A model's answer: its cheapest configuration meeting the target, and why not less."""

    model: str
    best: Config | None
    miss: Config | None  # the dearest that fails (just below best), with its why

    def to_dict(self, profile: Profile | None = None) -> dict[str, Any]:
        return {"model": self.model,
                "best": self.best.to_dict(profile) if self.best else None,
                "miss": self.miss.to_dict(profile) if self.miss else None}


@dataclass
class Plan:
    """The whole plan: every model's answer, cheapest first, and what it cost to find."""

    rate: float
    p99_ms: float
    cores: int
    models: list[ModelPlan]
    simulations: int
    waves: int
    seconds: float
    floor_p99_ms: float  # the phases alone, no waiting: no server does better
    left_out: dict[str, str] = field(default_factory=dict)  # model: why not planned

    @property
    def meeting(self) -> list[ModelPlan]:
        return sorted((m for m in self.models if m.best is not None),
                      key=lambda m: (m.best.cost, m.best.p99.mean))  # type: ignore[union-attr]

    @property
    def failing(self) -> list[ModelPlan]:
        return [m for m in self.models if m.best is None]

    def to_dict(self, profile: Profile | None = None) -> dict[str, Any]:
        return {"rate": self.rate, "p99_ms": self.p99_ms, "cores": self.cores,
                "rule": CHEAPEST_RULE,
                "cheapest": [m.to_dict(profile) for m in self.meeting],
                "failing": [m.to_dict(profile) for m in self.failing],
                "simulations": self.simulations, "waves": self.waves,
                "seconds": round(self.seconds, 2),
                "floor_p99_ms": round(self.floor_p99_ms, 3),
                **({"left_out": dict(self.left_out)} if self.left_out else {})}


CHEAPEST_RULE = "cheapest = fewest processes, then fewest threads in all"


def floor_p99(base: Scenario, draws: int = 5_000) -> float:
    """p99 of a guest's phases alone (no line, no sharing): no configuration beats it."""
    totals = []
    for i, phases in enumerate(base.workload.phase_draws()):
        if i >= draws:
            break
        totals.append(sum(sec for _, sec in phases) * 1000)
    totals.sort()
    return totals[min(int(0.99 * len(totals)), len(totals) - 1)]


def check_target(base: Scenario, rate: float, p99_ms: float, cores: int) -> float:
    """Refuse a target no server can meet (``PlanError``); the phases' own p99."""
    floor = floor_p99(base)
    if floor > p99_ms:
        raise PlanError(f"impossible target: the requests alone take p99 {floor:,.1f} ms "
                        f"(their phases, with no waiting), above --p99 {p99_ms:g}")
    cpu = _mean_ms(base, CPU)
    if rate * cpu / 1000 >= cores:
        raise PlanError(f"impossible target: {rate:g} guests/s x {cpu:.2f} ms of cpu needs "
                        f"{rate * cpu / 1000:.2f} cores, --cores is {cores}")
    return floor


def _lowest_stable(make: Callable[[int], Scenario], rate: float, low: int, high: int
                   ) -> int | None:
    """The smallest value in low..high whose saturation exceeds the rate by ``RHO_MAX``
    (binary search: saturation never falls as hosts, threads or loops are added)."""
    if saturation(make(high)) * RHO_MAX <= rate:
        return None
    while low < high:
        mid = (low + high) // 2
        if saturation(make(mid)) * RHO_MAX > rate:
            high = mid
        else:
            low = mid + 1
    return low


def lines_for(profile: Profile, model: str, rate: float, cores: int,
              guests: int = GUESTS) -> list[Line]:
    """The lines a model is searched along (bounded by ``MAX_PLAN_*``)."""
    row = server(model)
    common = {"model": model, "rate": rate, "cores": cores, "guests": guests}

    def line(fixed: dict[str, int], knob: str | None, high: int) -> Line:
        def make(n: int) -> Scenario:
            return profile.scenario(**common, **fixed, **({knob: n} if knob else {}))

        if knob is None:
            low: int | None = 1 if saturation(make(1)) * RHO_MAX > rate else None
        else:
            low = _lowest_stable(make, rate, 1, high)
        result = Line(model, fixed, knob, low or high, high)
        if knob is not None and low is not None and low > 1:
            result.below = Config(model, {**fixed, knob: low - 1}, make(low - 1),
                                  saturated=True)
            result.below.why = saturated_why(result.below.scenario)
        if low is None:  # nothing in range is stable: say why at the top of the range
            result.saturated = Config(model, {**fixed, **({knob: high} if knob else {})},
                                      make(high), saturated=True)
            result.saturated.why = saturated_why(result.saturated.scenario)
            result.done = True
        return result

    if row.has("workers") and row.has("threads"):  # processes of threads: a line each
        return [line({"workers": w}, "threads", MAX_PLAN_THREADS)
                for w in range(1, min(cores, MAX_PLAN_WORKERS) + 1)]
    if row.has("workers"):
        return [line({}, "workers", MAX_PLAN_WORKERS)]
    if row.has("threads"):
        return [line({}, "threads", MAX_PLAN_THREADS)]
    return [line({}, None, 1)]


def _seeds(config: Config, count: int) -> list[Scenario]:
    first = len(config.samples) + 1
    return [config.scenario.replace(seed=seed) for seed in range(first, first + count)]


def _run(configs: list[Config], runner: Runner, count: int) -> int:
    """One round of ``count`` replications for each configuration, all in one batch."""
    batch = [(config, scenario) for config in configs for scenario in _seeds(config, count)]
    samples = runner([scenario for _, scenario in batch])
    for (config, _), sample in zip(batch, samples, strict=True):
        config.samples.append(sample)
    return len(batch)


def plan(profile: Profile, rate: float, p99_ms: float, cores: int,
         models: Sequence[str] | None = None, runner: Runner = serial,
         on_wave: Callable[[int], None] | None = None, guests: int | None = None,
         rounds: int | None = None) -> Plan:
    """Search every model for its cheapest configuration that meets p99 at ``rate``.

    ``runner`` runs a batch of replications (serially here; the CLI passes a process
    pool); ``on_wave`` hears how many simulations the next batch holds; ``guests`` per
    replication and ``rounds`` at most for the printed ones (tests take fewer).
    """
    started = time.monotonic()
    guests, rounds = guests or GUESTS, rounds or MAX_ROUNDS
    base = profile.scenario(rate=rate, cores=cores, guests=guests)
    floor = check_target(base, rate, p99_ms, cores)
    names = check_models(models, profile.interface)
    skipped = {} if models else left_out(profile)  # asked for by name: planned anyway
    names = [name for name in names if name not in skipped]
    lines = {name: lines_for(profile, name, rate, cores, guests) for name in names}
    simulations = waves = 0
    twin_of: dict[int, Line] = {}  # id(line) -> the line it has matched so far
    while True:
        wave: list[Config] = []
        copies: list[tuple[Config, Config]] = []  # (twin's config, leader's config)
        for model_lines in lines.values():
            for line in model_lines:
                n = line.next(p99_ms)
                if n is None:
                    line.done = True
                    continue
                knobs = {**line.fixed, **({line.knob: n} if line.knob else {})}
                config = Config(line.model, knobs, profile.scenario(
                    model=line.model, rate=rate, cores=cores, guests=guests, **knobs))
                line.tried[n] = config
                leader = twin_of.get(id(line))
                if leader is not None and n in leader.tried:
                    copies.append((config, leader.tried[n]))
                else:
                    wave.append(config)
        if not wave and not copies:
            break
        if on_wave is not None:
            on_wave(len(wave) * REPLICATIONS)
        simulations += _run(wave, runner, REPLICATIONS)
        for twin, leader_config in copies:
            twin.samples = list(leader_config.samples)
        waves += 1
        if waves == 1:
            twin_of = _twins([line for ls in lines.values() for line in ls])
    answers = []
    for name, model_lines in lines.items():
        bests = [c for line in model_lines if (c := line.cheapest(p99_ms)) is not None]
        best = min(bests, key=lambda c: (c.cost, c.p99.mean)) if bests else None
        miss = _miss_for(model_lines, best, p99_ms)
        answers.append(ModelPlan(name, best, miss))
    # the printed configurations: more rounds until the p99 interval is tight
    for _ in range(rounds - 1):
        loose = [c for m in answers for c in (m.best, m.miss)
                 if c is not None and c.samples and c.p99.relative > TIGHT]
        if not loose:
            break
        # Configurations whose every replication so far came out the same are the same
        # party (one loop under uvicorn, under Gunicorn's arbiter or under uvicorn's
        # supervisor differs only in who restarts it): one of each runs, the rest copy.
        twins: dict[tuple[Sample, ...], list[Config]] = {}
        for config in loose:
            twins.setdefault(tuple(config.samples), []).append(config)
        runs = [group[0] for group in twins.values()]
        if on_wave is not None:
            on_wave(len(runs) * REPLICATIONS)
        simulations += _run(runs, runner, REPLICATIONS)
        for group in twins.values():
            for twin in group[1:]:
                twin.samples = list(group[0].samples)
        waves += 1
    for answer in answers:
        if answer.best is not None and not answer.best.meets(p99_ms):  # more seeds said no
            answer.best, answer.miss = None, answer.best
        if answer.miss is not None and not answer.miss.saturated:
            answer.miss.why = missed_why(answer.miss, p99_ms)
    return Plan(rate, p99_ms, cores, answers, simulations, waves,
                time.monotonic() - started, floor, skipped)


def _twins(lines: list[Line]) -> dict[int, Line]:
    """Lines along the same knob whose first configuration came out the same in every
    replication: the same party under another manager (uvicorn's supervisor, Gunicorn's
    arbiter and its asyncio worker, each restarting a loop that never needs it here).
    Each later one follows the first (the same numbers take the same next step) and
    copies its replications instead of running them."""
    leaders: dict[tuple[Any, ...], Line] = {}
    twins: dict[int, Line] = {}
    for line in lines:
        if len(line.tried) != 1 or line.knob is None:
            continue
        (n, config), = line.tried.items()
        key = (line.knob, tuple(sorted(line.fixed.items())), n, tuple(config.samples))
        if key in leaders:
            twins[id(line)] = leaders[key]
        else:
            leaders[key] = line
    return twins


def _miss_for(model_lines: list[Line], best: Config | None, p99_ms: float) -> Config | None:
    """The failing configuration to explain: on the best's line, just below it; with no
    best, the last tried of the line that came closest (or a saturated one)."""
    if best is not None:
        for line in model_lines:
            if any(c is best for c in line.tried.values()):
                return line.nearest_miss(p99_ms)
        return None
    tried = [c for line in model_lines for c in line.tried.values()]
    if tried:
        return min(tried, key=lambda c: c.p99.mean)
    saturated = [line.saturated for line in model_lines if line.saturated is not None]
    return saturated[-1] if saturated else None


def check_models(models: Sequence[str] | None, interface: str) -> list[str]:
    """The models asked for (all that run this interface by default), checked."""
    fitting = models_for(interface)
    if not models:
        return list(fitting)
    names = []
    for name in models:
        name = name.strip().lower()
        if name not in SERVERS:
            raise PlanError(f"--models: unknown model {name!r}: choose {', '.join(fitting)}")
        if name not in fitting:
            raise PlanError(f"--models: {name} ({server(name).real_command()}) cannot run a "
                            f"{interface.upper()} app; choose {', '.join(fitting)}")
        if name not in names:
            names.append(name)
    return names


def default_cores() -> int:
    return os.cpu_count() or 2

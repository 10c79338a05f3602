"""Theory: the closed forms a simulated party must agree with.

Theory of operation. Queueing theory gives exact answers for a few simple parties:
M/M/c (Poisson arrivals, exponential service, c servers, one shared line) through
Erlang's C formula, M/M/1 as its c = 1 case, M/G/c/c (c servers and no line: a loop
with only io and ``--limit-concurrency c+1``, since uvicorn counts the newcomer's own
connection) through Erlang's B formula, M/G/1 and
M/D/1 (constant service) through Pollaczek-Khinchine. Little's law (L = lambda W)
holds for any stable system. And every model has a saturation throughput: the rate
beyond which the line grows without end, set by whichever runs out first of hosts,
the GIL, loops or cores, or the database pools (Little's law sizes them: connections
in use = rate x db time, so ``--db-pool`` P in W processes caps the rate at W P / db time).

``prediction(scenario)`` says which of these applies to a scenario and what it
predicts; it returns None for parties no closed form describes, rather than a
number that would be wrong. Times are in seconds, rates in guests per second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.scenario import Scenario
from sim.servers import HOSTS_ARE_SERVERS, IO_NEVER_WAITS, LOOP_IS_SERVER, server
from sim.trace import BLOCKING, CPU, DB, IO, UPLOAD
from sim.workload import Constant, Exponential, Kind

CAP_SERVERS = 100_000  # Erlang C's recursion runs c steps: no M/M/c with more servers


def erlang_b(c: int, offered: float) -> float:
    """P(refused) in M/G/c/c, c servers and no line, offered load a = lambda E[S].

    Erlang's loss formula; it depends on the service time only through its mean. The
    recursion B(k) = a B(k-1) / (k + a B(k-1)) stays stable for large c.
    """
    if offered <= 0:
        return 0.0
    b = 1.0
    for k in range(1, c + 1):
        b = offered * b / (k + offered * b)
    return b


def erlang_c(c: int, offered: float) -> float:
    """P(wait) in M/M/c with offered load a = lambda/mu (needs a < c), from Erlang B."""
    if offered <= 0:
        return 0.0
    if offered >= c:
        return 1.0
    b = erlang_b(c, offered)
    rho = offered / c
    return b / (1 - rho + rho * b)


def mmc_wait(rate: float, service: float, c: int) -> float:
    """Mean wait in line (s) for M/M/c: C(c, a) / (c mu - lambda); inf when unstable."""
    mu = 1.0 / service
    if rate >= c * mu:
        return math.inf
    return erlang_c(c, rate * service) / (c * mu - rate)


def mm1_wait(rate: float, service: float) -> float:
    """Mean wait in line for M/M/1: rho / (mu - lambda)."""
    return mmc_wait(rate, service, 1)


def mg1_wait(rate: float, mean: float, second_moment: float) -> float:
    """Pollaczek-Khinchine: mean wait in line for M/G/1 = lambda E[S^2] / (2 (1 - rho))."""
    rho = rate * mean
    if rho >= 1:
        return math.inf
    return rate * second_moment / (2 * (1 - rho))


def md1_wait(rate: float, service: float) -> float:
    """M/D/1 (constant service): rho / (2 mu (1 - rho))."""
    return mg1_wait(rate, service, service**2)


def littles_law(rate: float, time_in_system: float) -> float:
    """L = lambda W: mean guests in the house."""
    return rate * time_in_system


# --- the models' ceilings ------------------------------------------------------------


def _mean(scenario: Scenario, *kinds: str) -> float:
    return scenario.workload.mean_ms(*kinds) / 1000


def _leading_upload(scenario: Scenario) -> float:
    """Mean seconds of a first-phase upload (the one the kernel reads in the line)."""
    w = scenario.workload
    mix = w.mix or (Kind(1.0, w.script),)
    return sum(kind.share * kind.script[0].dist.mean for kind in mix
               if kind.script and kind.script[0].kind == UPLOAD) / 1000


def saturation(scenario: Scenario) -> float:
    """The highest throughput the model can sustain (guests/s); inf if nothing limits it.

    Read from the server's structure, not its name. Hosts that stay with a guest
    (processes, threads) are tied up for the whole request except a leading upload,
    which the kernel reads while the guest waits in the line (this is the ceiling
    under overload; at light load an idle host takes the guest at once and holds its
    whole coat, so utilisation there is higher than the ceiling implies); a GIL lets one cpu phase
    of a process through at a time (not with ``--gil off``: free-threaded Python); an
    event loop that juggles is held only by cpu and blocking phases (io and upload are
    free); every cpu phase needs a core.
    """
    s = scenario
    shape = s.structure
    cpu = _mean(s, CPU)
    limits = [s.cores / cpu] if cpu > 0 else []
    if shape.juggles:
        held = _mean(s, CPU, BLOCKING)
        if held > 0:
            limits.append(s.workers / held)
        stay = _mean(s, UPLOAD, CPU, IO, DB, BLOCKING)
        if s.worker_connections and stay > 0:  # gevent: N guests per hub, each all along
            limits.append(s.workers * s.worker_connections / stay)
    else:
        # Linux reads a guest's request while it waits in the accept queue; under
        # overload every guest waits longer than its coat, so a leading upload is off
        # before a host takes it (sim.model.base.Backlog) and costs the host nothing.
        busy = _mean(s, UPLOAD, CPU, IO, DB, BLOCKING) - _leading_upload(s)
        limits.append(s.hosts / busy if busy > 0 else math.inf)
        if shape.gil and s.gil == "on" and cpu > 0:  # --gil off: the cores alone
            limits.append(s.workers / cpu)
    sizing = db_sizing(s)
    if sizing is not None and math.isfinite(sizing.ceiling):
        limits.append(sizing.ceiling)
    return min(limits, default=math.inf)


@dataclass(frozen=True)
class DbSizing:
    """Little's law for the kitchen: connections in use = rate x db time (L = lambda W)."""

    db_time: float  # s of db phases per guest, on average
    needed: float | None  # connections in use on average at the offered rate (open loop)
    processes: int
    pool: int | None  # --db-pool: connections per process
    db_max: int | None  # --db-max: the database's own limit, all processes together

    @property
    def pooled(self) -> int | None:
        """Connections all the pools together may keep open: processes x pool."""
        return self.processes * self.pool if self.pool else None

    @property
    def ceiling(self) -> float:
        """Guests/s the pools can serve at most: pooled / db time (the rest wait)."""
        return self.pooled / self.db_time if self.pooled else math.inf


def db_sizing(scenario: Scenario) -> DbSizing | None:
    """The kitchen's numbers, or None when the guests never ask it for a connection."""
    s = scenario
    db_time = _mean(s, DB)
    if db_time <= 0:
        return None
    needed = littles_law(s.rate, db_time) if s.rate and not s.users else None
    return DbSizing(db_time, needed, s.workers, s.db_pool, s.db_max)


@dataclass(frozen=True)
class Prediction:
    """What theory says about a scenario, and which formula said it."""

    formula: str  # e.g. "M/M/4 (Erlang C)"
    wait: float  # mean wait in line, s
    latency: float  # mean time in the house, s
    throughput: float  # guests/s
    p_wait: float | None = None  # probability of waiting at all (M/M/c)
    p_refused: float | None = None  # probability of a 503 at once (M/G/c/c, Erlang B)


def prediction(scenario: Scenario) -> Prediction | None:
    """The closed form that describes this scenario exactly, if one does.

    That is: open-loop Poisson arrivals, a one-phase guest the host is tied to for the
    whole phase (sync/threaded; or an event loop with one cpu or blocking phase), no
    core or GIL contention, no timeouts in reach, an unbounded-enough line.
    """
    s = scenario
    if s.users or s.mix or len(s.script) != 1 or s.discipline != "fifo":
        return None
    step = s.script[0]
    dist = step.dist
    shape, forms = s.structure, server(s.model).theory
    if not shape.juggles:
        if HOSTS_ARE_SERVERS not in forms:
            return None
        servers = s.hosts
        free = shape.gil and s.gil == "off"  # free-threaded: every thread is on a core
        if step.kind == CPU and (shape.gil and not free and s.threads > 1
                                 or (s.hosts if free else s.workers) > s.cores):
            return None  # the GIL or the cores, not the hosts, would be the servers
        if step.kind == DB and s.db_pool and s.db_pool < s.threads:
            if s.workers > 1:
                return None  # a pool per process behind one line: not one M/M/c
            servers = s.db_pool  # the connections, not the threads, are the servers
        if step.kind == DB and s.db_max is not None and s.db_max < servers:
            return None  # beyond --db-max guests are refused, not served
    elif step.kind in (CPU, BLOCKING):
        if LOOP_IS_SERVER not in forms or s.workers > 1 or s.limit_concurrency:
            return None  # several loops, each with its own line: not one shared M/M/c
        servers = 1
    elif step.kind == DB and (s.db_pool or s.db_max is not None):  # awaited, but pooled
        if (s.workers > 1 or not s.db_pool or (s.db_max or s.db_pool) < s.db_pool
                or s.limit_concurrency or s.worker_connections or LOOP_IS_SERVER not in forms):
            return None  # refusals, or pools per process: no single M/M/c
        servers = s.db_pool
    elif IO_NEVER_WAITS in forms and s.worker_connections:  # gevent: N guests per hub
        slots = s.workers * s.worker_connections
        offered = (s.rate or 0.0) * dist.mean / 1000
        # Under M/G/inf the guests inside are Poisson(offered), so beyond 10 sd the cap is
        # out of reach; within it, the slots are c servers sharing one line (a full hub
        # leaves guests outside, it refuses none): M/M/c if exponential, else no form.
        if slots >= offered + 10 * math.sqrt(offered) + 10:
            return Prediction("M/G/inf (io never waits for the loop)", 0.0, dist.mean / 1000,
                              s.rate or 0.0)
        if not isinstance(dist, Exponential) or slots > CAP_SERVERS:
            return None
        servers = slots
    elif IO_NEVER_WAITS in forms and not s.limit_concurrency:  # io under a loop: no wait
        return Prediction("M/G/inf (io never waits for the loop)", 0.0, dist.mean / 1000,
                          s.rate or 0.0)
    elif IO_NEVER_WAITS in forms and s.workers == 1:  # ... but at most N-1 in flight
        # uvicorn refuses when len(connections) >= N, a set that already holds the
        # newcomer's connection: N-1 guests in flight beside it, so N-1 servers.
        limit, rate = s.limit_concurrency, s.rate or 0.0
        c = limit - 1
        refused = erlang_b(c, rate * dist.mean / 1000)
        return Prediction(f"M/G/{c}/{c} (Erlang B: --limit-concurrency {limit} "
                          f"lets {c} in beside the newcomer)", 0.0,
                          dist.mean / 1000, rate * (1 - refused), p_refused=refused)
    else:
        return None
    if s.limit_concurrency:
        return None
    rate = s.rate or 0.0
    mean = dist.mean / 1000
    if isinstance(dist, Exponential):
        wait = mmc_wait(rate, mean, servers)
        p_wait = erlang_c(servers, rate * mean)
        formula = f"M/M/{servers} (Erlang C)"
    elif servers == 1:
        wait = mg1_wait(rate, mean, dist.second_moment / 1e6)
        p_wait = min(rate * mean, 1.0)
        kind = "D" if isinstance(dist, Constant) else "G"
        formula = f"M/{kind}/1 (Pollaczek-Khinchine)"
    else:
        return None
    if math.isinf(wait):
        return Prediction(formula, math.inf, math.inf, servers / mean, 1.0)
    return Prediction(formula, wait, wait + mean, rate, p_wait)

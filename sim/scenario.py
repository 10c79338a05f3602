"""The scenario: the one configuration object, from flags, a TOML file or a lesson step.

Theory of operation. Every source hands ``build_scenario`` a plain mapping of the
same keys (the CLI flag names, ``-`` or ``_`` alike) together with *where* each value
came from (``--rate``, ``party.toml:7``, ``lessons/05-kitchen.md:31``). Values are
read and checked here and nowhere else, so a mistake is reported once, in one line
that names its origin, as a ``ScenarioError``. The result is frozen: to change a knob,
``scenario.replace(workers=8)`` builds (and checks) a new one.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim import limits
from sim.servers import DEFAULT, KNOBS, SERVERS, UnknownServer, server
from sim.workload import (
    ZERO,
    Kind,
    Mix,
    Script,
    Workload,
    WorkloadError,
    format_mix,
    format_script,
    mix_from_entries,
    parse_dist,
    parse_mix,
    parse_phases,
    script_from_flags,
)

DISCIPLINES = ("fifo", "lifo")
GIL_STATES = ("on", "off")  # --gil off: free-threaded Python (3.14t, PEP 779)
GIL_KEYS = ("gil", "switch_interval")  # only for servers whose threads share a GIL
DEFAULT_SCRIPT = {"cpu": "5", "io": "exp:50"}  # a typical web request, when none is given


class ScenarioError(ValueError):
    """A scenario value that cannot be used; ``where`` names the flag or file:line."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.message = message


@dataclass(frozen=True)
class Scenario:
    """A party, fully described: the server, its knobs, the guests and the seed."""

    model: str = DEFAULT
    workers: int = 1
    threads: int = 1
    cores: int = 2
    backlog: int = 2048
    timeout: float = 30.0  # seconds, as gunicorn's --timeout
    boot: float = 500.0  # ms for a replacement worker to be ready
    limit_concurrency: int | None = None
    worker_connections: int | None = None  # gevent's cap on guests let in per worker
    discipline: str = "fifo"
    overhead: float = 0.0  # ms of server cpu per request (measured by calibrate)
    wake: float = 0.0  # ms the kernel takes to wake a host asleep long (measured by verify)
    # the door: Linux's accept queue and the client's SYN ladder (see sim.model.door)
    somaxconn: int = 4096  # net.core.somaxconn: caps the backlog a server asks for
    abort_on_overflow: bool = False  # net.ipv4.tcp_abort_on_overflow: reset the half-open
    reuse_port: bool = False  # SO_REUSEPORT: a listen socket (a line) per worker process
    syn_retries: int = 6  # net.ipv4.tcp_syn_retries
    syn_linear_timeouts: int = 4  # net.ipv4.tcp_syn_linear_timeouts (Linux >= 6.5)
    connect_timeout: float = 10.0  # s the client waits for a connection
    # the guests' patience and their retries
    spike: str = ""  # "START:SECONDS:RATE": a burst of arrivals at RATE (open loop)
    patience: str = ""  # ms a guest waits for its answer before hanging up ("" = forever)
    retries: int = 0  # how often a guest who failed or gave up tries again
    backoff: str = "0"  # ms before a retry, doubled each time (a distribution = jitter)
    # the database (db phases): a pool per process and the database's own limit
    db_pool: int | None = None  # connections per process (SQLAlchemy pool_size); None: no pool
    db_timeout: float = 30.0  # s a guest waits for a pool connection (pool_timeout), then 500
    db_max: int | None = None  # the database's max_connections across all processes
    switch_interval: float = 5.0  # ms: the GIL's sys.getswitchinterval() (servers with a GIL)
    gil: str = "on"  # "off": free-threaded Python, the threads run cpu on every core
    # the guests
    phases: str = ""  # the script, in --phases syntax, after defaults are applied
    mix: str = ""  # or kinds of guest, in --mix syntax ("90%=io:50;10%=cpu:2"); then no phases
    rate: float | None = 10.0
    users: int | None = None
    think: str = "0"
    guests: int | None = 10_000
    duration: float | None = None
    warmup: float | None = None
    seed: int = 1
    origins: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    # --- derived -------------------------------------------------------------------

    @property
    def script(self) -> Script:
        script = parse_phases(self.phases) if self.phases else ()
        if self.overhead > 0:
            script = (*parse_phases(f"cpu:{self.overhead:g}"), *script)
        return script

    @property
    def kinds(self) -> Mix:
        """The guest mix, each kind's script with the server's overhead in front."""
        if not self.mix:
            return ()
        head = parse_phases(f"cpu:{self.overhead:g}") if self.overhead > 0 else ()
        return tuple(Kind(kind.share, (*head, *kind.script)) for kind in parse_mix(self.mix))

    @property
    def scripts(self) -> tuple[Script, ...]:
        """Every script a guest may have: the one, or each kind's."""
        return tuple(kind.script for kind in self.kinds) if self.mix else (self.script,)

    def has_phase(self, kind: str) -> bool:
        return kind in self._phase_kinds

    @functools.cached_property
    def _phase_kinds(self) -> frozenset[str]:
        """The phase kinds any script has, parsed once: the models ask per guest (a
        third of a sync party's CPU when it was parsed each time)."""
        return frozenset(step.kind for script in self.scripts for step in script)

    @property
    def workload(self) -> Workload:
        return Workload(
            script=self.script,
            seed=self.seed,
            rate=None if self.users else self.rate,
            users=self.users,
            think=parse_dist(self.think),
            mix=self.kinds,
            spike=_spike(self.spike) if self.spike else None,
            patience=parse_dist(self.patience) if self.patience else None,
            backoff=parse_dist(self.backoff),
        )

    @property
    def hosts(self) -> int:
        return self.workers * self.threads

    @property
    def real_command(self) -> str:
        command = server(self.model).real_command(**self.server_knobs())
        if self.reuse_port:  # a Gunicorn flag: before the app, as one would type it
            head, _, app = command.rpartition(" ")
            command = f"{head} --reuse-port {app}"
        return command

    @property
    def structure(self):
        """What the server is made of (``sim.servers.Structure``)."""
        return server(self.model).structure

    def server_knobs(self) -> dict[str, Any]:
        """The knobs this scenario's server has, with their values (None left out)."""
        row = server(self.model)
        return {k: getattr(self, k) for k in KNOBS if row.has(k) and getattr(self, k) is not None}

    def replace(self, **changes: Any) -> Scenario:
        """A new checked scenario with ``changes`` laid over this one (see ``layer``).

        So ``replace(model="async")`` on a 4-worker sync party gives one event loop,
        rather than an error about ``--workers`` the caller never touched; a change
        given as None means "back to the default".
        """
        values, origins = layer(self.values(), self.origins, changes)
        for key in changes:  # a changed knob is named by its flag, not its old origin
            origins.pop(canonical(key), None)
        return build_scenario(values, origins)

    def values(self) -> dict[str, Any]:
        """The knobs as ``build_scenario`` input: what was set, nothing it would refuse."""
        data = {k: v for k, v in self.to_dict().items() if v is not None}
        data.pop("phases" if self.mix else "mix", None)
        row = server(self.model)
        for key in KNOBS:
            if not row.has(key):
                data.pop(key, None)
        if not row.structure.gil:
            for key in GIL_KEYS:
                data.pop(key, None)
        if self.users:
            data.pop("rate", None)
        else:
            data.pop("think", None)
        return data

    def to_dict(self) -> dict[str, Any]:
        """The knobs as plain data (the ``scenario`` of ``--json``)."""
        return {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "origins"
        }

    def describe_guests(self) -> str:
        """The workload alone, for runs where the server is not ours to describe."""
        arrivals = (
            f"{self.users} users thinking {self.think} ms"
            if self.users
            else f"{self.rate:g} guests/s (Poisson)"
        )
        if self.mix:
            return f"{arrivals}, a mix {format_mix(self.kinds)}"
        return f"{arrivals}, phases {format_script(self.script)}"

    def describe(self) -> str:
        kitchen = ""  # the database, when it is finite
        if self.db_pool is not None:
            kitchen += f", a db pool of {self.db_pool} per process ({self.db_timeout:g} s wait)"
        if self.db_max is not None:
            kitchen += f", a database of {self.db_max} connections"
        gil = ""
        if self.structure.gil and self.gil == "off":
            gil = " free-threaded (no GIL)"
        elif self.structure.gil and self.switch_interval != 5.0:
            gil = f" GIL switch interval {self.switch_interval:g} ms"
        return f"{self.model} [{self.real_command}]{gil}{kitchen}, {self.describe_guests()}"


# --- reading ------------------------------------------------------------------------

FIELDS = {f.name for f in dataclasses.fields(Scenario)} - {"origins"}
PHASE_KEYS = ("upload", "cpu", "io", "db", "blocking")  # the single-phase keys
KEYS = FIELDS | set(PHASE_KEYS)


def canonical(key: str) -> str:
    return key.strip().replace("-", "_")


def flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _int(value: Any, where: str, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool):
        raise ScenarioError(where, f"expected a whole number, got {value!r}")
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise ScenarioError(where, f"expected a whole number, got {value!r}") from None
    if number < minimum:
        raise ScenarioError(where, f"must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ScenarioError(where, f"at most {maximum:,}, got {number:,}")
    return number


def _float(value: Any, where: str, *, positive: bool = False) -> float:
    if isinstance(value, bool):
        raise ScenarioError(where, f"expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ScenarioError(where, f"expected a number, got {value!r}") from None
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise ScenarioError(where, f"must be {'> 0' if positive else '>= 0'}, got {value!r}")
    return number


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ScenarioError(where, f"expected true or false, got {value!r}")


def _spike(text: str) -> tuple[float, float, float]:
    start, length, rate = (float(part) for part in text.split(":"))
    return start, length, rate


def _read_spike(value: Any, where: str, out: dict[str, Any]) -> str:
    """``--spike 20:10:80``: from 20 s, for 10 s, guests come at 80/s instead."""
    text = str(value).strip()
    if not text:
        return ""
    parts = text.split(":")
    if len(parts) != 3:
        raise ScenarioError(where, f"expected START:SECONDS:RATE like 20:10:80, got {text!r}")
    start = _float(parts[0], where)
    length = _float(parts[1], where, positive=True)
    rate = _float(parts[2], where, positive=True)
    if rate > limits.MAX_RATE:
        raise ScenarioError(where, f"at most {limits.MAX_RATE:,.0f} guests/s, got {rate:g}")
    if start + length > limits.MAX_DURATION:
        raise ScenarioError(where, f"must end within {limits.MAX_DURATION:,.0f} s")
    return f"{start:g}:{length:g}:{rate:g}"


def _dist_or_empty(value: Any, where: str) -> str:
    """A distribution in ms, kept as its canonical text; "" for none."""
    text = str(value).strip()
    if not text:
        return ""
    try:
        return str(parse_dist(text))
    except WorkloadError as exc:
        raise ScenarioError(where, str(exc)) from None


def build_scenario(values: Mapping[str, Any], origins: Mapping[str, str] | None = None) -> Scenario:
    """Check ``values`` (keys as flags or TOML keys) and build the Scenario.

    ``origins`` maps a key to where it came from, for the error message; a key with no
    origin is named as its flag.
    """
    data = {canonical(k): v for k, v in values.items() if v is not None}
    if data.get("mix") == "":  # as --json writes a scenario without a mix
        del data["mix"]
    where_of = {canonical(k): v for k, v in (origins or {}).items()}

    def where(key: str) -> str:
        return where_of.get(key, flag(key))

    for key in data:
        if key not in KEYS:
            close = [k for k in sorted(KEYS) if k.startswith(key[:3])]
            hint = f" (did you mean {flag(close[0])}?)" if close else ""
            raise ScenarioError(where(key), f"unknown scenario key {key!r}{hint}")

    model = str(data.get("model", DEFAULT)).strip().lower()
    try:
        row = server(model)
    except UnknownServer as exc:
        raise ScenarioError(where("model"), str(exc)) from None
    out: dict[str, Any] = {"model": model}
    for key, knob in KNOBS.items():
        default = row.default(key)
        if key not in data:
            out[key] = default
            continue
        value = _int(data[key], where(key), knob.minimum, knob.maximum)
        if not row.has(key) and value != default:
            raise ScenarioError(where(key), row.why_not(key))
        out[key] = value
    if out["workers"] * out["threads"] > limits.MAX_HOSTS:
        raise ScenarioError(where("threads" if "threads" in data else "workers"),
                            f"{out['workers']} x {out['threads']} hosts is more than the "
                            f"{limits.MAX_HOSTS:,} a party can hold")
    out["cores"] = _int(data.get("cores", 2), where("cores"), 1, limits.MAX_CORES)
    out["backlog"] = _int(data.get("backlog", 2048), where("backlog"), 0, limits.MAX_BACKLOG)
    out["timeout"] = _float(data.get("timeout", 30.0), where("timeout"), positive=True)
    out["boot"] = _float(data.get("boot", 500.0), where("boot"))
    discipline = str(data.get("discipline", "fifo")).strip().lower()
    if discipline not in DISCIPLINES:
        raise ScenarioError(where("discipline"), f"must be fifo or lifo, got {discipline!r}")
    out["discipline"] = discipline
    out["overhead"] = _float(data.get("overhead", 0.0), where("overhead"))
    out["wake"] = _float(data.get("wake", 0.0), where("wake"))
    if out["wake"] > limits.MAX_WAKE_MS:
        raise ScenarioError(where("wake"), f"must be at most {limits.MAX_WAKE_MS:g} ms (a "
                            f"wake-up is a millisecond or two), got {out['wake']:g}")
    out["somaxconn"] = _int(data.get("somaxconn", 4096), where("somaxconn"), 1,
                            limits.MAX_SOMAXCONN)
    out["abort_on_overflow"] = _bool(data.get("abort_on_overflow", False),
                                     where("abort_on_overflow"))
    out["reuse_port"] = _bool(data.get("reuse_port", False), where("reuse_port"))
    if out["reuse_port"] and not row.structure.takes_reuse_port:
        why = ("its supervisor binds one socket for all workers" if row.structure.manager
               == "supervisor" else "it is one process with one listen socket")
        raise ScenarioError(where("reuse_port"), f"{row.name} has no --reuse-port: {why}; it "
                            "needs Gunicorn's worker processes (" + ", ".join(
                                s.name for s in SERVERS.values()
                                if s.structure.takes_reuse_port) + ")")
    out["syn_retries"] = _int(data.get("syn_retries", 6), where("syn_retries"), 1,
                              limits.MAX_SYN_RETRIES)
    out["syn_linear_timeouts"] = _int(data.get("syn_linear_timeouts", 4),
                                      where("syn_linear_timeouts"), 0, limits.MAX_SYN_RETRIES)
    out["connect_timeout"] = _float(data.get("connect_timeout", 10.0), where("connect_timeout"),
                                    positive=True)
    if out["connect_timeout"] > limits.MAX_CONNECT_TIMEOUT:
        raise ScenarioError(where("connect_timeout"),
                            f"at most {limits.MAX_CONNECT_TIMEOUT:g} s, got "
                            f"{out['connect_timeout']:g}")
    out["spike"] = _read_spike(data.get("spike", ""), where("spike"), out)
    out["patience"] = _dist_or_empty(data.get("patience", ""), where("patience"))
    out["retries"] = _int(data.get("retries", 0), where("retries"), 0, limits.MAX_RETRIES)
    out["backoff"] = _dist_or_empty(data.get("backoff", "0"), where("backoff")) or "0"
    _read_db(data, where, out)
    out.update(_read_gil(data, where, row))

    if "mix" in data:
        if "phases" in data or any(k in data for k in PHASE_KEYS):
            first = next(k for k in ("phases", *PHASE_KEYS) if k in data)
            raise ScenarioError(where(first), "give either --mix or the phases, not both")
        out["mix"] = _read_mix(data["mix"], where("mix"))
        out["phases"] = ""
    else:
        out["phases"] = _read_script(data, where)

    if "users" in data:
        out["users"] = _int(data["users"], where("users"), 1)
        out["rate"] = None
    else:
        out["rate"] = _float(data.get("rate", 10.0), where("rate"), positive=True)
        if out["rate"] > limits.MAX_RATE:
            raise ScenarioError(where("rate"), f"at most {limits.MAX_RATE:,.0f} guests/s, "
                                f"got {out['rate']:g}")
    try:
        out["think"] = str(parse_dist(str(data.get("think", "0"))))
    except WorkloadError as exc:
        raise ScenarioError(where("think"), str(exc)) from None
    if out["spike"] and out.get("users") is not None:
        raise ScenarioError(where("spike"), "--spike needs an open loop (--rate), not --users")
    if "think" in data and "users" not in data and out["think"] != "0":
        raise ScenarioError(where("think"), "--think needs --users (a closed loop)")

    out["guests"] = (_int(data["guests"], where("guests"), 1, limits.MAX_GUESTS)
                     if "guests" in data else None)
    out["duration"] = (
        _float(data["duration"], where("duration"), positive=True) if "duration" in data else None
    )
    if out["duration"] is not None and out["duration"] > limits.MAX_DURATION:
        raise ScenarioError(where("duration"), f"at most {limits.MAX_DURATION:,.0f} s (a day), "
                            f"got {out['duration']:g}")
    if out["guests"] is None and out["duration"] is None:
        out["guests"] = 10_000
    if out["guests"] is None and out["rate"] and out["rate"] * out["duration"] > limits.MAX_GUESTS:
        raise ScenarioError(where("duration"), f"--rate x --duration is "
                            f"{out['rate'] * out['duration']:,.0f} guests; at most "
                            f"{limits.MAX_GUESTS:,} in one party (set --guests, or less of either)")
    if "warmup" in data:
        out["warmup"] = _float(data["warmup"], where("warmup"))
        if out["duration"] is not None and out["warmup"] >= out["duration"]:
            raise ScenarioError(where("warmup"), "must be shorter than --duration")
    out["seed"] = _int(data.get("seed", 1), where("seed"), 0)
    return Scenario(**out, origins=dict(where_of))


def layer(base: Mapping[str, Any], base_origins: Mapping[str, str],
          over: Mapping[str, Any], over_origins: Mapping[str, str] | None = None,
          ) -> tuple[dict[str, Any], dict[str, str]]:
    """``over`` laid on ``base``: flags over a TOML file, a lesson's ``like =``, a change.

    ``over`` wins; a value of None in it means "back to the default". What ``over``
    makes meaningless is dropped from ``base`` rather than refused later: the server
    knobs a newly chosen model lacks, or whose value was only the old model's default
    (so ``threads`` follows the model); the whole script when ``over`` gives phases or
    a single phase; ``rate`` when ``over`` gives users, and users and think when it
    gives a rate.
    """
    base = {canonical(k): v for k, v in base.items()}
    over = {canonical(k): v for k, v in over.items()}
    origins = {canonical(k): v for k, v in base_origins.items()}
    inherited = {k: v for k, v in base.items() if k not in over}
    old = str(base.get("model", DEFAULT)).strip().lower()
    new = str(over.get("model") or old).strip().lower()
    if new != old and new in SERVERS:
        row, before = SERVERS[new], SERVERS.get(old)
        for key in KNOBS:
            value = inherited.get(key)
            if value is None:
                continue
            if not row.has(key) or (before is not None and _same(value, before.default(key))):
                inherited.pop(key)
    if new in SERVERS and not SERVERS[new].structure.takes_reuse_port:  # one socket only
        inherited.pop("reuse_port", None)
    if new in SERVERS and not SERVERS[new].structure.gil:  # a server with no GIL to tune
        for key in GIL_KEYS:
            inherited.pop(key, None)
    if any(k in over for k in PHASE_KEYS):  # one phase changed: the others stay
        inherited.pop("phases", None)
        inherited.pop("mix", None)
    if "phases" in over or "mix" in over:  # a whole script, or a mix of them
        for key in (*PHASE_KEYS, "phases", "mix"):
            inherited.pop(key, None)
    if "users" in over:
        inherited.pop("rate", None)
    if "rate" in over:
        inherited.pop("users", None)
        inherited.pop("think", None)
    values = {**inherited, **{k: v for k, v in over.items() if v is not None}}
    origins = {k: origins[k] for k in inherited if k in origins}
    origins.update({canonical(k): v for k, v in (over_origins or {}).items()
                    if canonical(k) in values})
    return values, origins


def _read_gil(data: dict[str, Any], where, row) -> dict[str, Any]:
    """``--gil on|off`` and ``--switch-interval MS``: only where threads share a GIL."""
    gil = str(data.get("gil", "on")).strip().lower()
    if gil not in GIL_STATES:
        raise ScenarioError(where("gil"), f"must be on or off, got {data['gil']!r}")
    interval = _float(data.get("switch_interval", 5.0), where("switch_interval"), positive=True)
    low, high = limits.MIN_SWITCH_INTERVAL_MS, limits.MAX_SWITCH_INTERVAL_MS
    if not low <= interval <= high:
        raise ScenarioError(where("switch_interval"),
                            f"must be {low:g}..{high:,.0f} ms, got {interval:g}")
    if not row.structure.gil:
        for key, value, default in (("gil", gil, "on"), ("switch_interval", interval, 5.0)):
            if value != default:
                raise ScenarioError(where(key), f"{row.name} has no GIL shared by threads "
                                    f"(one thread per process); {flag(key)} is for "
                                    + ", ".join(s.name for s in SERVERS.values()
                                                if s.structure.gil))
    return {"gil": gil, "switch_interval": interval}


def _same(value: Any, default: Any) -> bool:
    try:
        return int(str(value).strip()) == default
    except (TypeError, ValueError):
        return False


def _read_db(data: dict[str, Any], where, out: dict[str, Any]) -> None:
    """``--db-pool``, ``--db-timeout``, ``--db-max``: the kitchen's size (see ``sim.model.base``).

    Without ``--db-pool`` there is no pool: each db phase opens its own connection and
    closes it after (SQLAlchemy's NullPool), counted against ``--db-max`` if given, and
    never waits; with neither, a db phase is plain io. So ``--db-timeout`` needs a pool.
    """
    out["db_pool"] = (_int(data["db_pool"], where("db_pool"), 1, limits.MAX_DB_POOL)
                      if "db_pool" in data else None)
    out["db_max"] = (_int(data["db_max"], where("db_max"), 1, limits.MAX_DB_MAX)
                     if "db_max" in data else None)
    out["db_timeout"] = _float(data.get("db_timeout", 30.0), where("db_timeout"), positive=True)
    if out["db_timeout"] > limits.MAX_DB_TIMEOUT:
        raise ScenarioError(where("db_timeout"), f"at most {limits.MAX_DB_TIMEOUT:g} s "
                            f"(MAX_DB_TIMEOUT), got {out['db_timeout']:g}")
    if out["db_pool"] is None and out["db_timeout"] != 30.0:
        raise ScenarioError(where("db_timeout"), "--db-timeout needs --db-pool (without a pool "
                            "nobody waits for a connection)")


def _read_mix(value: Any, where: str) -> str:
    """``--mix "90%=io:50;10%=cpu:2"``, or the ``[[mix]]`` tables of a TOML file."""
    try:
        if isinstance(value, list):
            entries = []
            for entry in value:
                if not isinstance(entry, Mapping) or set(entry) != {"share", "phases"}:
                    raise WorkloadError("each [[mix]] entry takes share = 90 (percent) and "
                                        "phases = \"io:50\", nothing else")
                entries.append((entry["share"], entry["phases"]))
            mix = mix_from_entries(entries)
        else:
            mix = parse_mix(str(value))
    except WorkloadError as exc:
        raise ScenarioError(where, str(exc)) from None
    return format_mix(mix)


def _read_script(data: dict[str, Any], where) -> str:
    """The phase script: ``phases`` or the single-phase keys, never both."""
    singles = {k: str(data[k]) for k in PHASE_KEYS if k in data}
    if "phases" in data and singles:
        first = next(iter(singles))
        raise ScenarioError(
            where(first), "give either --phases or the single phase flags, not both"
        )
    try:
        if "phases" in data:
            script = parse_phases(str(data["phases"]))
        else:
            script = script_from_flags(**(singles or DEFAULT_SCRIPT))
    except WorkloadError as exc:
        key = "phases" if "phases" in data else _guilty(singles, exc)
        raise ScenarioError(where(key), str(exc)) from None
    return ",".join(str(step) for step in script if step.dist != ZERO)


def _guilty(singles: dict[str, str], exc: WorkloadError) -> str:
    for key, spec in singles.items():
        try:
            parse_dist(spec)
        except WorkloadError:
            return key
    return next(iter(singles), "phases")


def load_toml(path: str | Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Read a scenario file: its values, and ``file:line`` for each key.

    Keys may sit at the top or under a ``[scenario]`` table.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(str(path), f"cannot read scenario file: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        where = f"{path}:{line.group(1)}" if line else str(path)
        raise ScenarioError(where, f"not valid TOML: {str(exc).split(' (at')[0]}") from None
    if isinstance(data.get("scenario"), dict):
        data = data["scenario"]
    if isinstance(data.get("profile"), dict):  # `partyhost profile`'s notes beside the mix
        data = {k: v for k, v in data.items() if k != "profile"}  # (sim.profile.output)
    origins = {}
    lines = text.splitlines()
    for key, value in data.items():
        if isinstance(value, dict) or (isinstance(value, list) and key != "mix"):
            raise ScenarioError(f"{path}:{_line_of(lines, key)}", f"unexpected table [{key}]")
        origins[canonical(key)] = f"{path}:{_line_of(lines, key)}"
    return data, origins


def _line_of(lines: list[str], key: str) -> int:
    pattern = re.compile(rf"^\s*(\[\[?)?\s*[\"']?{re.escape(key)}[\"']?\s*(=|\])")
    for number, line in enumerate(lines, 1):
        if pattern.match(line):
            return number
    return 1

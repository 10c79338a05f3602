"""The scenario flags every party-running command shares, and how they become a Scenario.

Flags are read as plain strings and handed, with ``--scenario FILE.toml`` underneath,
to ``sim.scenario.build_scenario``: one place checks values, so a bad ``--rate`` and a
bad ``rate = -1`` on line 3 of a file get the same kind of one-line error.
"""

from __future__ import annotations

import argparse
import stat
from pathlib import Path
from typing import Any

from sim.limits import (
    MAX_CORES,
    MAX_DB_MAX,
    MAX_DB_POOL,
    MAX_DURATION,
    MAX_GUESTS,
    MAX_RATE,
    MAX_SWITCH_INTERVAL_MS,
    MIN_SWITCH_INTERVAL_MS,
)
from sim.scenario import Scenario, build_scenario, flag, layer, load_toml
from sim.servers import KNOBS, NAMES, SERVERS


# (key, metavar, help); all values are read by sim.scenario
def _knob_help(key: str) -> str:
    """A knob's help and, from the table, which servers have it and their defaults."""
    having = [(name, row.default(key)) for name, row in SERVERS.items() if row.has(key)]
    defaults = ", ".join(f"{name} {value}" if value is not None else name
                         for name, value in having)
    most = KNOBS[key].maximum
    return f"{KNOBS[key].help} ({defaults}{f'; at most {most:,}' if most else ''})"


GIL_SERVERS = ", ".join(name for name, row in SERVERS.items() if row.structure.gil)
SERVER_FLAGS = [
    ("model", "MODEL", " | ".join(NAMES) + f" (default {NAMES[0]})"),
    ("workers", "W", _knob_help("workers")),
    ("threads", "T", _knob_help("threads")),
    ("cores", "C", f"CPU cores the party's processes share (default 2, at most {MAX_CORES})"),
    ("backlog", "B", "listen backlog: the line outside (Linux holds one more); beyond it, "
     "knocks are dropped (default 2048)"),
    ("timeout", "S", "seconds before the manager kills a silent worker (default 30)"),
    ("boot", "MS", "ms for a replacement worker to boot (default 500)"),
    ("limit-concurrency", "N", _knob_help("limit_concurrency")),
    ("worker-connections", "N", _knob_help("worker_connections")),
    ("discipline", "fifo|lifo", "who in the line is served first (default fifo)"),
    ("overhead", "MS", "server cpu per request, as measured by `partyhost calibrate`"),
    ("wake", "MS", "the kernel's wake-up of a host asleep waiting for a guest (a host "
                   "asleep t ms pays MS x (1 - e^(-t/1.5)); `partyhost verify` measures it; "
                   "default 0)"),
    ("db-pool", "N", "database connections per process for db phases, like SQLAlchemy's "
                     "pool_size (default: no pool, a db phase is plain io; "
                     f"at most {MAX_DB_POOL:,})"),
    ("db-timeout", "S", "seconds a guest waits for a pool connection, then a 500 "
                        "(SQLAlchemy's pool_timeout; default 30)"),
    ("db-max", "N", "the database's max_connections across all processes; beyond it a "
                    "connection is refused at once, a 500 (default: no limit; "
                    f"at most {MAX_DB_MAX:,})"),
    ("switch-interval", "MS", "the GIL passes to a waiting thread after MS of holding it, as "
                              f"CPython's sys.setswitchinterval ({GIL_SERVERS}; default 5, "
                              f"{MIN_SWITCH_INTERVAL_MS:g}..{MAX_SWITCH_INTERVAL_MS:,.0f})"),
    ("gil", "on|off", "off: free-threaded Python (3.14t, PEP 779), a process's threads run cpu "
                      f"on every core at once ({GIL_SERVERS}; default on). Importing a C "
                      "extension not declared free-threading-safe turns the GIL back on"),
]
DOOR_FLAGS = [
    ("somaxconn", "N", "net.core.somaxconn: Linux caps the backlog at this (default 4096)"),
    ("abort-on-overflow", None, "net.ipv4.tcp_abort_on_overflow=1: a guest whose SYN passed "
                                "but whose ACK found the line full (half-open) is reset; a SYN "
                                "at a full line is still dropped (the guest knocks again 1, 2, "
                                "3, 4, 5, 7, 11... s later)"),
    ("reuse-port", None, "a line per host process (SO_REUSEPORT, gunicorn --reuse-port): the "
                         "kernel hashes each guest to one worker's line, and that worker alone "
                         "takes them, so a guest may wait behind a slow one while another host "
                         "idles; by default all workers take from one shared line, and the "
                         "one that wakes first may take everyone waiting"),
    ("syn-retries", "N", "net.ipv4.tcp_syn_retries: SYNs a client resends (default 6)"),
    ("syn-linear-timeouts", "N", "net.ipv4.tcp_syn_linear_timeouts: resends 1 s apart before "
                                 "the gaps double (default 4, Linux >= 6.5; 0 on older kernels: "
                                 "1, 3, 7, 15... s)"),
    ("connect-timeout", "S", "seconds a guest keeps knocking before giving up (default 10)"),
]
GUEST_FLAGS = [
    ("upload", "DIST", "slow client sending its request (ms), before the handler runs"),
    ("cpu", "DIST", "handler CPU work (ms): needs a core"),
    ("io", "DIST", "waiting for I/O (ms): an event loop serves others meanwhile"),
    ("db", "DIST", "a database query (ms): io that needs a connection of --db-pool first"),
    ("blocking", "DIST", "a blocking call (ms): an event loop is stuck for its length"),
    ("phases", "LIST", "explicit ordered script instead, e.g. cpu:2,io:exp:50,cpu:3"),
    ("mix", "MIX", "kinds of guest (endpoints) instead: SHARE%%=PHASES;..., shares adding to "
                   "100%%, e.g. \"90%%=io:50;10%%=cpu:2,blocking:50\""),
    ("rate", "R", f"open-loop Poisson arrivals, guests/s (default 10, at most {MAX_RATE:,.0f})"),
    ("users", "N", "closed loop instead: N users, each waits for its answer"),
    ("think", "DIST", "closed loop: users think this long between requests (ms)"),
    ("guests", "N", "how many guests come (default 10000, or unbounded with --duration; "
                    f"at most {MAX_GUESTS:,}, and rate x duration too)"),
    ("duration", "S", f"stop arrivals after S seconds of party time (at most {MAX_DURATION:,.0f})"),
    ("warmup", "S", "seconds left out of the numbers (default: the first 10%% of the run)"),
    ("seed", "N", "random seed: the same seed gives the same guests (default 1)"),
    ("spike", "START:S:RATE", "a burst: from START s, for S s, guests come at RATE/s "
                              "(open loop), e.g. 20:10:80"),
    ("patience", "DIST", "ms a guest waits for the answer before hanging up (default: forever); "
                         "the server goes on working for nobody"),
    ("retries", "N", "a guest turned away, failed or out of patience tries again, N times at "
                     "most (default 0)"),
    ("backoff", "DIST", "ms before a retry, doubled each time; exp:200 adds jitter (default 0)"),
]

DIST_HELP = """\
Distributions are in milliseconds: 50 (constant), exp:50 (exponential, mean 50),
uniform:10,90, lognormal:50,20 (mean, sd), 0 (phase absent). With no phase flag the
guest is --cpu 5 --io exp:50.
"""


def add_scenario_flags(parser: argparse.ArgumentParser, *, model: bool = True) -> None:
    server = parser.add_argument_group("the server (the hosts)")
    for key, metavar, text in SERVER_FLAGS:
        if key == "model" and not model:
            continue
        server.add_argument(flag(key), dest=key.replace("-", "_"), metavar=metavar, help=text)
    door = parser.add_argument_group("the door (Linux's accept queue)")
    for key, metavar, text in DOOR_FLAGS:
        if metavar is None:
            door.add_argument(flag(key), dest=key.replace("-", "_"), action="store_const",
                              const="true", help=text)
        else:
            door.add_argument(flag(key), dest=key.replace("-", "_"), metavar=metavar, help=text)
    guests = parser.add_argument_group("the guests (the workload)")
    for key, metavar, text in GUEST_FLAGS:
        guests.add_argument(flag(key), dest=key, metavar=metavar, help=text)
    parser.add_argument(
        "--scenario", metavar="FILE.toml", help="read the same keys from a TOML file; flags win"
    )


MAX_SCENARIO_BYTES = 1_000_000  # a scenario file is a few lines; more is a mistake


def read_scenario_file(path: str) -> tuple[dict[str, Any], dict[str, str]]:
    """``load_toml``, but a binary, endless or huge file is one line, not a traceback."""
    from tui.commands import CliError

    file = Path(path)
    try:
        info = file.stat()
    except OSError:
        info = None  # load_toml says why it cannot read it
    if info is not None and not file.is_dir():
        if not stat.S_ISREG(info.st_mode):
            raise CliError(f"--scenario {path}: not a regular file")
        if info.st_size > MAX_SCENARIO_BYTES:
            raise CliError(f"--scenario {path}: {info.st_size:,} bytes is too big for a "
                           f"scenario file (at most {MAX_SCENARIO_BYTES:,})")
    try:
        return load_toml(path)
    except UnicodeDecodeError:
        raise CliError(f"--scenario {path}: not a text file (not UTF-8 TOML)") from None


def scenario_values(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, str]]:
    """The TOML file's values with the flags laid on top (``sim.scenario.layer``), and
    where each came from."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    if getattr(args, "scenario", None):
        values, origins = read_scenario_file(args.scenario)
    flags: dict[str, Any] = {}
    for key, _, _ in SERVER_FLAGS + DOOR_FLAGS + GUEST_FLAGS:
        name = key.replace("-", "_")
        value = getattr(args, name, None)
        if value is not None:
            flags[name] = value
    return layer(values, origins, flags, {name: flag(name) for name in flags})


def scenario_from_args(args: argparse.Namespace, **overrides: Any) -> Scenario:
    values, origins = scenario_values(args)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return build_scenario(values, origins)

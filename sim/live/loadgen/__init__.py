"""The load generator: the simulation's very guests, sent to a real server on time.

One concern per module:

- ``bounds``: the hard caps and ``LoadgenError`` (a flag beyond a cap errs);
- ``target``: the URL, resolved once, loopback unless ``allow_remote``;
- ``schedule``: the guests (the simulation's own, same seed) and their request bytes;
- ``response``: reading answers (h11, or the hand parser: see its docstring);
- ``fastconnect``: the connect fast path, the one module on asyncio's private API;
- ``connection``: one client connection, and how a guest's try ended;
- ``shot`` : the outcomes the client sees (refused, reset, timed out, failed);
- ``generator``: open and closed sending, patience, retries, the hard stop;
- ``results``: the shots folded into ``simulate``'s summary, ``HitResult``.

The public names are importable from here, as they were from the single module.
"""

from __future__ import annotations

from typing import Any

from sim.live.loadgen.bounds import (
    DEFAULT_DURATION,
    DEFAULT_TIMEOUT,
    MAX_DURATION,
    MAX_GUESTS,
    MAX_TIMEOUT,
    Bounds,
    LoadgenError,
    bounds,
    check_timeout,
)
from sim.live.loadgen.connection import Connection
from sim.live.loadgen.generator import (
    EARLY,
    END_GRACE,
    LAUNCH_BATCH,
    LEAD,
    Generator,
    alone,
)
from sim.live.loadgen.results import (
    BEHIND_LAG_P99,
    BEHIND_RATE,
    HEALTHY_LAG_P99,
    HitResult,
    Snapshot,
    summarize,
    wasted,
)
from sim.live.loadgen.schedule import (
    AppRequest,
    app_request_bytes,
    live_workload_scenario,
    request_bytes,
    schedule,
    upload_seconds,
)
from sim.live.loadgen.shot import (
    CLIENT_ERROR,
    FAILED,
    OK,
    REFUSED,
    RESET,
    TIMED_OUT,
    TURNED_AWAY,
    Shot,
)
from sim.live.loadgen.target import Target, check_target, is_loopback, parse_target, resolve


def hit(url: str, scenario: Any, **options: Any) -> HitResult:
    """Hit ``url`` with ``scenario``'s guests and wait for the result (blocking)."""
    return Generator(parse_target(url), scenario, **options).run()


__all__ = [
    "BEHIND_LAG_P99", "BEHIND_RATE", "CLIENT_ERROR", "DEFAULT_DURATION", "DEFAULT_TIMEOUT",
    "EARLY", "END_GRACE", "FAILED", "HEALTHY_LAG_P99", "LAUNCH_BATCH", "LEAD", "MAX_DURATION",
    "MAX_GUESTS", "MAX_TIMEOUT", "OK", "REFUSED", "RESET", "TIMED_OUT", "TURNED_AWAY", "Bounds",
    "Connection", "Generator", "HitResult", "LoadgenError", "Shot", "Snapshot", "Target",
    "alone", "bounds", "check_target", "check_timeout", "hit", "is_loopback",
    "live_workload_scenario", "parse_target", "request_bytes", "resolve", "schedule",
    "summarize", "upload_seconds", "wasted", "AppRequest", "app_request_bytes",
]

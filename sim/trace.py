"""The trace: the one event vocabulary every party speaks.

Theory of operation. A simulated party (``sim.model``) and a live one (``sim.live``)
never meet; they only describe what happened in these words. Each event is a small
frozen dataclass stamped with ``t``, seconds since the party opened (simulated time,
or ``time.monotonic()`` minus the server's start for a live run). Whoever listens
(metrics, the terminal app, a JSON-lines file) is a *sink*: any callable that takes
one event. Models call the sink at every state change and know nothing else about it.

Ids: ``guest`` numbers requests from 0 in arrival order; ``worker`` numbers hosts
(``sync``: a process; ``threaded``: process * threads + thread; ``async``/``hybrid``:
an event loop, one per process). A replacement worker keeps the slot id of the worker
it replaces, as a re-forked Gunicorn worker takes the dead one's place.

The JSON-lines form is one object per line, ``{"kind": "...", "t": ..., ...}``: the
dataclass fields plus the event's ``kind``. ``to_json``/``from_json`` round-trip it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import ClassVar

# Phase kinds, in the order the flags build a script.
UPLOAD = "upload"
CPU = "cpu"
IO = "io"
BLOCKING = "blocking"
DB = "db"  # io that needs one connection of the process's database pool (sim.model.base)
PHASE_KINDS = (UPLOAD, CPU, IO, DB, BLOCKING)

# Why a guest was turned away: what the client saw, never knowing why.
REASON_REFUSED = "refused"  # RST to the SYN: nobody listens (a full line drops it instead)
REASON_RESET = "reset"  # reset before the request was sent (tcp_abort_on_overflow=1 half-open)
REASON_TIMED_OUT = "timed_out"  # the client gave up: connect timeout, or its patience
TURNED_AWAY_REASONS = (REASON_REFUSED, REASON_RESET, REASON_TIMED_OUT)
# Why a guest failed: its request was sent, and no good answer came.
REASON_TIMEOUT = "timeout"  # the manager killed the worker serving the guest
REASON_LIMIT = "503"  # limit-concurrency: answered 503
REASON_ERROR = "error"  # a live server answered 5xx, or reset after the request was sent
REASON_DB_TIMEOUT = "db_timeout"  # no pool connection within --db-timeout: a 500
REASON_DB_REFUSED = "db_refused"  # the database was at --db-max connections: a 500 at once

# Guests the load generator did not send (curl, a browser, the app's "send a guest" key)
# carry no X-Guest-Id; a live server numbers them from VISITOR_BASE, so they never share
# a number with the generator's guests (0 up, at most sim.live.loadgen.bounds.MAX_GUESTS)
# and the app draws them as visitors.
VISITOR_BASE = 10**12


def is_visitor(guest: int) -> bool:
    """Did this guest come from outside the load generator (a live party's visitor)?"""
    return guest >= VISITOR_BASE


def guest_name(guest: int) -> str:
    """"guest 7", or "visitor 3" for the 3rd number a server gave a visitor (from 1)."""
    return f"visitor {guest - VISITOR_BASE + 1}" if guest >= VISITOR_BASE else f"guest {guest}"


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every trace event: a time in seconds."""

    kind: ClassVar[str] = "event"
    t: float


@dataclass(frozen=True, slots=True)
class ServerStarted(Event):
    """The party opens: which model, how many hosts, on how many cores.

    Sent first, so a listener can size its pictures and its utilisation sums.
    ``hosts`` is the number of worker ids (processes x threads, or loops).
    ``switch_interval``: seconds a thread may keep its process's GIL while another
    waits (``sys.getswitchinterval()``), for a structure with a GIL; 0 when the GIL is
    off (free-threaded Python, ``--gil off``), so a picture draws no token.
    """

    kind: ClassVar[str] = "server_started"
    model: str
    workers: int
    threads: int
    cores: int
    hosts: int
    backlog: int
    switch_interval: float = 0.005


@dataclass(frozen=True, slots=True)
class Arrived(Event):
    """A guest knocks: a connection reaches the listen socket (its first SYN).

    ``endpoint`` is which kind of guest it is in a mix (0 without one). ``attempt`` is
    0 for a first try and k for a client's k-th retry of a request that failed or
    timed out (``--retries``); each try is its own guest id.
    """

    kind: ClassVar[str] = "arrived"
    guest: int
    endpoint: int = 0
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class SynDropped(Event):
    """The line was full and Linux dropped the guest's SYN without a word.

    The client will knock again (retransmit the SYN) at ``retry_at``, or ``None`` if its
    connect timeout comes first (then a ``TurnedAway`` with ``timed_out`` follows).
    ``attempt`` counts the SYNs sent so far (1 for the first).
    """

    kind: ClassVar[str] = "syn_dropped"
    guest: int
    attempt: int
    retry_at: float | None


@dataclass(frozen=True, slots=True)
class HalfOpen(Event):
    """The guest's SYN found room, its ACK a full line: *half-open*.

    The client believes it is connected and sends its request, which Linux drops; it
    gets in on a later try (``sim.model.door``). ``cookie``: the kernel answered with a
    syncookie and keeps nothing, so only the request's own resend can get it in.
    """

    kind: ClassVar[str] = "half_open"
    guest: int
    cookie: bool


@dataclass(frozen=True, slots=True)
class Queued(Event):
    """The guest joins the line outside (the backlog); ``depth`` counts them after."""

    kind: ClassVar[str] = "queued"
    guest: int
    depth: int


@dataclass(frozen=True, slots=True)
class Hashed(Event):
    """``--reuse-port`` only: the kernel hashed the guest's connection to the listen
    socket of worker process ``process``; the guest waits in that process's line, and
    only its workers take them (told once, before the first ``Queued`` or
    ``SynDropped``: a resent SYN hashes the same)."""

    kind: ClassVar[str] = "hashed"
    guest: int
    process: int


@dataclass(frozen=True, slots=True)
class TurnedAway(Event):
    """The guest leaves unanswered before sending a request, or gives up waiting.

    ``reason`` is what the client saw (``TURNED_AWAY_REASONS``): refused, reset, or
    timed out (its connect timeout during the SYN ladder, or its patience at any point:
    a guest who gives up inside may still be served later, for nobody).
    """

    kind: ClassVar[str] = "turned_away"
    guest: int
    reason: str


@dataclass(frozen=True, slots=True)
class Started(Event):
    """A worker takes the guest from the line: the wait is over (accept)."""

    kind: ClassVar[str] = "started"
    guest: int
    worker: int


@dataclass(frozen=True, slots=True)
class PhaseStarted(Event):
    """A phase really begins: for cpu, once the guest holds a core (and the GIL)."""

    kind: ClassVar[str] = "phase_started"
    guest: int
    worker: int
    phase: str


@dataclass(frozen=True, slots=True)
class PhaseEnded(Event):
    """A phase is over."""

    kind: ClassVar[str] = "phase_ended"
    guest: int
    worker: int
    phase: str


@dataclass(frozen=True, slots=True)
class GilPassed(Event):
    """A process's GIL passes to a host thread that waited for it (``sim.model.gil``).

    Told only at a hand-over to a waiting thread with work (its switch interval ran
    out, or the holder finished or blocked), so an uncontended GIL costs no event: a
    thread that finds it free takes it silently, and its ``PhaseStarted`` of cpu says
    so. ``process`` is the process's number, ``worker`` the thread's host id.
    """

    kind: ClassVar[str] = "gil_passed"
    process: int
    worker: int


@dataclass(frozen=True, slots=True)
class LoopBlocked(Event):
    """An event loop stops turning: a blocking call (or cpu work) holds it."""

    kind: ClassVar[str] = "loop_blocked"
    worker: int
    guest: int
    phase: str


@dataclass(frozen=True, slots=True)
class LoopUnblocked(Event):
    """The event loop turns again."""

    kind: ClassVar[str] = "loop_unblocked"
    worker: int
    guest: int


@dataclass(frozen=True, slots=True)
class Finished(Event):
    """The guest got the answer and leaves happy."""

    kind: ClassVar[str] = "finished"
    guest: int
    worker: int


@dataclass(frozen=True, slots=True)
class Failed(Event):
    """The guest leaves without an answer: a 503, or the worker was killed.

    ``worker`` is -1 when no worker had the guest yet.
    """

    kind: ClassVar[str] = "failed"
    guest: int
    worker: int
    reason: str


@dataclass(frozen=True, slots=True)
class WorkerKilled(Event):
    """The manager (Gunicorn's arbiter) kills a silent worker."""

    kind: ClassVar[str] = "worker_killed"
    worker: int
    reason: str


@dataclass(frozen=True, slots=True)
class WorkerBooted(Event):
    """A worker is ready to serve (at start, or replacing a killed one)."""

    kind: ClassVar[str] = "worker_booted"
    worker: int


EVENT_TYPES: tuple[type[Event], ...] = (
    ServerStarted,
    Arrived,
    SynDropped,
    HalfOpen,
    Queued,
    Hashed,
    TurnedAway,
    Started,
    PhaseStarted,
    PhaseEnded,
    GilPassed,
    LoopBlocked,
    LoopUnblocked,
    Finished,
    Failed,
    WorkerKilled,
    WorkerBooted,
)
BY_KIND: dict[str, type[Event]] = {cls.kind: cls for cls in EVENT_TYPES}

Sink = Callable[[Event], None]


def discard(event: Event) -> None:
    """A sink that listens to nothing: for runs that only want the end state."""


def tee(*sinks: Sink) -> Sink:
    """One sink that hands each event to several listeners, in order."""

    def sink(event: Event) -> None:
        for each in sinks:
            each(event)

    return sink


class TraceFormatError(ValueError):
    """A JSON line that is not an event of this vocabulary."""


def to_dict(event: Event) -> dict:
    return {"kind": event.kind, **asdict(event)}


def to_json(event: Event) -> str:
    """One JSON line (no newline) for ``event``."""
    return json.dumps(to_dict(event), separators=(",", ":"))


def from_dict(data: dict) -> Event:
    try:
        cls = BY_KIND[data["kind"]]
    except (KeyError, TypeError) as exc:
        raise TraceFormatError(f"unknown event kind in {data!r}") from exc
    names = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in data.items() if k in names})
    except TypeError as exc:
        raise TraceFormatError(f"bad {cls.kind} event {data!r}: {exc}") from exc


def from_json(line: str) -> Event:
    """Parse one JSON line back into its event."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise TraceFormatError(f"not JSON: {line[:80]!r}") from exc
    if not isinstance(data, dict):
        raise TraceFormatError(f"not a JSON object: {line[:80]!r}")
    return from_dict(data)

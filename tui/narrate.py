"""The narrator: one trace event told as a sentence in party words, the real term beside it.

Theory of operation. ``narrate`` is a pure function of an event and a little context
(which model is running, when the guest arrived), so it can be tested without Textual
and used by anyone: the app's narrated log, a lesson, a notebook. It returns a
``Narration``, the party sentence and the server term apart, so a widget can dim the
term; ``str()`` joins them as "party words (server words)". Sentences keep DESIGN.md's
analogy table: guest = request, host = worker, the line = the listen backlog, waiting
for the kitchen = awaiting I/O, dozing at the kitchen door = a blocking call in async
code, the manager = Gunicorn's arbiter, rooms = cores.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.servers import structure_of
from sim.trace import (
    BLOCKING,
    CPU,
    DB,
    IO,
    REASON_DB_REFUSED,
    REASON_DB_TIMEOUT,
    REASON_ERROR,
    REASON_LIMIT,
    REASON_REFUSED,
    REASON_RESET,
    REASON_TIMED_OUT,
    REASON_TIMEOUT,
    UPLOAD,
    Arrived,
    Event,
    Failed,
    Finished,
    GilPassed,
    HalfOpen,
    Hashed,
    LoopBlocked,
    LoopUnblocked,
    PhaseEnded,
    PhaseStarted,
    Queued,
    ServerStarted,
    Started,
    SynDropped,
    TurnedAway,
    WorkerBooted,
    WorkerKilled,
    guest_name,
    is_visitor,
)

# The real term for each reason a guest leaves unanswered.
REASON_TERMS = {
    REASON_REFUSED: "connection refused: nobody listening (a full backlog drops the SYN)",
    REASON_RESET: "connection reset before the request was sent (tcp_abort_on_overflow=1 "
                  "resets a half-open one)",
    REASON_TIMED_OUT: "client timed out: connect timeout or its patience",
    REASON_TIMEOUT: "worker killed by the arbiter: --timeout",
    REASON_LIMIT: "503: --limit-concurrency reached",
    REASON_ERROR: "5xx or connection reset",
    REASON_DB_TIMEOUT: "500: no pool connection within --db-timeout",
    REASON_DB_REFUSED: "500: the database refused a connection (--db-max)",
}

# What a host looks like doing each phase: the party word and the real term.
PHASE_WORDS = {
    CPU: ("chatting", "CPU work"),
    IO: ("waiting for the kitchen", "awaiting I/O"),
    BLOCKING: ("dozing at the kitchen door", "blocking call"),
    UPLOAD: ("taking a slow coat", "slow client upload"),
    DB: ("waiting for a kitchen table", "database query on a pooled connection"),
}


@dataclass(frozen=True, slots=True)
class Narration:
    """One sentence: ``party`` for the learner, ``real`` for the server term."""

    party: str
    real: str

    def __str__(self) -> str:
        return f"{self.party} ({self.real})"


def host_name(worker: int, model: str, threads: int = 1) -> str:
    """How a learner reads a worker id: host 3, host 1.2 (process 1, thread 2), or
    pool thread 7 (a thread behind an event loop)."""
    shape = structure_of(model)
    if shape.pool:
        return f"pool thread {worker}"
    if shape.threaded and threads > 1:
        return f"host {worker // threads}.{worker % threads}"
    return f"host {worker}"


def _worker_word(model: str) -> str:
    """What holds a guest beside it while it waits: a sync worker or a pool thread."""
    shape = structure_of(model)
    return "pool thread" if shape.pool else ("thread" if shape.threaded else "sync worker")


def narrate(
    event: Event, model: str, arrived_at: float | None = None, threads: int = 1,
    kinds: tuple[str, ...] = (), gil: bool = True,
) -> Narration | None:
    """``_narrate``, with a live party's visitor (curl, the app's key) called a visitor."""
    narration = _narrate(event, model, arrived_at, threads, kinds, gil)
    guest = getattr(event, "guest", None)
    if narration is None or guest is None or not is_visitor(guest):
        return narration
    return Narration(narration.party.replace(f"guest {guest}", guest_name(guest)),
                     narration.real)


def _narrate(
    event: Event, model: str, arrived_at: float | None = None, threads: int = 1,
    kinds: tuple[str, ...] = (), gil: bool = True,
) -> Narration | None:
    """The sentence for ``event``; None for events nobody needs told (none so far).

    ``gil`` False: free-threaded (``--gil off``), the threads hold no GIL token.

    ``arrived_at`` is the guest's arrival time, for "leaves after 120 ms"; ``kinds``
    names each kind of guest of a mix by its phases, so the story says who asks what.
    """
    loop = structure_of(model).juggles
    match event:
        case ServerStarted():
            hosts = (
                f"{event.workers} event loop{'s' if event.workers > 1 else ''}"
                if loop
                else f"{event.hosts} host{'s' if event.hosts > 1 else ''}"
            )
            return Narration(
                f"the party opens: {hosts}, {event.cores} rooms, a line of {event.backlog}",
                f"{model} server started: {event.workers} workers x {event.threads} threads, "
                f"{event.cores} cores, backlog {event.backlog}",
            )
        case Arrived():
            if kinds and event.endpoint < len(kinds):
                return Narration(f"guest {event.guest} knocks at the door, asking for "
                                 f"{kinds[event.endpoint]}",
                                 f"connection arrives (kind {event.endpoint + 1} of the mix)")
            return Narration(f"guest {event.guest} knocks at the door", "connection arrives")
        case Queued():
            return Narration(
                f"guest {event.guest} joins the line ({event.depth} waiting)",
                "let in by the event loop, waiting for a thread-pool token"
                if structure_of(model).pool else "queued in the listen backlog",
            )
        case Hashed():
            return Narration(
                f"guest {event.guest} is sent to the line of host process {event.process}, "
                "and only its hosts will take them",
                "SO_REUSEPORT: the kernel hashes the connection to one worker's listen socket",
            )
        case SynDropped():
            again = ("will give up before its next knock" if event.retry_at is None
                     else f"knocks again in {event.retry_at - event.t:.0f} s")
            return Narration(
                f"guest {event.guest} knocks, the line is full, nobody answers: it {again}",
                f"SYN {event.attempt} dropped at a full accept queue",
            )
        case HalfOpen():
            return Narration(
                f"guest {event.guest} thinks it is in, but the line filled up first: its "
                "request is lost and will be sent again",
                "half-open: the SYN passed, the ACK found the accept queue full"
                + (" (a syncookie: no state kept)" if event.cookie else ""),
            )
        case TurnedAway():
            what = {REASON_REFUSED: "finds nobody at the door and is refused at once",
                    REASON_RESET: "thought it was in, and is thrown out (reset)",
                    REASON_TIMED_OUT: "gives up waiting and leaves"}.get(
                        event.reason, "is turned away at the door")
            return Narration(
                f"guest {event.guest} {what}",
                REASON_TERMS.get(event.reason, event.reason),
            )
        case Started():
            host = host_name(event.worker, model, threads)
            if loop:
                return Narration(
                    f"{host} lets guest {event.guest} in and starts juggling them",
                    "event loop accepts the connection",
                )
            if structure_of(model).pool:
                return Narration(f"{host} takes guest {event.guest} from the event loop",
                                 "a thread-pool token is free: the handler runs in a thread")
            return Narration(f"{host} greets guest {event.guest}", "worker accepts the connection")
        case PhaseStarted():
            return _phase_started(event, model, threads, gil)
        case PhaseEnded():
            word, term = PHASE_WORDS.get(event.phase, (event.phase, event.phase))
            return Narration(f"guest {event.guest} is done {word}", f"{term} finished")
        case GilPassed():
            return Narration(
                f"{host_name(event.worker, model, threads)} gets the GIL: its turn to chat",
                "GIL switch: the holder's switch interval ran out, or it let go",
            )
        case LoopBlocked():
            return Narration(
                f"{host_name(event.worker, model)} falls asleep at the kitchen door for "
                f"guest {event.guest}; the whole room freezes",
                "event loop blocked",
            )
        case LoopUnblocked():
            return Narration(
                f"{host_name(event.worker, model)} wakes up and juggles again",
                "event loop unblocked",
            )
        case Finished():
            took = "" if arrived_at is None else f" after {_ms(event.t - arrived_at)}"
            return Narration(f"guest {event.guest} leaves happy{took}", "response sent")
        case Failed():
            return Narration(
                f"guest {event.guest} leaves without an answer",
                REASON_TERMS.get(event.reason, event.reason),
            )
        case WorkerKilled():
            return Narration(
                f"the manager throws {host_name(event.worker, model, threads)} out for "
                "staying silent too long",
                "arbiter kills the worker: timeout",
            )
        case WorkerBooted():
            return Narration(
                f"{host_name(event.worker, model, threads)} is ready to serve",
                "worker booted",
            )
    return None


def _phase_started(event: PhaseStarted, model: str, threads: int, gil: bool) -> Narration:
    host = host_name(event.worker, model, threads)
    guest = f"guest {event.guest}"
    shape = structure_of(model)
    loop, held = shape.juggles, _worker_word(model)
    if event.phase == CPU:
        if loop:
            return Narration(
                f"{host} chats with {guest}; everyone else waits their turn",
                "CPU work on the event loop",
            )
        token = ", holding the GIL token" if shape.gil and gil else ""
        return Narration(f"{guest} chats with {host} in a room{token}",
                         "CPU work in the handler")
    if event.phase == IO:
        if loop:
            return Narration(
                f"{guest} waits for the kitchen; {host} turns to other guests",
                "awaiting I/O: the event loop is free",
            )
        return Narration(
            f"{guest} waits for the kitchen; {host} stands idle beside them",
            f"awaiting I/O: {held} blocked",
        )
    if event.phase == DB:
        beside = "turns to other guests" if loop else "stands idle beside them"
        return Narration(f"{guest} got one of the kitchen's tables and waits; {host} {beside}",
                         "database query on a connection from the pool")
    if event.phase == BLOCKING:
        if loop:
            return Narration(
                f"{host} dozes at the kitchen door with {guest}; nobody else is served",
                "blocking call stalls the event loop",
            )
        return Narration(
            f"{guest} waits for the kitchen; {host} dozes beside them",
            f"blocking call: {held} blocked, as with I/O",
        )
    if event.phase == UPLOAD:
        if loop:
            return Narration(
                f"{guest} hands over the coat slowly; {host} juggles others meanwhile",
                "slow client upload: the event loop is free",
            )
        return Narration(
            f"{guest} hands over the coat slowly; {host} waits holding it",
            f"slow client upload: {held} tied up",
        )
    return Narration(f"{guest} starts {event.phase}", event.phase)


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 10_000:
        return f"{ms:.0f} ms"
    return f"{seconds:.1f} s"

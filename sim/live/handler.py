"""What the live servers serve: a hello, a health check, and guests who do real work.

Theory of operation. ``GET /guest?cpu=2&io=50&blocking=0`` (or ``phases=cpu:2,io:50``,
the engine's own syntax read by ``sim.workload``) becomes a ``Plan``: a list of phases
in seconds. A server then interprets the plan in its own way of waiting, exactly as
the simulation interprets the same script with SimPy timeouts:

- ``cpu``: spin until this thread has used that much CPU time (``time.thread_time``).
  Spinning on the wall clock would finish on time even while another thread holds
  the GIL or another process holds the core; CPU time only advances while this
  thread really runs, so contention stretches the phase as it does in life.
- ``io``: the model's way of waiting: ``time.sleep`` in a worker process or thread
  (the host waits at the kitchen door; nobody else is served by *this* host), and
  ``await asyncio.sleep`` in an event loop (the host turns to other guests).
- ``blocking``: ``time.sleep`` everywhere. Inside ``async def`` that is the classic
  mistake: the whole loop stops.
- ``upload`` is the client's phase (it sends its request slowly); by the time the
  handler runs it is over, so the server skips it.
- ``db``: io that first takes a connection from this process's pool (``Kitchen``):
  a thread blocks on a semaphore, a loop awaits one; past ``--db-timeout`` the guest
  gets a 500 (``db_timeout``), and opening a connection beyond ``--db-max`` across all
  processes is a 500 at once (``db_refused``).

``run_blocking`` and ``run_async`` are the two interpreters; both report phase events
through the same ``Guest`` record, which also carries the times that go back to the
client in ``X-...`` headers.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sim.live.http import Request
from sim.trace import (
    BLOCKING,
    CPU,
    DB,
    IO,
    REASON_DB_REFUSED,
    REASON_DB_TIMEOUT,
    REASON_ERROR,
    UPLOAD,
    VISITOR_BASE,
    Arrived,
    Event,
    Failed,
    Finished,
    LoopBlocked,
    LoopUnblocked,
    PhaseEnded,
    PhaseStarted,
    Started,
    guest_name,
)
from sim.workload import (
    MAX_REQUEST_SECONDS,
    MS,
    Constant,
    WorkloadError,
    parse_dist,
    parse_phases,
    script_from_flags,
)

MAX_PHASE = 600.0  # s: a longer phase is surely a typo (ms, not s)
Report = Callable[[Event], None] | None

HELLO = b"Hello from the party! Try /guest?cpu=2&io=50\n"


class PlanError(ValueError):
    """A /guest query that cannot be read: a 400 with this message."""


@dataclass(slots=True)
class Guest:
    """One request being served: who, by whom, and when things happened (monotonic s)."""

    id: int
    worker: int
    accepted_at: float  # the worker took the connection (or read the request, keep-alive)
    started_at: float = 0.0  # a host began the handler
    finished_at: float = 0.0
    phases: list[tuple[str, float]] = field(default_factory=list)

    def headers(self, worker_pid: int) -> list[tuple[str, str]]:
        """Who served the guest and the server-side times, for the load generator."""
        return [
            ("content-type", "text/plain; charset=utf-8"),
            ("x-guest", str(self.id)),
            ("x-worker", str(self.worker)),
            ("x-worker-pid", str(worker_pid)),
            ("x-accepted-at", f"{self.accepted_at:.6f}"),
            ("x-started-at", f"{self.started_at:.6f}"),
            ("x-finished-at", f"{self.finished_at:.6f}"),
        ]

    def body(self) -> bytes:
        done = ", ".join(f"{kind} {sec / MS:.1f} ms" for kind, sec in self.phases) or "nothing"
        waited = (self.started_at - self.accepted_at) / MS
        return (
            f"{guest_name(self.id)} served by worker {self.worker} after {waited:.1f} ms: {done}\n"
        ).encode()


def plan(query: dict[str, str], guest_id: int) -> list[tuple[str, float]]:
    """The phases of a /guest request in seconds, sampled once for this guest."""
    singles = {k: query[k] for k in (CPU, IO, DB, BLOCKING, UPLOAD) if k in query}
    try:
        if "phases" in query:
            if singles:
                raise PlanError("give either phases= or cpu=/io=/blocking=, not both")
            script = parse_phases(query["phases"])
        else:
            for key, spec in singles.items():  # name the culprit: cpu=lots
                try:
                    parse_dist(spec)
                except WorkloadError as exc:
                    raise PlanError(f"{key}={spec}: {exc}") from None
            script = script_from_flags(**singles)
    except WorkloadError as exc:
        raise PlanError(str(exc)) from None
    rng = None  # seeded by the guest's number, only if a distribution needs drawing
    phases = []
    total = 0.0
    for step in script:
        if isinstance(step.dist, Constant):
            seconds = step.dist.value * MS
        else:
            rng = rng or random.Random(f"live:{guest_id}")
            seconds = step.dist.sample(rng) * MS
        if seconds > MAX_PHASE:
            raise PlanError(f"{step}: longer than {MAX_PHASE:g} s (phases are in ms)")
        total += seconds
        if total > MAX_REQUEST_SECONDS:
            raise PlanError(
                f"this guest's phases add up to more than {MAX_REQUEST_SECONDS:g} s, the most "
                f"one request may take (MAX_REQUEST_SECONDS)"
            )
        if step.kind != UPLOAD:
            phases.append((step.kind, seconds))
    return phases


def spin(seconds: float) -> None:
    """Burn ``seconds`` of this thread's CPU time (not of the wall clock)."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


# --- the kitchen: a database connection pool per process, a limit for all ------------


class DbError(Exception):
    """No database connection for a db phase: the guest gets a 500 with this reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Kitchen:
    """One process's database pool, and its share of the database's connection limit.

    The pool is SQLAlchemy's ``QueuePool`` made small: at most ``pool`` connections
    checked out at once (a ``threading.BoundedSemaphore`` for threads, an
    ``asyncio.Semaphore`` for a loop), opened lazily and kept (``idle``). Without a pool
    each query opens a connection and closes it (NullPool). There is no database: a
    "connection" is one byte of a shared, unlinked file, locked with ``fcntl.lockf``.
    The master makes the file before the fork and every worker inherits it, so the locks
    of all processes count against the one ``--db-max``; POSIX record locks belong to a
    process and the kernel drops them when it dies, as a database notices a killed
    worker's closed socket. (Threads of one process share its locks, so the process
    keeps its own ``held`` set; and nothing may close the file, which would drop them.)
    """

    def __init__(self, pool: int | None, timeout: float, most: int | None):
        self.pool, self.timeout, self.most = pool, timeout, most
        self.file = tempfile.TemporaryFile(prefix="partyhost-db-") if most else None
        self.pid = os.getpid()
        self._fresh()

    def _fresh(self) -> None:
        """This process's own pool (a forked worker starts with none of its master's):
        made in the child right after the fork, while it has one thread
        (``os.register_at_fork``, below). Made lazily by whichever thread asked first,
        several threads of a new gthread worker each made one, and a connection went
        back to another thread's semaphore ("released too many times")."""
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(self.pool) if self.pool else None
        self.aslots: asyncio.Semaphore | None = None  # made on the loop that awaits it
        self.idle: list[int] = []  # connections opened and kept, free now
        self.held: set[int] = set()  # bytes of the file this process has locked
        self.pid = os.getpid()  # last: another thread that sees it sees the rest

    def mine(self) -> Kitchen:
        if self.pid != os.getpid():  # a child not made by os.fork (none of ours is)
            with _FRESH:
                if self.pid != os.getpid():
                    self._fresh()
        return self

    def connect(self) -> int:
        """Open a connection: a free byte of the database's file, or refused at once."""
        if self.file is None:
            return -1
        fd, start = self.file.fileno(), random.randrange(self.most or 1)
        with self.lock:
            for i in range(self.most or 0):
                byte = (start + i) % (self.most or 1)
                if byte in self.held:
                    continue
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, byte)
                except OSError:
                    continue  # another process holds this one
                self.held.add(byte)
                return byte
        raise DbError(REASON_DB_REFUSED)

    def disconnect(self, conn: int) -> None:
        if self.file is not None and conn >= 0:
            with self.lock:
                fcntl.lockf(self.file.fileno(), fcntl.LOCK_UN, 1, conn)
                self.held.discard(conn)

    def _take(self) -> int:
        """After the pool's semaphore: an idle connection, or a new one (lazily)."""
        with self.lock:
            if self.idle:
                return self.idle.pop()
        return self.connect()

    def checkout(self) -> int:
        """A connection for this thread, waiting at most ``timeout`` (blocking)."""
        if self.slots is None:
            return self.connect()
        if not self.slots.acquire(timeout=self.timeout):
            raise DbError(REASON_DB_TIMEOUT)
        try:
            return self._take()
        except DbError:
            self.slots.release()
            raise

    async def acheckout(self) -> int:
        """A connection for this coroutine: the loop serves others while it waits."""
        if self.pool is None:
            return self.connect()
        if self.aslots is None:
            self.aslots = asyncio.Semaphore(self.pool)
        try:
            await asyncio.wait_for(self.aslots.acquire(), self.timeout)
        except TimeoutError:
            raise DbError(REASON_DB_TIMEOUT) from None
        try:
            return self._take()
        except DbError:
            self.aslots.release()
            raise

    def checkin(self, conn: int, *, on_loop: bool = False) -> None:
        if self.pool is None:
            self.disconnect(conn)
            return
        with self.lock:
            self.idle.append(conn)
        semaphore = self.aslots if on_loop else self.slots
        semaphore.release()  # type: ignore[union-attr]


_FRESH = threading.Lock()  # one thread makes a process's pool when the fork hook did not
_kitchen = Kitchen(None, 30.0, None)  # no pool, no limit: db is io, until open_kitchen


def _after_fork() -> None:
    """In a forked child, before it starts a thread: its own pool, and a free lock."""
    global _FRESH
    _FRESH = threading.Lock()
    _kitchen._fresh()


os.register_at_fork(after_in_child=_after_fork)


def open_kitchen(pool: int | None, timeout: float, most: int | None) -> Kitchen:
    """Set this server's kitchen, in the master before it forks its workers."""
    global _kitchen
    _kitchen = Kitchen(pool, timeout, most)
    return _kitchen


def kitchen() -> Kitchen:
    """This process's kitchen."""
    return _kitchen.mine()


def run_db(guest: Guest, seconds: float, report: Report) -> None:
    """A db phase in a thread: a connection (waiting, holding the host), the query."""
    pool = kitchen()
    conn = pool.checkout()
    try:
        if report:
            report(PhaseStarted(time.monotonic(), guest.id, guest.worker, DB))
        time.sleep(seconds)
        if report:
            report(PhaseEnded(time.monotonic(), guest.id, guest.worker, DB))
    finally:
        pool.checkin(conn)


async def run_db_async(guest: Guest, seconds: float, report: Report) -> None:
    """A db phase on a loop: the checkout and the query are both awaited."""
    pool = kitchen()
    conn = await pool.acheckout()
    try:
        if report:
            report(PhaseStarted(time.monotonic(), guest.id, guest.worker, DB))
        await asyncio.sleep(seconds)
        if report:
            report(PhaseEnded(time.monotonic(), guest.id, guest.worker, DB))
    finally:
        pool.checkin(conn, on_loop=True)


def run_blocking(guest: Guest, report: Report) -> None:
    """Interpret the plan in a worker process or thread: every wait holds the host."""
    for kind, seconds in guest.phases:
        if kind == DB:
            run_db(guest, seconds, report)
            continue
        if report:
            report(PhaseStarted(time.monotonic(), guest.id, guest.worker, kind))
        if kind == CPU:
            spin(seconds)
        else:  # io and blocking are the same thing to a thread: it sleeps
            time.sleep(seconds)
        if report:
            report(PhaseEnded(time.monotonic(), guest.id, guest.worker, kind))


async def run_async(guest: Guest, report: Report) -> None:
    """Interpret the plan on an event loop: only ``io`` (and ``db``) lets the loop serve
    others."""
    for kind, seconds in guest.phases:
        if kind == DB:
            await run_db_async(guest, seconds, report)
            continue
        if report:
            report(PhaseStarted(time.monotonic(), guest.id, guest.worker, kind))
        if kind == IO:
            await asyncio.sleep(seconds)
        elif kind == CPU:
            spin(seconds)
        else:
            if report:
                report(LoopBlocked(time.monotonic(), guest.worker, guest.id, kind))
            time.sleep(seconds)  # the mistake, on purpose: the whole loop stops here
            if report:
                report(LoopUnblocked(time.monotonic(), guest.worker, guest.id))
        if report:
            report(PhaseEnded(time.monotonic(), guest.id, guest.worker, kind))


def finish(guest: Guest, report: Report) -> None:
    guest.finished_at = time.monotonic()
    if report:
        report(Finished(guest.finished_at, guest.id, guest.worker))


Answer = tuple[int, list[tuple[str, str]], bytes]  # status, headers, body
TEXT = ("content-type", "text/plain; charset=utf-8")


def simple_route(method: str, path: str) -> Answer | None:
    """Answers that need no guest: ``/``, ``/health``, 404 and 405. ``None`` for /guest.

    Only ``/guest`` requests are guests in the trace; the hello and the health check are
    the doorbell and the porch light.
    """
    if path not in ("/", "/health", "/guest"):
        return 404, [TEXT], f"nothing at {path[:100]}; try / or /guest?io=50\n".encode()
    if method not in ("GET", "HEAD"):
        return 405, [TEXT, ("allow", "GET, HEAD")], b"only GET and HEAD here\n"
    if path == "/":
        return 200, [TEXT], HELLO
    if path == "/health":
        return 200, [TEXT], b"ok\n"
    return None


def guest_number(headers: dict[bytes, bytes], numbers: Iterator[int]) -> int:
    """The load generator's ``X-Guest-Id`` if it sent one, else the server's own count
    from ``VISITOR_BASE``: a visitor (curl, a browser) never takes a generator guest's id."""
    raw = headers.get(b"x-guest-id")
    if raw is not None and raw.isdigit() and len(raw) < 19:
        return int(raw)
    return VISITOR_BASE + next(numbers)


def admit(request: Request, worker: int, accepted_at: float,
          numbers: Iterator[int]) -> Guest | Answer:  # fmt: skip
    """Either an answer at once (hello, health, 404, 405, a bad query) or a guest."""
    answer = simple_route(request.method, request.path)
    if answer is not None:
        return answer
    guest = Guest(guest_number(request.headers, numbers), worker, accepted_at)
    try:
        guest.phases = plan(request.query, guest.id)
    except PlanError as exc:
        return 400, [TEXT], f"bad guest: {exc}\n".encode()
    return guest


def server_error(exc: BaseException, guest: Guest | None, report: Report) -> Answer:
    """A handler failed unexpectedly: a 500 for this guest, and the server goes on.

    Nothing a request does may kill a host (a thread, a worker, the loop): every
    server catches what its handler raises and answers this instead. A guest already
    started is reported as failed, so the trace stays whole.
    """
    reason = exc.reason if isinstance(exc, DbError) else REASON_ERROR
    if guest is not None and report:
        report(Failed(time.monotonic(), guest.id, guest.worker, reason))
    name = f"{type(exc).__name__}: {reason}" if isinstance(exc, DbError) else type(exc).__name__
    return 500, [TEXT], f"500: the server failed on this request ({name}); it goes on\n".encode()


def start(guest: Guest, report: Report) -> None:
    """A host takes the guest: the wait is over.

    A live server cannot see its backlog (the kernel keeps that line), so ``Arrived``
    carries the moment the worker accepted the connection (or, on a kept-alive
    connection, read the request), and the time spent in the backlog is for the
    client to measure: its send time against ``X-Accepted-At``, on the same clock.
    """
    guest.started_at = time.monotonic()
    if report:
        report(Arrived(guest.accepted_at, guest.id))
        report(Started(guest.started_at, guest.id, guest.worker))

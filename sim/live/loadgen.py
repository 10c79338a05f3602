"""The load generator: the simulation's very guests, sent to a real server on time.

Theory of operation. ``Schedule`` draws guests from ``Scenario.workload`` exactly as
``sim.model`` does (same seed, same arrival instants, same phase draws), so guest 17 of
``partyhost hit`` is guest 17 of ``partyhost simulate``. Each guest becomes
``GET /guest?phases=...`` with an ``X-Guest-Id`` header.

*Open loop* (the default, like wrk2 and oha ``--latency-correction``): a guest is sent
at its scheduled instant whatever the server is doing, so a slow server builds a queue
instead of slowing the sender. Its latency runs from the *intended* send time, not from
the moment the client managed to send it: a client that waits for the server before
sending the next request (a *closed loop*) sees a frozen server as one slow request and
hides everyone who would have arrived meanwhile ("coordinated omission"). The closed
loop is here too (``users``/``think``), so a lesson can show the difference.

The generator must not be the bottleneck. It runs on one asyncio event loop with
``asyncio.Protocol`` callbacks (no streams, no task per read), and it measures itself:
*send lag* is how late each guest left compared with its schedule. The report says
when the generator fell behind instead of silently blaming the server. With the loop
to itself (``run()`` from the main thread, ``arun(own_loop=True)``) it does two more
things for the lag:

- it wakes ``EARLY`` (1 ms) before each instant and polls the loop until the instant,
  because ``epoll`` sleeps in whole milliseconds (rounded up) and so makes an idle
  timer up to 1 ms late; the price is up to a millisecond of polling per guest;
- it holds the cyclic garbage collector for the run: its pauses (4-50 ms here, with
  thousands of finished guests to look through) were the worst lags. Nothing per
  guest needs it: each closed transport's one reference cycle is cut on closing.

Inside someone else's loop (the app draws on it), or run from a thread other than the
main one (``alone()``), it does neither.

Bounds: ``guests`` and/or ``duration`` from the scenario, never more than
``MAX_GUESTS`` guests (an open loop whose rate x duration would send more is refused)
or ``MAX_DURATION`` seconds, and each request gives up after ``timeout`` seconds (at
most ``MAX_TIMEOUT``). Whatever the timeout, a run stops hard at its duration plus
``min(timeout, END_GRACE)`` plus a second: guests still unanswered then count as timed
out. Sending yields to the loop every ``LAUNCH_BATCH`` guests, so a schedule the
generator cannot keep (a huge rate) still stops at the hard stop. A target that is
not loopback is refused unless ``allow_remote``: this tool is for your own machine's
servers. The host is resolved once: the address checked is the address connected to.

The result is folded by ``sim.metrics.Metrics`` from client-side trace events
(``Arrived`` at the intended send time, ``Started`` at the server's ``X-Started-At``
when it tells, ``Finished`` when the answer is in), so ``HitResult.summary`` has the
very shape of ``simulate``'s. Server times are ``time.monotonic()`` on the same
machine, the clock this loop runs on; for a remote target they are ignored.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import ipaddress
import math
import os
import resource
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sim.metrics import Distribution, Summary, metrics_for
from sim.scenario import Scenario
from sim.trace import (
    REASON_ERROR,
    REASON_REFUSED,
    REASON_RESET,
    REASON_TIMEOUT,
    UPLOAD,
    Arrived,
    Event,
    Failed,
    Finished,
    Queued,
    ServerStarted,
    Started,
    TurnedAway,
)
from sim.workload import Guest

MAX_GUESTS = 200_000  # hard cap per run, whatever the flags say (rate x duration too)
MAX_DURATION = 600.0  # s, hard cap on the sending time
MAX_TIMEOUT = 60.0  # s, the longest a request may wait for its answer
END_GRACE = 10.0  # s at most, after the sending time, to wait for the last answers
LAUNCH_BATCH = 500  # guests sent in one loop turn at most, then the loop gets a turn
DEFAULT_DURATION = 10.0  # s, when neither guests nor duration is given
DEFAULT_TIMEOUT = 10.0  # s, per request
LEAD = 0.05  # s between starting the loop and the first scheduled instant
HEALTHY_LAG_P99 = 0.002  # s: the generator's own bar (see benchmarks/bench_loadgen.py)
BEHIND_LAG_P99 = 0.010  # s: a send-lag p99 above this: the generator fell behind
BEHIND_RATE = 0.98  # sent fewer than this share of the schedule's rate: fell behind
PROGRESS_EVERY = 0.25  # s between progress snapshots
SWEEP_EVERY = 0.05  # s between looks for guests past their timeout
READ_BUFFER = 65536  # bytes: one read buffer, shared (each read is parsed at once)
UPLOAD_STEP = 0.05  # s between the pieces of a slow upload
EARLY = 0.001  # s: with the loop to itself, wake this early and poll to the instant

# How a guest ended, from the client's side.
OK = "ok"
REFUSED = "refused"  # connection refused: the backlog was full (or nobody listens)
RESET = "reset"  # the connection died before any answer
TIMEOUT = "timeout"
HTTP_ERROR = "http_error"  # a 4xx/5xx answer
CLIENT_ERROR = "client_error"  # our side failed (out of ports, out of file descriptors)
TURNED_AWAY = (REFUSED, RESET)


class LoadgenError(ValueError):
    """A target or bound the generator refuses; the message names the flag."""


# --- the target -----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    path: str = "/guest"

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"


def parse_target(url: str) -> Target:
    """``http://127.0.0.1:8000`` (path defaults to ``/guest``); plain ``host:port`` too."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        hostname = parts.hostname
    except ValueError as exc:  # "http://[::1" and friends
        raise LoadgenError(f"URL: cannot read {url!r}: {exc}") from None
    if parts.scheme != "http":
        raise LoadgenError(f"URL: only http:// is supported, got {url!r}")
    if not hostname:
        raise LoadgenError(f"URL: no host in {url!r}")
    try:
        port = parts.port or 80
    except ValueError:
        raise LoadgenError(f"URL: bad port in {url!r}") from None
    path = parts.path if parts.path not in ("", "/") else "/guest"
    return Target(hostname, port, path)


def is_loopback(host: str) -> bool:
    """True when every address ``host`` names is this machine's loopback."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def resolve(target: Target) -> tuple[int, tuple]:
    """The socket family and address to connect to (the first the resolver gives)."""
    try:
        info = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)[0]
    except OSError as exc:
        raise LoadgenError(f"URL: cannot resolve {target.host}: {exc.strerror}") from None
    return info[0], info[4]


def check_target(target: Target, allow_remote: bool) -> tuple[int, tuple, bool]:
    """Resolve the target once; refuse it unless loopback (or ``allow_remote``).

    Returns the family and address to connect to, and whether that address is remote.
    The check and the connection use the very same address: resolving twice would let
    a name answer loopback to the check and something else to the connect.
    """
    family, address = resolve(target)
    remote = not ipaddress.ip_address(address[0].split("%")[0]).is_loopback
    if remote and not allow_remote:
        raise LoadgenError(
            f"URL: {target.host} is not this machine (loopback); "
            "pass --allow-remote to load a server you own elsewhere"
        )
    return family, address, remote


def check_timeout(timeout: float) -> float:
    """A request timeout within ``MAX_TIMEOUT`` (a flag beyond it errs)."""
    if not (math.isfinite(timeout) and timeout > 0):
        raise LoadgenError(f"--request-timeout: must be > 0 s, got {timeout!r}")
    if timeout > MAX_TIMEOUT:
        raise LoadgenError(f"--request-timeout: at most {MAX_TIMEOUT:g} s, got {timeout:g}")
    return timeout


# --- the schedule --------------------------------------------------------------------


@dataclass(frozen=True)
class Bounds:
    """How many guests at most, and until when (s after the first instant)."""

    guests: int
    duration: float
    capped: bool  # the hard caps, not the flags, set a bound


def bounds(scenario: Scenario) -> Bounds:
    """The run's bounds: the scenario's, within the hard caps (a flag beyond them errs)."""
    if scenario.guests is not None and scenario.guests > MAX_GUESTS:
        raise LoadgenError(f"--guests: at most {MAX_GUESTS:,} guests per run")
    if scenario.duration is not None and scenario.duration > MAX_DURATION:
        raise LoadgenError(f"--duration: at most {MAX_DURATION:g} s per run")
    guests = scenario.guests if scenario.guests is not None else MAX_GUESTS
    duration = scenario.duration if scenario.duration is not None else MAX_DURATION
    rate = None if scenario.users else scenario.rate
    if scenario.guests is None and rate and rate * duration > MAX_GUESTS:
        raise LoadgenError(
            f"--rate x --duration: {rate:g}/s for {duration:g} s is about "
            f"{rate * duration:,.0f} guests; at most {MAX_GUESTS:,} guests per run"
        )
    return Bounds(guests, duration, scenario.guests is None or scenario.duration is None)


def live_workload_scenario(scenario: Scenario) -> Scenario:
    """The scenario without ``overhead``: a real server brings its own overhead."""
    return scenario.replace(overhead=0.0) if scenario.overhead else scenario


def schedule(scenario: Scenario) -> Iterator[Guest]:
    """Open-loop guests within the bounds: the workload's own, in arrival order."""
    limit = bounds(scenario)
    for guest in live_workload_scenario(scenario).workload.guests():
        if guest.id >= limit.guests or guest.arrival > limit.duration:
            return
        yield guest


def request_bytes(target: Target, guest: Guest, keep_alive: bool) -> bytes:
    return (
        f"GET {target.path}?{guest.query()} HTTP/1.1\r\n"
        f"Host: {target.authority}\r\n"
        f"X-Guest-Id: {guest.id}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    ).encode("ascii")


def upload_seconds(guest: Guest) -> float:
    return sum(sec for kind, sec in guest.phases if kind == UPLOAD)


# --- one guest on the wire ----------------------------------------------------------


@dataclass(slots=True)
class Shot:
    """What happened to one guest, in monotonic seconds.

    ``sent`` is when the generator set out (began to connect, or wrote on a kept-alive
    connection): ``sent - intended`` is the generator's own lag. Connecting is the
    server's business (its backlog), so it counts in the latency, not in the lag.
    """

    guest: int
    intended: float
    sent: float = 0.0
    done: float = 0.0
    outcome: str = ""
    status: int = 0
    worker: str | None = None
    accepted_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def latency(self) -> float:
        return self.done - self.intended


def _header_float(headers: dict[bytes, bytes], name: bytes) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class Connection(asyncio.BufferedProtocol):
    """One client connection: sends a request, parses one answer at a time.

    Callbacks only: ``send`` writes, ``buffer_updated`` parses (status line, headers,
    then a Content-Length or chunked body, or until close), and ``on_done(conn, shot)``
    is called exactly once per request. A buffered protocol, so the loop reads into
    one buffer the generator owns: a plain Protocol makes the loop allocate a fresh
    256 KiB ``bytes`` for every read, which costs more than the read.
    """

    def __init__(self, gen: Generator, first: tuple[Shot, bytes, float] | None = None) -> None:
        self.gen = gen
        self.first = first  # the request to send as soon as connected
        self.transport: asyncio.Transport | None = None
        self.shot: Shot | None = None
        self.buf = bytearray()
        self.head: tuple[int, dict[bytes, bytes]] | None = None
        self.need = -1  # body bytes still expected; -1: until close; -2: chunked
        self.body_start = 0
        self.closed = False
        self.reusable = False
        self.got_bytes = False
        self.pending: list[asyncio.TimerHandle] = []
        self.used = 0  # requests sent on this connection
        self.payload = b""
        self.upload = 0.0

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.gen.conns.add(self)
        if self.first is not None:
            shot, payload, upload = self.first
            self.first = None
            self.send(shot, payload, upload, self.gen.timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if hasattr(self.transport, "_read_ready_cb"):
            # asyncio's selector transport keeps a bound method of itself: a cycle
            # per connection that only the cyclic GC frees (see the module docstring)
            self.transport._read_ready_cb = None  # type: ignore[union-attr]
        self.gen.conns.discard(self)
        self.gen.slot_freed()
        self.reusable = False
        for handle in self.pending:
            handle.cancel()
        if self.shot is None:
            return
        if self.head is not None and self.need == -1:  # the body ran until close
            self._complete(OK)
        else:
            self._complete(RESET if not self.got_bytes else HTTP_ERROR)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.gen.read_view

    def buffer_updated(self, nbytes: int) -> None:
        if self.shot is None:
            return  # bytes nobody asked for (a keep-alive close notice): ignore
        self.got_bytes = True
        self.buf += self.gen.read_view[:nbytes]
        if self.head is None and not self._parse_head():
            return
        if self.need >= 0:
            if len(self.buf) - self.body_start >= self.need:
                self._complete(OK)
        elif self.need == -2 and self._chunked_done():
            self._complete(OK)

    # requests
    def send(self, shot: Shot, payload: bytes, upload: float, timeout: float) -> None:
        self.shot = shot
        self.got_bytes = False
        self.used += 1
        self.payload, self.upload = payload, upload
        loop = self.gen.loop
        assert self.transport is not None
        if upload <= 0:
            self.transport.write(payload)
            return
        # A slow client: the request leaves in pieces spread over the upload time.
        pieces = max(2, min(64, int(upload / UPLOAD_STEP) + 1))
        size = max(1, math.ceil(len(payload) / pieces))
        chunks = [payload[i : i + size] for i in range(0, len(payload), size)]
        step = upload / max(len(chunks) - 1, 1)
        self.transport.write(chunks[0])
        start = loop.time()
        self.pending = [
            loop.call_at(start + i * step, self._write, chunk) for i, chunk in enumerate(chunks)
            if i
        ]

    def _write(self, chunk: bytes) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(chunk)

    def timed_out(self) -> None:
        if self.shot is not None:
            self._complete(TIMEOUT)
            self.reusable = False
            self.close()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.closed = True
            self.transport.abort()

    # parsing
    def _parse_head(self) -> bool:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        lines = bytes(self.buf[:end]).split(b"\r\n")
        try:
            status = int(lines[0].split(b" ", 2)[1])
        except (IndexError, ValueError):
            status = 0
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        self.head = (status, headers)
        self.body_start = end + 4
        length = headers.get(b"content-length")
        if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            self.need = -2
        elif length is not None and length.isdigit():
            self.need = int(length)
        elif status in (204, 304) or 100 <= status < 200:
            self.need = 0
        else:
            self.need = -1
        self.reusable = self.need != -1 and headers.get(b"connection", b"").lower() != b"close"
        return True

    def _chunked_done(self) -> bool:
        pos = self.body_start
        buf = self.buf
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return False
            try:
                size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
            except ValueError:
                return True  # a broken body: take what came
            if size == 0:
                return buf.find(b"\r\n\r\n", eol) >= 0 or buf.endswith(b"0\r\n\r\n")
            pos = eol + 2 + size + 2
            if pos > len(buf):
                return False

    def _complete(self, outcome: str) -> None:
        shot = self.shot
        if shot is None:
            return
        self.shot = None
        shot.done = self.gen.loop.time()
        if self.head is not None:
            status, headers = self.head
            shot.status = status
            if outcome == OK and status >= 400:
                outcome = HTTP_ERROR
            worker = headers.get(b"x-worker")
            shot.worker = worker.decode("latin-1") if worker is not None else None
            shot.accepted_at = _header_float(headers, b"x-accepted-at")
            shot.started_at = _header_float(headers, b"x-started-at")
            shot.finished_at = _header_float(headers, b"x-finished-at")
        shot.outcome = outcome
        self.head = None
        del self.buf[:]
        self.gen.on_done(self, shot)


# --- the generator -------------------------------------------------------------------


def alone() -> bool:
    """May a run on a new loop in this thread poll and hold the GC (``own_loop``)?

    Only from the main thread: from another, the process is shared with someone (the
    app runs lessons' live runs in a worker thread), and the GC is the whole process's.
    """
    return threading.current_thread() is threading.main_thread()


@dataclass
class Snapshot:
    """How the run is going, for a live display (read it, do not keep it)."""

    elapsed: float
    planned: int | None  # guests the schedule holds, when known
    sent: int
    served: int
    turned_away: int
    failed: int
    in_flight: int
    p50_ms: float
    p99_ms: float
    lag_p99_ms: float


@dataclass
class HitResult:
    """A run's outcome: the summary in ``simulate``'s shape, plus the generator's own say."""

    summary: Summary
    shots: list[Shot]
    send_lag: Distribution
    latency: Distribution  # every answered guest, for the HDR histogram
    planned_rate: float | None  # guests/s the schedule asked for (open loop)
    sent_rate: float  # guests/s really sent
    elapsed: float  # s from the first instant to the last answer
    closed: bool
    keep_alive: bool
    capped: bool
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def behind(self) -> bool:
        """Did the generator fail to keep to its schedule (so the numbers flatter)?"""
        lag = self.send_lag.summary_ms()["p99"] / 1000
        if self.closed:
            return False
        slow = self.planned_rate is not None and self.sent_rate < BEHIND_RATE * self.planned_rate
        return lag > BEHIND_LAG_P99 or slow

    def to_dict(self) -> dict[str, Any]:
        out = self.summary.to_dict()
        out["send_lag_ms"] = self.send_lag.summary_ms()
        out["generator"] = {
            "loop": "closed" if self.closed else "open",
            "keep_alive": self.keep_alive,
            "planned_rate": self.planned_rate,
            "sent_rate": round(self.sent_rate, 3),
            "elapsed_s": round(self.elapsed, 3),
            "behind_schedule": self.behind,
            "errors": dict(self.errors),
        }
        return out


class Generator:
    """One run against one target. ``run()`` (blocking) or ``await arun()``."""

    def __init__(
        self,
        target: Target,
        scenario: Scenario,
        *,
        keep_alive: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        allow_remote: bool = False,
        on_progress: Callable[[Snapshot], None] | None = None,
        max_connections: int | None = None,
    ) -> None:
        self.family, self.address, remote = check_target(target, allow_remote)
        self.target = target
        self.scenario = scenario
        self.workload_scenario = live_workload_scenario(scenario)
        self.limit = bounds(scenario)
        self.keep_alive = keep_alive
        self.timeout = check_timeout(timeout)
        self.remote = remote
        self.on_progress = on_progress
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        self.max_connections = max_connections or max(16, min(soft - 64, 20_000))
        self.shots: list[Shot] = []
        self.send_lag = Distribution()
        self.latency = Distribution()
        self.idle: list[Connection] = []
        self.read_view = memoryview(bytearray(READ_BUFFER))  # every connection reads here
        self.conns: set[Connection] = set()  # every open connection, to abort at the end
        self.connecting: dict[Any, Any] = {}  # fd -> socket (or task -> task) still connecting
        self.make_transport: Callable[..., Any] | None = None
        self.connections = 0  # open or opening
        self.waiting: deque[tuple[Shot, bytes, float]] = deque()  # guests waiting for a connection
        self.in_flight = 0
        self.counts = {OK: 0, REFUSED: 0, RESET: 0, TIMEOUT: 0, HTTP_ERROR: 0, CLIENT_ERROR: 0}
        self.errors: dict[str, int] = {}
        self.t0 = 0.0
        self.sending_done = False
        self.all_done: asyncio.Future[None] | None = None
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self.hard_stop = math.inf
        # closed loop
        self.draws: Iterator | None = None
        self.thinks: Iterator[float] | None = None
        self.next_id = 0
        self.own_loop = False

    # --- running --------------------------------------------------------------------

    def run(self) -> HitResult:
        """The run on a new event loop, polling and holding the GC if ``alone()``."""
        return asyncio.run(self.arun(own_loop=alone()))

    async def arun(self, *, own_loop: bool = False) -> HitResult:
        """The run; ``own_loop``: nothing else runs on this loop (see the module doc)."""
        self.own_loop = own_loop
        collecting = gc.isenabled()
        if own_loop:
            gc.disable()
        try:
            return await self._arun()
        finally:
            if collecting:
                gc.enable()

    async def _arun(self) -> HitResult:
        self.loop = asyncio.get_running_loop()
        self.make_transport = getattr(self.loop, "_make_socket_transport", None)
        self.all_done = self.loop.create_future()
        self.t0 = self.loop.time() + LEAD
        closed = self.workload_scenario.workload.closed
        ticker = self.loop.create_task(self._progress()) if self.on_progress else None
        self.loop.call_at(self.t0 + SWEEP_EVERY, self._sweep)
        grace = min(self.timeout, END_GRACE) + 1.0
        hard_stop = self.t0 + min(self.limit.duration, MAX_DURATION) + grace
        self.hard_stop = hard_stop
        try:
            if closed:
                self._start_users()  # the last user to go home sets sending_done
            else:
                try:  # a schedule it cannot keep still ends at the hard stop
                    await asyncio.wait_for(self._open_loop(), max(hard_stop - self.loop.time(),
                                                                  0.01))
                except TimeoutError:
                    self._next = None
                self.sending_done = True
                self._check_done()
            remaining = hard_stop - self.loop.time()
            try:
                await asyncio.wait_for(asyncio.shield(self.all_done), max(remaining, 0.01))
            except TimeoutError:
                pass
        finally:
            if ticker is not None:
                ticker.cancel()
            self._stop_all()
        if self.on_progress:
            self.on_progress(self.snapshot())
        return self._result(closed)

    def _stop_all(self) -> None:
        for key, pending in list(self.connecting.items()):
            if isinstance(pending, socket.socket):
                self.loop.remove_writer(key)
                pending.close()
            else:
                pending.cancel()
        self.connecting.clear()
        for conn in list(self.conns):
            conn.abort()
        self.idle.clear()
        for shot in self.shots:
            if not shot.outcome:  # never answered by the hard stop
                shot.outcome = TIMEOUT
                shot.done = self.loop.time()
                self.counts[TIMEOUT] += 1

    def _sweep(self) -> None:
        """Give up on guests past their timeout: one pass every ``SWEEP_EVERY``.

        Cheaper than a timer per request, which at thousands a second costs the loop
        more than the requests themselves; a timeout fires up to ``SWEEP_EVERY`` late.
        """
        if self.all_done is not None and self.all_done.done():
            return
        limit = self.loop.time() - self.timeout
        for conn in [c for c in self.conns if c.shot is not None and c.shot.sent < limit]:
            conn.timed_out()
        for item in [w for w in self.waiting if w[0].sent < limit]:
            self.waiting.remove(item)
            self._finish_unsent(item[0], TIMEOUT)
        self.loop.call_later(SWEEP_EVERY, self._sweep)

    async def _progress(self) -> None:
        assert self.on_progress is not None
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            self.on_progress(self.snapshot())

    def snapshot(self) -> Snapshot:
        pct = self.latency.histogram().get_value_at_percentile
        lag = self.send_lag.histogram().get_value_at_percentile
        planned = None if self.limit.capped and self.scenario.guests is None else self.limit.guests
        return Snapshot(
            elapsed=max(self.loop.time() - self.t0, 0.0),
            planned=planned,
            sent=len(self.shots),
            served=self.counts[OK],
            turned_away=self.counts[REFUSED] + self.counts[RESET],
            failed=self.counts[TIMEOUT] + self.counts[HTTP_ERROR] + self.counts[CLIENT_ERROR],
            in_flight=self.in_flight,
            p50_ms=pct(50) / 1000 if self.latency.count else 0.0,
            p99_ms=pct(99) / 1000 if self.latency.count else 0.0,
            lag_p99_ms=lag(99) / 1000 if self.send_lag.count else 0.0,
        )

    # --- open loop ------------------------------------------------------------------

    async def _open_loop(self) -> None:
        """Send each guest at its instant: a chain of ``call_at``, not a task that sleeps.

        Every guest already due goes out in the same turn of the loop; then one timer
        for the next instant (``EARLY`` before it, then a poll each turn, when the
        loop is ours). No future or task wake-up per guest.
        """
        self._guests = schedule(self.scenario)
        self._next = next(self._guests, None)
        self._sent_all = self.loop.create_future()
        self._tick()
        await self._sent_all

    def _tick(self) -> None:
        loop, t0 = self.loop, self.t0
        guest = self._next
        launched = 0
        while guest is not None:
            if loop.time() >= self.hard_stop:
                break  # out of time: the rest are never sent
            due = t0 + guest.arrival
            ahead = due - loop.time()
            if ahead <= 0 and launched >= LAUNCH_BATCH:
                loop.call_soon(self._tick)  # let the loop breathe: I/O, timers, the stop
                self._next = guest
                return
            if ahead > 0:
                if not self.own_loop:
                    loop.call_at(due, self._tick)
                elif ahead > EARLY:
                    loop.call_at(due - EARLY, self._tick)
                else:
                    loop.call_soon(self._tick)  # poll: I/O goes on between the turns
                self._next = guest
                return
            self._launch(guest, due)
            launched += 1
            guest = next(self._guests, None)
        self._next = None
        if not self._sent_all.done():
            self._sent_all.set_result(None)

    def _launch(self, guest: Guest, intended: float) -> None:
        shot = Shot(guest.id, intended, self.loop.time())
        self.send_lag.record(max(shot.sent - intended, 0.0))
        self.shots.append(shot)
        self.in_flight += 1
        payload = request_bytes(self.target, guest, self.keep_alive)
        self._dispatch(shot, payload, upload_seconds(guest))

    def _dispatch(self, shot: Shot, payload: bytes, upload: float) -> None:
        """Send on an idle kept-alive connection, or on a new one (if the cap allows)."""
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed:
                self._send(conn, shot, payload, upload)
                return
        if self.connections >= self.max_connections:
            key = f"waited for a free connection (cap {self.max_connections})"
            self.errors[key] = self.errors.get(key, 0) + 1
            self.waiting.append((shot, payload, upload))  # its latency will show it
            return
        self.connections += 1
        if self.make_transport is None:  # not a selector loop: the public, slower way
            task = self.loop.create_task(self.loop.create_connection(
                lambda: Connection(self, (shot, payload, upload)), self.address[0],
                self.address[1]))
            self.connecting[task] = task
            task.add_done_callback(lambda t: self._connect_task_done(t, shot))
            return
        try:
            sock = socket.socket(self.family, socket.SOCK_STREAM)
        except OSError as exc:
            self._connect_failed(shot, exc.errno or 0)
            return
        sock.setblocking(False)
        err = sock.connect_ex(self.address)
        if err == 0:
            self._connected(sock, shot, payload, upload)
        elif err == errno.EINPROGRESS:
            try:  # on loopback the handshake is usually over already: skip a loop turn
                sock.getpeername()
            except OSError:
                pass
            else:
                self._connected(sock, shot, payload, upload)
                return
            self.connecting[sock.fileno()] = sock
            self.loop.add_writer(sock.fileno(), self._writable, sock, shot, payload, upload)
        else:
            sock.close()
            self._connect_failed(shot, err)

    def _writable(self, sock: socket.socket, shot: Shot, payload: bytes, upload: float) -> None:
        fd = sock.fileno()
        self.loop.remove_writer(fd)
        self.connecting.pop(fd, None)
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            sock.close()
            self._connect_failed(shot, err)
        else:
            self._connected(sock, shot, payload, upload)

    def _connected(self, sock: socket.socket, shot: Shot, payload: bytes, upload: float) -> None:
        # What loop.create_connection does once connected, minus its futures and task:
        # at thousands of connections a second they cost more than the connect itself.
        assert self.make_transport is not None
        self.make_transport(sock, Connection(self, (shot, payload, upload)))

    def _connect_task_done(self, task: asyncio.Task, shot: Shot) -> None:
        self.connecting.pop(task, None)
        if task.cancelled():
            return
        exc = task.exception()
        if isinstance(exc, OSError):
            self._connect_failed(shot, exc.errno or 0)

    def _connect_failed(self, shot: Shot, err: int) -> None:
        self.loop.call_soon(self.slot_freed)
        if err == errno.ECONNREFUSED:
            self._finish_unsent(shot, REFUSED)
        elif err in (errno.ECONNRESET, errno.ECONNABORTED):
            self._finish_unsent(shot, RESET)
        else:
            name = errno.errorcode.get(err, str(err)) + f" {os.strerror(err)}"
            self.errors[name] = self.errors.get(name, 0) + 1
            self._finish_unsent(shot, CLIENT_ERROR)

    def _send(self, conn: Connection, shot: Shot, payload: bytes, upload: float) -> None:
        conn.send(shot, payload, upload, self.timeout)

    def _finish_unsent(self, shot: Shot, outcome: str) -> None:
        shot.done = self.loop.time()
        shot.outcome = outcome
        self._record(shot)
        self._after(shot)

    def on_done(self, conn: Connection, shot: Shot) -> None:
        """A guest's answer is in (or it gave up): count it, free or close its connection."""
        if shot.outcome == RESET and conn.used > 1:
            # The server closed a kept-alive connection while it sat idle: not the
            # guest's fault; send it again on a fresh connection.
            shot.outcome, shot.done = "", 0.0
            self._dispatch(shot, conn.payload, conn.upload)
            return
        if conn.reusable and self.keep_alive and not conn.closed:
            if self.waiting:
                self._send(conn, *self.waiting.popleft())
            else:
                self.idle.append(conn)
        else:
            conn.close()
        self._record(shot)
        self._after(shot)

    def slot_freed(self) -> None:
        """A connection closed: a guest waiting for the connection cap may go."""
        self.connections -= 1
        if self.waiting and self.connections < self.max_connections:
            self._dispatch(*self.waiting.popleft())

    def _record(self, shot: Shot) -> None:
        self.in_flight -= 1
        self.counts[shot.outcome] += 1
        if shot.outcome == OK:
            self.latency.record(max(shot.latency, 0.0))

    def _after(self, shot: Shot) -> None:
        if self.draws is not None:
            self._user_next()
        self._check_done()

    def _check_done(self) -> None:
        if self.sending_done and self.in_flight == 0 and self.all_done is not None:
            if not self.all_done.done():
                self.all_done.set_result(None)

    # --- closed loop ----------------------------------------------------------------

    def _start_users(self) -> None:
        workload = self.workload_scenario.workload
        self.draws = workload.phase_draws()
        self.thinks = workload.think_times()
        self.active_users = workload.users or 0
        for _ in range(self.active_users):
            self.loop.call_at(self.t0, self._user_send)

    def _user_next(self) -> None:
        """A user got its answer: think, then knock again (or go home)."""
        assert self.thinks is not None
        pause = next(self.thinks)
        if pause > 0:
            self.loop.call_later(pause, self._user_send)
        else:
            self._user_send()

    def _user_send(self) -> None:
        assert self.draws is not None
        now = self.loop.time()
        if self.next_id >= self.limit.guests or now - self.t0 >= self.limit.duration:
            self.active_users -= 1
            if self.active_users == 0:
                self.sending_done = True
                self._check_done()
            return
        guest = Guest(self.next_id, now - self.t0, next(self.draws))
        self.next_id += 1
        self._launch(guest, now)

    # --- the result -----------------------------------------------------------------

    def _result(self, closed: bool) -> HitResult:
        summary = summarize(self.shots, self.scenario, self.t0, use_server_times=not self.remote)
        sends = [s.sent for s in self.shots if s.sent]
        span = (max(sends) - min(sends)) if len(sends) > 1 else 0.0
        sent_rate = (len(sends) - 1) / span if span > 0 else 0.0
        planned = None
        if not closed and self.shots:
            intended = self.shots[-1].intended - self.shots[0].intended
            planned = (len(self.shots) - 1) / intended if intended > 0 else None
        done = max((s.done for s in self.shots), default=self.t0)
        return HitResult(
            summary=summary,
            shots=self.shots,
            send_lag=self.send_lag,
            latency=self.latency,
            planned_rate=planned,
            sent_rate=sent_rate,
            elapsed=max(done - self.t0, 0.0),
            closed=closed,
            keep_alive=self.keep_alive,
            capped=self.limit.capped,
            errors=self.errors,
        )


def summarize(shots: list[Shot], scenario: Scenario, t0: float, *,
              use_server_times: bool = True) -> Summary:
    """Fold the shots into ``Metrics`` as client-side trace events, in time order.

    ``Arrived``/``Queued`` at the intended send time; ``Started`` at the server's
    ``X-Started-At`` if it said (else the guest has no wait and no host in the
    numbers); ``Finished`` when the answer was in, ``Failed`` or ``TurnedAway``
    otherwise. Workers are numbered in the order their ``X-Worker`` first appears.
    """
    workers: dict[str, int] = {}
    events: list[tuple[float, int, Event]] = []
    for shot in shots:
        arrival = shot.intended - t0
        done = max(shot.done - t0, arrival)
        events.append((arrival, 0, Arrived(arrival, shot.guest)))
        if shot.outcome in TURNED_AWAY:
            reason = REASON_REFUSED if shot.outcome == REFUSED else REASON_RESET
            events.append((done, 3, TurnedAway(done, shot.guest, reason)))
            continue
        worker = workers.setdefault(shot.worker, len(workers)) if shot.worker is not None else -1
        if use_server_times and shot.started_at is not None and worker >= 0:
            started = min(max(shot.started_at - t0, arrival), done)
            events.append((arrival, 1, Queued(arrival, shot.guest, 0)))
            events.append((started, 2, Started(started, shot.guest, worker)))
        if shot.outcome == OK:
            events.append((done, 3, Finished(done, shot.guest, worker)))
        else:
            reason = REASON_TIMEOUT if shot.outcome == TIMEOUT else REASON_ERROR
            events.append((done, 3, Failed(done, shot.guest, worker, reason)))
    events.sort(key=lambda e: (e[0], e[1]))
    metrics = metrics_for(scenario)
    s = scenario
    metrics(ServerStarted(0.0, s.model, s.workers, s.threads, s.cores, max(s.hosts, 1), s.backlog))
    for _, _, event in events:
        metrics(event)
    return metrics.summary(scenario.to_dict())


def hit(url: str, scenario: Scenario, **options: Any) -> HitResult:
    """Hit ``url`` with ``scenario``'s guests and wait for the result (blocking)."""
    return Generator(parse_target(url), scenario, **options).run()


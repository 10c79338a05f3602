"""The live switch: the same party, with a real server on this machine and real guests.

Theory of operation. ``LiveDriver`` has the sim driver's ``advance`` and nothing else
(real time cannot be stepped or rewound). It owns three things and stops all three:

- a ``LiveFeed``: a Unix socket in a private temporary directory where the server's
  processes connect and write their trace events as JSON lines (``--report PATH``);
  it parses each line with ``sim.trace.from_json`` into a thread-safe queue;
- the server: ``sim.live.start_server`` for the scenario's model, on a free loopback
  port, stopped by its pid (``ServerProcess.stop``: SIGTERM, then SIGKILL);
- the load generator: ``sim.live.loadgen.Generator`` sending the scenario's very
  guests, open loop, on its own asyncio loop in a thread; cancelling its task aborts
  every connection it holds.

Starting blocks (a server takes a moment to boot), so the app runs ``start`` and the
feed's ``pump`` in Textual thread workers (``tui.screens.party``); ``advance``, called
each frame on the app's thread, only drains the queue and rebases the server's
``time.monotonic()`` stamps to seconds since the switch.

The picture lags by one batch. The server's processes report in batches
(``sim.live.report``: every ``FLUSH_EVERY``, 50 ms, so that watching does not slow the
server down), and each process's batch comes on its own socket. So the driver's clock
runs ``HOLD`` (one batch and a margin) behind the wall clock, and ``advance`` hands
out only the events stamped before it, in time order across every process; an event
later than that (a batch delayed on a loaded machine) is handed out at once.

Visitors. The generator's guests carry ``X-Guest-Id`` (0 up); any other request (a
``curl`` of the URL on screen, a browser, the app's own "send a guest" key, which
goes through the very same HTTP path with ``send``) is numbered by the server from
``sim.trace.VISITOR_BASE``. ``Visitors`` follows those guests in the events handed
out, so the screen can pin them (who, what they do, how long they took) while the
generator's hundreds scroll by.

Whatever ends the live party (switching back, quitting, a crash: ``atexit``) calls
``close``, which is idempotent; it also closes the connections of visitors still
waiting for an answer.
This module imports no Textual: the app's part is the few lines in ``toggle``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import heapq
import http.client
import itertools
import os
import selectors
import shutil
import socket
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from sim.live.report import FLUSH_EVERY
from sim.scenario import Scenario
from sim.trace import (
    Arrived,
    Event,
    Failed,
    Finished,
    PhaseEnded,
    PhaseStarted,
    Started,
    TraceFormatError,
    TurnedAway,
    from_json,
    guest_name,
    is_visitor,
)
from sim.workload import MAX_REQUEST_SECONDS, format_script, parse_phases
from tui.session import rebuild

LIVE_DURATION = 600.0  # s: the load generator's hard cap; free play restarts past it
READ_CHUNK = 65536
LINE_EVERY = 0.1  # s between two reads of the kernel's accept queue
HOLD = FLUSH_EVERY + 0.05  # s the live clock runs behind: one batch of reports, a margin
PINNED = 4  # visitors the screen keeps in view, the newest
SEND_EXAMPLE = "io:200"  # the curl line's guest: a fifth of a second at the kitchen
SEND_TIMEOUT = MAX_REQUEST_SECONDS + 30.0  # s: a visitor's longest script, and a margin


@dataclass
class Visitor:
    """One guest that did not come from the generator, as far as the reports tell."""

    guest: int
    arrived: float
    worker: int | None = None
    phase: str | None = None
    left: float | None = None
    outcome: str = ""  # "" while inside; "served" or "failed: REASON" once gone
    script: str = ""  # what the learner sent with the key (known once answered)
    guessed: bool = False  # ``script`` is a guess until the answer names the guest

    @property
    def name(self) -> str:
        return guest_name(self.guest)


class Visitors:
    """The visitors of one live party, followed through the events handed out."""

    def __init__(self) -> None:
        self.seen: dict[int, Visitor] = {}
        self.count = 0
        self.version = 0  # moves whenever something a visitor did changed
        # scripts sent with the key and when (s since the switch), no visitor seen for them yet
        self.sent: list[tuple[str, float]] = []
        self.scripts: dict[int, str] = {}  # guest -> the script the key sent it with
        self.news: list[tuple[float, str]] = []  # (t, sentence) for the story, taken by the app

    def feed(self, events: list[Event]) -> None:
        for event in events:
            guest = getattr(event, "guest", None)
            if guest is None or not is_visitor(guest):
                continue
            visitor = self.seen.get(guest)
            if visitor is None:
                # the key's guest is known by number once answered; until then, the
                # first new visitor after a send is taken to be it (a curl at the same
                # instant could swap them, and the answer puts it right)
                script = self.scripts.get(guest, "")
                guessed = not script and bool(self.sent) and event.t >= self.sent[0][1]
                if guessed:
                    script = self.sent.pop(0)[0]
                visitor = Visitor(guest, event.t, script=script, guessed=guessed)
                self.seen[guest] = visitor
                self.count += 1
                while len(self.seen) > PINNED:
                    del self.seen[next(iter(self.seen))]
            gone = visitor.left
            self._follow(visitor, event)
            if gone is None and visitor.left is not None:
                took = (visitor.left - visitor.arrived) * 1000
                sent = f" (you: {visitor.script})" if visitor.script else ""
                self.news.append((visitor.left, f"{visitor.name}{sent} leaves, "
                                  f"{visitor.outcome} after {took:,.0f} ms"))
            self.version += 1

    @staticmethod
    def _follow(visitor: Visitor, event: Event) -> None:
        match event:
            case Arrived():
                visitor.arrived = event.t
            case Started():
                visitor.worker = event.worker
            case PhaseStarted():
                visitor.phase = event.phase
            case PhaseEnded():
                visitor.phase = None
            case Finished():
                visitor.left, visitor.outcome, visitor.phase = event.t, "served", None
            case Failed() | TurnedAway():
                visitor.left, visitor.phase = event.t, None
                visitor.outcome = f"failed: {event.reason}"

    def answered(self, guest: int | None, script: str) -> None:
        """The key's request came back: its script is known by the guest's number now."""
        for i, (waiting, _) in enumerate(self.sent):
            if waiting == script:
                del self.sent[i]
                break
        for visitor in self.seen.values():  # a wrong guess (a curl at the same moment)
            if visitor.guessed and visitor.script == script and visitor.guest != guest:
                visitor.script, visitor.guessed = "", False
        if guest is not None:
            self.scripts[guest] = script
            if guest in self.seen:
                self.seen[guest].script, self.seen[guest].guessed = script, False
        self.version += 1

    def take_news(self) -> list[tuple[float, str]]:
        news, self.news = self.news, []
        return news

    def pinned(self) -> list[Visitor]:
        return list(self.seen.values())


def check_script(script: str) -> str:
    """The learner's script in the engine's words ("blocking:3000"); WorkloadError if bad."""
    return format_script(parse_phases(script.strip()))


def curl_line(url: str, script: str = SEND_EXAMPLE) -> str:
    """The command a learner can paste into another terminal to send one visitor."""
    return f"curl '{url}/guest?phases={script}'"


class LiveFeed:
    """A Unix socket the server reports to; events parsed and queued for the app."""

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="partyhost-live-")
        self.path = os.path.join(self.directory, "report.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(64)
        self.listener.setblocking(False)
        self.events: deque[Event] = deque()
        self.bad_lines = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pumping = False  # the pump owns the sockets while it runs; it closes them

    def pump(self) -> None:
        """Accept the server's processes and read their lines until ``close`` (blocking)."""
        with self._lock:
            if self._stop.is_set():
                return
            self._pumping = True
        selector = selectors.DefaultSelector()
        selector.register(self.listener, selectors.EVENT_READ, None)
        partial: dict[socket.socket, bytes] = {}
        try:
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.1):
                    if key.fileobj is self.listener:
                        with contextlib.suppress(BlockingIOError, OSError):
                            conn, _ = self.listener.accept()
                            conn.setblocking(False)
                            selector.register(conn, selectors.EVENT_READ, None)
                            partial[conn] = b""
                        continue
                    conn = key.fileobj  # type: ignore[assignment]
                    try:
                        data = conn.recv(READ_CHUNK)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        selector.unregister(conn)
                        conn.close()
                        partial.pop(conn, None)
                        continue
                    self._lines(partial, conn, data)
        finally:
            for conn in list(partial):
                with contextlib.suppress(Exception):
                    selector.unregister(conn)
                conn.close()
            selector.close()
            self._close_listener()

    def _lines(self, partial: dict[socket.socket, bytes], conn: socket.socket,
               data: bytes) -> None:
        *lines, rest = (partial[conn] + data).split(b"\n")
        partial[conn] = rest
        for line in lines:
            if not line.strip():
                continue
            try:
                self.events.append(from_json(line.decode("utf-8", "replace")))
            except TraceFormatError:
                self.bad_lines += 1

    def drain(self) -> list[Event]:
        out = []
        events = self.events
        while events:
            out.append(events.popleft())
        return out

    def close(self) -> None:
        """Stop reading; the pump (if it runs) closes the sockets on its way out."""
        with self._lock:
            self._stop.set()
            pumping = self._pumping
        if not pumping:
            self._close_listener()

    def _close_listener(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.close()
        shutil.rmtree(self.directory, ignore_errors=True)


class LiveDriver:
    """A real server and a real load generator, seen through the server's reports."""

    live = True
    can_step = False

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.feed = LiveFeed()
        self.server: Any = None
        self.error: str | None = None
        self.ready = threading.Event()
        self.t0 = time.monotonic()
        self.lagging = False
        self._held: list[tuple[float, int, Event]] = []  # (t since the switch, n, event)
        self._order = itertools.count()
        self._gen_loop: asyncio.AbstractEventLoop | None = None
        self._gen_task: asyncio.Task | None = None
        self._gen_thread: threading.Thread | None = None
        self._closed = False
        self._lock = threading.Lock()
        self.generator: Any = None
        self._line: tuple[float, int | None] = (-1.0, None)  # (read at, accept queue)
        self.visitors = Visitors()
        self._sending: set[http.client.HTTPConnection] = set()
        atexit.register(self.close)

    # --- starting (blocking: the app runs it in a thread worker) ---------------------

    def start(self) -> None:
        """Start the server, then the load generator; ``error`` says what went wrong."""
        from sim.live.loadgen import MAX_GUESTS, Generator, parse_target
        from sim.live.process import start_for

        s = self.scenario
        try:
            with self._lock:
                if self._closed:
                    return
            server = start_for(s, report=self.feed.path)
            with self._lock:
                self.server = server
                if self._closed:  # closed while it booted: stop it now
                    server.stop()
                    return
            # as long as the generator allows: its hard cap counts guests as well as time
            duration = LIVE_DURATION if s.users else min(LIVE_DURATION, MAX_GUESTS / s.rate)
            guests = rebuild(s, guests=None, duration=duration)
            generator = Generator(parse_target(server.url), guests)
        except Exception as exc:  # a server that will not start: say it, do not crash
            self.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            self.ready.set()
            return
        self.generator = generator
        self._gen_thread = threading.Thread(target=self._generate, args=(generator,),
                                            name="partyhost-loadgen", daemon=True)
        self._gen_thread.start()
        self.ready.set()

    def _generate(self, generator: Any) -> None:
        loop = asyncio.new_event_loop()
        self._gen_loop = loop
        try:
            self._gen_task = loop.create_task(generator.arun())
            with contextlib.suppress(asyncio.CancelledError, Exception):
                loop.run_until_complete(self._gen_task)
        finally:
            loop.close()

    def pump(self) -> None:
        self.feed.pump()

    # --- the driver's interface ------------------------------------------------------

    @property
    def now(self) -> float:
        """Seconds since the switch, one batch of reports ago (``HOLD``)."""
        return max(0.0, time.monotonic() - self.t0 - HOLD)

    @property
    def finished(self) -> bool:
        return self._closed

    def advance(self, dt: float, budget: float | None = None) -> list[Event]:
        """What the server reported up to ``now``, in seconds since the switch, in time
        order (several processes report on several sockets, each a batch at a time)."""
        held, order, t0 = self._held, self._order, self.t0
        for event in self.feed.drain():
            shifted = _shift(event, t0)
            heapq.heappush(held, (shifted.t, next(order), shifted))
        now = self.now
        out = []
        while held and held[0][0] <= now:
            out.append(heapq.heappop(held)[2])
        self.visitors.feed(out)
        return out

    def line_now(self) -> tuple[int | None, int]:
        """The real line: (guests in the kernel's accept queue, read at most every
        ``LINE_EVERY`` s, None before the server listens; guests the generator sent that
        have no answer yet). The server reports a guest only once accepted, so a frozen
        loop's line is seen here, not in its reports (``sim.live.acceptq``)."""
        from sim.live.acceptq import accept_queue

        at, queue = self._line
        now = time.monotonic()
        if now - at >= LINE_EVERY and self.server is not None and not self._closed:
            port = urlsplit(self.server.url).port
            queue = accept_queue(port) if port else None
            self._line = (now, queue)
        generator = self.generator
        return queue, (generator.in_flight if generator is not None else 0)

    # --- a visitor of the learner's choosing -------------------------------------------

    def send(self, script: str, done: Callable[[str], None] | None = None) -> str:
        """Send one guest with ``script`` (e.g. ``blocking:3000``) as a curl would: a GET
        of /guest without X-Guest-Id, from a thread; ``done`` gets one line about the
        answer. Returns the script in the engine's words; WorkloadError if it is bad."""
        script = check_script(script)
        if self.server is None or self._closed:
            raise RuntimeError("the live server is not running yet")
        self.visitors.sent.append((script, max(0.0, time.monotonic() - self.t0 - 0.05)))
        self.visitors.version += 1
        threading.Thread(target=self._visit, args=(self.server.url, script, done),
                         name="partyhost-visitor", daemon=True).start()
        return script

    def _visit(self, url: str, script: str, done: Callable[[str], None] | None) -> None:
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                          timeout=SEND_TIMEOUT)
        with self._lock:
            if self._closed:
                return
            self._sending.add(conn)
        guest: int | None = None
        start = time.monotonic()
        try:
            conn.request("GET", f"/guest?phases={quote(script, safe=':,')}")
            reply = conn.getresponse()
            reply.read()
            raw = reply.getheader("x-guest")
            guest = int(raw) if raw and raw.isdigit() else None
            took = time.monotonic() - start
            who = guest_name(guest) if guest is not None else "your guest"
            line = (f"{who} ({script}) answered {reply.status} after {took:.2f} s"
                    if reply.status == 200 else f"{who} ({script}): HTTP {reply.status}")
        except OSError as exc:
            line = f"your guest ({script}) got no answer: {type(exc).__name__}"
        finally:
            conn.close()
            with self._lock:
                self._sending.discard(conn)
        self.visitors.answered(guest, script)
        if done is not None and not self._closed:
            with contextlib.suppress(Exception):  # the app may be closing meanwhile
                done(line)

    def step(self) -> list[Event]:
        return []

    def rewind(self, count: int) -> list[Event]:
        raise RuntimeError("a live party cannot go back in time")

    def pids(self) -> list[int]:
        """The server's pid (its workers are its children), for tests and the status."""
        return [self.server.pid] if self.server is not None and self.server.popen else []

    def close(self) -> None:
        """Stop the generator, then the server (by pid), then the feed. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        loop, task = self._gen_loop, self._gen_task
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        if self._gen_thread is not None:
            self._gen_thread.join(timeout=5.0)
        if self.server is not None:
            self.server.stop()
        with self._lock:
            sending, self._sending = list(self._sending), set()
        for conn in sending:  # a visitor still inside: its answer will never come
            with contextlib.suppress(OSError):
                conn.close()
        self.feed.close()
        atexit.unregister(self.close)


def _shift(event: Event, t0: float) -> Event:
    """The event with its monotonic stamp turned into seconds since the switch."""
    return dataclasses.replace(event, t=max(0.0, event.t - t0))


def toggle(app: Any, screen: Any) -> None:
    """Switch ``screen``'s party between simulated and live (called by the app)."""
    session = screen.session
    if session.live:
        session.restart(driver_factory=_simulated)
        screen.after_live_change(live=False)
        screen.notify("Back to the simulation: the live server was stopped.", title="Live")
        return
    session.restart(driver_factory=LiveDriver)
    screen.paused = False
    screen.after_live_change(live=True)
    screen.start_live(session.driver)


def _simulated(scenario: Scenario) -> Any:
    from tui.driver import SimDriver

    return SimDriver(scenario)

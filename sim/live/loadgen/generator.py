"""Sending: the open loop and the closed loop, on one event loop, on time; and retries.

*Open loop* (the default, like wrk2 and oha ``--latency-correction``): a guest is sent
at its scheduled instant whatever the server is doing, so a slow server builds a queue
instead of slowing the sender. Its latency runs from the *intended* send time. The
*closed loop* (``users``/``think``) waits for each answer (and the user's last retry)
before the next request, so a lesson can show the difference ("coordinated omission").

The generator must not be the bottleneck. It runs on one asyncio event loop with
protocol callbacks (no streams, no task per read), and it measures itself: *send lag*
is how late each guest left compared with its schedule. With the loop to itself
(``run()`` from the main thread, ``arun(own_loop=True)``) it does two more things:

- it wakes ``EARLY`` (1 ms) before each instant and polls the loop until the instant,
  because ``epoll`` sleeps in whole milliseconds (rounded up) and so makes an idle
  timer up to 1 ms late; the price is up to a millisecond of polling per guest;
- it holds the cyclic garbage collector for the run: its pauses (4-50 ms here, with
  thousands of finished guests to look through) were the worst lags. Nothing per
  guest needs it: each closed transport's one reference cycle is cut on closing.

Inside someone else's loop (the app draws on it), or run from a thread other than the
main one (``alone()``), it does neither.

Impatient guests, as ``sim.model`` has them (``knock``/``_unanswered``): a guest with
``patience`` hangs up (closes its socket) when it runs out, wherever it is; the server
goes on working for nobody unless its handler checks. A connect that takes longer than
the scenario's ``connect_timeout`` is given up (the SYNs a full line drops). Both are
``timed_out``; so is a guest past the whole-request cap ``timeout``. With ``retries``, a
guest turned away, failed, or out of patience knocks again after
``backoff`` (the backoff draw doubled per earlier retry, as ``sim.model.door``), on a new
connection, as a new guest id (ids in send order) with ``Arrived.attempt`` = k.
Patience is one draw per try, the backoff one per retry, from the scenario's own streams.

Bounds: the schedule's ``guests``/``duration`` (``sim.live.loadgen.bounds``); retries
count against ``MAX_GUESTS`` sends. Whatever the timeout, a run stops hard at its
duration plus ``min(timeout, END_GRACE)`` plus a second: guests still unanswered then
count as timed out, and retries not yet sent are never sent. Sending yields to the loop
every ``LAUNCH_BATCH`` guests, so a schedule the generator cannot keep (a huge rate)
still stops at the hard stop. Timeouts are found by a sweep every ``SWEEP_EVERY``
(cheaper than a timer per request at thousands a second), so they fire up to 50 ms
late; patience, opt-in, has a timer per guest and is on time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import gc
import math
import os
import resource
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sim.live.loadgen.bounds import (
    DEFAULT_TIMEOUT,
    MAX_DURATION,
    MAX_GUESTS,
    bounds,
    check_timeout,
)
from sim.live.loadgen.connection import Connection
from sim.live.loadgen.fastconnect import Dialer, make_transport
from sim.live.loadgen.results import HitResult, Snapshot, summarize
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
    OUTCOMES,
    REFUSED,
    RESET,
    TIMED_OUT,
    Shot,
)
from sim.live.loadgen.target import Target, check_target
from sim.metrics import Distribution
from sim.scenario import Scenario
from sim.workload import Guest

END_GRACE = 10.0  # s at most, after the sending time, to wait for the last answers
LAUNCH_BATCH = 500  # guests sent in one loop turn at most, then the loop gets a turn
LEAD = 0.05  # s between starting the loop and the first scheduled instant
PROGRESS_EVERY = 0.25  # s between progress snapshots
SWEEP_EVERY = 0.05  # s between looks for guests past their timeout
READ_BUFFER = 65536  # bytes: one read buffer, shared (each read is parsed at once)
EARLY = 0.001  # s: with the loop to itself, wake this early and poll to the instant

Pending = tuple[Shot, bytes, float]


def backoff(base: float, attempt: int) -> float:
    """A retry's pause: ``base`` doubled per earlier retry (attempt counts from 1).

    The same rule as ``sim.model.door.backoff``, written again because the live side
    never imports the models (``tests/sim/test_layers.py``); a test holds them equal.
    """
    return base * (2 ** (attempt - 1))  # a guest waiting for a connection: shot, bytes, upload


def alone() -> bool:
    """May a run on a new loop in this thread poll and hold the GC (``own_loop``)?

    Only from the main thread: from another, the process is shared with someone (the
    app runs lessons' live runs in a worker thread), and the GC is the whole process's.
    """
    return threading.current_thread() is threading.main_thread()


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
        requests: Sequence[AppRequest] | None = None,
    ) -> None:
        self.family, self.address, remote = check_target(target, allow_remote)
        self.target = target
        self.scenario = scenario
        self.workload_scenario = live_workload_scenario(scenario)
        self.limit = bounds(scenario)
        self.keep_alive = keep_alive
        # an app's own requests, one per kind of guest (``partyhost verify``): sent
        # instead of /guest?phases=..., the app doing its own work
        self.requests = tuple(requests) if requests else None
        self.timeout = check_timeout(timeout)
        self.connect_timeout = min(scenario.connect_timeout, self.timeout)
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
        self.connecting: dict[Any, Shot] = {}  # fd (or task) still connecting -> its guest
        self.dialer: Dialer | None = None  # the fast path, on a selector loop
        self.make_transport: Callable[..., Any] | None = None
        self.connections = 0  # open or opening
        self.waiting: deque[Pending] = deque()  # guests waiting for a connection (the cap)
        self.in_flight = 0
        self.counts = dict.fromkeys(OUTCOMES, 0)
        self.errors: dict[str, int] = {}
        self.t0 = 0.0
        self.sending_done = False
        self.stopped = False
        self.all_done: asyncio.Future[None] | None = None
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self.hard_stop = math.inf
        self.next_id = 0  # guest ids in send order (retries take the next number)
        # impatient guests
        workload = self.workload_scenario.workload
        self.retries = scenario.retries
        self.patience: Iterator[float | None] | None = (
            workload.patience_draws() if workload.patience is not None else None)
        self.pauses: Iterator[float] = workload.backoff_draws()
        self.retry_timers: dict[int, asyncio.TimerHandle] = {}  # last guest id -> timer
        self.retried = 0
        # closed loop
        self.draws: Iterator | None = None
        self.thinks: Iterator[float] | None = None
        self.active_users = 0
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
        self.make_transport = make_transport(self.loop)
        if self.make_transport is not None:
            self.dialer = Dialer(self.loop, self.family, self.address)
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
        self.stopped = True
        for handle in self.retry_timers.values():
            handle.cancel()  # retries not sent by the hard stop are never sent
        self.retry_timers.clear()
        if self.dialer is not None:
            self.dialer.cancel_all()
        for key in list(self.connecting):
            if isinstance(key, asyncio.Task):
                key.cancel()
        self.connecting.clear()
        for conn in list(self.conns):
            conn.abort()
        self.idle.clear()
        now = self.loop.time()
        for shot in self.shots:
            if shot.alarm is not None:
                shot.alarm.cancel()
            if not shot.outcome:  # never answered by the hard stop
                shot.outcome = TIMED_OUT
                shot.done = now
                self.counts[TIMED_OUT] += 1
            shot.conn = shot.key = shot.alarm = None

    def _sweep(self) -> None:
        """Give up on guests past their timeout: one pass every ``SWEEP_EVERY``.

        Cheaper than a timer per request, which at thousands a second costs the loop
        more than the requests themselves; a timeout fires up to ``SWEEP_EVERY`` late.
        """
        if self.stopped or (self.all_done is not None and self.all_done.done()):
            return
        now = self.loop.time()
        limit = now - self.timeout
        dialled = now - self.connect_timeout
        for shot in [s for s in self.connecting.values() if s.sent < dialled]:
            self.give_up(shot, TIMED_OUT)
        for conn in [c for c in self.conns if c.shot is not None and c.shot.sent < limit]:
            conn.give_up(TIMED_OUT)
        for item in [w for w in self.waiting if w[0].sent < limit]:
            self.give_up(item[0], TIMED_OUT)
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
        counts = self.counts
        return Snapshot(
            elapsed=max(self.loop.time() - self.t0, 0.0),
            planned=planned,
            sent=len(self.shots),
            served=counts[OK],
            turned_away=counts[REFUSED] + counts[RESET] + counts[TIMED_OUT],
            failed=counts[FAILED] + counts[CLIENT_ERROR],
            in_flight=self.in_flight,
            p50_ms=pct(50) / 1000 if self.latency.count else 0.0,
            p99_ms=pct(99) / 1000 if self.latency.count else 0.0,
            lag_p99_ms=lag(99) / 1000 if self.send_lag.count else 0.0,
            retries=self.retried,
        )

    def note_error(self, name: str) -> None:
        self.errors[name] = self.errors.get(name, 0) + 1

    # --- open loop ------------------------------------------------------------------

    async def _open_loop(self) -> None:
        """Send each guest at its instant: a chain of ``call_at``, not a task that sleeps.

        Every guest already due goes out in the same turn of the loop; then one timer
        for the next instant (``EARLY`` before it, then a poll each turn, when the
        loop is ours). No future or task wake-up per guest.
        """
        self._guests = schedule(self.scenario)
        self._next: Guest | None = next(self._guests, None)
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
            if len(self.shots) >= MAX_GUESTS:
                break  # retries took the rest of the cap
            self._launch(guest, due)
            launched += 1
            guest = next(self._guests, None)
        self._next = None
        if not self._sent_all.done():
            self._sent_all.set_result(None)

    def _launch(self, guest: Guest, intended: float, attempt: int = 0, user: bool = False) -> None:
        if guest.id != self.next_id:  # retries took numbers: keep ids in send order
            guest = dataclasses.replace(guest, id=self.next_id)
        self.next_id += 1
        shot = Shot(guest.id, intended, self.loop.time(), attempt=attempt, spec=guest, user=user)
        self.send_lag.record(max(shot.sent - intended, 0.0))
        self.shots.append(shot)
        self.in_flight += 1
        if self.patience is not None:
            patience = next(self.patience)
            if patience is not None:
                shot.alarm = self.loop.call_at(intended + patience, self.give_up, shot,
                                               TIMED_OUT)
        if self.requests is not None:
            payload = app_request_bytes(self.target, self.requests[guest.kind], guest,
                                        self.keep_alive)
        else:
            payload = request_bytes(self.target, guest, self.keep_alive)
        self._dispatch(shot, payload, upload_seconds(guest))

    def _dispatch(self, shot: Shot, payload: bytes, upload: float) -> None:
        """Send on an idle kept-alive connection, or on a new one (if the cap allows)."""
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed:
                conn.send(shot, payload, upload)
                return
        if self.connections >= self.max_connections:
            self.note_error(f"waited for a free connection (cap {self.max_connections})")
            self.waiting.append((shot, payload, upload))  # its latency will show it
            return
        self.connections += 1
        if self.dialer is None:  # not a selector loop: the public, slower way
            task = self.loop.create_task(self.loop.create_connection(
                lambda: Connection(self, (shot, payload, upload)), self.address[0],
                self.address[1]))
            self.connecting[task] = shot
            shot.key = task
            task.add_done_callback(lambda t: self._connect_task_done(t, shot))
            return
        key = self.dialer.dial(lambda sock: self._connected(sock, shot, payload, upload),
                               lambda err: self._connect_failed(shot, err))
        if key is not None:
            self.connecting[key] = shot
            shot.key = key

    def _connected(self, sock: socket.socket, shot: Shot, payload: bytes, upload: float) -> None:
        # What loop.create_connection does once connected, minus its futures and task:
        # at thousands of connections a second they cost more than the connect itself.
        if shot.key is not None:
            self.connecting.pop(shot.key, None)
            shot.key = None
        assert self.make_transport is not None
        self.make_transport(sock, Connection(self, (shot, payload, upload)))

    def _connect_task_done(self, task: asyncio.Task, shot: Shot) -> None:
        self.connecting.pop(task, None)
        if shot.key is task:
            shot.key = None
        if task.cancelled():
            return
        exc = task.exception()
        if isinstance(exc, OSError):
            self._connect_failed(shot, exc.errno or 0)

    def _connect_failed(self, shot: Shot, err: int) -> None:
        if shot.key is not None:
            self.connecting.pop(shot.key, None)
            shot.key = None
        self.loop.call_soon(self.slot_freed)
        if err == errno.ECONNREFUSED:
            self.finish_unsent(shot, REFUSED)
        elif err in (errno.ECONNRESET, errno.ECONNABORTED):
            self.finish_unsent(shot, RESET)
        elif err == errno.ETIMEDOUT:  # the kernel's SYN retries ran out first
            self.finish_unsent(shot, TIMED_OUT)
        else:
            self.note_error(errno.errorcode.get(err, str(err)) + f" {os.strerror(err)}")
            self.finish_unsent(shot, CLIENT_ERROR)

    def give_up(self, shot: Shot, outcome: str) -> None:
        """The guest stops waiting, wherever it is: connecting, waiting, or on a connection."""
        if shot.outcome or self.stopped:
            return
        key = shot.key
        if shot.conn is not None and shot.conn.transport is not None:
            shot.conn.give_up(outcome)  # connected (its task may not know yet)
        elif key is not None:  # still connecting: hang up
            shot.key = None
            self.connecting.pop(key, None)
            if isinstance(key, asyncio.Task):
                key.cancel()
            elif self.dialer is not None:
                self.dialer.cancel(key)
            self.loop.call_soon(self.slot_freed)
            self.finish_unsent(shot, outcome)
        elif shot.conn is not None:
            shot.conn.give_up(outcome)  # connected, not yet told
        else:
            for item in self.waiting:
                if item[0] is shot:
                    self.waiting.remove(item)
                    break
            self.finish_unsent(shot, outcome)

    def finish_unsent(self, shot: Shot, outcome: str) -> None:
        if shot.outcome or self.stopped:
            return
        shot.done = self.loop.time()
        shot.outcome = outcome
        self._record(shot)
        self._after(shot)

    def on_done(self, conn: Connection, shot: Shot) -> None:
        """A guest's answer is in (or it gave up): count it, free or close its connection."""
        if self.stopped:
            return
        if shot.outcome in (RESET, FAILED) and not conn.got_bytes and conn.used > 1:
            # The server closed a kept-alive connection while it sat idle: not the
            # guest's fault; send it again on a fresh connection.
            shot.outcome, shot.done, shot.conn = "", 0.0, None
            self._dispatch(shot, conn.payload, conn.upload)
            return
        if conn.reusable and self.keep_alive:
            if self.waiting:
                conn.send(*self.waiting.popleft())
            else:
                self.idle.append(conn)
        else:
            conn.close()
        self._record(shot)
        self._after(shot)

    def slot_freed(self) -> None:
        """A connection closed: a guest waiting for the connection cap may go."""
        self.connections -= 1
        if self.waiting and self.connections < self.max_connections and not self.stopped:
            self._dispatch(*self.waiting.popleft())

    def _record(self, shot: Shot) -> None:
        self.in_flight -= 1
        self.counts[shot.outcome] += 1
        if shot.outcome == OK:
            self.latency.record(max(shot.latency, 0.0))
        if shot.alarm is not None:
            shot.alarm.cancel()
        shot.conn = shot.key = shot.alarm = None

    def _after(self, shot: Shot) -> None:
        if shot.outcome != OK and shot.attempt < self.retries and self._may_retry():
            pause = backoff(next(self.pauses), shot.attempt + 1)
            self.retry_timers[shot.guest] = self.loop.call_later(pause, self._retry, shot)
        elif shot.user:
            self._user_next()
        self._check_done()

    def _may_retry(self) -> bool:
        return (self.loop.time() < self.hard_stop
                and len(self.shots) + len(self.retry_timers) < MAX_GUESTS)

    def _retry(self, shot: Shot) -> None:
        """A guest knocks again: a new connection, a new id, the same request."""
        del self.retry_timers[shot.guest]
        now = self.loop.time()
        if now >= self.hard_stop or len(self.shots) >= MAX_GUESTS:
            if shot.user:
                self._user_next()
            self._check_done()
            return
        assert shot.spec is not None
        self.retried += 1
        self._launch(shot.spec, now, shot.attempt + 1, shot.user)

    def _check_done(self) -> None:
        if (self.sending_done and self.in_flight == 0 and not self.retry_timers
                and self.all_done is not None and not self.all_done.done()):
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
        """A user got its answer (after its last retry): think, then knock again."""
        assert self.thinks is not None
        pause = next(self.thinks)
        if pause > 0:
            self.loop.call_later(pause, self._user_send)
        else:
            self._user_send()

    def _user_send(self) -> None:
        assert self.draws is not None
        now = self.loop.time()
        if (self.next_id >= self.limit.guests or now - self.t0 >= self.limit.duration
                or self.stopped or len(self.shots) >= MAX_GUESTS):
            self.active_users -= 1
            if self.active_users == 0:
                self.sending_done = True
                self._check_done()
            return
        guest = Guest(self.next_id, now - self.t0, next(self.draws))
        self._launch(guest, now, user=True)

    # --- the result -----------------------------------------------------------------

    def _result(self, closed: bool) -> HitResult:
        summary = summarize(self.shots, self.scenario, self.t0, use_server_times=not self.remote)
        firsts = [s for s in self.shots if not s.attempt]  # the schedule's (retries aside)
        sends = [s.sent for s in firsts if s.sent]
        span = (max(sends) - min(sends)) if len(sends) > 1 else 0.0
        sent_rate = (len(sends) - 1) / span if span > 0 else 0.0
        planned = None
        if not closed and firsts:
            intended = firsts[-1].intended - firsts[0].intended
            planned = (len(firsts) - 1) / intended if intended > 0 else None
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

"""The instrumented server: call the app once per request and split its time into phases.

Theory of operation. Requests go one at a time (warm-up first, left out), in an order
that interleaves the endpoints by their weights (``plan``), so a cache warmed by one
endpoint helps the others as it would under a real mix.

WSGI (``run_wsgi``): the app is called in a thread of its own (``WsgiWorker``), one
request at a time, as a gunicorn sync worker calls it, and the response iterable is read
to the end and closed. ``cpu`` is the calling
thread's CPU time (``time.thread_time``) over the call, ``io`` the wall time beyond it
(sleeping, waiting on a socket or a disk) less the time the thread waited for a core.
CPU spent by threads the app starts itself is not counted.

Waiting for a core (``RunQueue``): on Linux, ``/proc/thread-self/schedstat`` counts the
time a thread was runnable but not running, because another process had the core. That
is the measuring machine's contention, not the app's: the simulator models the cores
itself. It is left out of io and blocking (``Sample.core_wait`` keeps it). Measured on
this 2-core machine under a load of 5: a request of 8 ms cpu and 12 ms sleep read 28 ms
of io before, 12 after. Elsewhere (no ``/proc``) it reads 0 and stays in the waits.

ASGI (``run_asgi``): the app runs on an asyncio loop in this thread, with the lifespan
protocol first when the app speaks it (as uvicorn's ``--lifespan auto``). A task factory
wraps the coroutine of every task the request starts (its own, and those it spawns: they
inherit the request's context variable) in ``TimedCoroutine``, which times each step, each
``send``/``throw`` the loop makes into it: while a step runs, the request holds the loop.
Per request:
  - ``cpu``: the whole process's CPU (``time.process_time``) over the request, so a ``def``
    route run in the thread pool, or aiosqlite's thread, counts as cpu (one request at a
    time, so all of it is this request's);
  - ``blocking``: the steps' wall time beyond the process's CPU during them: the loop was
    held and no thread of the process computed (``time.sleep`` or a sync driver inside
    ``async def``). A step that waits for the GIL while another of the request's threads
    computes is not blocking: that thread's CPU is counted, as cpu;
  - ``io`` = wall - cpu - blocking: awaited time, when others could run.
  Both waits leave out the time the request's threads waited for a core (``RunQueue``,
  summed over the threads). When two of them wait at once (a hand-off between the loop
  and a pool thread on a crowded machine) that time is taken out twice: under a load of
  6-7 on this 2-core machine, a ``def`` route's 12 ms sleep in the pool read 4-10 ms of
  io (``benchmarks/bench_profile.py``); the loop's own waits read 12.05. Idle, both agree.
  Timing a step costs the loop a few microseconds (four clock reads); that cost is
  measured once (``step_cost``) and taken out of each request's cpu and held time.
Callbacks the loop runs outside a task step (a future's done callback, a thread's
``call_soon_threadsafe``) are not in ``held``; they are microseconds.

--timeout: a request with no answer in time is failed (not fitted) and its endpoint's
later requests are not sent (each would hang as long). For WSGI the thread that hangs
cannot be stopped: it is a daemon, left behind, and a new thread serves on. For ASGI
the task is cancelled, or, if it holds the loop, interrupted by a signal (``Alarm``).

Simplifications, said once: with one request in flight there is no contention for the
GIL or the cores, so ``cpu`` is what a request costs alone; on a busy machine a thread
that loses its core mid-request shows as ``io`` (WSGI) or ``blocking`` (ASGI), which is
why ``fit`` only calls a loop held past a threshold. A ``def`` route's wait in the
thread pool is ``io``: it does not hold the loop, as in the simulator's threadpool model.
"""

from __future__ import annotations

import asyncio
import collections.abc
import concurrent.futures.thread
import contextvars
import io
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue
from typing import Any
from urllib.parse import unquote_to_bytes

from sim.profile import ProfileError
from sim.profile.replay import Endpoint

SERVER = ("127.0.0.1", 8000)
CLIENT = ("127.0.0.1", 50000)
UNEXPLAINED_S = 0.0003  # a step held this long beyond its CPU and core wait: look at the
# other threads (reading them costs ~50 us, too much for every step)


@dataclass
class Sample:
    """One request's phases in seconds, or why it failed."""

    endpoint: int
    cpu: float = 0.0
    io: float = 0.0
    blocking: float = 0.0
    wall: float = 0.0
    core_wait: float = 0.0  # s the request's threads were runnable with no core free
    status: int | None = None
    error: str = ""  # an exception's one line, or "no response"
    timed_out: bool = False  # no answer within --timeout (its error says so)
    in_pool: bool | None = None  # ASGI: a thread of a pool ran during it (``pool_runs``);
    # None where that cannot be read
    sent: bool = True  # False: not sent, because a request before it to the endpoint
    # timed out (it would hang as well, another --timeout each)

    @property
    def failed(self) -> bool:
        return bool(self.error) or self.status is None or self.status >= 500


class RunQueue:
    """Time a thread waited for a core (Linux's schedstat, field 2, in ns); 0 elsewhere.

    The file is opened once, by the thread measured (``thread-self`` is the opener), and
    read with ``pread`` (5 microseconds here)."""

    def __init__(self) -> None:
        try:
            self.fd: int | None = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        except OSError:
            self.fd = None

    def wait(self) -> float:
        if self.fd is None:
            return 0.0
        try:
            return int(os.pread(self.fd, 128, 0).split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return 0.0

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def threads_wait() -> dict[str, float]:
    """Each thread of this process: its time waiting for a core so far (s)."""
    waits = {}
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return {}
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/schedstat", "rb") as file:
                waits[tid] = int(file.read().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            continue
    return waits


def _is_pool_thread(thread: threading.Thread) -> bool:
    """A thread of a pool that runs sync code for the loop: AnyIO's worker threads
    (Starlette's ``def`` routes and sync dependencies, ``anyio.to_thread``) and
    ``concurrent.futures`` threads (``asyncio.to_thread``, ``run_in_executor``). Not a
    thread of the app's own, like aiosqlite's one per connection: that is no pool and
    holds no token of AnyIO's limiter."""
    kind = type(thread)
    return ((kind.__name__ == "WorkerThread" and kind.__module__.startswith("anyio"))
            or getattr(thread, "_target", None) is concurrent.futures.thread._worker)


SCHEDSTAT = os.path.exists("/proc/thread-self/schedstat")  # Linux's per-thread counts


def pool_runs() -> dict[int, int] | None:
    """Each pool thread's count of times it was given a core (schedstat field 3), by
    native id; None where /proc cannot tell. An idle pool thread blocks on its queue and
    is never given one, so a count that grew over a request says the request (a ``def``
    route) ran in the pool."""
    runs = {}
    for thread in threading.enumerate():
        if thread.native_id is None or not _is_pool_thread(thread):
            continue
        try:
            with open(f"/proc/self/task/{thread.native_id}/schedstat", "rb") as file:
                runs[thread.native_id] = int(file.read().split()[2])
        except (OSError, IndexError, ValueError):
            return None
    return runs if SCHEDSTAT else None


def plan(weights: list[float], n: int) -> list[int]:
    """Which endpoint each of ``n`` requests goes to: counts by the largest remainder
    (every endpoint at least once), interleaved by smooth weighted round-robin (nginx's)."""
    if n < len(weights):
        raise ProfileError(f"-n {n} is fewer than the {len(weights)} endpoints (each needs "
                           "one request at least)")
    total = sum(weights)
    exact = [w / total * (n - len(weights)) for w in weights]
    counts = [1 + int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: int(exact[i]) - exact[i])
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    current = [0.0] * len(weights)
    left = list(counts)
    order = []
    for _ in range(n):
        for i in range(len(weights)):
            if left[i]:
                current[i] += counts[i]
        best = max((i for i in range(len(weights)) if left[i]), key=lambda i: current[i])
        current[best] -= sum(c for c, rest in zip(counts, left, strict=True) if rest)
        left[best] -= 1
        order.append(best)
    return order


def _split_target(target: str) -> tuple[str, str]:
    path, _, query = target.partition("?")
    return path, query


# --- WSGI ------------------------------------------------------------------------------


def _environ(endpoint: Endpoint) -> dict[str, Any]:
    path, query = _split_target(endpoint.path)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": endpoint.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),  # PEP 3333: bytes as latin-1
        "QUERY_STRING": query,
        "SERVER_NAME": SERVER[0],
        "SERVER_PORT": str(SERVER[1]),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": CLIENT[0],
        "REMOTE_PORT": str(CLIENT[1]),
        "HTTP_HOST": f"{SERVER[0]}:{SERVER[1]}",
        "HTTP_USER_AGENT": "partyhost-profile",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(endpoint.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if endpoint.body or endpoint.method in ("POST", "PUT", "PATCH"):
        environ["CONTENT_LENGTH"] = str(len(endpoint.body))
    if endpoint.content_type:
        environ["CONTENT_TYPE"] = endpoint.content_type
    return environ


def _call_wsgi(app: Callable[..., Any], endpoint: Endpoint, sample: Sample) -> None:
    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None
                       ) -> Callable[[bytes], None]:
        sample.status = int(status.split(None, 1)[0])
        return lambda data: None

    result = app(_environ(endpoint), start_response)
    try:
        for _ in result:
            pass
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


def timed_out(seconds: float) -> str:
    return f"timed out after {seconds:g} s"


NOT_SENT = "not sent: a request before it timed out"
KEEPS_COMPUTING = 0.1  # a hung thread that ran this share of LOOK_S computes
LOOK_S = 0.05


def _not_sent(index: int) -> Sample:
    return Sample(index, error=NOT_SENT, sent=False)


def _measure_wsgi(app: Callable[..., Any], endpoint: Endpoint, index: int,
                  queue: RunQueue) -> Sample:
    sample = Sample(index)
    wall0, cpu0, rq0 = time.perf_counter(), time.thread_time(), queue.wait()
    try:
        _call_wsgi(app, endpoint, sample)
    except BaseException as exc:  # the app's bug (even a SystemExit): reported, not fitted
        sample.error = f"{type(exc).__name__}: {exc}"[:200]
    sample.core_wait = queue.wait() - rq0
    sample.cpu = time.thread_time() - cpu0
    sample.wall = time.perf_counter() - wall0
    sample.io = max(0.0, sample.wall - sample.cpu - sample.core_wait)
    return sample


class WsgiWorker:
    """The thread the WSGI app is called in, one request at a time (as a gunicorn sync
    worker's), measured by its own clocks; the caller waits for each answer at most
    ``--timeout``. Python cannot stop a thread, so one that hangs is left behind, a
    daemon (it ends with the process), and a new worker serves the next request: the app
    then sees a new thread, as a gthread worker's requests do."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.jobs: SimpleQueue[tuple[Endpoint, int] | None] = SimpleQueue()
        self.answers: SimpleQueue[Sample] = SimpleQueue()
        self.thread = threading.Thread(target=self._serve, name="partyhost-profile-wsgi",
                                       daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        queue = RunQueue()  # opened here: it reads the thread that opens it
        try:
            while (job := self.jobs.get()) is not None:
                self.answers.put(_measure_wsgi(self.app, job[0], job[1], queue))
        finally:
            queue.close()

    def call(self, endpoint: Endpoint, index: int, timeout: float | None) -> Sample | None:
        """The request's Sample, or None if it did not answer within ``timeout``."""
        self.jobs.put((endpoint, index))
        try:
            return self.answers.get(timeout=timeout)
        except Empty:
            return None

    def stop(self) -> None:
        self.jobs.put(None)
        self.thread.join()


def _ran_ns(native_id: int | None) -> int | None:
    """A thread's CPU time so far (ns, schedstat field 1); None if gone or unknown."""
    try:
        with open(f"/proc/self/task/{native_id}/schedstat", "rb") as file:
            return int(file.read().split()[0])
    except (OSError, IndexError, ValueError):
        return None


def run_wsgi(app: Callable[..., Any], endpoints: list[Endpoint], order: list[int],
             on_request: Callable[[int], None] | None = None,
             timeout: float | None = None) -> list[Sample]:
    """Call the WSGI app once per entry of ``order``; a Sample each. A request with no
    answer within ``timeout`` s is failed, its thread left hanging (``WsgiWorker``), and
    the endpoint's later requests are not sent. If the hung thread still computes at the
    end (``LOOK_S`` more), the error says so: the requests after it shared the GIL with
    it, so their io holds waits for the GIL."""
    samples = []
    hung: dict[int, tuple[Sample, int | None]] = {}  # endpoint: its timed-out sample, and
    # the thread left hanging (its native id)
    worker = WsgiWorker(app)
    try:
        for done, index in enumerate(order, 1):
            if index in hung:
                samples.append(_not_sent(index))
            else:
                sample = worker.call(endpoints[index], index, timeout)
                if sample is None:
                    assert timeout is not None
                    sample = Sample(index, wall=timeout, error=timed_out(timeout),
                                    timed_out=True)
                    hung[index] = (sample, worker.thread.native_id)
                    worker = WsgiWorker(app)
                samples.append(sample)
            if on_request is not None:
                on_request(done)
    except BaseException:
        worker.jobs.put(None)  # a daemon, not waited for: Ctrl-C stops at once
        raise
    worker.stop()
    if hung:  # look at the hung threads over a while: a running thread's CPU time is
        # only brought up to date at the scheduler's ticks (4 ms here)
        before = {index: _ran_ns(native) for index, (_, native) in hung.items()}
        time.sleep(LOOK_S)
        for index, (sample, native) in hung.items():
            ran, now = before[index], _ran_ns(native)
            if ran is not None and now is not None and (now - ran) / 1e9 > KEEPS_COMPUTING * LOOK_S:
                sample.error += ("; its thread still computes, so the requests after it "
                                 "shared the GIL with it")
    return samples


# --- ASGI ------------------------------------------------------------------------------


@dataclass
class Meter:
    """What one request's task steps held of the loop."""

    queue: RunQueue  # the loop thread's
    start: dict[str, float] = field(default_factory=dict)  # each thread's core wait then
    seen: dict[str, float] = field(default_factory=dict)  # ... when last looked at
    held: float = 0.0  # s of wall time in the request's task steps
    held_cpu: float = 0.0  # s of the process's CPU (all threads) during those steps
    held_core_wait: float = 0.0  # s the loop thread waited for a core during them, and
    # the time a step waited for another thread that waited for a core (below)
    steps: int = 0
    stepping: bool = False  # one of the request's steps runs now (it holds the loop)
    timed_out: bool = False  # --timeout passed (``Alarm``)
    look_cpu: float = 0.0  # s of CPU and wall time spent looking at the other threads
    look_wall: float = 0.0

    def other_threads_waited(self, unexplained: float) -> None:
        """A step held the loop without computing: did it wait for a new thread that was
        waiting for a core? ``Thread.start`` (aiosqlite.connect) waits for the new thread
        to run: under a load of 6-8 here, a median of 0.4 ms and up to 15 ms. A thread
        born since last looked at was born in this step, so its core wait so far is this
        step's: it is credited, at most the unexplained time. (Crediting the older
        threads' waits too took 1-1.5 ms off a 10 ms ``time.sleep``: their waits from
        before the step.)"""
        now = threads_wait()
        born = sum(wait for tid, wait in now.items()
                   if tid not in self.seen and tid not in self.start)
        self.held_core_wait += min(unexplained, born)
        self.seen.update(now)

    def core_wait(self) -> float:
        """All threads' core waits over the request (a thread that ended counts what it
        had when last looked at)."""
        last = {**self.seen, **threads_wait()}
        return sum(wait - self.start.get(tid, 0.0) for tid, wait in last.items())

    @property
    def blocking(self) -> float:
        """Held, not computing, not waiting for a core (the timing's own cost is CPU, so
        it cancels out here)."""
        return max(0.0, self.held - self.held_cpu - self.held_core_wait)


REQUEST: contextvars.ContextVar[Meter | None] = contextvars.ContextVar(
    "partyhost_profile_request", default=None)


class TimedCoroutine(collections.abc.Coroutine):
    """A task's coroutine, each step timed into the request's Meter.

    asyncio's Task drives a coroutine by ``send``/``throw``; one call is one step, run
    while the loop waits for it. Other attributes (``cr_frame``, ``cr_await``..., which
    anyio and ``inspect.getcoroutinestate`` read) are the wrapped coroutine's.
    """

    __slots__ = ("_coro", "_meter")

    def __init__(self, coro: collections.abc.Coroutine, meter: Meter) -> None:
        self._coro = coro
        self._meter = meter

    def send(self, value: Any) -> Any:
        marks = self._marks()
        self._meter.stepping = True
        try:
            return self._coro.send(value)
        finally:
            self._meter.stepping = False
            self._tally(marks)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        marks = self._marks()
        self._meter.stepping = True
        try:
            if val is None and tb is None:
                return self._coro.throw(typ)
            return self._coro.throw(typ, val, tb)
        finally:
            self._meter.stepping = False
            self._tally(marks)

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Iterator[Any]:
        return self._coro.__await__()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._coro, name)

    # The wall clock is read first at a step's start and last at its end, so a preemption
    # between the reads is inside the wall time too, never a core wait without one.
    def _marks(self) -> tuple[float, float, float]:
        wall = time.perf_counter()
        return self._meter.queue.wait(), time.process_time(), wall

    def _tally(self, marks: tuple[float, float, float]) -> None:
        meter = self._meter
        core_wait = meter.queue.wait() - marks[0]
        cpu = time.process_time() - marks[1]
        wall = time.perf_counter() - marks[2]
        if wall - cpu - core_wait > UNEXPLAINED_S:  # after the step's reads: not in it
            wall0, cpu0 = time.perf_counter(), time.process_time()
            meter.other_threads_waited(wall - cpu - core_wait)
            meter.look_cpu += time.process_time() - cpu0  # and out of the request's
            meter.look_wall += time.perf_counter() - wall0
        meter.held_core_wait += core_wait
        meter.held_cpu += cpu
        meter.held += wall
        meter.steps += 1


def step_cost(queue: RunQueue, rounds: int = 7, steps: int = 200) -> float:
    """What timing one step costs (s, the median of ``rounds``): two sets of marks."""
    meter = Meter(queue)
    costs = []
    for _ in range(rounds):
        timed = TimedCoroutine(_NOTHING, meter)
        start = time.perf_counter()
        for _ in range(steps):
            timed._tally(timed._marks())
        costs.append((time.perf_counter() - start) / steps)
    return sorted(costs)[rounds // 2]


class _Nothing(collections.abc.Coroutine):
    def send(self, value: Any) -> Any:
        raise StopIteration

    def throw(self, *args: Any) -> Any:
        raise StopIteration

    def __await__(self) -> Iterator[Any]:
        return iter(())


_NOTHING = _Nothing()


def _task_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task:
    """Every task started inside a request (its context holds the Meter) is timed.

    Python 3.11 passes ``context`` when given; 3.13 passes ``name`` and ``context`` too."""
    context = kwargs.get("context")
    meter = context.get(REQUEST) if context is not None else REQUEST.get()
    if meter is not None:
        coro = TimedCoroutine(coro, meter)
    return asyncio.Task(coro, loop=loop, **kwargs)


def _scope(endpoint: Endpoint, state: dict[str, Any]) -> dict[str, Any]:
    path, query = _split_target(endpoint.path)
    raw = unquote_to_bytes(path)
    headers = [(b"host", f"{SERVER[0]}:{SERVER[1]}".encode()),
               (b"user-agent", b"partyhost-profile")]
    if endpoint.body or endpoint.method in ("POST", "PUT", "PATCH"):
        headers.append((b"content-length", str(len(endpoint.body)).encode()))
    if endpoint.content_type:
        headers.append((b"content-type", endpoint.content_type.encode("latin-1")))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": endpoint.method,
        "scheme": "http",
        "path": raw.decode("utf-8", "replace"),
        "raw_path": path.encode("latin-1", "replace"),
        "query_string": query.encode("latin-1", "replace"),
        "root_path": "",
        "headers": headers,
        "client": CLIENT,
        "server": SERVER,
        "state": dict(state),
    }


async def _one_asgi(app: Callable[..., Any], endpoint: Endpoint, sample: Sample,
                    state: dict[str, Any]) -> None:
    done = asyncio.Event()
    sent_body = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": endpoint.body, "more_body": False}
        await done.wait()  # the client stays until the answer is whole, then leaves
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sample.status = int(message["status"])
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    try:
        await app(_scope(endpoint, state), receive, send)
        if not done.is_set():
            sample.error = sample.error or "no response (the app returned without answering)"
    except Exception as exc:
        sample.error = f"{type(exc).__name__}: {exc}"[:200]
    finally:
        done.set()


class Lifespan:
    """The ASGI lifespan protocol, as uvicorn's ``--lifespan auto``: an app that raises
    on the lifespan scope does not speak it, and runs without."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task | None = None

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
                 "state": self.state}
        await self.app(scope, self.inbox.get, self.outbox.put)

    async def _ask(self, what: str) -> dict[str, Any] | None:
        await self.inbox.put({"type": f"lifespan.{what}"})
        assert self.task is not None
        answer = asyncio.ensure_future(self.outbox.get())
        await asyncio.wait({answer, self.task}, return_when=asyncio.FIRST_COMPLETED,
                           timeout=30)
        if answer.done():
            return answer.result()
        answer.cancel()
        return None

    async def startup(self) -> None:
        self.task = asyncio.ensure_future(self._run())
        message = await self._ask("startup")
        if message is None:  # the app raised (no lifespan) or never answered
            if self.task.done():
                self.task.exception()  # retrieved: an app without lifespan raises here
            self.task = None
            return
        if message["type"] == "lifespan.startup.failed":
            raise ProfileError(f"the app's startup failed: {message.get('message', '')}")

    async def shutdown(self) -> None:
        if self.task is None:
            return
        await self._ask("shutdown")
        if not self.task.done():
            self.task.cancel()


class RequestTimeout(BaseException):
    """Raised by ``Alarm`` into a step that holds the loop past --timeout. A
    BaseException, so that the app's ``except Exception`` (Starlette's error middleware)
    answers nothing and lets it through, as it lets a cancellation through."""


class Alarm:
    """--timeout for a request that holds the loop, where cancelling cannot reach it.

    A task that awaits is cancelled at the deadline (``asyncio.wait``). One whose step
    never returns (``time.sleep(3600)`` or a loop inside ``async def``) holds the loop,
    so no timer of the loop can run: SIGALRM (``setitimer``) can, since Python runs a
    signal's handler in the main thread between two bytecodes or when a blocking call
    returns EINTR (``time.sleep`` does). The handler raises ``RequestTimeout`` only
    inside one of the request's steps (``Meter.stepping``), never in the loop's own
    code; it is armed again every ``REPEAT_S`` after the deadline, in case the first
    came between two steps. Main thread and Unix only (elsewhere only the cancelling);
    a C call that retries on EINTR holds the loop until it returns. The process has one
    such timer: one set before (pytest-timeout's) is put off while the requests run, and
    set again after with what it had left."""

    REPEAT_S = 0.05

    def __init__(self, timeout: float | None) -> None:
        self.meter: Meter | None = None
        self.usable = (timeout is not None and hasattr(signal, "setitimer")
                       and threading.current_thread() is threading.main_thread())
        self.before: Any = None
        self.before_timer = (0.0, 0.0)
        self.since = 0.0

    def __enter__(self) -> Alarm:
        if self.usable:
            self.before = signal.signal(signal.SIGALRM, self._fire)
            self.before_timer = signal.setitimer(signal.ITIMER_REAL, 0)
            self.since = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.usable:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.before)
            delay, interval = self.before_timer
            if delay > 0:
                left = delay - (time.monotonic() - self.since)
                signal.setitimer(signal.ITIMER_REAL, max(left, 0.001), interval)

    def arm(self, meter: Meter, seconds: float | None) -> None:
        self.meter = meter
        if self.usable and seconds is not None:
            signal.setitimer(signal.ITIMER_REAL, seconds, self.REPEAT_S)

    def disarm(self) -> None:
        if self.usable:
            signal.setitimer(signal.ITIMER_REAL, 0)
        self.meter = None

    def _fire(self, signum: int, frame: Any) -> None:
        meter = self.meter
        if meter is None:
            return
        meter.timed_out = True
        if meter.stepping:
            meter.stepping = False  # once
            raise RequestTimeout()


CANCEL_GRACE_S = 1.0  # a cancelled request's time to unwind; then it is left to the loop


async def _wait(task: asyncio.Task, meter: Meter, timeout: float | None) -> None:
    """Wait for the request's task: at the deadline, cancel it (and give it
    ``CANCEL_GRACE_S``); a ``RequestTimeout`` it ended with is the timeout's."""
    await asyncio.wait({task}, timeout=timeout)
    if not task.done():
        meter.timed_out = True
        task.cancel()
        await asyncio.wait({task}, timeout=CANCEL_GRACE_S)
    if task.done() and not task.cancelled():
        exc = task.exception()
        if exc is not None and not isinstance(exc, RequestTimeout):
            raise exc


def run_asgi(app: Callable[..., Any], endpoints: list[Endpoint], order: list[int],
             on_request: Callable[[int], None] | None = None,
             timeout: float | None = None) -> list[Sample]:
    """Serve each entry of ``order`` to the ASGI app on a fresh asyncio loop. A request
    with no answer within ``timeout`` s is cancelled, or interrupted if it holds the loop
    (``Alarm``), and failed; the endpoint's later requests are not sent."""

    async def serve() -> list[Sample]:
        loop = asyncio.get_running_loop()
        lifespan = Lifespan(app)
        await lifespan.startup()
        queue = RunQueue()
        cost = step_cost(queue)
        loop.set_task_factory(_task_factory)
        samples = []
        hung: set[int] = set()
        try:
            for done, index in enumerate(order, 1):
                if index in hung:
                    samples.append(_not_sent(index))
                    if on_request is not None:
                        on_request(done)
                    continue
                sample = Sample(index)
                pool_before = pool_runs()
                meter = Meter(queue, threads_wait())
                token = REQUEST.set(meter)
                alarm.arm(meter, timeout)
                wall0, cpu0 = time.perf_counter(), time.process_time()
                task = loop.create_task(_one_asgi(app, endpoints[index], sample,
                                                  lifespan.state))
                REQUEST.reset(token)
                try:
                    await _wait(task, meter, timeout)
                finally:
                    alarm.disarm()
                if meter.timed_out:
                    assert timeout is not None
                    samples.append(Sample(index, wall=timeout, error=timed_out(timeout),
                                          timed_out=True))
                    hung.add(index)
                    if on_request is not None:
                        on_request(done)
                    continue
                sample.wall = time.perf_counter() - wall0
                cpu = time.process_time() - cpu0
                sample.core_wait = meter.core_wait()
                overhead = meter.steps * cost
                sample.cpu = max(0.0, cpu - overhead - meter.look_cpu)
                sample.blocking = meter.blocking
                sample.io = max(0.0, sample.wall - overhead - meter.look_wall - sample.cpu
                                - sample.blocking - sample.core_wait)
                pool_after = pool_runs()
                if pool_before is not None and pool_after is not None:
                    sample.in_pool = any(runs > pool_before.get(tid, 0)
                                         for tid, runs in pool_after.items())
                samples.append(sample)
                if on_request is not None:
                    on_request(done)
        finally:
            loop.set_task_factory(None)
            queue.close()
            await lifespan.shutdown()
        return samples

    with Alarm(timeout) as alarm:
        return asyncio.run(serve())

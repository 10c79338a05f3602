"""The arbiter: a pre-fork master like Gunicorn's, shared by sync, threaded and hybrid.

Theory of operation. The master binds the listen socket once, then forks W workers
that inherit it; the kernel hands each new connection to whichever worker calls
``accept`` first. The master itself never serves a guest. It only watches:

- Heartbeats. Each worker stamps ``time.monotonic()`` into its slot of a small shared
  memory board (an anonymous ``mmap`` made before the fork, so every process sees the
  same bytes) whenever it is free to do so. As Gunicorn's master (``arbiter.py``), the
  master tours once a second (its ``select`` times out after ``TOUR``, or wakes early
  on a signal such as a worker's SIGCHLD), and on a tour a worker whose stamp is older
  than ``--timeout`` is silent (stuck in a handler, or its event loop blocked): it gets
  SIGABRT, and SIGKILL on a later tour if it is still there. A sync worker answers the
  SIGABRT with a 500 for its guest and exits (see ``sync``); an event loop worker has
  no handler, so SIGABRT's default action ends it at once, as in UvicornWorker. The
  master then forks a replacement into the same slot, which keeps the slot's worker
  id. A silent worker thus dies between ``--timeout`` and ``--timeout`` + 1 s.
  What a "stamp" means differs by model, as in Gunicorn: a sync worker stamps
  between requests, so a slow request is what gets it killed; a threaded worker's main
  thread stamps while its threads work; an event loop stamps from a timer on the loop,
  so only a *blocked* loop goes silent. A server whose manager is uvicorn's supervisor
  (``supervised``) never kills for silence: uvicorn's ping is answered by a thread,
  which a blocked loop does not stop; it only replaces workers that die.
- Deaths. SIGCHLD wakes the master; it reaps the dead (``waitpid``) and replaces them.
- Signals. SIGTERM or SIGINT: stop forking, SIGTERM every worker (each finishes the
  guest in hand and exits), wait up to ``--graceful-timeout``, then SIGKILL whoever is
  left and reap everyone. Workers ignore SIGINT, because Ctrl-C at a terminal signals
  the whole process group and the shutdown is the master's to run.
- No orphans: workers also ask the kernel to kill them if the master dies
  (``PR_SET_PDEATHSIG`` on Linux), and check their parent as Gunicorn's workers do.

Signal handlers only set flags; ``signal.set_wakeup_fd`` turns each signal into a byte
on a pipe, so the master's ``select`` wakes at once instead of polling.
"""

from __future__ import annotations

import ctypes
import itertools
import mmap
import os
import select
import signal
import socket
import struct
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from sim.live.config import ServerConfig
from sim.live.report import Reporter
from sim.servers import server
from sim.trace import REASON_TIMEOUT, Failed, WorkerBooted, WorkerKilled

PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
BOOT_WAIT = 10.0  # s the master waits for every worker's first heartbeat before "ready"
TOUR = 1.0  # s between the master's tours once every worker is up (Gunicorn: 1 s)
QUICK_DEATH = 1.0  # s: a worker that dies sooner after its fork failed to boot
MAX_QUICK_DEATHS = 5  # in a row: then the code is broken; stop rather than fork forever


class Board:
    """The heartbeat board in shared memory: per slot, the last beat, the worker's pid
    once it has booted, and the guest a sync worker is serving (-1: none)."""

    SLOT = struct.Struct("dqq")

    def __init__(self, slots: int):
        self.memory = mmap.mmap(-1, self.SLOT.size * slots)  # MAP_SHARED|MAP_ANONYMOUS

    def write(self, slot: int, pid: int, guest: int = -1) -> None:
        self.SLOT.pack_into(self.memory, slot * self.SLOT.size, time.monotonic(), pid, guest)

    def read(self, slot: int) -> tuple[float, int, int]:
        return self.SLOT.unpack_from(self.memory, slot * self.SLOT.size)

    def forget_guest(self, slot: int) -> None:
        """The guest was answered (an aborted worker's 500): keep the beat, drop the guest."""
        beat, pid, _ = self.read(slot)
        self.SLOT.pack_into(self.memory, slot * self.SLOT.size, beat, pid, -1)


@dataclass
class WorkerContext:
    """What a forked worker gets from its master: its slot and the means to report."""

    slot: int
    config: ServerConfig
    listener: socket.socket
    board: Board
    report: Reporter | None
    ppid: int
    pid: int = field(default_factory=os.getpid)
    alive: bool = True

    def __post_init__(self) -> None:
        # Guest numbers when the client sends none: per process, interleaved by slot,
        # so no lock is shared between processes (a killed worker could die holding it).
        self.guest_numbers = itertools.count(self.slot, self.config.workers)

    @property
    def tick(self) -> float:
        """How often a worker should stamp: well inside the timeout."""
        return max(0.05, min(1.0, self.config.timeout / 4))

    def beat(self, guest: int = -1) -> None:
        self.board.write(self.slot, self.pid, guest)

    def parent_alive(self) -> bool:
        return os.getppid() == self.ppid

    @property
    def worker_ids(self) -> range:
        """The trace's worker ids living in this process: one, or one per thread."""
        return worker_ids(self.slot, self.config.threads)

    def booted(self) -> None:
        """Ready to serve: the first heartbeat, and the trace's WorkerBooted."""
        self.beat()
        if self.report:
            now = time.monotonic()
            for worker in self.worker_ids:
                self.report(WorkerBooted(now, worker))


def worker_ids(slot: int, threads: int) -> range:
    return range(slot * threads, (slot + 1) * threads)


WorkerMain = Callable[[WorkerContext], None]


class Arbiter:
    """Forks and watches W workers running ``worker_main``; see the module docstring."""

    def __init__(self, config: ServerConfig, listener: socket.socket, worker_main: WorkerMain,
                 report: Reporter | None, on_ready: Callable[[], None] | None = None):  # fmt: skip
        self.config = config
        self.listener = listener
        self.worker_main = worker_main
        self.report = report
        self.on_ready = on_ready
        self.board = Board(config.workers)
        self.workers: dict[int, int] = {}  # pid -> slot
        self.spawned_at: dict[int, float] = {}
        self.killed: set[int] = set()  # pids we killed for silence: already reported
        self.aborted: set[int] = set()  # pids sent SIGABRT: SIGKILL on a later tour
        self.watches_silence = server(config.model).structure.manager == "arbiter"
        self.stopping = False
        self.quick_deaths = 0
        self.ready = False
        self.started = time.monotonic()
        self.tick = TOUR

    # --- the master's loop -----------------------------------------------------------

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT; returns the exit code."""
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        self._wake_r, self._wake_w = wake_r, wake_w
        old_fd = signal.set_wakeup_fd(wake_w)
        stops = (signal.SIGTERM, signal.SIGINT)
        handlers = {sig: signal.signal(sig, self._on_stop) for sig in stops}
        handlers[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, lambda *_: None)
        code = 0
        try:
            for slot in range(self.config.workers):
                self.spawn(slot)
            while not self.stopping:
                self._sleep(self.tick if self.ready else 0.02)  # quick until all booted
                self.reap()
                self.murder_silent()
                self._check_ready()
                if self.quick_deaths >= MAX_QUICK_DEATHS:
                    print("partyhost: workers keep dying at boot; stopping", file=sys.stderr)
                    code = 3
                    break
        finally:
            self.stop()
            signal.set_wakeup_fd(old_fd)
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            os.close(wake_r)
            os.close(wake_w)
        return code

    def _on_stop(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _sleep(self, seconds: float) -> None:
        try:
            ready, _, _ = select.select([self._wake_r], [], [], seconds)
        except InterruptedError:
            return
        if ready:
            drain(self._wake_r)

    def _check_ready(self) -> None:
        if self.ready:
            return
        booted = all(
            self.board.read(slot)[1] == pid for pid, slot in self.workers.items()
        ) and len(self.workers) == self.config.workers
        if booted or time.monotonic() - self.started > BOOT_WAIT:
            self.ready = True
            if self.on_ready is not None:
                self.on_ready()

    # --- workers: birth, silence, death ----------------------------------------------

    def spawn(self, slot: int) -> None:
        self.board.write(slot, 0)  # the fork counts as a beat; pid 0 = not booted yet
        pid = os.fork()
        if pid:
            self.workers[pid] = slot
            self.spawned_at[pid] = time.monotonic()
            return
        code = 0
        try:
            self._become_worker(slot)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            if self.report is not None:
                self.report.close()  # send this worker's last batch: os._exit flushes nothing
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)  # never return into the master's stack

    def _become_worker(self, slot: int) -> None:
        signal.set_wakeup_fd(-1)
        os.close(self._wake_r)
        os.close(self._wake_w)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _no_core_file()
        _die_with_parent()
        ppid = os.getppid()
        if ppid == 1:  # the master died before we got here
            return
        listener = self.listener
        if self.config.reuse_port:  # a socket (a line) of its own, as gunicorn --reuse-port
            from sim.live.serve import listen_on

            listener = listen_on(self.config.host, self.listener.getsockname()[1],
                                 self.config.backlog, reuse_port=True)
            self.listener.close()
        context = WorkerContext(slot, self.config, listener, self.board, self.report, ppid)
        self.worker_main(context)

    def murder_silent(self) -> None:
        """Gunicorn's ``murder_workers``: SIGABRT to a worker silent past --timeout, then
        SIGKILL on a later tour if it is still there."""
        if not self.watches_silence:
            return
        now = time.monotonic()
        for pid, slot in list(self.workers.items()):
            beat, _, guest = self.board.read(slot)
            if now - beat <= self.config.timeout:
                continue
            if pid in self.aborted:
                _signal(pid, signal.SIGKILL)
                if self.report and guest >= 0:  # it could not answer: nobody did
                    self.report(Failed(now, guest, slot, REASON_TIMEOUT))
                    self.board.forget_guest(slot)
                continue
            try:
                os.kill(pid, signal.SIGABRT)
            except ProcessLookupError:
                continue
            self.aborted.add(pid)
            self.killed.add(pid)
            if self.report:
                for worker in worker_ids(slot, self.config.threads):
                    self.report(WorkerKilled(now, worker, REASON_TIMEOUT))

    def reap(self) -> None:
        """Collect dead workers and, unless stopping, fork their replacements."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            slot = self.workers.pop(pid, None)
            if slot is None:
                continue
            spawned = self.spawned_at.pop(pid, 0.0)
            self.aborted.discard(pid)
            if pid in self.killed:
                self.killed.discard(pid)
            elif not self.stopping and self.report:
                code = os.waitstatus_to_exitcode(status)
                for worker in worker_ids(slot, self.config.threads):
                    self.report(WorkerKilled(time.monotonic(), worker, f"died ({code})"))
            if self.stopping:
                continue
            quick = time.monotonic() - spawned < QUICK_DEATH and self.board.read(slot)[1] != pid
            self.quick_deaths = self.quick_deaths + 1 if quick else 0
            self.spawn(slot)

    def stop(self) -> None:
        """Graceful, then for good: SIGTERM, wait the grace period, SIGKILL, reap all."""
        self.stopping = True
        for pid in list(self.workers):
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.config.graceful_timeout
        while self.workers and time.monotonic() < deadline:
            self.reap()
            if self.workers:
                self._sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        for pid in list(self.workers):
            _signal(pid, signal.SIGKILL)
        for pid in list(self.workers):
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            self.workers.pop(pid, None)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _no_core_file() -> None:
    """A worker that SIGABRT ends (its default action) must not leave a core file."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when its master dies, however it dies."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # the ppid check in the workers' loops still catches it


def drain(fd: int) -> None:
    """Empty a non-blocking wake-up pipe (signal.set_wakeup_fd): we only needed the wake."""
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass

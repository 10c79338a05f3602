"""The threaded model: ``gunicorn -w W --threads T``, W processes of T threads each.

Theory of operation. Inside each forked worker, as in Gunicorn's gthread worker, the
main thread is a doorman and T threads are the hosts:

- The main thread waits (``selectors``) on the listen socket, on connections kept
  alive between requests, and on a wake-up pipe. It puts every connection that has a
  request coming onto the process's queue. It accepts a new connection at once while
  a host is free to take it; while all are busy it lets in only one newcomer every
  ``PATIENCE`` seconds. Gunicorn's gthread accepts up to ``--worker-connections``
  whenever it can, and with keep-alive clients one process then hoards the
  connections while another's threads sit idle (we measured half the throughput).
  Never accepting while busy is no better: kept-alive guests come straight back in,
  and a newcomer waits outside for seconds. The patience is the compromise.
- A host thread takes a connection from the queue, reads and serves one request
  (the request must arrive within ``--header-timeout`` of the thread's first look, or
  the client gets a 408: a slow client holds a thread that long at most, a guard of
  ours)
  (``time.sleep`` for io: this thread waits, the others go on), and writes the answer.
  If the client wants to keep the connection, the thread hands it back to the main
  thread to watch, instead of sitting idle on it; an idle kept-alive connection costs
  no host, and is closed after ``KEEPALIVE`` seconds (Gunicorn's ``--keep-alive``).
- The threads of one process share one GIL: two cpu phases in the same process take
  turns, which ``time.thread_time`` in the handler makes visible as longer phases.

Worker ids: process slot * T + thread index. A guest waits first in the kernel's
backlog, then (once accepted) in this process's queue; ``X-Accepted-At`` and
``X-Started-At`` tell the two apart.

The heartbeat comes from the main thread, so a slow guest does not make the worker
silent (Gunicorn: "for the non sync workers it just means that the worker process is
still communicating"); only a process whose main thread cannot run is killed.
"""

from __future__ import annotations

import os
import queue
import selectors
import signal
import socket
import threading
import time
from dataclasses import dataclass, field

from sim.live.arbiter import WorkerContext, drain
from sim.live.blocking import LINGER, TIMED_OUT, answer, linger_close, read_request, refuse
from sim.live.http import HttpSession, Reject, Request

KEEPALIVE = 2.0  # s an idle kept-alive connection may wait for its next request
WORKER_CONNECTIONS = 1000  # connections a process holds at most, gunicorn's default
PATIENCE = 0.05  # s between newcomers let in while every host is busy


@dataclass
class Connection:
    sock: socket.socket
    session: HttpSession = field(default_factory=HttpSession)
    accepted_at: float = field(default_factory=time.monotonic)
    first: bool = True  # the first request's wait starts at accept, later ones at read
    idle_since: float = 0.0
    slow: bool = False  # timed out (--header-timeout): closed without lingering


class ThreadedWorker:
    """One gthread-like process: a doorman thread and T host threads."""

    def __init__(self, ctx: WorkerContext):
        self.ctx = ctx
        self.threads = ctx.config.threads
        self.ready: queue.SimpleQueue[Connection | None] = queue.SimpleQueue()
        self.returned: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        self.idle: dict[int, Connection] = {}  # fd -> kept-alive connection
        self.open = 0  # connections this process holds (queued, served or idle)
        self.pending = 0  # connections queued for or held by a host thread
        self.lock = threading.Lock()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.selector = selectors.DefaultSelector()

    # --- the main thread: the doorman ------------------------------------------------

    def run(self) -> None:
        ctx = self.ctx
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGTERM, self._on_term)
        hosts = [
            threading.Thread(target=self.host, args=(index,), name=f"host-{index}", daemon=True)
            for index in range(self.threads)
        ]
        for thread in hosts:
            thread.start()
        listener = ctx.listener
        listener.setblocking(False)
        self.selector.register(listener, selectors.EVENT_READ)
        self.selector.register(self.wake_r, selectors.EVENT_READ)
        accepting = True
        self.last_accept = 0.0
        ctx.booted()
        while ctx.alive and ctx.parent_alive():
            ctx.beat()
            self._take_back()
            now = time.monotonic()
            self._close_idle(now - KEEPALIVE)
            host_free = self.pending < self.threads
            room = self.open < WORKER_CONNECTIONS and (
                host_free or now - self.last_accept >= PATIENCE
            )
            if room != accepting:  # full: leave new guests in the backlog
                accepting = room
                if room:
                    self.selector.register(listener, selectors.EVENT_READ)
                else:
                    self.selector.unregister(listener)
            wait = PATIENCE if not host_free else min(ctx.tick, KEEPALIVE / 2)
            for key, _ in self.selector.select(wait):
                if key.fileobj is listener:
                    self._accept(listener)
                elif key.fd == self.wake_r:
                    drain(self.wake_r)
                else:  # a kept-alive connection has a new request coming
                    conn = self.idle.pop(key.fd)
                    self.selector.unregister(key.fd)
                    self._enqueue(conn)
        # Graceful stop: no new guests, drop idle connections, let the hosts finish.
        self._close_idle(float("inf"))
        for _ in hosts:
            self.ready.put(None)
        for thread in hosts:
            thread.join()
        self._close_idle(float("inf"))

    def _on_term(self, signum: int, frame: object) -> None:
        self.ctx.alive = False

    def _accept(self, listener: socket.socket) -> None:
        try:
            sock, _ = listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return  # another process was quicker
        self.last_accept = time.monotonic()
        sock.setblocking(True)
        with self.lock:
            self.open += 1
        self._enqueue(Connection(sock, HttpSession(keep_alive=True)))

    def _enqueue(self, conn: Connection) -> None:
        with self.lock:
            self.pending += 1
        self.ready.put(conn)

    def _take_back(self) -> None:
        """Connections the hosts returned: watch them until their next request."""
        while True:
            try:
                conn = self.returned.get_nowait()
            except queue.Empty:
                return
            if not self.ctx.alive:
                self._close(conn)
                continue
            conn.idle_since = time.monotonic()
            self.idle[conn.sock.fileno()] = conn
            self.selector.register(conn.sock, selectors.EVENT_READ)

    def _close_idle(self, before: float) -> None:
        for fd, conn in list(self.idle.items()):
            if conn.idle_since <= before:
                del self.idle[fd]
                self.selector.unregister(fd)
                self._close(conn)

    def _close(self, conn: Connection) -> None:
        linger_close(conn.sock, 0.0 if conn.slow else LINGER)
        with self.lock:
            self.open -= 1

    # --- a host thread ----------------------------------------------------------------

    def host(self, index: int) -> None:
        ctx = self.ctx
        worker = ctx.slot * self.threads + index
        while True:
            conn = self.ready.get()
            if conn is None:
                return
            try:
                keep = self.serve(conn, worker)
            except Exception:  # never let a request end a host thread (answer() 500s first)
                keep = False
            with self.lock:
                self.pending -= 1
            if keep:
                self.returned.put(conn)
            else:
                self._close(conn)
            try:
                os.write(self.wake_w, b"!")  # a host is free: the doorman may let one in
            except BlockingIOError:
                pass  # the pipe is full of wake-ups already

    def serve(self, conn: Connection, worker: int) -> bool:
        """Serve the requests already sent on ``conn``; True to keep the connection."""
        ctx = self.ctx
        try:
            while True:
                item = read_request(conn.sock, conn.session, ctx.config.header_timeout)
                if isinstance(item, Reject):
                    refuse(conn.sock, item)
                    conn.slow = item.status == TIMED_OUT
                    return False
                if not isinstance(item, Request):
                    return False  # the client closed
                accepted_at = conn.accepted_at if conn.first else item.head_at
                conn.first = False
                out = answer(item, conn.session, worker=worker, accepted_at=accepted_at,
                             numbers=ctx.guest_numbers, report=ctx.report, pid=ctx.pid)  # fmt: skip
                conn.sock.sendall(out)
                if not conn.session.next_cycle() or not ctx.alive:
                    return False
                if not conn.session.buffered:
                    return True  # nothing more yet: back to the doorman
        except OSError:
            return False


def threaded_worker(ctx: WorkerContext) -> None:
    ThreadedWorker(ctx).run()

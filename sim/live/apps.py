"""The guest handler as a WSGI app and as ASGI apps, for real Gunicorn and Uvicorn.

Theory of operation. The minimal servers (``sim.live``) interpret a guest's phases
inside their own code. To check them, and the simulation, against the real servers,
the same interpretation runs here as plain applications: ``wsgi_app`` for Gunicorn's
sync and gthread workers (every wait holds the worker: ``time.sleep``; a ``db`` phase is
io here, with no pool: the minimal servers hold the pool, ``sim.live.handler.Kitchen``)
and its gevent
worker (``io`` is ``time.sleep``, which gevent's monkey patching turns into a yield to
the hub; ``blocking`` is the unpatched ``time.sleep``, which holds the whole hub, as a
database driver written in C that gevent cannot patch does), ``asgi_app``
for Uvicorn, Gunicorn with ``uvicorn_worker.UvicornWorker`` and Gunicorn's own asyncio
worker (``io`` awaits, so the loop serves others; ``blocking`` sleeps on the loop, the
classic mistake), and ``starlette_def_app`` for Uvicorn serving a Starlette app whose
``/guest`` route is a plain ``def``: Starlette runs it in AnyIO's worker threads, so it
waits as the WSGI app does (``time.sleep``), one thread per guest, at most as many at
once as the AnyIO limiter has tokens (40, unless ``PARTYHOST_THREADS`` says how many).
Starlette is imported only when that app is asked for. The request is the load
generator's ``GET /guest?phases=...`` with ``X-Guest-Id``; the phases are read by
``sim.live.handler.plan`` and cpu is spun by ``sim.live.handler.spin``, the very code
the minimal servers run.

The answer carries ``X-Worker`` (pid, plus the thread under WSGI and in a ``def``
route: each thread is a host), ``X-Started-At`` and ``X-Finished-At`` in
``time.monotonic()`` seconds, so the load generator can tell the wait from the
service. A real server has no hook for the accept instant, so there is no
``X-Accepted-At``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from itertools import count
from typing import Any
from urllib.parse import parse_qsl

from sim.live.handler import PlanError, plan, spin
from sim.trace import CPU, DB, IO, VISITOR_BASE

_numbers = count()
TEXT = ("content-type", "text/plain; charset=utf-8")
THREADS_ENV = "PARTYHOST_THREADS"  # the AnyIO limiter's tokens for starlette_def_app


def _route(path: str) -> tuple[int, bytes] | None:
    """The answer for anything but /guest (the doorbell and the porch light), or None."""
    if path in ("/", "/health"):
        return 200, b"ok\n"
    if path != "/guest":
        return 404, b"nothing here; try /guest?io=50\n"
    return None


def _guest(query: str, guest_header: str | None) -> tuple[int, list[tuple[str, float]]]:
    gid = int(guest_header) if guest_header and guest_header.isdigit() else \
        VISITOR_BASE + next(_numbers)  # a visitor: sim.trace.VISITOR_BASE
    return gid, plan(dict(parse_qsl(query)), gid)


def _headers(worker: str, started: float, finished: float, length: int) -> list[tuple[str, str]]:
    return [
        TEXT,
        ("content-length", str(length)),
        ("x-worker", worker),
        ("x-started-at", f"{started:.6f}"),
        ("x-finished-at", f"{finished:.6f}"),
    ]


# --- WSGI: gunicorn sync and gthread -----------------------------------------------------


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    started = time.monotonic()
    path, query = environ.get("PATH_INFO", "/"), environ.get("QUERY_STRING", "")
    simple = _route(path)
    if simple is not None:
        status, body = simple
        start_response(f"{status} {'OK' if status == 200 else 'Not Found'}",
                       [TEXT, ("content-length", str(len(body)))])
        return [body]
    try:
        gid, phases = _guest(query, environ.get("HTTP_X_GUEST_ID"))
    except PlanError as exc:
        body = f"bad guest: {exc}\n".encode()
        start_response("400 Bad Request", [TEXT, ("content-length", str(len(body)))])
        return [body]
    headers, body = _serve_in_thread(gid, phases, started)
    start_response("200 OK", headers)
    return [body]


def _serve_in_thread(gid: int, phases: list[tuple[str, float]],
                     started: float) -> tuple[list[tuple[str, str]], bytes]:  # fmt: skip
    """The guest's phases in this thread, as a sync worker or a pool thread runs them."""
    for kind, seconds in phases:
        if kind == CPU:
            spin(seconds)
        elif kind in (IO, DB):  # the worker (process or thread) waits; under gevent, the hub
            time.sleep(seconds)  # serves others (time.sleep is monkey-patched to yield)
        else:  # blocking: the same wait, except under gevent, where it stalls the hub
            _unpatched_sleep()(seconds)
    finished = time.monotonic()
    # under gevent the host is the hub (the process); get_ident would name the greenlet
    worker = str(os.getpid()) if _patched() else f"{os.getpid()}.{threading.get_ident()}"
    body = f"guest {gid} served by {worker}\n".encode()
    return _headers(worker, started, finished, len(body)), body


def _patched() -> bool:
    """Has gevent monkey-patched this process (Gunicorn's gevent worker, after the fork:
    so it is asked each time, not once at import)?"""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("time")


def _unpatched_sleep() -> Callable[[float], None]:
    """``time.sleep`` as the C library has it, even where gevent has patched it: an
    uncooperative driver's call, which holds the whole hub."""
    if _patched():
        return sys.modules["gevent.monkey"].get_original("time", "sleep")
    return time.sleep


# --- ASGI: uvicorn, gunicorn -k uvicorn_worker.UvicornWorker, gunicorn -k asgi ------------


async def asgi_app(scope: dict[str, Any], receive: Callable[..., Any],
                   send: Callable[..., Any]) -> None:  # fmt: skip
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    started = time.monotonic()
    query = scope.get("query_string", b"").decode("latin-1")
    guest_header = None
    for name, value in scope.get("headers", []):
        if name == b"x-guest-id":
            guest_header = value.decode("latin-1")
    simple = _route(scope["path"])
    status, body, headers = 200, b"", []
    if simple is not None:
        status, body = simple
        headers = [TEXT, ("content-length", str(len(body)))]
    else:
        try:
            gid, phases = _guest(query, guest_header)
        except PlanError as exc:
            status, body = 400, f"bad guest: {exc}\n".encode()
            headers = [TEXT, ("content-length", str(len(body)))]
        else:
            for kind, seconds in phases:
                if kind in (IO, DB):  # db: io here; the real servers get no pool of ours
                    await asyncio.sleep(seconds)
                elif kind == CPU:
                    spin(seconds)
                else:
                    time.sleep(seconds)  # blocking: the whole loop stops, on purpose
            worker = str(os.getpid())
            body = f"guest {gid} served by {worker}\n".encode()
            headers = _headers(worker, started, time.monotonic(), len(body))
    await send({"type": "http.response.start", "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in headers]})
    await send({"type": "http.response.body", "body": body})


# --- Starlette with a plain def route: uvicorn app:app, FastAPI's def endpoints -----------


def _starlette_def_app() -> Any:
    """A Starlette app whose /guest is a plain ``def``, run in AnyIO's thread pool."""
    import anyio.to_thread
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    def guest(request: Request) -> Response:  # def, not async def: a pool thread runs it
        started = time.monotonic()
        try:
            gid, phases = _guest(request.url.query, request.headers.get("x-guest-id"))
        except PlanError as exc:
            return Response(f"bad guest: {exc}\n", 400, media_type=TEXT[1])
        headers, body = _serve_in_thread(gid, phases, started)
        return Response(body, 200, headers=dict(headers))

    async def simple(request: Request) -> Response:  # on the loop, as our own server does
        status, body = _route(request.url.path) or (404, b"")
        return Response(body, status, media_type=TEXT[1])

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tokens = os.environ.get(THREADS_ENV, "")
        if tokens.isdigit() and int(tokens) > 0:  # the limiter is per loop: set it on ours
            anyio.to_thread.current_default_thread_limiter().total_tokens = int(tokens)
        yield

    routes = [Route("/guest", guest), Route("/health", simple), Route("/", simple)]
    return Starlette(routes=routes, lifespan=lifespan)


def __getattr__(name: str) -> Any:
    """``starlette_def_app`` is built on first use, so this module needs no Starlette."""
    if name == "starlette_def_app":
        app = globals()[name] = _starlette_def_app()
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

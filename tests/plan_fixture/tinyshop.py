"""A tiny WSGI shop whose handlers do known work: busy cpu (``time.thread_time``) and
sleeps, so a profile of it is known in advance (``shop.toml`` states it).

Its module has no partyhost import: gunicorn imports it from this folder (the
profile's root), as it would a learner's app.
"""

from __future__ import annotations

import time

# path -> (ms of cpu, ms of sleep)
WORK = {"/items": (1.0, 4.0), "/item/1": (0.5, 2.0), "/cart": (2.0, 8.0)}


def burn(ms: float) -> None:
    """Spin the thread's own cpu clock for ``ms``."""
    end = time.thread_time() + ms / 1000
    while time.thread_time() < end:
        pass


def app(environ, start_response):
    work = WORK.get(environ.get("PATH_INFO", ""))
    if work is None:
        start_response("404 Not Found", [("Content-Type", "text/plain"),
                                          ("Content-Length", "10")])
        return [b"not found\n"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    cpu, sleep = work
    burn(cpu)
    time.sleep(sleep / 1000)
    body = b'{"ok": true}\n'
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]

"""The schedule: the simulation's very guests, and the bytes each one sends.

``schedule`` draws guests from ``Scenario.workload`` exactly as ``sim.model`` does
(same seed, same arrival instants, same phase draws), so guest 17 of ``partyhost hit``
is guest 17 of ``partyhost simulate``. Each guest becomes ``GET /guest?phases=...``
with an ``X-Guest-Id`` header.
"""

from __future__ import annotations

from collections.abc import Iterator

from sim.live.loadgen.bounds import bounds
from sim.live.loadgen.target import Target
from sim.scenario import Scenario
from sim.trace import UPLOAD
from sim.workload import Guest


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


AppRequest = tuple[str, str, bytes]  # an app's own request: method, path, body


def app_request_bytes(target: Target, request: AppRequest, guest: Guest,
                      keep_alive: bool) -> bytes:
    """An app's own ``METHOD PATH`` (and body) for a guest of that kind (``partyhost
    verify``): the app does its own work, so the guest's phases are not sent."""
    method, path, body = request
    head = (f"{method} {path} HTTP/1.1\r\n"
            f"Host: {target.authority}\r\n"
            f"X-Guest-Id: {guest.id}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n")
    if body or method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
        kind = "application/json" if body.lstrip()[:1] in (b"{", b"[") else \
            "application/octet-stream"
        head += f"Content-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
    return head.encode("latin-1") + b"\r\n" + body


def upload_seconds(guest: Guest) -> float:
    return sum(sec for kind, sec in guest.phases if kind == UPLOAD)

"""One profile from end to end: import, warm up, measure, fit (no terminal here)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime

from sim.profile import ProfileError
from sim.profile.app import ASGI, load_app
from sim.profile.fit import profile_endpoint
from sim.profile.measure import plan, run_asgi, run_wsgi
from sim.profile.output import Profile
from sim.profile.replay import Endpoint, bodiless_warning, shares


def profile_app(spec: str, endpoints: list[Endpoint], n: int, warmup: int, *,
                source_key: str, source: str,
                on_request: Callable[[int], None] | None = None,
                timeout: float | None = None) -> Profile:
    """Measure ``n`` requests after ``warmup`` (the warm-up cycles through the endpoints,
    so each is warm) and fit each endpoint; ``on_request(done)`` counts both. A request
    that takes longer than ``timeout`` s is failed and its endpoint's later requests are
    not sent (``measure``); one that timed out before any answer fails the profile."""
    root = os.path.abspath(os.getcwd())
    app, interface = load_app(spec, root)
    weights = [e.weight for e in endpoints]
    order = plan(weights, n)
    warm = [i % len(endpoints) for i in range(warmup)]
    run = run_asgi if interface == ASGI else run_wsgi
    measured = run(app, endpoints, warm + order, on_request, timeout)
    samples = measured[warmup:]
    profiles = []
    warnings = []
    for index, (endpoint, share) in enumerate(zip(endpoints, shares(endpoints), strict=True)):
        mine = [s for s in samples if s.endpoint == index]
        profile = profile_endpoint(endpoint, share, mine, interface)
        hung = next((s for s in measured if s.endpoint == index and s.timed_out), None)
        if hung is not None:
            unsent = sum(1 for s in measured if s.endpoint == index and not s.sent)
            said = _timeout_said(endpoint, hung.error, interface, unsent)
            if profile.count == 0:
                raise ProfileError(f"{said}; nothing to fit: give a longer --timeout, or "
                                   "leave it out of the requests")
            warnings.append(said)
        if profile.count == 0:
            raise ProfileError(f"{endpoint.label}: all {profile.failed} requests failed "
                               f"({profile.first_error}); nothing to fit")
        profiles.append(profile)
    bodiless = bodiless_warning(endpoints) if source_key == "log" else ""
    if bodiless:
        warnings.insert(0, bodiless)
    return Profile(spec, interface, source_key, source, root, warmup, profiles,
                   datetime.now(UTC), tuple(warnings))


def _timeout_said(endpoint: Endpoint, error: str, interface: str, unsent: int) -> str:
    """One line: which request hung, what became of it, and of the endpoint's others."""
    fate = ("it was stopped (cancelled, or interrupted if it held the loop)"
            if interface == ASGI else
            "its handler still runs in a daemon thread (Python cannot stop a thread: it "
            "ends with partyhost)")
    rest = f"; its {unsent} other requests were not sent" if unsent else ""
    head, _, computing = error.partition("; ")
    return f"{endpoint.label}: a request {head}: {fate}{rest}" + (
        f"; {computing}" if computing else "")

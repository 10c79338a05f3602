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
                on_request: Callable[[int], None] | None = None) -> Profile:
    """Measure ``n`` requests after ``warmup`` (the warm-up cycles through the endpoints,
    so each is warm) and fit each endpoint; ``on_request(done)`` counts both."""
    root = os.path.abspath(os.getcwd())
    app, interface = load_app(spec, root)
    weights = [e.weight for e in endpoints]
    order = plan(weights, n)
    warm = [i % len(endpoints) for i in range(warmup)]
    run = run_asgi if interface == ASGI else run_wsgi
    samples = run(app, endpoints, warm + order, on_request)[warmup:]
    profiles = []
    for index, (endpoint, share) in enumerate(zip(endpoints, shares(endpoints), strict=True)):
        mine = [s for s in samples if s.endpoint == index]
        profile = profile_endpoint(endpoint, share, mine, interface)
        if profile.count == 0:
            raise ProfileError(f"{endpoint.label}: all {profile.failed} requests failed "
                               f"({profile.first_error}); nothing to fit")
        profiles.append(profile)
    bodiless = bodiless_warning(endpoints) if source_key == "log" else ""
    return Profile(spec, interface, source_key, source, root, warmup, profiles,
                   datetime.now(UTC), (bodiless,) if bodiless else ())

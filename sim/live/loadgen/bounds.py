"""The run's bounds: hard caps whatever the flags say, and the errors that name the flag.

A run sends at most ``MAX_GUESTS`` guests (first tries and retries together) within
``MAX_DURATION`` seconds of sending, each request capped at ``MAX_TIMEOUT``; an open
loop whose rate x duration would send more is refused before it starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.scenario import Scenario

MAX_GUESTS = 200_000  # hard cap per run, whatever the flags say (rate x duration too)
MAX_DURATION = 600.0  # s, hard cap on the sending time
MAX_TIMEOUT = 60.0  # s, the longest a request may wait for its answer
DEFAULT_DURATION = 10.0  # s, when neither guests nor duration is given
DEFAULT_TIMEOUT = 10.0  # s, per request


class LoadgenError(ValueError):
    """A target or bound the generator refuses; the message names the flag."""


def check_timeout(timeout: float) -> float:
    """A request timeout within ``MAX_TIMEOUT`` (a flag beyond it errs)."""
    if not (math.isfinite(timeout) and timeout > 0):
        raise LoadgenError(f"--request-timeout: must be > 0 s, got {timeout!r}")
    if timeout > MAX_TIMEOUT:
        raise LoadgenError(f"--request-timeout: at most {MAX_TIMEOUT:g} s, got {timeout:g}")
    return timeout


@dataclass(frozen=True)
class Bounds:
    """How many guests at most, and until when (s after the first instant)."""

    guests: int
    duration: float
    capped: bool  # the hard caps, not the flags, set a bound


def bounds(scenario: Scenario) -> Bounds:
    """The run's bounds: the scenario's, within the hard caps (a flag beyond them errs)."""
    if scenario.guests is not None and scenario.guests > MAX_GUESTS:
        raise LoadgenError(f"--guests: at most {MAX_GUESTS:,} guests per run")
    if scenario.duration is not None and scenario.duration > MAX_DURATION:
        raise LoadgenError(f"--duration: at most {MAX_DURATION:g} s per run")
    guests = scenario.guests if scenario.guests is not None else MAX_GUESTS
    duration = scenario.duration if scenario.duration is not None else MAX_DURATION
    rate = None if scenario.users else scenario.rate
    if scenario.guests is None and rate and rate * duration > MAX_GUESTS:
        raise LoadgenError(
            f"--rate x --duration: {rate:g}/s for {duration:g} s is about "
            f"{rate * duration:,.0f} guests; at most {MAX_GUESTS:,} guests per run"
        )
    return Bounds(guests, duration, scenario.guests is None or scenario.duration is None)

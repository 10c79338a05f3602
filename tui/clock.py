"""The clock both party screens run on: wall time in, party time out.

A screen's timer fires ``FPS`` times a second; each tick covers the wall time since the
last one (at most ``MAX_FRAME``, so a stall does not leap the party ahead) times the
chosen speed. The single party and the pair in compare read the same speeds, so a
learner who switches between them keeps the pace they chose.
"""

from __future__ import annotations

import time

SPEEDS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)  # party s per wall s
DEFAULT_SPEED = 3  # x0.3: a few guests a second, easy to follow
MAX_FRAME = 0.25  # wall seconds one tick may cover (after a stall, do not leap)
FPS = 24.0  # the timer's rate: a little over 20, so jitter still leaves >= 20 frames a second
FRAME_BUDGET = 0.5  # of a frame's wall time the simulation may use; drawing needs the rest


class WallClock:
    """Wall seconds since the last tick, capped at ``MAX_FRAME``."""

    def __init__(self) -> None:
        self._wall = time.monotonic()

    def lap(self) -> float:
        now = time.monotonic()
        wall, self._wall = min(now - self._wall, MAX_FRAME), now
        return wall

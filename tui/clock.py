"""The clock both party screens run on: wall time in, party time out.

A screen's timer fires ``FPS`` times a second (``FramePacer``); each tick covers the wall
time since the last one (at most ``MAX_FRAME``, so a stall does not leap the party ahead) times the
chosen speed. The single party and the pair in compare read the same speeds, so a
learner who switches between them keeps the pace they chose.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

SPEEDS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)  # party s per wall s
DEFAULT_SPEED = 3  # x0.3: a few guests a second, easy to follow
MAX_FRAME = 0.25  # wall seconds one tick may cover (after a stall, do not leap)
FPS = 21.0  # the timer's rate: a little over 20 (issue 16 asks >= 20 frames a second). It
# was 24 while Textual's interval timer dropped a beat whenever a frame ran late; the party
# screen's ``FramePacer`` makes late frames up, and each frame a second is ~1.5% of a core
FRAME_BUDGET = 0.5  # of a frame's wall time the simulation may use; drawing needs the rest


class WallClock:
    """Wall seconds since the last tick, capped at ``MAX_FRAME``."""

    def __init__(self) -> None:
        self._wall = time.monotonic()

    def lap(self) -> float:
        now = time.monotonic()
        wall, self._wall = min(now - self._wall, MAX_FRAME), now
        return wall


class FramePacer:
    """Calls ``frame`` ``fps`` times a second, each time only after the last was painted.

    Why not ``set_interval``: Textual's interval timer skips a beat it is late for, so a
    frame whose tick and paint took a little more than a period (42 ms at 24 a second;
    a crowded party's tick is ~12 ms of simulation, its paint ~20 ms, and a loaded
    machine stretches both) waited for the next beat: 12 frames a second at 0.3-0.5 of
    a core, the app idle half the time. Here the next frame is due one period after
    the last was due, at once when that is past (a late frame is made up by the next
    ones, so ``fps`` is kept on average; more than two frames behind is let go), and never
    before the last frame reached the screen (``call_after_refresh``), so a tick is a
    frame drawn.
    """

    def __init__(self, screen: Any, fps: float, frame: Callable[[], None]) -> None:
        self.screen = screen  # a Textual screen (clock.py stays free of Textual)
        self.period = 1 / fps
        self.frame = frame
        self.due = 0.0

    def start(self) -> None:
        self.due = time.monotonic() + self.period
        self.screen.set_timer(self.period, self._fire)

    def _fire(self) -> None:
        self.frame()
        self.screen.call_after_refresh(self._next)

    def _next(self) -> None:
        if not self.screen.is_running:
            return  # the screen is gone: no more frames
        now = time.monotonic()
        self.due += self.period
        if self.due < now - 2 * self.period:  # a stall of two frames is made up; a longer
            self.due = now  # one is let go: never a burst of frames
        if self.due > now:
            self.screen.set_timer(self.due - now, self._fire)
        else:  # a timer of 0 s fails in Textual; the next message will do
            self.screen.call_later(self._fire)

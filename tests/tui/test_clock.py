"""The party screen's frame pacer: on the beat, late frames made up, never a burst.

A fake screen records what the pacer asks of Textual (a timer, a call after the next
paint, a call at once) and a fake clock stands for ``time.monotonic``, so the schedule
is checked exactly, with no wall time spent.
"""

from __future__ import annotations

import pytest

from tui import clock
from tui.clock import FramePacer


class FakeScreen:
    """What the pacer uses of a Textual screen, recorded."""

    def __init__(self) -> None:
        self.is_running = True
        self.timers: list[float] = []  # delays asked, in order
        self.pending = None  # what runs after the next paint, or at once
        self.at_once = 0

    def set_timer(self, delay: float, callback) -> None:
        self.timers.append(delay)
        self.pending = callback

    def call_after_refresh(self, callback) -> None:
        self.pending = callback

    def call_later(self, callback) -> None:
        self.at_once += 1
        self.pending = callback


@pytest.fixture
def now(monkeypatch) -> list[float]:
    t = [100.0]
    monkeypatch.setattr(clock.time, "monotonic", lambda: t[0])
    return t


def run_frame(screen: FakeScreen, now: list[float], cost: float) -> None:
    """The timer fires, the frame takes ``cost`` s to tick and paint, then the pacer goes on."""
    screen.pending()  # _fire: the frame
    now[0] += cost
    screen.pending()  # after the paint: _next schedules the next frame


def test_a_frame_waits_for_its_beat_and_a_late_one_is_made_up(now):
    frames: list[float] = []
    screen = FakeScreen()
    pacer = FramePacer(screen, 20.0, lambda: frames.append(now[0]))  # 50 ms a beat
    pacer.start()
    assert screen.timers == [pytest.approx(0.05)]
    now[0] += 0.05
    run_frame(screen, now, 0.02)  # on time, 20 ms: the next beat is 30 ms away
    assert screen.timers[-1] == pytest.approx(0.03)
    now[0] += 0.03
    run_frame(screen, now, 0.07)  # 70 ms: 20 ms past the next beat: at once, no timer
    assert screen.at_once == 1 and len(screen.timers) == 2
    run_frame(screen, now, 0.01)  # the made-up frame is quick: back on the beat (100.20)
    assert screen.timers[-1] == pytest.approx(100.20 - now[0])
    assert len(frames) == 3


def test_a_long_stall_is_let_go_not_drawn_as_a_burst(now):
    screen = FakeScreen()
    pacer = FramePacer(screen, 20.0, lambda: None)
    pacer.start()
    now[0] += 0.05
    run_frame(screen, now, 0.5)  # a half-second stall: ten beats missed
    assert screen.at_once == 1  # one frame at once...
    run_frame(screen, now, 0.01)
    assert screen.at_once == 1 and screen.timers[-1] == pytest.approx(0.04)  # ...then the beat


def test_no_frame_after_the_screen_is_gone(now):
    screen = FakeScreen()
    pacer = FramePacer(screen, 20.0, lambda: None)
    pacer.start()
    screen.pending()  # a frame
    screen.is_running = False
    screen.pending()  # its paint came after the screen went away
    assert screen.timers == [pytest.approx(0.05)] and screen.at_once == 0

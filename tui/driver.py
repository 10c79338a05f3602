"""The sim driver: a simulated party advanced a slice, or one event, at a time.

Theory of operation. The app owns the clock, not SimPy: each frame it asks the driver
for ``advance(dt)`` seconds of party time (``env.run(until=env.now + dt)``) and gets
back the trace events that happened, in order, as one batch. ``step()`` hands out
exactly one event, running ``env.step()`` until the model says something; one SimPy
step can say several things at once, so the rest are *held* and handed out first next
time. The events handed out so far are therefore always a prefix of the one trace the
seed determines, which makes going back easy and exact: ``rewind(n)`` builds the same
party again and replays it until exactly ``n`` events have been handed out. No threads,
no copying SimPy state: determinism does the work.

The driver knows SimPy; the widgets never see it. A live party has a driver of its
own with the same ``advance`` (see ``tui.live``); it cannot step or rewind.
"""

from __future__ import annotations

import math
import time

from sim.model import build_party
from sim.model.base import Party
from sim.scenario import Scenario
from sim.trace import Event

FREE_PLAY_GUESTS = 10**9  # free play never runs out of guests
SLICES = 8  # a budgeted advance runs in this many pieces, checking the wall clock between


class SimDriver:
    """One simulated party and the events it has handed out so far."""

    live = False
    can_step = True

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.reset()

    def reset(self) -> None:
        """A fresh party from the same scenario and seed, nothing handed out yet."""
        self._pending: list[Event] = []
        self._held: list[Event] = []
        self.handed_out = 0
        self.lagging = False
        self.party: Party = build_party(self.scenario, self._pending.append)

    @property
    def now(self) -> float:
        return self.party.env.now

    @property
    def finished(self) -> bool:
        """The party is over: every guest came and left, nothing more will happen."""
        return (
            self.party.finished.triggered
            and not self._held
            and not self._pending
            and math.isinf(self.party.env.peek())
        )

    def _take(self, events: list[Event]) -> list[Event]:
        self.handed_out += len(events)
        return events

    def advance(self, dt: float, budget: float | None = None) -> list[Event]:
        """Run ``dt`` seconds of party time; the events that happened, in order.

        With a ``budget`` (wall seconds), stop early once it is spent: a frame must not
        take longer than a frame, even when the learner asks for x100 with 5,000
        guests a second. ``lagging`` then says the party ran slower than asked.
        """
        out, self._held = self._held, []
        env = self.party.env
        self.lagging = False
        if dt > 0 and budget is None:  # with nothing scheduled, the clock still moves on
            env.run(until=env.now + dt)
        elif dt > 0:
            start, end = time.perf_counter(), env.now + dt
            for piece in range(1, SLICES + 1):
                env.run(until=end - dt * (SLICES - piece) / SLICES)
                if time.perf_counter() - start > budget and piece < SLICES:
                    self.lagging = True
                    break
        out.extend(self._pending)
        self._pending.clear()
        return self._take(out)

    def step(self) -> list[Event]:
        """Exactly one more event (an empty list when the party is over)."""
        if not self._held:
            env = self.party.env
            while not self._pending and not math.isinf(env.peek()):
                env.step()
            self._held, self._pending[:] = list(self._pending), []
        if not self._held:
            return []
        first = self._held.pop(0)
        return self._take([first])

    def rewind(self, count: int) -> list[Event]:
        """The same party again, replayed to exactly ``count`` events; all of them."""
        self.reset()
        env = self.party.env
        while len(self._pending) < count and not math.isinf(env.peek()):
            env.step()
        out = self._pending[:count]
        self._held = self._pending[count:]
        self._pending.clear()  # in place: the model's processes hold its append
        return self._take(out)

    def close(self) -> None:
        """Nothing to stop: a simulation holds no process or socket."""

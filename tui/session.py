"""A party on screen, minus the screen: a source of events, the state they fold into, theory.

Theory of operation. ``PartySession`` is what a screen holds for each party it shows.
It asks its driver (``SimDriver``, or a live one) for a frame's events, narrates the
last few of them (before folding, so a leaving guest's arrival time is still known),
folds them all into a ``PartyState``, and hands the screen the sentences. Stepping
back rebuilds the state from the replayed events. No Textual here, so the whole loop
of a frame can be tested, and benchmarked, without a terminal.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sim.scenario import Scenario
from sim.servers import DEFAULT
from sim.theory import Prediction, prediction, saturation
from sim.trace import Event
from sim.workload import format_script
from tui.driver import FREE_PLAY_GUESTS, SimDriver
from tui.narrate import Narration, narrate
from tui.state import PartyState

Told = list[tuple[float, Narration]]
MAX_REPLAY = 300_000  # events: beyond this, stepping back would take seconds


class TooFarToReplay(Exception):
    """Stepping back replays the party from the start; this one is too long for that."""


@dataclass(frozen=True)
class Theory:
    """What theory says for the scenario on screen (None: no closed form applies)."""

    prediction: Prediction | None
    saturation: float


class Driver(Protocol):
    live: bool
    can_step: bool
    scenario: Scenario

    @property
    def now(self) -> float: ...

    @property
    def finished(self) -> bool: ...

    def advance(self, dt: float, budget: float | None = None) -> list[Event]: ...

    def step(self) -> list[Event]: ...

    def rewind(self, count: int) -> list[Event]: ...

    def close(self) -> None: ...


# What the app opens with: a small gunicorn with a typical web request, busy but coping.
FREE_PLAY = {"model": DEFAULT, "workers": 4, "cores": 2, "rate": 25, "cpu": "5",
             "io": "exp:100", "guests": FREE_PLAY_GUESTS, "seed": 1}


def rebuild(scenario: Scenario, **changes: Any) -> Scenario:
    """``scenario`` with ``changes``; a ScenarioError names the knob that is wrong."""
    return scenario.replace(**changes)


def theory_for(scenario: Scenario) -> Theory:
    try:
        return Theory(prediction(scenario), saturation(scenario))
    except (ZeroDivisionError, ValueError):
        return Theory(None, math.inf)


class PartySession:
    """One party's source, state and theory, advanced by whoever owns the clock."""

    def __init__(self, scenario: Scenario,
                 driver_factory: Callable[[Scenario], Driver] = SimDriver):
        self.driver_factory = driver_factory
        self.scenario = scenario
        self.driver: Driver = driver_factory(scenario)
        self.state = PartyState()
        self.theory = theory_for(scenario)
        # more sinks of every folded event, in batches (the timeline); a restart sends a
        # new ServerStarted, a step back the replayed events from the start
        self.listeners: list[Callable[[list[Event]], None]] = []

    @property
    def live(self) -> bool:
        return self.driver.live

    @property
    def service(self) -> float:
        """A typical guest's service time (s), for colouring waits."""
        return self.scenario.workload.mean_service() or 0.05

    def restart(self, scenario: Scenario | None = None,
                driver_factory: Callable[[Scenario], Driver] | None = None) -> None:
        """A fresh party: same scenario and seed unless given new ones."""
        self.driver.close()
        if scenario is not None:
            self.scenario = scenario
            self.theory = theory_for(scenario)
        if driver_factory is not None:
            self.driver_factory = driver_factory
        self.driver = self.driver_factory(self.scenario)
        self.state = PartyState()

    def close(self) -> None:
        self.driver.close()

    @property
    def kinds(self) -> tuple[str, ...]:
        """Each kind of guest of the scenario's mix, in words (none without a mix)."""
        return tuple(format_script(kind.script) for kind in self.scenario.kinds)

    def fold(self, events: list[Event], tell: int = 0) -> tuple[Told, int]:
        """Fold ``events`` into the state; narrate the last ``tell``; (sentences, untold)."""
        state = self.state
        cut = max(0, len(events) - tell)
        if cut:
            state.feed(events[:cut])
        told: Told = []
        for event in events[cut:]:
            guest = getattr(event, "guest", None)
            arrived = state.arrival.get(guest) if guest is not None else None
            narration = narrate(event, state.model or self.scenario.model, arrived,
                                state.threads, self.kinds, state.switch_interval > 0)
            if narration is not None:
                told.append((event.t, narration))
            state(event)
        for listener in self.listeners:
            listener(events)
        return told, cut

    def advance(self, dt: float, tell: int = 0, budget: float | None = None
                ) -> tuple[Told, int]:
        """``dt`` seconds of party time (less if ``budget`` wall seconds run out)."""
        events = self.driver.advance(dt, budget) if budget is not None else \
            self.driver.advance(dt)
        told = self.fold(events, tell)
        self.state.tick(self.driver.now)
        return told

    def step(self, tell: int = 1) -> tuple[Told, int]:
        return self.fold(self.driver.step(), tell)

    def step_back(self) -> bool:
        """Undo one event by replaying the same seed to one event fewer."""
        if not self.driver.can_step or self.state.events == 0:
            return False
        if self.state.events > MAX_REPLAY:
            raise TooFarToReplay(self.state.events)
        events = self.driver.rewind(self.state.events - 1)
        self.state = PartyState()
        self.state.feed(events)
        for listener in self.listeners:
            listener(events)
        return True

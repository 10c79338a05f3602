"""Running a lesson's scenarios and reading their numbers: shared by the checker and player.

Theory of operation. A ``LessonRunner`` owns one lesson. Runs are named in
``scenario`` blocks, and a name stays visible from its step to the end of the lesson
(a later block with the same name replaces it), so step 4 may compare with a run of
step 2. ``lookup(step)`` gives the claim language a ``(run, metric) -> float`` for
what is visible at that step; it runs a scenario the first time one of its numbers is
asked for. Results are cached by the (frozen, hashable) ``Scenario``, so the same
party named in two lessons runs once per process.

A challenge (``format.Challenge``) is solved here, never by the lesson's author:
``solve`` prices every knob setting with the cost expression (no run needed: the cost
names only knobs), then runs the settings cheapest first (ties in the order the knobs
list them) until one meets the goal; that is the best answer, and the challenge's
NAME in claims and placeholders reads its numbers. ``attempt`` runs the learner's
setting and judges it against the goal and the best cost. Most challenges stop after a
handful of runs; the worst case is every setting (``MAX_CHALLENGE_POINTS``).

A ``live`` run goes to ``tui.lessonbook.live`` only when the runner was made with
``live=True``; otherwise asking for its numbers raises ``LiveSkipped``, which the
checker counts as skipped, never as passed.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sim.run import simulate
from sim.scenario import Scenario, build_scenario
from tui.lessonbook import values as catalogue
from tui.lessonbook.claims import ClaimError, Lookup, evaluate, fmt
from tui.lessonbook.format import Challenge, Lesson, Predict, RunSpec

_CACHE: dict[Scenario, dict[str, float]] = {}
_CACHE_LIMIT = 256

# A live run in a lesson is real time on a real machine, in the player and in
# ``lessons check --live``: a few hundred guests show what they must. These bounds keep
# one run under about half a minute of sending (the generator's own caps are 200,000
# guests and 600 s, for ``partyhost hit``).
LIVE_MAX_GUESTS = 2_000
LIVE_MAX_SECONDS = 30.0


def live_too_long(scenario: Scenario) -> str | None:
    """Why a lesson's live run would take too long to send, or None if it fits."""
    s = scenario
    if s.guests is not None and s.guests > LIVE_MAX_GUESTS:
        return f"a live run sends at most {LIVE_MAX_GUESTS:,} guests, got {s.guests:,}"
    if s.duration is not None:
        seconds = s.duration
    elif s.users:  # a closed loop: each user asks, waits for the work, thinks, asks again
        each_ms = sum(step.dist.mean for script in s.scripts for step in script) / len(
            s.scripts) + s.workload.think.mean
        seconds = (s.guests or 0) * each_ms / 1000 / s.users
    else:
        seconds = (s.guests or 0) / (s.rate or 1.0)
    if seconds > LIVE_MAX_SECONDS:
        return (f"a live run sends for at most {LIVE_MAX_SECONDS:g} s, this one about "
                f"{seconds:,.0f} s: fewer guests, or a higher rate")
    return None


class LiveSkipped(Exception):
    """A number from a live run, asked for when live runs are off."""

    def __init__(self, run: str):
        super().__init__(run)
        self.run = run


def scenario_of(spec: RunSpec) -> Scenario:
    """Build (and so check) a run's scenario; a ScenarioError names the lesson's line."""
    return build_scenario(spec.values, spec.origins)


def run_scenario(scenario: Scenario) -> dict[str, float]:
    """Simulate headless and read every catalogued number (cached)."""
    cached = _CACHE.get(scenario)
    if cached is not None:
        return cached
    counts = catalogue.EventCounts()
    summary = simulate(scenario, counts)
    result = catalogue.run_values(scenario, summary, counts)
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[scenario] = result
    return result


class LessonRunner:
    """The runs of one lesson, run on demand, and their numbers by name."""

    def __init__(self, lesson: Lesson, *, live: bool = False,
                 live_runner: Callable[[Scenario], dict[str, float]] | None = None):
        self.lesson = lesson
        self.live = live
        self.live_runner = live_runner
        self.results: dict[tuple[int, str], dict[str, float]] = {}
        self.solutions: dict[int, Solution | None] = {}
        # the player solves in the background while the learner's try may ask too: once
        self._solving = threading.Lock()

    def visible(self, step: int) -> dict[str, tuple[int, RunSpec]]:
        """Run name -> (step index, spec) for the runs in sight at ``step``."""
        seen: dict[str, tuple[int, RunSpec]] = {}
        for index, page in enumerate(self.lesson.steps[: step + 1]):
            for spec in page.runs:
                seen[spec.name] = (index, spec)
        return seen

    def result(self, step: int, spec: RunSpec) -> dict[str, float]:
        key = (step, spec.name)
        if key not in self.results:
            scenario = scenario_of(spec)
            if spec.live:
                if not self.live:
                    raise LiveSkipped(spec.name)
                runner = self.live_runner or _live_runner()
                self.results[key] = runner(scenario)
            else:
                self.results[key] = run_scenario(scenario)
        return self.results[key]

    def run_step(self, step: int) -> dict[str, dict[str, float]]:
        """Run every run this step defines (not live ones, unless live); name -> numbers."""
        out = {}
        for spec in self.lesson.steps[step].runs:
            if spec.live and not self.live:
                continue
            out[spec.name] = self.result(step, spec)
        return out

    def challenges(self, step: int) -> dict[str, int]:
        """Challenge name -> its step, for the challenges in sight at ``step``."""
        return {page.challenge.name: index
                for index, page in enumerate(self.lesson.steps[: step + 1])
                if page.challenge is not None}

    def lookup(self, step: int) -> Lookup:
        seen = self.visible(step)
        solved = self.challenges(step)

        def lookup(run: str, metric: str) -> float:
            if run in solved and run not in seen:
                solution = self.solve(solved[run])
                if solution is None:
                    raise ClaimError(f"the challenge {run!r} has no answer to read")
                return solution.values[metric]
            if run not in seen:
                names = ", ".join(seen) or "none"
                raise ClaimError(f"no run named {run!r} in this step or before it (runs: {names})")
            index, spec = seen[run]
            return self.result(index, spec)[metric]

        return lookup

    # --- challenges ----------------------------------------------------------------

    def challenge(self, step: int) -> Challenge:
        challenge = self.lesson.steps[step].challenge
        if challenge is None:
            raise ClaimError(f"step {step + 1} has no challenge")
        return challenge

    def setting_scenario(self, challenge: Challenge, setting: dict[str, int | float]
                         ) -> Scenario:
        start = challenge.start
        origins = {**start.origins, **{key: f"{start.origins.get(key, 'knob')} (knob)"
                                       for key in setting}}
        return build_scenario({**start.values, **setting}, origins)

    def cost(self, challenge: Challenge, scenario: Scenario) -> float:
        known = catalogue.scenario_values(scenario)
        return evaluate(challenge.cost, lambda run, metric: known[metric])

    def _goal(self, step: int, challenge: Challenge, values: dict[str, float]
              ) -> tuple[bool, str]:
        others = self.lookup(step)

        def lookup(run: str, metric: str) -> float:
            return values[metric] if run == challenge.name else others(run, metric)

        return challenge.goal.evaluate(lookup)

    def solve(self, step: int) -> Solution | None:
        """The cheapest setting that meets the goal (first in knob order among equals)."""
        with self._solving:
            if step not in self.solutions:
                self.solutions[step] = self._search(step)
            return self.solutions[step]

    def _search(self, step: int) -> Solution | None:
        challenge = self.challenge(step)
        grid = []
        for order, combo in enumerate(itertools.product(*(k.values for k in challenge.knobs))):
            setting = dict(zip((k.key for k in challenge.knobs), combo, strict=True))
            scenario = self.setting_scenario(challenge, setting)
            grid.append((self.cost(challenge, scenario), order, setting, scenario))
        grid.sort(key=lambda item: (item[0], item[1]))
        found = None
        for tried, (cost, _, setting, scenario) in enumerate(grid, 1):
            values = run_scenario(scenario)
            holds, shown = self._goal(step, challenge, values)
            if holds:
                found = Solution(setting, cost, values, shown, tried, len(grid))
                break
        return found

    def attempt(self, step: int, setting: dict[str, int | float]) -> Attempt:
        """Run the learner's setting: is the goal met, and at the lowest cost?"""
        challenge = self.challenge(step)
        scenario = self.setting_scenario(challenge, setting)
        values = run_scenario(scenario)
        met, shown = self._goal(step, challenge, values)
        cost = self.cost(challenge, scenario)
        best = self.solve(step)
        return Attempt(dict(setting), met, met and best is not None and cost <= best.cost,
                       cost, shown, values, best, scenario)

    def judge(self, step: int, predict: Predict, guess: str | int | None) -> Verdict:
        """The learner's guess against the run: which choice was right, or how far off."""
        lookup = self.lookup(step)
        if predict.choices:
            right = [i for i, c in enumerate(predict.choices) if c.claim.evaluate(lookup)[0]]
            correct = right[0] if len(right) == 1 else None
            truth = predict.choices[correct].text if correct is not None else "(unclear)"
            chosen = guess if isinstance(guess, int) else None
            return Verdict(chosen is not None and chosen == correct, truth, correct, math.nan)
        assert predict.answer is not None
        answer = evaluate(predict.answer, lookup)
        try:
            number = float(str(guess).strip().rstrip("%")) if guess is not None else math.nan
        except ValueError:
            number = math.nan
        allowed = predict.tolerance / 100 * abs(answer) if predict.relative else predict.tolerance
        ok = not math.isnan(number) and abs(number - answer) <= allowed
        unit = f" {predict.unit}" if predict.unit else ""
        return Verdict(ok, f"{fmt(answer)}{unit} (within {fmt(allowed)}{unit} counts)", None,
                       answer)


@dataclass(frozen=True)
class Verdict:
    right: bool
    truth: str  # what the run says, in words
    correct_choice: int | None
    answer: float


@dataclass(frozen=True)
class Solution:
    """A challenge's best answer, found by running the knob grid cheapest first."""

    setting: dict[str, int | float]
    cost: float
    values: dict[str, float]
    shown: str  # the goal's numbers for it
    tried: int  # settings run to find it
    points: int  # settings in the grid

    def describe(self) -> str:
        return ", ".join(f"{key} = {fmt(value)}" for key, value in self.setting.items())


@dataclass(frozen=True)
class Attempt:
    """The learner's setting, run and judged."""

    setting: dict[str, int | float]
    met: bool  # the goal holds
    best: bool  # ... and no setting meets it for less
    cost: float
    shown: str  # the goal's numbers: why it is met or not
    values: dict[str, float] = field(repr=False)
    solution: Solution | None = None
    scenario: Scenario | None = None


def _live_runner() -> Callable[[Scenario], dict[str, float]]:
    from tui.lessonbook.live import run_live

    return run_live

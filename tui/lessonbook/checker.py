"""The checker: every lesson parses, every scenario is valid and runs, every claim holds.

Theory of operation. A lesson's answers are never typed in; they are claims about
runs, so checking a lesson means running it. ``check_lesson`` parses the file (a
``LessonError`` stops there, it names the line), then walks the steps in order: each
scenario is built (a ``ScenarioError`` names the line of the bad key, because the
origins handed to ``build_scenario`` are the lesson's own ``file:line``), run headless
through ``sim.run.simulate``, and every claim, every choice of a question, every
numeric answer and every ``{{ placeholder }}`` is evaluated against the runs. It
collects every problem rather than stopping at the first, one line each:
``lessons/05-kitchen.md:42: claim does not hold: ...``.

A challenge must be solvable and worth doing: the checker solves it (the runner runs
the knob grid, cheapest first), checks that the best answer meets the goal, and that
the starting setting is not already a best answer (that would give the answer away).

A choice question must have exactly one right choice: if none or two hold, the
lesson is broken, whatever the learner would have answered. Live runs are skipped
unless asked for; what depends on them is counted as skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from sim.scenario import ScenarioError
from tui.lessonbook.claims import Claim, ClaimError, Lookup, Placeholder, evaluate, runs_of
from tui.lessonbook.format import Challenge, Lesson, LessonError, Predict, parse_file
from tui.lessonbook.runner import LessonRunner, LiveSkipped, live_too_long, scenario_of


@dataclass
class CheckResult:
    where: str
    errors: list[str] = field(default_factory=list)
    runs: int = 0
    claims: int = 0
    skipped: int = 0
    lesson: Lesson | None = None
    solved: list[str] = field(default_factory=list)  # each challenge's computed best, in words

    @property
    def ok(self) -> bool:
        return not self.errors


def check_lesson(path: str | Path, *, live: bool = False, reseed: int = 0) -> CheckResult:
    """Check one lesson; ``reseed`` adds to every run's seed (are the tolerances honest?)."""
    try:
        lesson = parse_file(path)
    except LessonError as exc:
        return CheckResult(exc.where.rsplit(":", 1)[0], [str(exc)])
    if reseed:
        for step in lesson.steps:
            step.runs[:] = [
                replace(spec, values={**spec.values, "seed": int(spec.values.get("seed", 1))
                                      + reseed})
                for spec in step.runs
            ]
            if step.challenge is not None:
                start = step.challenge.start
                seed = int(start.values.get("seed", 1)) + reseed
                step.challenge = replace(step.challenge,
                                         start=replace(start, values={**start.values,
                                                                      "seed": seed}))
    result = CheckResult(lesson.where, lesson=lesson)
    runner = LessonRunner(lesson, live=live)
    broken: set[str] = set()  # runs whose scenario failed: do not pile errors on them
    w = lesson.where

    def attempt(line: int, runs: set[str], what, *args) -> bool:
        """Run one check; a problem becomes ``file:line: ...``. False if it did not pass."""
        if runs & broken:
            return False
        try:
            what(*args)
            return True
        except LiveSkipped:
            result.skipped += 1
        except ClaimError as exc:
            result.errors.append(f"{w}:{line}: {exc}")
        except ScenarioError as exc:
            result.errors.append(str(exc))
        return False

    for index, step in enumerate(lesson.steps):
        for spec in step.runs:
            try:
                if spec.live:  # checked with or without --live: CI sees a run too long
                    too_long = live_too_long(scenario_of(spec))
                    if too_long:
                        raise ScenarioError(f"{w}:{spec.line}", too_long)
                runner.result(index, spec)
                result.runs += 1
            except LiveSkipped:
                result.skipped += 1
            except ScenarioError as exc:
                broken.add(spec.name)
                where = exc.where if ":" in exc.where else f"{w}:{spec.line}"
                result.errors.append(f"{where}: {exc.message}")
        lookup = runner.lookup(index)
        for claim_line in step.claims:
            claim = claim_line.claim
            if attempt(claim_line.line, claim.runs, _check_claim, claim, lookup):
                result.claims += 1
        if step.predict is not None:
            if attempt(step.predict.line, step.predict.runs, _check_predict, step.predict, lookup):
                result.claims += 1
        if step.challenge is not None:
            challenge = step.challenge
            if attempt(challenge.line, challenge.runs, _check_challenge, runner, index,
                       challenge):
                result.claims += 1
                best = runner.solutions[index]
                assert best is not None
                result.solved.append(
                    f"challenge {challenge.name}: best {best.describe()} (cost "
                    f"{best.cost:g}; {best.tried} of {best.points} settings run)")
        ahead = {spec.name for spec in step.runs} if step.predict is not None else set()
        if step.challenge is not None:
            ahead = {step.challenge.name}  # above the challenge, its answer is hidden
        for holder, line, after in step.placeholders:
            used = runs_of(holder.node)
            attempt(line, used, _check_placeholder, holder, lookup, set() if after else ahead)
    return result


def _check_claim(claim: Claim, lookup: Lookup) -> None:
    holds, shown = claim.evaluate(lookup)
    if not holds:
        raise ClaimError(f"claim does not hold: {claim.text} ({shown})")


def _check_challenge(runner: LessonRunner, index: int, challenge: Challenge) -> None:
    """Solvable, the computed best meets the goal, and the start is not already best."""
    solution = runner.solve(index)
    if solution is None:
        raise ClaimError(f"challenge {challenge.name!r} cannot be met: none of its "
                         f"{challenge.points()} settings makes {challenge.goal.text} hold")
    scenario = runner.setting_scenario(challenge, solution.setting)
    if not runner.attempt(index, solution.setting).met:  # run again from its scenario
        raise ClaimError(f"challenge {challenge.name!r}: the best answer found "
                         f"({solution.describe()}) does not meet the goal when run again "
                         f"({scenario.describe()})")
    start = {knob.key: challenge.start.values[knob.key] for knob in challenge.knobs}
    if runner.attempt(index, start).best:
        raise ClaimError(f"challenge {challenge.name!r}: the starting setting ({start}) "
                         "already meets the goal at the lowest cost; start it elsewhere")


def _check_placeholder(holder: Placeholder, lookup: Lookup, hidden: set[str]) -> None:
    """Fill it; above a question it may not name the runs the question is about."""
    if runs_of(holder.node) & hidden:
        raise ClaimError(f"{holder.text} gives the answer away above the predict block: "
                         "move it below")
    holder.fill(lookup)


def _check_predict(predict: Predict, lookup: Lookup) -> None:
    if predict.choices:
        right = [c for c in predict.choices if c.claim.evaluate(lookup)[0]]
        if len(right) != 1:
            detail = "; ".join(
                f"'{c.text}': {c.claim.evaluate(lookup)[1]}" for c in predict.choices
            )
            count = "no choice is" if not right else f"{len(right)} choices are"
            raise ClaimError(f"{count} right, exactly one must be ({detail})")
        return
    assert predict.answer is not None
    answer = evaluate(predict.answer, lookup)
    if math.isnan(answer) or math.isinf(answer):
        raise ClaimError(f"the answer {predict.answer_text} is not a finite number")


def check_all(paths: list[Path], *, live: bool = False, reseed: int = 0) -> list[CheckResult]:
    return [check_lesson(path, live=live, reseed=reseed) for path in paths]

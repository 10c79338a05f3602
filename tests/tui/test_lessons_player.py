"""The lesson player, driven with Pilot: open, predict, reveal, next, back, progress saved.

Lesson 1 is used as it ships: its runs are small (3,000 guests, well under a second),
and what the player shows is checked against the numbers the runner computes, never
against numbers typed in here.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from textual.widgets import Button, Input, Markdown, RadioButton, Static

from tui.app import create_app
from tui.lessonbook.progress import ENV, Progress
from tui.screens.lesson_player import LessonScreen

SIZE = (150, 48)
KEY = "01-meet-the-hosts"


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    """Progress goes to a temporary directory, never the user's."""
    monkeypatch.setenv(ENV, str(tmp_path))
    return tmp_path


async def until(pilot, condition, timeout: float = 30.0) -> None:
    """Let the app run until ``condition()`` (the runs happen in a thread worker)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the lesson player"
        await pilot.pause(0.05)


def text_of(screen, selector: str) -> str:
    widget = screen.query_one(selector)
    if isinstance(widget, Markdown):
        return widget.source
    return str(widget.render())


def test_open_predict_reveal_next_back_and_progress(state_dir) -> None:
    asyncio.run(_open_predict_reveal_next_back())
    saved = json.loads((state_dir / "progress.json").read_text())["lessons"][KEY]
    assert saved["step"] == 0 and saved["steps"] == 4
    assert saved["predictions"]["0"]["right"] is True
    assert saved["predictions"]["1"] == {"guess": "5 %", "right": False}
    assert Progress().status(KEY) == "step 1/4 (1/2 predicted right)"


async def _open_predict_reveal_next_back() -> None:
    app = create_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = LessonScreen(1, animate=False)
        await app.push_screen(screen)
        await until(pilot, lambda: 0 in screen.ready)

        # open: step 1's text and question, the explanation hidden until the reveal
        assert "Step 1 of 4" in text_of(screen, "#lesson-step")
        assert "sync worker" in text_of(screen, "#lesson-text")
        assert text_of(screen, "#lesson-after") == ""
        choices = screen.query("#choices RadioButton").results(RadioButton)
        assert len(list(choices)) == 2

        # reveal with no answer: refused, nothing revealed
        await pilot.press("ctrl+r")
        assert 0 not in screen.revealed

        # predict the choice the run makes right, then reveal
        verdict = screen.runner.judge(0, screen.step.predict, None)
        right = verdict.correct_choice
        screen.query("#choices RadioButton")[right].value = True
        await pilot.press("ctrl+r")
        await until(pilot, lambda: screen.revealed.get(0) is not None)
        assert "Right" in text_of(screen, "#lesson-verdict")
        after = text_of(screen, "#lesson-after")
        mean = screen.runner.results[(0, "sync")]["mean"]
        assert f"Guests spent {mean:,.0f} ms" in after  # the placeholder, filled from the run
        assert "{{" not in after
        assert "✓" in text_of(screen, "#lesson-claims")

        # next: a number to guess; a wrong guess is judged wrong
        await pilot.press("ctrl+n")
        assert screen.index == 1
        await until(pilot, lambda: 1 in screen.ready)
        guess = screen.query_one("#guess", Input)
        guess.focus()
        await pilot.press("5", "enter")  # utilisation is about 50%: 5 is far outside 10%
        await until(pilot, lambda: screen.revealed.get(1) is not None)
        assert "Not this time" in text_of(screen, "#lesson-verdict")
        assert "%" in text_of(screen, "#lesson-after")

        # back: step 1 again, its verdict still there, Back disabled on the first step
        await pilot.press("ctrl+b")
        assert screen.index == 0
        assert "Right" in text_of(screen, "#lesson-verdict")
        assert screen.query_one("#back", Button).disabled


def test_reopening_resumes_where_the_learner_left() -> None:
    Progress().at_step(KEY, 2, 4)
    asyncio.run(_reopen())


async def _reopen() -> None:
    app = create_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = LessonScreen(1, animate=False)
        await app.push_screen(screen)
        await pilot.pause()
        assert screen.index == 2
        assert "One event loop" in text_of(screen, "#lesson-step")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, LessonScreen)


def test_a_step_without_a_question_shows_everything_once_run() -> None:
    asyncio.run(_no_question())
    assert Progress().status(KEY) == "done"  # the last step was reached


async def _no_question() -> None:
    app = create_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = LessonScreen(1, animate=False)
        await app.push_screen(screen)
        await pilot.press("ctrl+n", "ctrl+n", "ctrl+n")  # "Where the analogy bends"
        assert screen.index == 3
        await until(pilot, lambda: 3 in screen.ready)
        assert screen.query_one("#lesson-question").has_class("-hidden")
        assert not screen.query_one("#reveal", Button).display
        assert "one pair of hands" in text_of(screen, "#lesson-text")
        assert screen.query_one("#next", Button).disabled  # the last step
        assert isinstance(screen.query_one("#lesson-status"), Static)


BRACKETS = """\
---
title: Brackets [and parentheses]
summary: The lesson's own words reach the learner as written.
minutes: 1
covers: rendering
---

# Brackets [and parentheses]

## Pick [one]

One sync host, 10 ms of kitchen each.

```scenario one
model = "sync"
io = 10
rate = 20
guests = 300
```

```predict
Is the host busy less than half the time [utilisation]?
- yes [under 50%] when one.utilization < 0.5
- no [50% or more] when one.utilization >= 0.5
```

It was.

```claims
one.utilization within 50% of one.rate * (one.io_ms + one.cpu_ms) / 1000
```

## A number

```scenario two
like = "one"
rate = 40
```

```predict
How busy is the host now, in percent?
answer: two.utilization * 100
tolerance: 20%
unit: %
```

Busy {{ two.utilization :.0% }}.
"""


def test_predict_box_is_focused_and_lesson_words_keep_their_brackets(tmp_path) -> None:
    path = tmp_path / "99-brackets.md"
    path.write_text(BRACKETS)
    asyncio.run(_brackets(path))


async def _brackets(path) -> None:
    app = create_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = LessonScreen(path=path, animate=False)
        await app.push_screen(screen)
        await until(pilot, lambda: 0 in screen.ready)
        await pilot.pause()
        # the question opens focused: arrows pick a choice, Enter takes it
        assert screen.query_one("#choices").has_focus_within
        assert "[one]" in text_of(screen, "#lesson-step")
        assert "[utilisation]" in text_of(screen, "#question-text")
        labels = [str(b.label) for b in screen.query("#choices RadioButton")]
        assert labels == ["yes [under 50%]", "no [50% or more]"]
        await pilot.press("enter")  # the first choice, from the keyboard alone
        await pilot.press("ctrl+r")
        await until(pilot, lambda: screen.revealed.get(0) is not None)
        claims = text_of(screen, "#lesson-claims")
        assert "one.rate * (one.io_ms + one.cpu_ms) / 1000 = " in claims
        await pilot.press("ctrl+n")
        await until(pilot, lambda: 1 in screen.ready)
        await pilot.pause()
        assert app.focused is screen.query_one("#guess", Input)
        await pilot.press("3", "0", "enter")  # typed straight in: no click first
        await until(pilot, lambda: screen.revealed.get(1) is not None)


CHALLENGE = """---
title: A challenge
summary: s
minutes: 5
covers: c
---

## Hire hosts

90 guests a second, 10 ms each in the kitchen.

```challenge busy
model = "sync"
io = "exp:10"
rate = 90
guests = 800
knobs = { workers = "1..4" }
goal = "busy.p99 < 80"
cost = "busy.workers"
```

The fewest: {{ busy.workers }} hosts.
"""


def test_a_challenge_judges_a_wrong_setting_wrong_and_the_best_right(tmp_path) -> None:
    path = tmp_path / "98-challenge.md"
    path.write_text(CHALLENGE)
    asyncio.run(_challenge(path))


async def _challenge(path) -> None:
    app = create_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = LessonScreen(path=path, animate=False)
        await app.push_screen(screen)
        await until(pilot, lambda: 0 in screen.ready)  # the best, found in the background
        best = screen.runner.solutions[0]
        assert best is not None and best.setting["workers"] > 1  # one host is not enough
        knob = screen.query_one("#knob-workers", Input)
        assert app.focused is knob and knob.value == "1"  # the lesson's party, focused
        assert str(screen.query_one("#reveal", Button).label) == "Run"
        assert text_of(screen, "#lesson-after") == ""

        # the starting setting: run by Enter in the knob, judged not met, and why
        await pilot.press("enter")
        await until(pilot, lambda: 0 in screen.attempts and not screen.trying)
        verdict = text_of(screen, "#lesson-verdict")
        assert "Goal not met" in verdict and "busy.p99 = " in verdict, verdict
        assert not screen.attempts[0].met and text_of(screen, "#lesson-after") == ""

        # more hosts than needed: met, but not at the lowest cost
        knob.value = "4"
        await pilot.click("#reveal")  # the Run button, by mouse
        await until(pilot, lambda: screen.attempts[0].setting["workers"] == 4
                    and not screen.trying)
        assert "can be done for less" in text_of(screen, "#lesson-verdict")

        # the computed best: right, and the explanation is filled from it
        knob.value = str(best.setting["workers"])
        await pilot.press("ctrl+r")
        await until(pilot, lambda: screen.attempts[0].setting == best.setting
                    and not screen.trying)
        assert screen.attempts[0].best
        assert "Goal met, at the lowest cost" in text_of(screen, "#lesson-verdict")
        assert f"The fewest: {best.setting['workers']} hosts." in text_of(screen, "#lesson-after")

        # a value the knob does not offer: refused, nothing run
        knob.value = "9"
        await pilot.press("ctrl+r")
        assert not screen.trying and screen.attempts[0].setting == best.setting

"""The course in the app (issue 16): the welcome continues a lesson, the picker lists
every lesson with its progress, a lesson's last step leads to the next, Esc goes back.

Three tiny lessons (01, 06, 07; one 20-guest party each, well under a second to run)
stand in for the shipped ones through ``PARTYHOST_LESSONS_DIR``: the shipped lessons 6
and 7 take seconds of CPU to run, and the player runs a step as it opens it. The picker
and the welcome are checked against the real lesson folder separately (titles and
minutes only, nothing runs).
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from textual.widgets import Button, OptionList

from tui.app import create_app
from tui.lessonbook import library
from tui.lessonbook.progress import ENV as STATE_ENV
from tui.screens.lesson_picker import LessonPickerScreen, course_position, lesson_entries
from tui.screens.lesson_player import LessonScreen
from tui.screens.welcome import WelcomeScreen

SIZE = (120, 36)

TINY = """---
title: Tiny {n}
summary: Two short steps, for the course's tests.
minutes: {minutes}
covers: tests
---

# Tiny {n}

## A party

```scenario small
model = "sync"
io = 10
rate = 5
guests = 20
```

Guests spent {{{{ small.mean }}}} ms.

## The end

Nothing more to see.
"""


@pytest.fixture
def tiny_course(tmp_path, monkeypatch):
    """Lessons 1, 6 and 7 of two steps each; lesson 1 done, lesson 6 open at its last step."""
    lessons, state = tmp_path / "lessons", tmp_path / "state"
    lessons.mkdir()
    state.mkdir()
    for n in (1, 6, 7):
        (lessons / f"{n:02d}-tiny-{n}.md").write_text(TINY.format(n=n, minutes=n + 1))
    progress = {"lessons": {"01-tiny-1": {"step": 1, "steps": 2, "done": True,
                                          "predictions": {}},
                            "06-tiny-6": {"step": 1, "steps": 2, "done": False,
                                          "predictions": {}}},
                "last": "06-tiny-6"}
    (state / "progress.json").write_text(json.dumps(progress))
    monkeypatch.setenv(library.ENV, str(lessons))
    monkeypatch.setenv(STATE_ENV, str(state))
    return state


async def until(pilot, condition, timeout: float = 10.0) -> None:
    """Let the app run until ``condition()``: a screen switch can take a few frames on a
    loaded machine, and a pause alone then looks at the screen before it."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the screen to change"
        await pilot.pause(0.02)


def on_top(app, kind: type, number: int | None = None):
    """A condition: ``kind`` is the top screen (the lesson ``number``, if given)."""
    return lambda: isinstance(app.screen, kind) and (
        number is None or app.screen.lesson.number == number)


async def click_option(pilot, index: int) -> None:
    """One mouse click on the ``index``-th lesson of the picker."""
    box = pilot.app.screen.query_one(OptionList)
    line = box._index_to_line[index]  # the option's first line inside the list
    top = box.content_region.y - box.region.y
    await pilot.click(box, offset=(6, top + line))


def test_the_course_continue_pick_next_lesson_and_back(tiny_course) -> None:
    async def run() -> None:
        app = create_app(paused=True)
        async with app.run_test(size=SIZE) as pilot:
            welcome = app.screen
            assert isinstance(welcome, WelcomeScreen)
            label = str(welcome.query_one("#lesson", Button).label)
            assert label == "1  Continue lesson 6: Tiny 6 (step 2/2)", label

            await pilot.click("#lessons")  # the picker, by mouse
            await until(pilot, on_top(app, LessonPickerScreen))
            picker = app.screen
            assert isinstance(picker, LessonPickerScreen)
            box = picker.query_one(OptionList)
            assert app.focused is box and box.option_count == 3
            shown = [str(box.get_option_at_index(i).prompt.columns[3]._cells[0])
                     for i in range(3)]
            assert shown[0].startswith("✓ done") and "step 2/2" in shown[1]
            assert shown[2] == "new"
            assert box.highlighted == 1  # the lesson the welcome offers

            await pilot.press("enter")  # lesson 6, where the learner left it: its last step
            await until(pilot, on_top(app, LessonScreen, 6))
            lesson = app.screen
            assert isinstance(lesson, LessonScreen) and lesson.lesson.number == 6
            assert lesson.index == 1
            button = lesson.query_one("#next-lesson", Button)
            assert button.display and str(button.label) == "Next lesson: 7 Tiny 7 →"
            assert app.focused is button  # nothing to answer: Enter goes on
            await until(pilot, lambda: button.region.width > 0)  # drawn where it is clicked
            await pilot.pause()
            await pilot.click("#next-lesson")
            await until(pilot, on_top(app, LessonScreen, 7))
            seventh = app.screen
            assert isinstance(seventh, LessonScreen) and seventh.lesson.number == 7
            assert seventh.index == 0 and not seventh.query_one("#next-lesson").display
            assert not seventh.check_action("next_lesson", ())  # n only at the last step

            await pilot.press("escape")  # back to where it came from: the picker
            await until(pilot, lambda: app.screen is picker)
            await pilot.pause()  # the list, reloaded on resume, laid out again
            await click_option(pilot, 2)  # the picker opens lesson 7 by a click
            await until(pilot, on_top(app, LessonScreen, 7))
            await pilot.press("ctrl+n")  # its last step: n (or →) goes on; none after 7
            await until(pilot, lambda: app.screen.index == 1)
            assert app.screen.check_action("next_lesson", ())
            assert str(app.screen.query_one("#next-lesson", Button).label) == "All lessons"
            await pilot.press("n")
            await until(pilot, lambda: app.screen is picker)
            assert len(app.screen_stack) == 3  # one picker, ever

            await pilot.press("escape")
            await until(pilot, lambda: app.screen is welcome)
            label = str(welcome.query_one("#lesson", Button).label)
            assert label == "1  All 3 lessons done: lesson 1 again", label

    asyncio.run(run())


def test_the_course_position_names_the_lesson_to_go_on_with() -> None:
    """Every lesson that ships is listed with its title and minutes; the welcome's first
    button follows the progress (nothing runs here)."""
    entries = lesson_entries()
    assert [e.number for e in entries] == [int(p.name.split("-")[0])
                                           for p in library.lesson_files()]
    assert len(entries) >= 13 and all(e.minutes > 0 and e.status == "new" for e in entries)
    assert course_position(entries) == (1, "Start lesson 1: Meet the hosts")
    done = [e.__class__(**{**e.__dict__, "status": "done"}) if e.number <= 6 else e
            for e in entries]
    assert course_position(done, done[5].key) == (7, "Continue with lesson 7: Chatty guests")
    begun = [e.__class__(**{**e.__dict__, "status": "step 3/5 (1/1 predicted right)"})
             if e.number == 4 else e for e in entries]
    assert course_position(begun, begun[3].key) == (
        4, "Continue lesson 4: Many hosts, one line (step 3/5)")


def test_free_play_suggests_the_next_experiment_for_the_party_on_screen() -> None:
    """Push sync past its ceiling, then hand the same guests to one event loop, then
    compare: each Apply of the controls brings the next step (theory's ceiling, from
    sim.theory: 4 hosts x 1/(5 + 100 ms) = 38/s)."""
    from sim.scenario import build_scenario
    from tui.screens.party import suggestion_for
    from tui.session import FREE_PLAY, theory_for

    def hint(**changes) -> str:
        scenario = build_scenario(FREE_PLAY).replace(**changes)
        return suggestion_for(scenario, theory_for(scenario).saturation)

    assert "press c, guests per second 44, Apply: the line grows (max 38/s)" in hint()
    assert all(len(h) <= 96 for h in (hint(), hint(rate=44), hint(rate=400, model="async")))
    assert "grows without end" in hint(rate=44) and "model async" in hint(rate=44)
    assert "press v" in hint(rate=44, model="async")
    assert "lower guests per second" in hint(rate=400, model="async")

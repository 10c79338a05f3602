"""The classroom demo plays by itself, obeys pause/skip/back, loops, and ends cleanly."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tui.app import create_app
from tui.lessonbook.format import parse_file
from tui.lessonbook.library import demo_file
from tui.screens.demo import DemoScreen

REPO = Path(__file__).resolve().parents[2]


async def until(pilot, condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the demo"
        await pilot.pause(0.05)


def test_the_demo_script_is_a_lesson_with_several_scenes() -> None:
    demo = parse_file(demo_file())
    assert len(demo.steps) >= 4
    assert all(step.runs for step in demo.steps)  # every scene has a party to show


def test_pause_skip_back_and_loop() -> None:
    async def scenario() -> None:
        app = create_app()
        async with app.run_test(size=(140, 45)) as pilot:
            screen = DemoScreen(seconds=0.4, animate=False)
            await app.push_screen(screen)
            caption = str(screen.query_one("#demo-caption").render())
            assert caption == demo_title(0)
            await pilot.press("space")  # pause: the scene stays however long we wait
            await pilot.pause(0.8)
            assert screen.index == 0 and screen.paused
            await pilot.press("space")

            await pilot.press("right")  # skip
            assert screen.index == 1
            await pilot.press("left")  # back
            assert screen.index == 0

            steps = len(screen.lesson.steps)
            await until(pilot, lambda: screen.loops >= 1)  # ran to the end and started over
            assert screen.index < steps
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, DemoScreen)

    asyncio.run(scenario())


def demo_title(index: int) -> str:
    return parse_file(demo_file()).steps[index].title


def test_partyhost_demo_runs_headless_for_a_few_steps_and_exits_cleanly() -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    done = subprocess.run(
        [sys.executable, "-m", "tui", "demo", "--headless", "--steps", "3", "--seconds", "0.3"],
        cwd=REPO, capture_output=True, text=True, timeout=90,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    left = {p.pid for p in psutil.Process().children(recursive=True)} - before
    assert not left  # nothing it started outlives it


def test_a_challenge_scene_shows_the_best_the_runner_worked_out() -> None:
    """Lesson 03 played as a demo (``partyhost demo --script``): its challenge's numbers
    were "…" while the scene waited, and were then solved on the UI thread. The scene's
    worker now solves the challenge too; the scene shows the best setting and fills the
    text after the block with the best run's numbers. (The screen is not mounted: its
    words are worked out by the same methods the screen draws from; about 2 s.)"""
    screen = DemoScreen(REPO / "lessons" / "03-utilisation-cliff.md", animate=False)
    index = next(i for i, step in enumerate(screen.lesson.steps) if step.challenge)
    challenge = screen.lesson.steps[index].challenge
    _, answer, text = screen.scene(index, halfway=False)
    assert "…" in text and not answer  # nothing worked out yet: the scene says "…"

    screen.work_out(index)  # what the scene's worker thread runs
    screen.ready.add(index)
    best = screen.runner.solutions[index]
    assert best is not None and best.values["p99"] < 80  # the goal: busy.p99 < 80
    _, answer, text = screen.scene(index, halfway=False)
    workers = best.setting["workers"]
    assert f"workers = {workers}" in answer and f"of {best.points} settings" in answer
    assert "…" not in text and "{{" not in text
    assert f"{challenge.name}.workers" not in text and f" {workers}," in text
    assert f"{best.values['p99']:.0f} ms" in text

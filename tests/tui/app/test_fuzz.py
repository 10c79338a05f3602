"""2,000 random keys and a shrink to 40x12: the app may refuse things, never crash.

Keys are drawn with a fixed seed from every binding the app has, plus typing, tab,
enter and escape, so controls forms get garbage and screens open and close in any
order. Left out: quit (it would end the test early), live (it starts real servers;
the tmux test covers it), and the keys of the lesson and demo screens, which are other
modules' (Tab and Enter on the welcome's buttons can still open them; a lesson's
progress then goes to a temporary directory, never the user's).
Parties start paused and run on their timers whenever a space lets them, at whatever
speed the keys pick.
"""

from __future__ import annotations

import asyncio
import random

from textual import events

from tui.app import create_app
from tui.lessonbook.progress import ENV as PROGRESS_ENV

KEYS = [
    "space", "full_stop", "comma", "left", "right", "plus", "minus", "greater_than_sign",
    "r", "c", "v", "m", "n", "question_mark", "escape", "escape", "tab", "enter", "2",
    "a", "x", "0", "5", "9", "backspace", "down", "up", "colon", "ctrl+s",
]
SIZES = [(120, 40), (80, 24), (200, 60), (60, 20), (40, 12)]
CHARS = {"space": " ", "full_stop": ".", "comma": ",", "plus": "+", "minus": "-",
         "greater_than_sign": ">", "question_mark": "?", "colon": ":", "enter": "\r",
         "tab": "\t", "escape": "\x1b", "backspace": "\x7f"}
BATCH = 10  # keys sent before letting the app catch up (Pilot.press waits after each)


def key_event(key: str) -> events.Key:
    """The event a terminal driver would send for ``key``, as Pilot builds it."""
    char = CHARS.get(key, key if len(key) == 1 else None)
    return events.Key(key, char)


def test_two_thousand_random_keys_and_a_tiny_terminal(tmp_path, monkeypatch):
    monkeypatch.setenv(PROGRESS_ENV, str(tmp_path))

    async def run() -> None:
        rng = random.Random(20240601)
        app = create_app(paused=True, fps=10)
        async with app.run_test(size=(100, 30)) as pilot:
            driver = app._driver
            for i in range(2000):
                driver.send_message(key_event(rng.choice(KEYS)))
                if i % BATCH == BATCH - 1:
                    await pilot.pause()
                if i % 250 == 0:
                    await pilot.resize_terminal(*rng.choice(SIZES))
                    await pilot.pause()
            await pilot.resize_terminal(40, 12)
            await pilot.pause(0.2)
            await pilot.press("2", "greater_than_sign", "v", "greater_than_sign")
            await pilot.pause(0.2)
            assert app.is_running
        assert app.return_code in (None, 0)

    asyncio.run(run())

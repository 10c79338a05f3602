"""The app's screens: welcome, the party, controls, compare, help.

The lesson player (``lesson_player.LessonScreen``) and the classroom demo
(``demo.DemoScreen``) are other people's screens; ``optional_screen`` imports them
when they exist, so the welcome screen can offer them without depending on them.
"""

from __future__ import annotations

import importlib
from typing import Any


def escape(text: str) -> str:
    """``text`` shown as written inside Textual markup: every ``[`` is a bracket.

    ``rich.markup.escape`` (and Textual's) leave ``[50% or more]`` alone because it does
    not look like a tag, yet Textual's markup still eats it; this escapes them all.
    """
    return text.replace("[", r"\[")


def optional_screen(module: str, name: str) -> Any | None:
    """The class ``name`` from ``tui.screens.<module>``, or None if it is not there yet."""
    try:
        return getattr(importlib.import_module(f"tui.screens.{module}"), name)
    except (ImportError, AttributeError):
        return None

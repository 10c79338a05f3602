"""``partyhost lesson N``: open lesson N in the player (the app, on the lesson's screen).

The lesson is read and checked for shape before the app starts, so a missing or
broken lesson is one line and exit code 2, not a traceback in a full-screen app.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from tui.commands import CliError

NAME = "lesson"
HELP = "open lesson N in the lesson player (see 'partyhost lessons' for the list)"
DESCRIPTION = """\
Open a lesson: its text on the left, its party on the right. Each step may ask you to
predict what will happen; reveal shows your prediction against the run. Your progress
is saved, and the lesson opens where you left it.
"""
EPILOG = """\
Keys: ctrl+n (or right) next step, ctrl+b (or left) back, ctrl+r reveal (or the buttons),
l run the step's live servers, escape close.

Examples:
  partyhost lesson 1
  partyhost lesson 5 --from-start
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("number", metavar="N",
                        help="the lesson's number, as in 'partyhost lessons'")
    parser.add_argument("--from-start", action="store_true",
                        help="start at step 1 instead of where you left off")


def lesson_number(raw: str) -> int:
    from tui.lessonbook.format import LessonError, parse_file
    from tui.lessonbook.library import lesson_file, lesson_files, lessons_dir

    if not raw.isdigit():
        raise CliError(f"lesson N: expected a lesson number, got {raw!r}")
    number = int(raw)
    path = lesson_file(number)
    if path is None:
        numbers = [int(p.name.split("-")[0]) for p in lesson_files()]
        have = f"{min(numbers)} to {max(numbers)}" if numbers else "none"
        raise CliError(f"lesson {number}: no such lesson in {lessons_dir()} (lessons: {have})")
    try:
        parse_file(path)
    except LessonError as exc:
        raise CliError(str(exc)) from None
    return number


def run_app_with(make_screen: Callable[[], Any], *, headless: bool = False) -> int:
    """Run the app with ``make_screen()`` opened over the welcome screen.

    The app is ``tui.app``'s, with one handler more: once it is ready, it pushes the
    screen, so closing that screen lands on the welcome screen, as if chosen there.
    """
    import inspect
    from pathlib import Path

    from tui.app import PartyHostApp

    css = Path(inspect.getfile(PartyHostApp)).parent / str(PartyHostApp.CSS_PATH)

    class AppWithScreen(PartyHostApp):
        CSS_PATH = str(css)  # Textual reads a relative path beside the subclass's file

        def on_ready(self) -> None:
            self.push_screen(make_screen())

    app = AppWithScreen()
    result = app.run(headless=headless)
    code = app.return_code
    return int(result or 0) if code is None else code


def run(args: argparse.Namespace) -> int:
    from tui.screens.lesson_player import LessonScreen

    number = lesson_number(args.number)
    progress = open_progress(writing=True)
    return run_app_with(lambda: LessonScreen(number, resume=not args.from_start,
                                             progress=progress))


def open_progress(*, writing: bool):
    """The learner's progress; a file set aside is one warning line on stderr.

    ``writing``: a state directory the lesson could not save to is a one-line error
    now, not a traceback in the middle of the lesson.
    """
    import sys

    from tui.lessonbook.progress import Progress, ProgressError

    progress = Progress()
    if writing:
        try:
            progress.check_writable()
        except ProgressError as exc:
            raise CliError(str(exc)) from None
    if progress.problem:
        print(f"partyhost: warning: {progress.problem}", file=sys.stderr)
    return progress

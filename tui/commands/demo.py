"""``partyhost demo``: the classroom demo, scenes that play by themselves, looping.

The script is ``lessons/demo.md``, an ordinary lesson file (or any lesson given with
``--script``), so the demo's claims are checked with the lessons.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tui.commands import CliError

NAME = "demo"
HELP = "the classroom demo: scenes that play by themselves for a projector, looping"
DESCRIPTION = """\
Play the classroom demo: each scene (a step of lessons/demo.md) stays on screen for a
set time with a large caption and its party moving, then the next; after the last it
starts again, until you stop it. On a projector (--projector, or by itself on a
terminal of at least 160x50) the party fills two thirds of the screen and its
served/s, p99 and line stand in large digits; --presenter waits for the arrow key.
"""
EPILOG = """\
Keys: space freezes everything, right next, left back, p presenter mode,
escape close, q quit.

Examples:
  partyhost demo
  partyhost demo --seconds 20
  partyhost demo --projector --presenter              # a talk: big party, you set the pace
  partyhost demo --script lessons/05-waiting-for-the-kitchen.md
  partyhost demo --headless --steps 3 --seconds 1    # a smoke test: 3 scenes, then exit
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", metavar="S", help="seconds per scene (default: the script's)")
    parser.add_argument("--steps", metavar="N", help="stop after N scenes (default: loop forever)")
    parser.add_argument("--script", metavar="FILE.md", help="another lesson file to play")
    parser.add_argument("--projector", action="store_true",
                        help="projector mode whatever the terminal's size (automatic "
                             "at 160x50 and more): the party scaled up, large digits")
    parser.add_argument("--presenter", action="store_true",
                        help="a scene stays until the right arrow key (p switches it)")
    parser.add_argument("--headless", action="store_true",
                        help="no terminal output (needs --steps): for tests and CI")


def _positive(raw: str | None, flag: str, kind: type) -> float | int | None:
    if raw is None:
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise CliError(f"{flag}: expected a {'whole ' if kind is int else ''}number, "
                       f"got {raw!r}") from None
    if value <= 0:
        raise CliError(f"{flag}: must be > 0, got {raw}")
    return value


def run(args: argparse.Namespace) -> int:
    from tui.lessonbook.format import LessonError, parse_file
    from tui.lessonbook.library import demo_file

    seconds = _positive(args.seconds, "--seconds", float)
    steps = _positive(args.steps, "--steps", int)
    if args.headless and steps is None:
        raise CliError("--headless needs --steps N, or the demo would never end")
    if args.headless and args.presenter:
        raise CliError("--presenter waits for the arrow key, and --headless has no keys")
    path = Path(args.script) if args.script else demo_file()
    if not path.is_file():
        raise CliError(f"{path}: no such demo script")
    try:
        parse_file(path)
    except LessonError as exc:
        raise CliError(str(exc)) from None

    from tui.commands.lesson import run_app_with
    from tui.screens.demo import DemoScreen

    def screen() -> DemoScreen:
        return DemoScreen(path, seconds=seconds, steps=steps,  # type: ignore[arg-type]
                          projector=True if args.projector else None,
                          presenter=args.presenter)

    return run_app_with(screen, headless=args.headless)

"""``partyhost lessons``: the lesson list with progress, and ``lessons check``.

``lessons check`` is what CI runs: every lesson parses, every scenario is valid, every
step runs headless and every claim holds. Each problem is printed as
``file:line: what is wrong`` on stderr, and any problem means exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tui.commands import CliError

NAME = "lessons"
HELP = "list the lessons with your progress; 'lessons check' proves them by running them"
DESCRIPTION = """\
The lessons walk from a question to a prediction to a run of the party. With no
action, list them with your progress. 'check' validates lessons: each must parse,
each scenario must be valid, each step must run headless, and each claim must hold.
"""
EPILOG = """\
Examples:
  partyhost lessons
  partyhost lessons check
  partyhost lessons check lessons/05-waiting-for-the-kitchen.md
  partyhost lessons check --live      # also run the steps that need real servers
  partyhost lessons check --reseed 10 # other seeds: are the tolerances honest?
  partyhost lesson 1                  # open a lesson in the player
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="lessons_action", metavar="ACTION")
    check = sub.add_parser("check", help="check lessons by running them (all, or FILE...)",
                           description="Check lessons by running them; exit 2 on any problem.")
    check.add_argument("files", nargs="*", metavar="FILE", help="lesson files (default: all)")
    check.add_argument("--live", action="store_true",
                       help="also run live steps: real servers on 127.0.0.1 (slower)")
    check.add_argument("--reseed", metavar="K", type=int, default=0,
                       help="add K to every run's seed: do the claims hold for other luck?")
    check.add_argument("-q", "--quiet", action="store_true", help="print only problems")


def run(args: argparse.Namespace) -> int:
    if getattr(args, "lessons_action", None) == "check":
        return check(args.files, live=args.live, quiet=args.quiet, reseed=args.reseed)
    return list_lessons()


def list_lessons() -> int:
    from rich.console import Console
    from rich.table import Table

    from tui.commands.lesson import open_progress
    from tui.lessonbook.format import LessonError, parse_file
    from tui.lessonbook.library import lesson_files, lessons_dir

    files = lesson_files()
    if not files:
        raise CliError(f"no lessons found in {lessons_dir()}")
    progress = open_progress(writing=False)
    table = Table(title="partyhost lessons", title_justify="left")
    for column, style in (("#", "bold"), ("lesson", ""), ("min", ""), ("your progress", "")):
        table.add_column(column, style=style)
    for path in files:
        try:
            lesson = parse_file(path)
        except LessonError as exc:
            table.add_row("?", f"[red]{exc}[/]", "", "")
            continue
        table.add_row(str(lesson.number), f"{lesson.title}\n[dim]{lesson.summary}[/]",
                      str(lesson.minutes), progress.status(lesson.key))
    console = Console()
    console.print(table)
    console.print("Open one with [bold]partyhost lesson N[/].")
    return 0


def check(files: list[str], *, live: bool = False, quiet: bool = False, reseed: int = 0) -> int:
    from tui.lessonbook.checker import check_lesson
    from tui.lessonbook.library import lesson_files, lessons_dir

    paths = [Path(f) for f in files] if files else lesson_files()
    if not paths:
        raise CliError(f"no lessons found in {lessons_dir()}")
    for path in paths:
        if not path.is_file():
            raise CliError(f"{path}: no such lesson file")
    problems = 0
    skipped = 0
    started = time.monotonic()
    for path in paths:
        result = check_lesson(path, live=live, reseed=reseed)
        skipped += result.skipped
        for error in result.errors:
            print(error, file=sys.stderr)
        problems += len(result.errors)
        if not quiet:
            mark = "ok  " if result.ok else "FAIL"
            extra = f", {result.skipped} live skipped" if result.skipped else ""
            print(f"{mark} {result.where} ({result.runs} runs, {result.claims} claims{extra})")
            for line in result.solved:  # the author sees the answer the learner must find
                print(f"     {line}")
    seconds = time.monotonic() - started
    if not quiet:
        note = f"; {skipped} live checks skipped (run with --live)" if skipped else ""
        print(f"{len(paths)} lessons, {problems} problems, {seconds:.1f} s{note}")
    return 2 if problems else 0

"""The ``partyhost`` command: the app with no arguments, plain subcommands otherwise.

Theory of operation. Each subcommand lives in its own module under ``tui.commands``
with ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``; this file
only wires them into argparse and turns every user mistake (``CliError``,
``ScenarioError``, an argparse complaint) into one line on stderr and exit code 2.
Modules import their heavy parts (Textual, the servers) inside ``run``, so
``partyhost simulate`` never pays for the app.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from sim.scenario import ScenarioError
from tui.commands import CliError

COMMANDS = [
    "tui.commands.simulate",
    "tui.commands.compare",
    "tui.commands.sweep",
    "tui.commands.serve",
    "tui.commands.hit",
    "tui.commands.live",
    "tui.commands.calibrate",
    "tui.commands.profile",
    "tui.commands.lessons",
    "tui.commands.lesson",
    "tui.commands.demo",
    "tui.commands.web",
    "tui.commands.plan",
    "tui.commands.verify",
]

EPILOG = """\
With no command, partyhost opens the party in your terminal.

The party words and the server words:
  guest = request, host = worker, the line = the listen backlog,
  waiting for the kitchen = awaiting I/O, rooms = CPU cores.

Examples:
  partyhost simulate --model sync --workers 4 --rate 32 --io exp:100
  partyhost compare --models sync,async --rate 60 --io 50
  partyhost sweep --model sync --vary workers=1..16 --rate 100 --io exp:100
"""


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line and exit 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CliError(f"{self.prog}: {message} (see --help)")


def build_parser() -> Parser:
    parser = Parser(
        prog="partyhost",
        description="Watch web servers handle many requests at once, as a party.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        module = importlib.import_module(name)
        cmd = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            epilog=getattr(module, "EPILOG", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(cmd)
        cmd.set_defaults(run=module.run)
    return parser


def open_app() -> int:
    from tui.app import run_app

    return run_app()


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            return open_app()
        return int(args.run(args) or 0)
    except (CliError, ScenarioError) as exc:
        print(f"partyhost: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("partyhost: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

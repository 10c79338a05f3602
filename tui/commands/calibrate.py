"""``partyhost calibrate MODEL``: a real server's own cost per request, for --overhead.

Thin on purpose: ``sim.live.calibrate`` measures; this prints the number and the
command line that feeds it to the simulation.
"""

from __future__ import annotations

import argparse

from rich.console import Console

from tui.commands import CliError

NAME = "calibrate"
HELP = "measure a live server's per-request overhead (feed it to --overhead MS)"
DESCRIPTION = """\
Start one host of MODEL (one worker, one thread) with guests that do nothing, keep it
always busy with a closed loop of users, and measure how much host time each request
costs: accepting, parsing, answering. That is what the simulation leaves out, and what
--overhead MS puts back (a cpu phase before each guest's own phases)."""
EPILOG = """\
Examples:
  partyhost calibrate async
  partyhost calibrate sync --duration 5
  partyhost calibrate gunicorn          (with pip install -e '.[real]')
  partyhost live async --rate 30 --blocking 20 --overhead 0.9
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from sim.live.real import REAL_SERVERS
    from sim.servers import NAMES as MODELS

    parser.add_argument("server", metavar="MODEL", help=" | ".join([*MODELS, *REAL_SERVERS]))
    parser.add_argument("--duration", metavar="S", default="3",
                        help="seconds of measuring (default 3)")
    parser.add_argument("--keep-alive", action="store_true",
                        help="measure with kept-alive connections (default: one per guest)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")


def run(args: argparse.Namespace) -> int:
    from sim.live import ServerError
    from sim.live.calibrate import calibrate
    from sim.live.real import RealServerError, RealServerMissing, missing
    from tui.commands.live import model_for

    model, real = model_for(args.server)
    if real is not None and (why := missing(real)):
        raise CliError(why)
    try:
        duration = float(args.duration)
    except ValueError:
        raise CliError(f"--duration: expected seconds, got {args.duration!r}") from None
    if not 0.5 <= duration <= 60:
        raise CliError(f"--duration: between 0.5 and 60 s, got {args.duration!r}")
    try:
        result = calibrate(real or model, duration=duration, keep_alive=args.keep_alive)
    except RealServerMissing as exc:
        raise CliError(str(exc)) from None
    except (ServerError, RealServerError) as exc:
        raise CliError(str(exc).splitlines()[0]) from None
    if args.json:
        from tui.commands.report import print_json

        print_json(result.to_dict())
        return 0
    console = Console()
    console.print(
        f"{result.server}: one host served {result.throughput:,.0f} empty guests/s "
        f"({result.served:,} in all): {result.overhead_ms:.3f} ms of host time per request "
        f"[accept, parse, answer]. One guest alone: {result.round_trip_ms:.3f} ms round trip.",
        markup=False, highlight=False)
    if result.client_bound:
        console.print("note: the load generator was about as slow as the server; on this "
                      "machine the overhead is an upper bound", markup=False)
    console.print(f"use it: partyhost live {args.server} ... --overhead {result.overhead_ms:.2f}",
                  markup=False, highlight=False)
    return 0

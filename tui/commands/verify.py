"""``partyhost verify PROFILE --config "gunicorn -w 6"``: a plan against the real server.

Thin: ``sim.verify`` starts the app under the real server, replays the profile's mix
and predicts; this module reads the flags and draws the table as ``partyhost live``
does (prediction, measurement, the difference in percent).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sim.limits import MAX_CORES, MAX_RATE, MAX_VERIFY_SECONDS
from tui.commands import CliError
from tui.commands.plan import number
from tui.commands.report import print_json

NAME = "verify"
HELP = "run a profiled app under a real server configuration and check the prediction"
DESCRIPTION = """\
Start the profile's app for real under --config (gunicorn -w N [-k gthread --threads T
| -k gevent | -k uvicorn_worker.UvicornWorker], or uvicorn [--workers N]) on a free
loopback port, in the app's folder; send it the profile's requests by their shares with
the open-loop generator at --rate for --seconds; stop it; and print the prediction (the
same guests simulated on the matching model, mean of 4 seeds) beside the measurement,
with the difference in percent.

Before the run, a quiet one (the same mix at 20 guests/s for 6 s) measures what the
profile cannot know: the server's own time a request on a core and waiting for one
(its threads' counters in /proc), and what waking a sleeping server costs on this
machine; the prediction has both.
--no-quiet leaves them out (the profile's phases and --overhead only)."""
EPILOG = """
Examples:
  partyhost verify shop.toml --config "gunicorn -w 6" --rate 300
  partyhost verify shop.toml --config "gunicorn -w 2 -k gthread --threads 8" --rate 100
  partyhost verify api.toml --config "uvicorn --workers 2" --rate 200 --seconds 20
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("profile", metavar="PROFILE", help="a profile file (partyhost profile)")
    parser.add_argument("--config", required=True, metavar="COMMAND",
                        help='the server command to run, e.g. "gunicorn -w 6"')
    parser.add_argument("--rate", metavar="R", help="guests/s (default 10)")
    parser.add_argument("--seconds", metavar="S",
                        help=f"seconds of sending (default 10, at most {MAX_VERIFY_SECONDS:g})")
    parser.add_argument("--cores", metavar="N", help="cores the prediction simulates "
                        f"(default: this machine's, {os.cpu_count() or 2})")
    parser.add_argument("--overhead", metavar="MS", help="the server's own cpu per request, as "
                        "measured by `partyhost calibrate` (default 0: the profile's phases only)")
    parser.add_argument("--no-quiet", action="store_true",
                        help="skip the quiet run: predict from the profile (and --overhead) "
                        "alone")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")


def run(args: argparse.Namespace) -> int:
    from sim.live.loadgen import LoadgenError
    from sim.live.real import RealServerError
    from sim.plan import PlanError, load_profile
    from sim.verify import (
        DEFAULT_RATE,
        DEFAULT_SECONDS,
        VerifyError,
        parse_config,
        scenario_for,
        verify,
    )

    rate = number(args.rate, "--rate", 0, MAX_RATE) if args.rate else DEFAULT_RATE
    seconds = number(args.seconds, "--seconds", 0, MAX_VERIFY_SECONDS) if args.seconds \
        else DEFAULT_SECONDS
    cores = int(number(args.cores, "--cores", 1, MAX_CORES, whole=True)) if args.cores \
        else (os.cpu_count() or 2)
    err = Console(stderr=True)
    try:
        profile = load_profile(args.profile)
        if args.overhead:
            profile = profile.with_overhead(number(args.overhead, "--overhead", 0, 10_000))
        deployment = parse_config(args.config, profile.interface, profile.app)
        scenario = scenario_for(profile, deployment, rate, seconds, cores)
        with _running(err, seconds) as on_start:
            result = verify(profile, deployment, scenario, on_start=on_start,
                            calibrate=not args.no_quiet)
    except (PlanError, VerifyError, LoadgenError) as exc:
        raise CliError(str(exc)) from None
    except RealServerError as exc:
        raise CliError(str(exc).splitlines()[0]) from None
    if args.json:
        print_json(result.to_dict())
        return 0
    console = Console()
    console.print(f"{profile.app}: {scenario.describe_guests()}", style="bold", markup=False,
                  highlight=False)
    console.print(f"server: {result.command}", markup=False, highlight=False)
    console.print(verify_table(result))
    p99 = result.predicted.p99
    console.print(f"predicted p99 95% interval: {p99.mean - p99.half:,.1f}"
                  f"..{p99.mean + p99.half:,.1f} ms "
                  f"({len(result.predicted.samples)} seeds of "
                  f"{result.predicted.scenario.guests:,} guests, {scenario.cores} cores); "
                  f"measured {result.measured.summary.served:,} guests answered",
                  markup=False, highlight=False)
    if not args.no_quiet:
        from sim.verify import QUIET_GUESTS, QUIET_RATE

        quiet = result.quiet
        console.print(f"measured quiet before the run ({QUIET_RATE:g} guests/s, "
                      f"{QUIET_GUESTS / QUIET_RATE:g} s): the server ran {quiet.cpu_ms:.2f} ms "
                      f"a request on a core and waited {quiet.runq_ms:.2f} ms for one, "
                      f"against the profile's {quiet.profile_cpu_ms:.2f} ms of cpu: "
                      f"{quiet.overhead_ms:.2f} ms more on every guest; a sleeping server's "
                      f"wake-up {quiet.wake_ms:.2f} ms; the prediction has both (a host that "
                      "finds a guest waiting is not woken)",
                      markup=False, highlight=False)
    disturbed = result.disturbed()
    if disturbed:
        console.print(f"note: {disturbed}", style="yellow", markup=False, highlight=False)
    return 0


@contextlib.contextmanager
def _running(err: Console, seconds: float) -> Iterator[Callable[[str], None]]:
    """While the server runs, a transient line on a terminal says which: the command is
    printed once, with the result (it used to be printed here too, so twice)."""
    status = err.status("", spinner="dots") if err.is_terminal else None

    def on_start(command: str) -> None:
        if status is not None:
            status.update(f"running {escape(command)} ({seconds:g} s of guests)")
            status.start()

    try:
        yield on_start
    finally:
        if status is not None:
            status.stop()


def verify_table(result) -> Table:
    table = Table(title=escape(f"{result.deployment.model}: prediction and measurement"),
                  title_justify="left")
    for name, justify in (("", "left"), ("predicted", "right"), ("measured", "right"),
                          ("measured vs predicted", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in result.rows():
        diff = row.difference
        shown = "-" if diff is None else f"{diff:+.1f}%"
        style = "" if diff is None or abs(diff) <= 25 else "yellow"
        fmt = "{:,.0f}" if row.unit == "guests" else "{:,.1f}"
        table.add_row(f"{row.name} [{row.unit}]", fmt.format(row.simulated),
                      fmt.format(row.measured), f"[{style}]{shown}[/]" if style else shown)
    return table

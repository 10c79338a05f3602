"""``partyhost hit URL``: the simulation's guests, sent to a real server on schedule.

Thin on purpose: the generator is ``sim.live.loadgen``; this module reads the flags,
shows the run as it goes (Rich, on stderr, only on a terminal) and prints the report:
the same table as ``simulate``, an HDR latency histogram and the generator's own lag.
"""

from __future__ import annotations

import argparse
import math

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from sim.metrics import Distribution
from tui.commands import CliError
from tui.commands.scenario_flags import DIST_HELP, add_scenario_flags, scenario_values

NAME = "hit"
HELP = "send the simulation's guests to a real server (open-loop load generator)"
DESCRIPTION = """\
Send guests drawn from the same workload as `simulate` (same flags, same seed: the
same guests) to a real server, each as GET /guest?phases=... at its scheduled instant.
Open loop by default: a slow server builds a queue instead of slowing the sender, and
latency runs from the intended send time (no coordinated omission, as wrk2 and
oha --latency-correction do it). --users/--think give the closed loop instead.

turned away = what the guest saw at the door: refused (connection refused), reset
(before its request was sent) or timed out (no connection within --connect-timeout,
or its --patience or the request timeout ran out: it hung up); failed = let in but no
good answer: a 4xx/5xx, or a reset or close after the request was sent (a killed
worker); wait = until the server's X-Started-At. With --retries, a guest turned away
or failed knocks again after --backoff (doubled each time), as a new guest."""
EPILOG = DIST_HELP + """
Without --guests or --duration, a hit lasts 10 s. Hard caps: 200,000 guests per run
(--rate x --duration too), 600 s of sending, a --request-timeout of 60 s; a run ends at
most 11 s after its sending time, answered or not. Only loopback targets, unless
--allow-remote.

Examples:
  partyhost serve async --port 8000 &
  partyhost hit http://127.0.0.1:8000 --rate 200 --io 50 --duration 10
  partyhost hit 127.0.0.1:8000 --users 20 --think 100 --io 50 --keep-alive
  partyhost hit 127.0.0.1:8000 --rate 50 --upload 200 --io 10 --json
"""

HDR_PERCENTILES = (50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", metavar="URL",
                        help="http://127.0.0.1:PORT (the path defaults to /guest)")
    add_hit_flags(parser)
    add_scenario_flags(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")


def add_hit_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("the load generator")
    group.add_argument("--keep-alive", action="store_true",
                       help="reuse connections (default: one connection per guest)")
    group.add_argument("--request-timeout", metavar="S", default="10",
                       help="give up on a guest after S seconds (default 10): timed out")
    group.add_argument("--allow-remote", action="store_true",
                       help="allow a target that is not this machine (loopback)")


def request_timeout(args: argparse.Namespace) -> float:
    try:
        value = float(args.request_timeout)
    except ValueError:
        raise CliError(
            f"--request-timeout: expected seconds, got {args.request_timeout!r}"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise CliError(f"--request-timeout: must be > 0, got {args.request_timeout!r}")
    from sim.live.loadgen import LoadgenError, check_timeout

    try:
        return check_timeout(value)
    except LoadgenError as exc:
        raise CliError(str(exc)) from None


def hit_scenario(args: argparse.Namespace, **overrides: object):
    """The scenario from the flags; a hit without bounds lasts ``DEFAULT_DURATION``."""
    from sim.live.loadgen import DEFAULT_DURATION
    from sim.scenario import build_scenario

    values, origins = scenario_values(args)
    values.update({k: v for k, v in overrides.items() if v is not None})
    if values.get("guests") is None and values.get("duration") is None:
        values["duration"] = DEFAULT_DURATION
    return build_scenario(values, origins)


def run(args: argparse.Namespace) -> int:
    from sim.live.loadgen import Generator, LoadgenError, parse_target

    scenario = hit_scenario(args)
    timeout = request_timeout(args)
    console = Console()
    err = Console(stderr=True)
    try:
        target = parse_target(args.url)
        display = LiveDisplay(err) if err.is_terminal and not args.json else None
        gen = Generator(target, scenario, keep_alive=args.keep_alive, timeout=timeout,
                        allow_remote=args.allow_remote,
                        on_progress=display.update if display else None)
    except LoadgenError as exc:
        raise CliError(str(exc)) from None
    if not args.json:
        err.print(f"hitting {target.host}:{target.port}{target.path}: "
                  f"{scenario.describe_guests()}",
                  markup=False, highlight=False)
    if display:
        with display:
            result = gen.run()
    else:
        result = gen.run()
    if args.json:
        from tui.commands.report import print_json

        print_json(result.to_dict())
        return 0
    print_report(console, f"measured at {target.authority}", result)
    return 0


def print_report(console: Console, title: str, result) -> None:
    from tui.commands.report import summary_table

    console.print(summary_table(title, [("measured", result.summary)]))
    console.print(hdr_table(result.latency))
    for line in generator_lines(result):
        console.print(line, markup=False, highlight=False)


CLIENT_VIEW = (
    "hosts busy is the client's view: the share of time each worker (X-Worker) had a "
    "guest in hand. For a sync worker that is how busy it was; an event loop juggles "
    "many, so only its own trace tells (partyhost live reads it)."
)


def generator_lines(result, *, utilisation_note: str | None = CLIENT_VIEW) -> list[str]:
    """The generator's own account: its rate, its lag, and whether it kept up.

    ``utilisation_note`` says where the utilisation shown came from, when that needs
    saying: ``hit`` estimates it from the answers; ``live`` reads our servers' trace.
    """
    lag = result.send_lag.summary_ms()
    loop = "closed loop" if result.closed else "open loop"
    conn = "keep-alive" if result.keep_alive else "a connection per guest"
    lines = []
    if result.planned_rate:
        lines.append(
            f"generator: {loop}, {conn}; sent {result.sent_rate:,.1f} guests/s of "
            f"{result.planned_rate:,.1f} scheduled; send lag p50 {lag['p50']:.2f} ms, "
            f"p99 {lag['p99']:.2f} ms, max {lag['max']:.2f} ms"
        )
    else:
        lines.append(f"generator: {loop}, {conn}; sent {result.sent_rate:,.1f} guests/s")
    if result.behind:
        lines.append(
            "warning: the load generator fell behind its schedule (send lag p99 over 10 ms "
            "or under 98% of the rate): the server was offered less than asked, so these "
            "numbers flatter it"
        )
    elif not result.closed and lag["p99"] > 2.0:
        lines.append(
            "note: send lag p99 over 2 ms (a busy machine?): guests left a little late; "
            "latency still counts from the intended send time"
        )
    door = door_line(result.summary)
    if door:
        lines.append(door)
    for name, count in result.errors.items():
        lines.append(f"client side: {count:,} x {name}")
    if utilisation_note:
        lines.append(utilisation_note)
    return lines


def door_line(summary) -> str | None:
    """Who did not get an answer and why, as the client saw it; None if everyone did."""
    away = summary.turned_away_by
    parts = [f"{reason.replace('_', ' ')} {away[reason]:,}"
             for reason in ("refused", "reset", "timed_out") if away.get(reason)]
    failed = [f"{why} {count:,}" for why, count in sorted(summary.failed_by.items()) if count]
    out = []
    if parts:
        out.append("turned away: " + ", ".join(parts))
    if failed:
        out.append("failed: " + ", ".join(failed))
    if summary.retries:
        out.append(f"retries {summary.retries:,}")
    return "at the door: " + "; ".join(out) if out else None


def hdr_table(latency: Distribution) -> Table:
    """The latency spectrum, as wrk2 prints it: value at each percentile, with a bar."""
    table = Table(title="latency histogram [HDR, from the intended send time]",
                  title_justify="left")
    table.add_column("percentile", justify="right")
    table.add_column("ms", justify="right")
    table.add_column("", min_width=30)
    if not latency.count:
        table.add_row("-", "-", "no guest answered")
        return table
    hist = latency.histogram()
    values = [min(hist.get_value_at_percentile(p) / 1000, latency.max * 1000)
              for p in HDR_PERCENTILES]
    top = max(values) or 1.0
    for pct, value in zip(HDR_PERCENTILES, values, strict=True):
        bar = "█" * max(1, round(30 * value / top))
        table.add_row(f"{pct:g}%", f"{value:,.2f}", Text(bar, style="cyan"))
    return table


class LiveDisplay:
    """A small Rich panel that follows the run: sent, served, in flight, p50/p99."""

    def __init__(self, console: Console) -> None:
        from rich.live import Live

        self.live = Live(Text("starting..."), console=console, transient=True,
                         auto_refresh=False)

    def __enter__(self) -> LiveDisplay:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def update(self, snap) -> None:
        rate = snap.sent / snap.elapsed if snap.elapsed > 0 else 0.0
        served_rate = snap.served / snap.elapsed if snap.elapsed > 0 else 0.0
        planned = f"/{snap.planned:,}" if snap.planned else ""
        line1 = (f"[bold]{snap.elapsed:6.1f} s[/]  sent {snap.sent:,}{escape(planned)} "
                 f"({rate:,.0f}/s)  served {snap.served:,} ({served_rate:,.0f}/s)  "
                 f"in flight {snap.in_flight:,}")
        line2 = (f"latency p50 {snap.p50_ms:,.1f} ms  p99 {snap.p99_ms:,.1f} ms   "
                 f"turned away {snap.turned_away:,}  failed {snap.failed:,}  "
                 f"retries {snap.retries:,}   "
                 f"send lag p99 {snap.lag_p99_ms:.2f} ms")
        self.live.update(Group(Text.from_markup(line1), Text(line2)), refresh=True)

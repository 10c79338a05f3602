"""``partyhost profile APP``: measure your own app's endpoints, and write them as a party.

The measuring is ``sim.profile`` (its docstrings say what it simplifies); this module reads
the flags, shows a progress bar on a terminal, prints the table and writes the file.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from sim.limits import MAX_PROFILE_REQUESTS, MAX_PROFILE_TIMEOUT_S, MAX_PROFILE_WARMUP
from tui.commands import CliError

NAME = "profile"
HELP = "measure your own WSGI/ASGI app's endpoints and write them as a guest mix"
DESCRIPTION = """\
Import your app (module:callable, as gunicorn and uvicorn take it), replay the requests of
a requests file or an access log to it in this process, one at a time, and measure each:
the CPU it cost (cpu), the time it waited and let others in (io), and, for ASGI, the time
it held the event loop without computing (blocking: a sync call inside async def).
Each endpoint becomes a kind of guest with fitted phases; -o writes them as a scenario
file that simulate, compare and sweep take with --scenario.
"""
EPILOG = """\
A requests file has one METHOD PATH [weight] [@bodyfile] a line, e.g.
  GET /items?page=1 40
  POST /orders 10 @order.json

Examples:
  partyhost profile examples.flask_shop.app:app --requests examples/flask_shop/requests.txt
  partyhost profile examples.fastapi_shop.app:app \\
      --requests examples/fastapi_shop/requests.txt -n 400 -o shop.toml
  partyhost simulate --scenario shop.toml --model async --rate 100
"""
DEFAULT_N = 200
DEFAULT_WARMUP = 20
DEFAULT_TIMEOUT_S = 10.0
REFRESH_S = 0.1  # the progress bar is redrawn between requests, never during one


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", metavar="APP", help="module:callable, e.g. "
                        "examples.flask_shop.app:app (imported with this directory on the path)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--requests", metavar="FILE", help="the requests to replay, with weights")
    source.add_argument("--log", metavar="FILE", help="a common/combined access log: its "
                        "paths and how often each came")
    parser.add_argument("-n", metavar="N", dest="n", default=str(DEFAULT_N),
                        help=f"requests measured (default {DEFAULT_N}, "
                             f"at most {MAX_PROFILE_REQUESTS:,})")
    parser.add_argument("--warmup", metavar="N", default=str(DEFAULT_WARMUP),
                        help=f"requests first, left out (default {DEFAULT_WARMUP}, "
                             f"at most {MAX_PROFILE_WARMUP:,})")
    parser.add_argument("--timeout", metavar="S", default=str(DEFAULT_TIMEOUT_S),
                        help=f"seconds a request may take before it is failed, and its "
                             f"endpoint's other requests not sent (default "
                             f"{DEFAULT_TIMEOUT_S:g}, at most {MAX_PROFILE_TIMEOUT_S:g})")
    parser.add_argument("-o", "--output", metavar="OUT.toml",
                        help="write the profile: a scenario file with the measured samples")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")


def _count(text: str, flag: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise CliError(f"{flag} {text!r}: a whole number, like {DEFAULT_N}") from None
    if not low <= value <= high:
        raise CliError(f"{flag} {value}: must be {low}..{high:,}")
    return value


def _seconds(text: str, flag: str, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CliError(f"{flag} {text!r}: a number of seconds, like {DEFAULT_TIMEOUT_S:g}"
                       ) from None
    if not 0 < value <= high:  # also refuses nan
        raise CliError(f"{flag} {text}: must be > 0 and at most {high:g}")
    return value


def run(args: argparse.Namespace) -> int:
    from sim.profile import ProfileError
    from sim.profile.replay import read_access_log, read_requests_file
    from sim.profile.run import profile_app
    from tui.commands.report import print_json, stderr_console

    n = _count(args.n, "-n", 1, MAX_PROFILE_REQUESTS)
    warmup = _count(args.warmup, "--warmup", 0, MAX_PROFILE_WARMUP)
    timeout = _seconds(args.timeout, "--timeout", MAX_PROFILE_TIMEOUT_S)
    out = Path(args.output) if args.output else None
    if out is not None and (out.is_dir() or not out.parent.is_dir()):
        raise CliError(f"-o {args.output}: not a file in an existing directory")
    err = stderr_console()
    try:
        if args.requests:
            endpoints = read_requests_file(args.requests)
            source_key, source = "requests", args.requests
        else:
            endpoints, skipped = read_access_log(args.log)
            source_key, source = "log", args.log
            if skipped:
                err.print(f"partyhost: {skipped:,} lines of {args.log} are not in the common "
                          "or combined format; left out", style="yellow", markup=False)
        # the app's own prints go to stderr: stdout is the table or the JSON
        with _progress(err, n + warmup) as on_request, contextlib.redirect_stdout(sys.stderr):
            profile = profile_app(args.app, endpoints, n, warmup, source_key=source_key,
                                  source=source, on_request=on_request, timeout=timeout)
    except ProfileError as exc:
        raise CliError(str(exc)) from None
    if out is not None:
        out.write_text(profile.to_toml(), encoding="utf-8")
    for warning in profile.warnings:
        err.print(f"partyhost: {warning}", style="yellow", markup=False, soft_wrap=True)
    for e in profile.endpoints:
        if e.failed:
            err.print(f"partyhost: {e.endpoint.label}: {e.failed} of {e.failed + e.count} "
                      f"failed, not fitted (first: {e.first_error})", style="yellow",
                      markup=False)
        client_errors = sum(c for status, c in e.statuses.items() if 400 <= status < 500)
        if client_errors:
            err.print(f"partyhost: {e.endpoint.label}: {client_errors} answered 4xx (fitted "
                      "anyway: is the path right?)", style="yellow", markup=False)
    if args.json:
        print_json(profile.to_json())
        return 0
    console = Console()
    console.print(_table(profile))
    for e in profile.endpoints:
        if e.holds_loop:
            console.print(f"{e.endpoint.label} holds the loop {_ms(e.stats['blocking'].p50)} ms "
                          "a request (a sync call inside async def): while it does, every "
                          "other guest waits for the host", markup=False)
    threads = [e.endpoint.label for e in profile.endpoints if e.runs_in == "thread"]
    if threads:
        console.print(f"ran in a worker thread of the pool (def routes), not on the loop: "
                      f"{', '.join(threads)}", markup=False)
    if out is not None:
        console.print(f"wrote {out}: partyhost simulate --scenario {out} --rate R",
                      markup=False)
    else:
        console.print("write it as a scenario with -o FILE.toml", markup=False)
    return 0


class _progress:
    """A progress bar on a terminal, redrawn between requests (no refresh thread: its CPU
    would be counted in an ASGI request's process time)."""

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.total = total
        self.bar: Progress | None = None
        self.last = 0.0

    def __enter__(self):
        if not self.console.is_terminal:
            return None
        self.bar = Progress(TextColumn("[bold]profiling[/]"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=self.console, transient=True,
                            auto_refresh=False)
        self.bar.start()
        task = self.bar.add_task("requests", total=self.total)
        bar = self.bar

        def on_request(done: int) -> None:
            now = time.monotonic()
            if now - self.last >= REFRESH_S or done == self.total:
                self.last = now
                bar.update(task, completed=done)
                bar.refresh()

        return on_request

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _ms(value: float) -> str:
    if value == 0:
        return "0"
    return f"{value:,.1f}" if value >= 0.1 else f"{value:.2f}"


def _table(profile) -> Table:
    table = Table(title=f"{profile.app} ({profile.interface.upper()}): "
                        f"{profile.requests} requests after {profile.warmup} warm-up, in ms",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("endpoint", no_wrap=True, overflow="ellipsis", max_width=22)
    for name in ("share", "count", "cpu\np50", "cpu\np99", "wait\np50", "wait\np99"):
        table.add_column(name, justify="right")
    table.add_column("holds\nthe loop")
    from sim.profile.fit import percentile

    for e in profile.endpoints:
        wait = e.wait
        held = "yes" if e.holds_loop else ""
        count = f"{e.count}" + (f" ({e.failed} failed)" if e.failed else "")
        table.add_row(escape(e.endpoint.label), f"{e.share:.3g}%", count,
                      _ms(e.stats["cpu"].p50), _ms(e.stats["cpu"].p99),
                      _ms(percentile(wait, 50)), _ms(percentile(wait, 99)), held)
    return table

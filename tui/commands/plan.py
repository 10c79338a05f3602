"""``partyhost plan PROFILE --rate R --p99 MS``: the cheapest server for a latency target.

Thin: ``sim.plan`` searches; this module reads the flags, runs each wave's
replications on a process pool (``partyhost sweep``'s machinery: Ctrl-C stops every
worker at once), shows a progress bar and prints the table and the why-lines.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sim.limits import MAX_CORES, MAX_PLAN_P99_MS, MAX_RATE
from sim.servers import SERVERS
from tui.commands import CliError
from tui.commands.report import print_json, stderr_console
from tui.commands.sweep import CTRL_C_POLL, CtrlC, _stop_pool, _worker_ignores_ctrl_c

NAME = "plan"
HELP = "the cheapest server configuration that meets a p99 target for a profiled app"
DESCRIPTION = """\
Simulate the guests of a profile (`partyhost profile APP -o shop.toml`) at --rate
under every server that can run the app, over its workers or threads, and print the
cheapest configuration of each that keeps p99 under --p99, with the real command line,
predicted p50, p99 and utilisation (each a 95% confidence interval over replications
with different seeds), and, one line each, why the next cheaper one fails.

Cheapest = fewest processes, then fewest threads in all. A configuration meets the
target when its mean p99 over the replications is at most --p99 (and almost no guest
fails). Exit status 1 when no configuration in range meets the target. Check a plan
against the real server with `partyhost verify`."""
EPILOG = """
Examples:
  partyhost plan shop.toml --rate 300 --p99 250
  partyhost plan shop.toml --rate 300 --p99 250 --cores 4 --models sync,threaded
  partyhost verify shop.toml --config "gunicorn -w 6" --rate 300
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("profile", metavar="PROFILE", help="a profile file (partyhost profile)")
    parser.add_argument("--rate", required=True, metavar="R", help="guests/s at peak")
    parser.add_argument("--p99", required=True, metavar="MS", help="the p99 latency target, ms")
    parser.add_argument("--cores", metavar="N", help="cores the server gets (default: this "
                        f"machine's, {os.cpu_count() or 2})")
    parser.add_argument("--models", metavar="M1,M2",
                        help="only these models (default: every one that runs the app)")
    parser.add_argument("--overhead", metavar="MS", help="the server's own cpu per request, as "
                        "measured by `partyhost calibrate` (default 0: the profile's phases only)")
    parser.add_argument("--jobs", metavar="N", help="processes to simulate on (default: cores)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")


def number(text: str | None, flag: str, low: float, high: float, *, whole: bool = False) -> float:
    """A flag's number within bounds (> low, or >= low for a whole number), or a one-line
    ``CliError``."""
    try:
        value = float(str(text).strip())
    except ValueError:
        raise CliError(f"{flag}: expected a number, got {text!r}") from None
    above = value >= low if whole else value > low
    if not math.isfinite(value) or not above or value > high:
        bound = f">= {low:g}" if whole else f"> {low:g}"
        raise CliError(f"{flag}: must be {bound} and at most {high:,g}, got {text}")
    if whole and value != int(value):
        raise CliError(f"{flag}: expected a whole number, got {text}")
    return value


class PoolRunner:
    """Runs each batch of replications on a process pool that lives as long as the plan."""

    def __init__(self, jobs: int, progress: Progress | None, task: Any) -> None:
        self.jobs = jobs
        self.progress = progress
        self.task = task
        self.pool: ProcessPoolExecutor | None = None
        self.ctrl_c = CtrlC()

    def __call__(self, scenarios: Sequence[Any]) -> list[Any]:
        from sim.plan import measure

        if self.jobs <= 1:
            out = []
            for scenario in scenarios:
                out.append(measure(scenario))
                self._advance()
            return out
        if self.pool is None:
            self.pool = ProcessPoolExecutor(max_workers=self.jobs,
                                            initializer=_worker_ignores_ctrl_c)
        results: list[Any] = [None] * len(scenarios)
        futures = {self.pool.submit(measure, s): i for i, s in enumerate(scenarios)}
        pending = set(futures)
        while pending:
            self.ctrl_c.check()
            done, pending = wait(pending, timeout=CTRL_C_POLL, return_when=FIRST_COMPLETED)
            for future in done:
                results[futures[future]] = future.result()
                self._advance()
        return results

    def _advance(self) -> None:
        if self.progress is not None:
            self.progress.advance(self.task)

    def close(self, failed: BaseException | None) -> None:
        """Stop the pool: at once on Ctrl-C or an error, else after its (idle) workers."""
        if self.pool is not None:
            if failed is not None:
                _stop_pool(self.pool)
            else:
                self.pool.shutdown()
        if not isinstance(failed, KeyboardInterrupt):
            self.ctrl_c.restore()


def run_plan(profile: Any, rate: float, p99: float, cores: int, models: list[str] | None,
             jobs: int, console: Console) -> Any:
    from sim.plan import PlanError, plan

    columns = (TextColumn("[bold]plan[/]"), BarColumn(),
               TextColumn("{task.completed}/{task.total} simulations"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True,
                  disable=not console.is_terminal) as progress:
        task = progress.add_task("plan", total=0)
        runner = PoolRunner(jobs, progress, task)

        def on_wave(count: int) -> None:
            total = progress.tasks[0].total or 0
            progress.update(task, total=total + count)

        failed: BaseException | None = None
        try:
            return plan(profile, rate, p99, cores, models, runner=runner, on_wave=on_wave)
        except PlanError as exc:
            failed = exc
            raise CliError(str(exc)) from None
        except BaseException as exc:
            failed = exc
            raise
        finally:
            runner.close(failed)


def _ci(interval: Any, fmt: Callable[[float], str]) -> str:
    return f"{fmt(interval.mean)} ±{fmt(interval.half)}"


def run(args: argparse.Namespace) -> int:
    from sim.plan import PlanError, load_profile

    rate = number(args.rate, "--rate", 0, MAX_RATE)
    p99 = number(args.p99, "--p99", 0, MAX_PLAN_P99_MS)
    cores = int(number(args.cores, "--cores", 1, MAX_CORES, whole=True)) if args.cores \
        else (os.cpu_count() or 2)
    jobs = int(number(args.jobs, "--jobs", 1, 256, whole=True)) if args.jobs \
        else (os.cpu_count() or 1)
    models = [m for m in args.models.split(",") if m.strip()] if args.models else None
    try:
        profile = load_profile(args.profile)
    except PlanError as exc:
        raise CliError(str(exc)) from None
    if args.overhead:
        profile = profile.with_overhead(number(args.overhead, "--overhead", 0, 10_000))
    result = run_plan(profile, rate, p99, cores, models, jobs, stderr_console())
    if args.json:
        print_json({"profile": profile.path, "app": profile.app, **result.to_dict(profile)})
        return 0 if result.meeting else 1
    console = Console()
    if not console.is_terminal:  # a pipe or a file: a table as wide as its commands
        console = Console(width=160)
    print_plan(profile, result, console)
    return 0 if result.meeting else 1


def print_plan(profile: Any, result: Any, console: Console) -> None:
    from sim.plan import CHEAPEST_RULE, TIGHT

    console.print(f"plan for {profile.app} at {result.rate:g} guests/s, p99 <= "
                  f"{result.p99_ms:g} ms, {result.cores} core(s)", style="bold",
                  markup=False, highlight=False)
    if result.meeting:
        table = Table(title=escape(f"meets the target ({CHEAPEST_RULE}; 95% intervals)"),
                      title_justify="left")
        for name, justify in (("command", "left"), ("processes", "right"),
                              ("threads", "right"), ("p50 ms", "right"), ("p99 ms", "right"),
                              ("busy", "right"), ("runs", "right")):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for answer in result.meeting:
            best = answer.best
            p99 = best.p99
            loose = "" if p99.relative <= TIGHT else " (loose)"
            table.add_row(escape(profile.command(best.scenario)), str(best.processes),
                          str(best.threads), _ci(best.stat("p50"), lambda v: f"{v:,.1f}"),
                          _ci(p99, lambda v: f"{v:,.1f}") + loose,
                          _ci(best.stat("utilization"), lambda v: f"{v:.0%}"),
                          str(len(best.samples)))
        console.print(table)
        first = result.meeting[0].best
        console.print(f"cheapest: {profile.command(first.scenario)}", markup=False,
                      highlight=False)
        if any(SERVERS[m.model].has("worker_connections") for m in result.meeting):  # a hub
            console.print("note: -k gevent is planned as if the app's waits yield to the hub "
                          "(monkey-patched sockets and sleeps); a C driver that does not "
                          "(sqlite3, psycopg2 without psycogreen) holds the hub like a "
                          "blocking call, and one worker then serves one guest at a time",
                          style="dim", markup=False, highlight=False)
    else:
        console.print("no configuration in range meets the target", style="yellow")
    console.print("why the next cheaper fails:", style="bold")
    for answer in [*result.meeting, *result.failing]:
        miss = answer.miss
        if miss is None:
            console.print(f"  {answer.model}: nothing cheaper to try", markup=False,
                          highlight=False)
            continue
        console.print(f"  {profile.command(miss.scenario)}: {miss.why}", markup=False,
                      highlight=False)
    for model, why in result.left_out.items():
        console.print(f"{model} left out: {why}", style="dim", markup=False, highlight=False,
                      soft_wrap=True)
    console.print(f"{result.simulations} simulations in {result.waves} waves, "
                  f"{result.seconds:.1f} s; the phases alone give p99 "
                  f"{result.floor_p99_ms:,.1f} ms", style="dim", markup=False,
                  highlight=False)

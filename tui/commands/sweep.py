"""``partyhost sweep``: vary one knob, simulate each point, table and chart.

Points are independent parties, so they run in a process pool across the cores when
there is enough work to repay starting the pool; each point uses the same seed, so
the only thing that changes between points is the knob.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from sim.limits import MAX_SWEEP_POINTS
from sim.metrics import Summary
from sim.run import simulate
from sim.scenario import KEYS, Scenario, canonical
from tui.commands import CliError
from tui.commands.report import print_json, stderr_console
from tui.commands.scenario_flags import DIST_HELP, add_scenario_flags, scenario_values

NAME = "sweep"
HELP = "vary one knob over a range and chart how the party changes"
DESCRIPTION = """\
Vary one scenario key over a list of values, simulate a party for each (the same
guests every time), and print a table and a terminal chart of throughput and p99
latency against the key.
"""
EPILOG = DIST_HELP + """
--vary takes KEY=A..B (whole numbers A to B; more than 16 of them: 16 spread evenly
from A to B, and the sweep says so; --points N for more or fewer), KEY=A..B:STEP
(every step, at most 200 points), or KEY=V1,V2,V3. Ctrl-C stops a sweep at once, its
worker processes too.

Examples:
  partyhost sweep --model sync --vary workers=1..16 --rate 100 --io exp:100
  partyhost sweep --model async --vary rate=10..100:10 --cpu 5 --io 50
  partyhost sweep --model sync --workers 4 --vary io=10,50,100 --rate 30
"""
POOL_MIN_GUESTS = 20_000  # below this, starting processes costs more than it saves
DEFAULT_POINTS = 16  # A..B without a step: at most this many points, spread evenly
MAX_POINTS = MAX_SWEEP_POINTS
CTRL_C_POLL = 0.1  # s between looks for a Ctrl-C while the pool runs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vary", required=True, metavar="KEY=VALUES",
                        help="the knob and its values: workers=1..16, rate=10..100:10, io=10,50")
    parser.add_argument("--points", type=int, metavar="N", default=DEFAULT_POINTS,
                        help=f"KEY=A..B without a step: sweep at most N points, spread evenly "
                             f"(default {DEFAULT_POINTS}, at most {MAX_POINTS})")
    add_scenario_flags(parser)
    parser.add_argument("--jobs", type=int, metavar="N",
                        help="processes to use (default: the machine's cores when worth it)")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead")


def parse_vary(text: str, note: Callable[[str], None] | None = None,
               points: int = DEFAULT_POINTS) -> tuple[str, list[str]]:
    """The knob and its values; ``note`` hears why they are not every whole number.

    ``points`` caps A..B without a step: ``rate=20..200`` silently meaning 181 parties
    (minutes of work for a chart that cannot show them apart) was a trap.
    """
    if not 2 <= points <= MAX_POINTS:
        raise CliError(f"--points: must be 2 to {MAX_POINTS}, got {points}")
    key, sep, spec = text.partition("=")
    key = canonical(key)
    if not sep or not spec.strip():
        raise CliError(f"--vary: {text!r} should be KEY=VALUES, like workers=1..16")
    if key not in KEYS or key in ("model", "seed"):
        raise CliError(f"--vary: {key!r} is not a knob you can sweep")
    match = re.fullmatch(r"\s*(-?[\d.]+)\s*\.\.\s*(-?[\d.]+)\s*(?::\s*([\d.]+))?\s*", spec)
    if match:
        low, high, step = match.groups()
        try:
            a, b, d = float(low), float(high), float(step or 1)
        except ValueError:
            raise CliError(f"--vary: cannot read the range {spec!r}") from None
        if d <= 0 or b < a:
            raise CliError(f"--vary: the range {spec!r} must go up by a positive step")
        count = int((b - a) / d + 1e-9) + 1
        if step is None and count > points:
            spread = sorted({round(a + i * (b - a) / (points - 1)) for i in range(points)})
            values = [f"{v:g}" for v in spread]
            if note is not None:
                note(f"--vary {key}={spec.strip()}: {count} whole numbers; sweeping "
                     f"{len(values)} of them ({', '.join(values)}); give a step "
                     f"({spec.strip()}:1) or --points {min(count, MAX_POINTS)} for every one")
            return key, values
        if count > MAX_POINTS:
            raise CliError(f"--vary: {count} points is too many (at most {MAX_POINTS})")
        values = [a + i * d for i in range(count)]
        return key, [f"{v:g}" for v in values]
    values = [v.strip() for v in spec.split(",") if v.strip()]
    if len(values) > MAX_POINTS:
        raise CliError(f"--vary: at most {MAX_POINTS} points")
    return key, values


def build_points(args: argparse.Namespace,
                 note: Callable[[str], None] | None = None) -> tuple[str, list[Scenario]]:
    from sim.scenario import build_scenario

    key, values = parse_vary(args.vary, note, getattr(args, "points", DEFAULT_POINTS))
    base, origins = scenario_values(args)
    points = []
    for value in values:
        data = dict(base, **{key: value})
        if key in ("upload", "cpu", "io", "db", "blocking"):
            data.pop("phases", None)
        points.append(build_scenario(data, dict(origins, **{key: f"--vary {key}={value}"})))
    return key, points


def run_points(points: list[Scenario], jobs: int | None, console: Console) -> list[Summary]:
    work = sum(p.guests or 0 for p in points)
    jobs = jobs or (os.cpu_count() or 1)
    use_pool = jobs > 1 and len(points) > 1 and work >= POOL_MIN_GUESTS
    results: list[Summary | None] = [None] * len(points)
    columns = (TextColumn("[bold]sweep[/]"), BarColumn(),
               TextColumn("{task.completed}/{task.total}"))
    with Progress(*columns, console=console, transient=True,
                  disable=not console.is_terminal) as progress:
        task = progress.add_task("points", total=len(points))
        if use_pool:
            pool = ProcessPoolExecutor(max_workers=min(jobs, len(points)),
                                       initializer=_worker_ignores_ctrl_c)
            ctrl_c = CtrlC()
            try:
                futures = {pool.submit(simulate, p): i for i, p in enumerate(points)}
                pending = set(futures)
                while pending:
                    ctrl_c.check()
                    done, pending = wait(pending, timeout=CTRL_C_POLL,
                                         return_when=FIRST_COMPLETED)
                    for future in done:
                        results[futures[future]] = future.result()
                        progress.advance(task)
            except BaseException as exc:  # Ctrl-C, a failed point: stop every worker now
                _stop_pool(pool)
                if not isinstance(exc, KeyboardInterrupt):
                    ctrl_c.restore()
                raise
            ctrl_c.restore()
            pool.shutdown()
        else:
            for i, point in enumerate(points):
                results[i] = simulate(point)
                progress.advance(task)
    return [r for r in results if r is not None]


def _worker_ignores_ctrl_c() -> None:
    """Ctrl-C reaches the whole process group; the parent stops the workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class CtrlC:
    """While the pool runs: Ctrl-C is noted, not raised mid-way, and only the first counts.

    A KeyboardInterrupt raised wherever the main thread happens to be can land inside
    concurrent.futures while it holds a future's lock, and stopping the pool then
    deadlocks. So the handler only notes the press (and ignores any further one, which
    could otherwise cut the stopping short and leave workers running); ``check``,
    called between waits of ``CTRL_C_POLL``, raises it where it is safe. On the
    KeyboardInterrupt path the handler is not restored: the command is ending, and a
    third Ctrl-C must not turn its exit into a traceback. Off the main thread (no
    signals there) it does nothing.
    """

    def __init__(self) -> None:
        self.pressed = False
        self.previous: Any = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._press)

    def _press(self, signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.pressed = True

    def check(self) -> None:
        if self.pressed:
            raise KeyboardInterrupt

    def restore(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and end the workers at once (not after their point).

    ``shutdown(wait=True)``, what ``with`` does, waits for every running point: a
    Ctrl-C took seconds.
    """
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        with contextlib.suppress(Exception):
            worker.terminate()
    for worker in workers:
        worker.join(1.0)
        if worker.is_alive():
            worker.kill()
            worker.join(1.0)


def chart(key: str, xs: list[float], summaries: list[Summary], width: int) -> str:
    """Throughput and p99 side by side, each drawn as its own plotext figure.

    plotext's ``subplots`` keeps state that ``clear_figure`` does not reset: a second
    chart in one process drew a third, empty panel and lost the p99 title. Two single
    figures, joined line by line, are the same every time.
    """
    half = max(20, width // 2)
    left = _plot(xs, [s.throughput for s in summaries], "throughput [guests/s]", key, half,
                 log=False)
    # log scale: past the knee p99 grows by orders of magnitude, and on a linear axis
    # everything before the knee lies flat on the floor
    right = _plot(xs, [max(s.latency_ms["p99"], 1e-3) for s in summaries],
                  "p99 latency [ms, log scale]", key, width - half, log=True)
    lines_left, lines_right = left.splitlines(), right.splitlines()
    blank = " " * half
    rows = max(len(lines_left), len(lines_right))
    lines_left += [blank] * (rows - len(lines_left))
    lines_right += [""] * (rows - len(lines_right))
    return "\n".join(a + b for a, b in zip(lines_left, lines_right, strict=True)) + "\n"


def _plot(xs: list[float], ys: list[float], title: str, key: str, width: int, *,
          log: bool) -> str:
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, 15)
    plt.theme("clear")
    plt.plot(xs, ys, marker="braille")
    if log:
        plt.yscale("log")
    plt.title(title)
    plt.xlabel(key)
    return plt.build()


def run(args: argparse.Namespace) -> int:
    if args.jobs is not None and args.jobs < 1:
        raise CliError("--jobs: must be at least 1")
    err = stderr_console()
    key, points = build_points(args, lambda text: print(f"partyhost: note: {text}",
                                                        file=sys.stderr))
    summaries = run_points(points, args.jobs, err)
    if args.json:
        print_json([s.to_dict() for s in summaries])
        return 0
    console = Console()
    title = escape(f"sweep {key}: {points[0].describe()}")
    table = Table(title=title, title_justify="left")
    for name in (key, "throughput/s", "p50 ms", "p99 ms", "wait mean ms", "busy", "away", "failed"):
        table.add_column(name, justify="right")
    xs = []
    for point, s in zip(points, summaries, strict=True):
        value = point.to_dict().get(key, getattr(args, key, ""))
        xs.append(float(value) if isinstance(value, int | float) else float(len(xs)))
        table.add_row(str(value), f"{s.throughput:,.2f}", f"{s.latency_ms['p50']:,.1f}",
                      f"{s.latency_ms['p99']:,.1f}", f"{s.wait_ms['mean']:,.1f}",
                      f"{s.utilization:.0%}", f"{s.turned_away:,}", f"{s.failed:,}")
    console.print(table)
    console.print(Text.from_ansi(chart(key, xs, summaries, min(console.width, 120))),
                  no_wrap=True, crop=True)
    return 0

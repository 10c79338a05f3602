"""``partyhost live MODEL``: a real server beside its simulation, in one table.

Thin on purpose: ``sim.side_by_side.live_party`` starts the server, hits it, stops it
and simulates; this module reads the flags and draws the table.

A live party reports through a Unix socket in a private folder,
``$TMPDIR/partyhost-live-*`` (the app's live switch makes one too). Its owner removes
it at the end, but a process killed outright (SIGKILL) cannot: so each ``partyhost
live`` first removes the stale ones it finds (``remove_stale_live_folders``): a folder
whose sockets no process has bound any more (``/proc/net/unix`` lists every bound
one), or, with no socket at all, older than ``STALE_AFTER``; only the user's own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sim.servers import NAMES as MODELS
from tui.commands import CliError
from tui.commands.hit import LiveDisplay, add_hit_flags, generator_lines, hdr_table, hit_scenario
from tui.commands.hit import request_timeout as read_timeout
from tui.commands.scenario_flags import DIST_HELP, add_scenario_flags

NAME = "live"
HELP = "run a real server with the scenario's guests, beside its simulation"
DESCRIPTION = """\
Start the minimal server of MODEL (or a real Gunicorn/Uvicorn) on a free loopback
port, send it the scenario's guests (open loop, as `hit`), stop it, simulate the very
same scenario, and print theory (where a closed form exists), simulation and
measurement side by side with the difference in percent.

Real servers (optional extra, pip install -e '.[real]'): gunicorn, gunicorn-gthread,
uvicorn, uvicorn-workers, gunicorn-uvicorn, gunicorn-asgi."""
EPILOG = DIST_HELP + """
Without --guests or --duration a live run lasts 10 s. With 3 cores or more, the
load generator gets a core of its own and the server the others (--cores N: N of
them), and --cores defaults to the server's count, since it really runs on them; with
2 the two share the cores, and the output says how much the generator used. Feed the simulation
the server's own per-request cost with --overhead MS (see `partyhost calibrate`).

Examples:
  partyhost live sync --workers 4 --rate 60 --io 50 --duration 10
  partyhost live async --rate 30 --blocking 20 --duration 10
  partyhost live threaded --workers 1 --threads 4 --rate 60 --io 50 --json
  partyhost live gunicorn --workers 4 --rate 60 --io 50
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from sim.live.real import REAL_SERVERS

    parser.add_argument("server", metavar="MODEL",
                        help=" | ".join([*MODELS, *REAL_SERVERS]))
    add_hit_flags(parser)
    add_scenario_flags(parser, model=False)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")


STALE_AFTER = 60.0  # s: a folder with no socket yet may be a run just starting
LIVE_FOLDERS = "partyhost-live-*"


def bound_unix_paths() -> set[str] | None:
    """Every path a Unix socket is bound to now, on this machine (None: cannot tell)."""
    try:
        text = Path("/proc/net/unix").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    paths = set()
    for line in text.splitlines()[1:]:
        fields = line.split(None, 7)
        if len(fields) == 8 and fields[7].startswith("/"):
            paths.add(fields[7])
    return paths


def remove_stale_live_folders(base: str | None = None) -> list[str]:
    """Remove the live parties' folders their owners left behind; the ones removed."""
    bound = bound_unix_paths()
    if bound is None:
        return []  # not Linux: leave everything alone rather than guess
    removed = []
    for folder in Path(base or tempfile.gettempdir()).glob(LIVE_FOLDERS):
        try:
            info = folder.lstat()
            if not folder.is_dir() or folder.is_symlink() or info.st_uid != os.getuid():
                continue
            sockets = [str(p) for p in folder.iterdir() if p.is_socket()]
            if sockets:
                if any(path in bound for path in sockets):
                    continue  # a live party's, still listening
            elif time.time() - info.st_mtime < STALE_AFTER:
                continue
            shutil.rmtree(folder)
            removed.append(str(folder))
        except OSError:
            continue
    return removed


def model_for(name: str) -> tuple[str, str | None]:
    """The scenario model and the real server's name (None: the minimal server)."""
    from sim.live.real import REAL_SERVERS, model_of

    name = name.strip().lower()
    if name in MODELS:
        return name, None
    if name in REAL_SERVERS:
        return model_of(name), name
    raise CliError(f"MODEL: unknown {name!r}: choose {', '.join([*MODELS, *REAL_SERVERS])}")


def run(args: argparse.Namespace) -> int:
    from sim.live import ServerError
    from sim.live.loadgen import LoadgenError
    from sim.live.real import RealServerError, RealServerMissing, missing
    from sim.side_by_side import live_party

    remove_stale_live_folders()
    model, real = model_for(args.server)
    if real is not None and (why := missing(real)):
        raise CliError(why)
    from sim.live.process import plan_placement

    placement = plan_placement(want=args.cores)
    # The simulation gets the cores the server really runs on, unless the learner said.
    cores = None if args.cores is not None else placement.server_cores
    scenario = hit_scenario(args, model=model, cores=cores)
    timeout = read_timeout(args)
    err = Console(stderr=True)
    display = LiveDisplay(err) if err.is_terminal and not args.json else None

    def started(command: str) -> None:
        if display is not None:
            err.print(f"server: {command}", markup=False, highlight=False)

    try:
        if display:
            with display:
                result = live_party(scenario, real=real, keep_alive=args.keep_alive,
                                    timeout=timeout, on_progress=display.update,
                                    on_start=started, placement=placement)
        else:
            result = live_party(scenario, real=real, keep_alive=args.keep_alive,
                                timeout=timeout, on_start=started, placement=placement)
    except (LoadgenError, RealServerMissing) as exc:
        raise CliError(str(exc)) from None
    except (ServerError, RealServerError) as exc:
        raise CliError(str(exc).splitlines()[0]) from None
    if args.json:
        from tui.commands.report import print_json

        print_json(result.to_dict())
        return 0
    console = Console()
    console.print(scenario.describe(), style="bold", markup=False)
    console.print(f"server: {result.command}", markup=False, highlight=False)
    console.print(placement_line(result), markup=False, highlight=False)
    console.print(live_table(result))
    split = served_by_host_line(result)
    if split:
        console.print(split, markup=False, highlight=False)
    console.print(hdr_table(result.measured.latency))
    note = None if result.server_view else (
        "utilisation [%] measured is the client's view: this server reports no trace of "
        "its own, so the share of time each worker (X-Worker) had a guest in hand stands in"
    )
    for line in generator_lines(result.measured, utilisation_note=note):
        console.print(line, markup=False, highlight=False)
    disturbed = result.machine.disturbed(scenario.cores) if result.machine else None
    if disturbed:
        console.print(f"note: {disturbed}", style="yellow", markup=False, highlight=False)
    return 0


def served_by_host_line(result) -> str | None:
    """"served by host: simulated 84% / 16%, measured 77% / 23%", for several processes."""
    from tui.commands.report import served_by_host

    simulated = served_by_host(result.simulated.to_dict())
    measured = served_by_host(result.measured.to_dict())
    if not (simulated or measured):
        return None
    return f"served by host: simulated {simulated or '-'}, measured {measured or '-'}"


def placement_line(result) -> str:
    """Where the server and the generator ran, and what the simulation was told."""
    placement = result.placement
    said = f"placement: {placement.describe()}"
    if result.generator_cpu is not None:
        said += f"; the load generator used {result.generator_cpu:.2f} of a core"
    cores = result.scenario.cores
    said += f"; simulated with {cores} core{'s' if cores != 1 else ''}"
    if placement.pinned and cores != placement.server_cores:
        said += f" (as --cores asked; the server had {placement.server_cores})"
    return said


def _cell(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "guests":
        return f"{value:,.0f}"
    return f"{value:,.1f}" if unit != "guests/s" else f"{value:,.2f}"


def live_table(result) -> Table:
    title = f"{result.server}: theory, simulation, measurement"
    table = Table(title=escape(title), title_justify="left")
    for name, justify in (("", "left"), ("theory", "right"), ("simulated", "right"),
                          ("measured", "right"), ("measured vs simulated", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in result.rows():
        diff = row.difference
        shown = "-" if diff is None else f"{diff:+.1f}%"
        style = "" if diff is None or abs(diff) <= 25 else "yellow"
        table.add_row(f"{row.name} [{row.unit}]", _cell(row.theory, row.unit),
                      _cell(row.simulated, row.unit), _cell(row.measured, row.unit),
                      f"[{style}]{shown}[/]" if style else shown)
    if result.theory is not None:
        table.caption = f"theory: {result.theory.formula}"
    return table

"""``partyhost compare``: the very same guests through several models, one table."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.measure import Measurement

from sim.scenario import GIL_KEYS, Scenario
from sim.servers import KNOBS, NAMES, server
from tui.commands import CliError
from tui.commands.report import (
    print_json,
    simulate_with_progress,
    stderr_console,
    summary_table,
    theory_lines,
)
from tui.commands.scenario_flags import DIST_HELP, add_scenario_flags, scenario_from_args

NAME = "compare"
HELP = "the same guests (same seed) through several models, side by side"
DESCRIPTION = """\
Send the very same guests (drawn from one seed) to several server models and print
their numbers side by side. A server knob is given to the models that have it and
left out for the others (the server table says which):
""" + "\n".join(f"  {knob.flag}: {', '.join(n for n in NAMES if server(n).has(key))}"
                for key, knob in KNOBS.items()) + "\n"
EPILOG = DIST_HELP + """
Examples:
  partyhost compare --models sync,threaded,async,hybrid --workers 4 --rate 60 --io 50
  partyhost compare --models sync,async --rate 30 --io 50 --blocking 20 --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models", default=",".join(NAMES), metavar="LIST",
        help=f"comma-separated models, each once (default: all of {', '.join(NAMES)})",
    )
    add_scenario_flags(parser, model=False)
    # Without this, argparse would read --model as an abbreviation of --models.
    parser.add_argument("--model", dest="single_model", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print a JSON list instead")


def models_from(text: str) -> list[str]:
    models = [m.strip().lower() for m in text.split(",") if m.strip()]
    for model in models:
        if model not in NAMES:
            raise CliError(f"--models: unknown model {model!r}: choose from {', '.join(NAMES)}")
        if models.count(model) > 1:
            raise CliError(f"--models: {model} is named twice; the same guests would meet "
                           "the same server")
    if not models:
        raise CliError("--models: give at least one model")
    return models


def scenarios_for(args: argparse.Namespace, models: list[str]) -> list[Scenario]:
    """One scenario per model, each keeping only the knobs that model has."""
    out = []
    for model in models:
        row = server(model)
        saved = {key: getattr(args, key) for key in KNOBS if not row.has(key)}
        if not row.structure.gil:  # --gil, --switch-interval: only where threads share one
            saved.update({key: getattr(args, key, None) for key in GIL_KEYS})
        for key in saved:
            setattr(args, key, None)
        try:
            out.append(scenario_from_args(args, model=model))
        finally:
            for key, value in saved.items():
                setattr(args, key, value)
    return out


def run(args: argparse.Namespace) -> int:
    if args.single_model is not None:
        raise CliError(f"--model: compare takes --models LIST (for example "
                       f"--models {args.single_model},async); --model is simulate's")
    scenarios = scenarios_for(args, models_from(args.models))
    if args.json:
        from sim.run import simulate

        print_json([simulate(s).to_dict() for s in scenarios])
        return 0
    console, progress = Console(), stderr_console()
    results = [(s.model, simulate_with_progress(s, progress, s.model)) for s in scenarios]
    guests = scenarios[0].describe_guests()
    console.print(f"The same guests, seed {scenarios[0].seed}: {guests}", markup=False)
    for s in scenarios:
        console.print(f"  {s.model}: {s.real_command}", markup=False, style="dim")
    for part in fitted_tables(console, results):
        console.print(part)
    for s, (_, summary) in zip(scenarios, results, strict=True):
        for line in theory_lines(s, summary):
            console.print(f"{s.model}: {line}", markup=False)
    return 0


def fitted_tables(console: Console, results: list) -> list:
    """The models side by side, in as many tables as it takes to fit the terminal.

    Eight models in one table at 80 columns cut every label and number ("as…",
    "2,49…"); so the columns are split into groups that fit whole, each table with the
    row names, and the legend is said once, under the last.
    """
    width = console.width
    groups: list[list] = []
    for result in results:
        if groups and _fits(console, groups[-1] + [result], width):
            groups[-1].append(result)
        else:
            groups.append([result])
    size = -(-len(results) // len(groups))  # as even as the same number of tables allows
    even = [results[i:i + size] for i in range(0, len(results), size)]
    if len(even) == len(groups) and all(_fits(console, group, width) for group in even):
        groups = even
    parts: list = []
    for number, group in enumerate(groups, 1):
        title = "compare" if len(groups) == 1 else f"compare ({number} of {len(groups)})"
        table, legend = summary_table(title, group).renderables
        parts.append(table)
    parts.append(legend)
    return parts


def _fits(console: Console, group: list, width: int) -> bool:
    table = summary_table("compare", group).renderables[0]
    wide = console.options.update_width(100_000)  # measured unbounded, not cut to fit
    return Measurement.get(console, wide, table).maximum <= width

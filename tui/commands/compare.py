"""``partyhost compare``: the very same guests through several models, one table."""

from __future__ import annotations

import argparse

from rich.console import Console

from sim.scenario import LOOP_MODELS, MODELS, Scenario
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
their numbers side by side. Knobs that a model does not have are left out for it:
async is one event loop (no --workers), only threaded has --threads, only
async and hybrid have --limit-concurrency.
"""
EPILOG = DIST_HELP + """
Examples:
  partyhost compare --models sync,threaded,async,hybrid --workers 4 --rate 60 --io 50
  partyhost compare --models sync,async --rate 30 --io 50 --blocking 20 --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models", default="sync,threaded,async,hybrid", metavar="LIST",
        help="comma-separated models (default: all four)",
    )
    add_scenario_flags(parser, model=False)
    parser.add_argument("--json", action="store_true", help="print a JSON list instead")


def models_from(text: str) -> list[str]:
    models = [m.strip().lower() for m in text.split(",") if m.strip()]
    for model in models:
        if model not in MODELS:
            raise CliError(f"--models: unknown model {model!r}: choose from {', '.join(MODELS)}")
    if not models:
        raise CliError("--models: give at least one model")
    return models


def scenarios_for(args: argparse.Namespace, models: list[str]) -> list[Scenario]:
    """One scenario per model, each keeping only the knobs that model has."""
    out = []
    for model in models:
        skip = {
            "workers": model == "async",
            "threads": model != "threaded",
            "limit_concurrency": model not in LOOP_MODELS,
        }
        saved = {key: getattr(args, key) for key, drop in skip.items() if drop}
        for key in saved:
            setattr(args, key, None)
        try:
            out.append(scenario_from_args(args, model=model))
        finally:
            for key, value in saved.items():
                setattr(args, key, value)
    return out


def run(args: argparse.Namespace) -> int:
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
    console.print(summary_table("compare", results))
    for s, (_, summary) in zip(scenarios, results, strict=True):
        for line in theory_lines(s, summary):
            console.print(f"{s.model}: {line}", markup=False)
    return 0

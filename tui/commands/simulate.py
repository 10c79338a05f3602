"""``partyhost simulate``: one party, simulated to the end, its numbers in a table."""

from __future__ import annotations

import argparse

from rich.console import Console

from tui.commands.report import (
    print_json,
    simulate_with_progress,
    stderr_console,
    summary_table,
    theory_lines,
)
from tui.commands.scenario_flags import DIST_HELP, add_scenario_flags, scenario_from_args

NAME = "simulate"
HELP = "simulate one party to the end and print its numbers"
DESCRIPTION = """\
Simulate one party (a server model under a workload) with SimPy and print what it
measured: throughput, latency and wait percentiles, utilisation, the line, and what
queueing theory predicts beside it where a closed form applies.
"""
EPILOG = DIST_HELP + """
Examples:
  partyhost simulate --model sync --workers 4 --rate 32 --io exp:100 --guests 200000 --seed 7
  partyhost simulate --model async --rate 100 --io 50 --blocking 20
  partyhost simulate --scenario party.toml --rate 50 --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scenario_flags(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")


def run(args: argparse.Namespace) -> int:
    scenario = scenario_from_args(args)
    if args.json:
        from sim.run import simulate

        print_json(simulate(scenario).to_dict())
        return 0
    console = Console()
    summary = simulate_with_progress(scenario, stderr_console())
    console.print(scenario.describe(), style="bold", markup=False)
    console.print(summary_table(f"{scenario.model}, seed {scenario.seed}",
                                [(scenario.model, summary)]))
    for line in theory_lines(scenario, summary):
        console.print(line, markup=False)
    return 0

"""The summary table of simulate, compare and hit: readable in an 80-column terminal."""

from __future__ import annotations

from rich.console import Console

from sim.run import simulate
from sim.scenario import build_scenario
from sim.servers import NAMES
from tui.commands.report import ROWS, summary_table


def test_compare_of_every_model_fits_80_columns_and_no_label_wraps() -> None:
    """Five models side by side, an overloaded one among them (five-digit latencies)."""
    base = {"rate": 50, "io": "exp:50", "guests": 2000, "seed": 1}
    results = [(model, simulate(build_scenario({**base, "model": model})))
               for model in NAMES[:5]]
    console = Console(width=80, record=True, color_system=None)
    console.print(summary_table("compare", results))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if "sync" in line)
    assert all(model in header.split() for model, _ in results)
    for label, *_ in ROWS:  # each row's party words whole on one line...
        assert any(line.lstrip().startswith(label.strip()) for line in lines), label
    caption = " ".join(" ".join(lines).split())
    for _, real, _ in ROWS:  # ...and each real term said once, under the table
        assert " ".join(real.split()) in caption

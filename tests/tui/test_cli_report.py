"""The summary table of simulate, compare and hit: readable in an 80-column terminal."""

from __future__ import annotations

from rich.console import Console

from sim.run import simulate
from sim.scenario import build_scenario
from sim.servers import NAMES
from tui.commands.report import ROWS, WHEN_ANY, summary_table


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
    shown = [row for row in ROWS if row[0] not in WHEN_ANY]  # nobody refused or retried here
    for label, *_ in shown:  # each row's party words whole on one line...
        assert any(line.lstrip().startswith(label.strip()) for line in lines), label
    caption = " ".join(" ".join(lines).split())
    for _, real, _ in shown:  # ...and each real term said once, under the table
        assert " ".join(real.split()) in caption
    assert "knocks lost" not in caption  # rows nobody needs are left out, legend too


def test_the_door_rows_appear_when_something_happened_at_the_door() -> None:
    scenario = build_scenario({"model": "sync", "workers": 1, "io": "1000", "cpu": "0",
                               "rate": 100, "guests": 50, "backlog": 0, "seed": 1})
    console = Console(width=100, record=True, color_system=None)
    console.print(summary_table("door", [("sync", simulate(scenario))]))
    text = console.export_text()
    assert "timed out" in text and "knocks lost" in text  # SYNs dropped, guests gave up
    assert "  refused" not in text  # nobody is refused without tcp_abort_on_overflow=1

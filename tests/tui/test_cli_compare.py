"""``partyhost compare`` at 80 columns: every label and number whole, nothing wrapped."""

from __future__ import annotations

import pytest

from sim.servers import NAMES
from tui.cli import main


def test_compare_of_every_model_fits_80_columns(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # rich reads the width from it off a terminal
    assert main(["compare", "--rate", "30", "--io", "50", "--guests", "60"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    tables = [line for line in lines if line.startswith("compare")]
    assert len(tables) >= 2  # eight models do not fit one table at 80 columns
    assert "…" not in out  # no label or number cut
    headers = " ".join(lines[i + 2] for i, line in enumerate(lines) if line.startswith("compare"))
    assert headers.split() == list(NAMES)  # each model once, its name whole, in order
    assert sum(line.startswith(" latency p99.9 ") for line in lines) == len(tables)
    assert sum(line.startswith("times in ms;") for line in lines) == 1  # the legend once

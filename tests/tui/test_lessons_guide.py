"""The authoring guide (lessons/README.md) documents every scenario key and every result.

A teacher writes scenarios from the guide alone, so a key the scenario reads but the
guide does not name is a key nobody can use on purpose; and a unit left out is how
``timeout = 500`` (seconds, meant as ms) gets written. These tests read the guide's two
tables and compare them with what the code accepts (``sim.scenario.KEYS``) and names
(``tui.lessonbook.values.METRICS``): a key added without its row fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

from sim.scenario import KEYS
from tui.lessonbook.values import METRICS

README = Path(__file__).resolve().parents[2] / "lessons" / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"### {title}")
    end = text.find("\n### ", start + 1)
    return text[start:end if end != -1 else None]


def _rows(section: str) -> dict[str, list[str]]:
    """The table's rows: first-column name -> the other cells."""
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`([a-z_]+)`", cells[0]) if len(cells) > 2 else None
        if match:
            rows[match.group(1)] = cells[1:]
    return rows


def test_every_scenario_key_has_a_row_with_its_unit() -> None:
    rows = _rows(_section("Scenario keys"))
    assert sorted(KEYS - set(rows)) == []  # every key the scenario reads is documented
    assert sorted(set(rows) - KEYS) == []  # and the guide names no key that is refused
    for key, (unit, what, _default) in rows.items():
        assert unit and what, key
    # the units a teacher gets wrong most: seconds where the real setting is in seconds
    assert rows["timeout"][0] == rows["connect_timeout"][0] == rows["db_timeout"][0] == "seconds"
    assert rows["boot"][0] == rows["overhead"][0] == "ms"
    assert "assumption" in rows["boot"][1]  # not a Gunicorn setting


def test_every_result_a_claim_may_name_is_in_the_guide() -> None:
    section = _section("The results a run gives")
    named = set(re.findall(r"`([A-Za-z_0-9]+)`", section))
    assert sorted(set(METRICS) - named) == []


def test_utilization_is_explained_for_hosts_and_for_loops() -> None:
    section = _section("What `utilization` means")
    for model in ("sync", "threaded", "threadpool", "async", "hybrid", "supervised", "gevent"):
        assert f"`{model}`" in section, model
    assert "kitchen waits included" in section

"""The lesson values lessons 15 and 18 lean on: per-worker shares and database 500s."""

from __future__ import annotations

from sim.run import simulate
from sim.scenario import build_scenario
from tui.lessonbook.values import METRICS, EventCounts, run_values


def _values(**scenario: object) -> dict[str, float]:
    built = build_scenario(scenario)
    counts = EventCounts()
    return run_values(built, simulate(built, counts), counts)


def test_busiest_and_idlest_share_bracket_an_even_split() -> None:
    """Four sync workers, each a line of its own (--reuse-port): the shares are each
    worker's part of the guests served, so the busiest is at least a quarter and the
    idlest at most one; a hashed line per worker is never exactly even (400 guests)."""
    values = _values(model="sync", workers=4, io="exp:20", rate=60, guests=400,
                     reuse_port=True)
    assert values["busiest_share"] > 0.25 > values["idlest_share"] > 0.0
    assert {"busiest_share", "idlest_share", "failed_db"} <= set(METRICS)


def test_one_worker_has_the_whole_share() -> None:
    values = _values(model="sync", workers=1, io=10, rate=20, guests=100)
    assert values["busiest_share"] == values["idlest_share"] == 1.0


def test_failed_db_counts_the_databases_500s_and_nothing_else() -> None:
    """Four pools of 10 against a database of 25 connections refuse some guests at
    once (lesson 15); a worker kill or a 503 would be counted elsewhere."""
    values = _values(model="threaded", workers=4, threads=8, cpu=2, db="exp:40", rate=450,
                     guests=800, db_pool=10, db_max=25)
    assert values["failed_db"] > 0
    assert values["failed_db"] == values["failed"]
    calm = _values(model="threaded", workers=4, threads=8, cpu=2, db="exp:40", rate=450,
                   guests=800, db_pool=6, db_max=25)
    assert calm["failed_db"] == 0

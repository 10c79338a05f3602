"""A live run's numbers: what the client cannot see is undefined, not a reassuring 0.

No server is started here: a simulated summary stands in for the load generator's
(they have the same shape, ``sim.metrics.Summary``), so the test is about which names a
live claim may use, in about a second.
"""

from __future__ import annotations

import math

import pytest

from sim.run import simulate
from sim.scenario import build_scenario
from tui.lessonbook.claims import ClaimError
from tui.lessonbook.format import parse_file
from tui.lessonbook.live import NOT_SEEN_LIVE, live_values
from tui.lessonbook.runner import LessonRunner


def test_a_503_is_seen_by_the_client_a_kill_is_not() -> None:
    scenario = build_scenario({"model": "async", "io": 200, "rate": 150, "guests": 600,
                               "limit_concurrency": 20})
    summary = simulate(scenario)
    values = live_values(scenario, summary)
    assert values["failed_503"] > 0  # the 503s came back as answers
    assert values["failed_503"] == summary.failed
    for name in (*NOT_SEEN_LIVE, "utilization"):  # a loop's busy time is not seen either
        assert math.isnan(values[name]), name
    assert values["throughput"] == pytest.approx(summary.throughput)


def test_a_host_that_stays_keeps_its_utilization_live() -> None:
    scenario = build_scenario({"model": "sync", "workers": 2, "io": 50, "rate": 20,
                               "guests": 300})
    values = live_values(scenario, simulate(scenario))
    assert 0.3 < values["utilization"] < 0.7  # 20/s x 50 ms over 2 hosts = 0.5
    assert math.isnan(values["killed"])


def test_a_live_claim_on_a_server_only_count_is_an_error(tmp_path) -> None:
    path = tmp_path / "01-live.md"
    path.write_text(
        "---\ntitle: t\nsummary: s\nminutes: 5\ncovers: c\n---\n\n## s\n\n"
        '```scenario real live\nmodel = "sync"\nio = 10\nrate = 5\nguests = 50\n```\n\n'
        "```claims\nreal.killed < 1\nreal.failed < 1\n```\n",
        encoding="utf-8",
    )
    lesson = parse_file(path)
    runner = LessonRunner(lesson, live=True,
                          live_runner=lambda sc: live_values(sc, simulate(sc)))
    lookup = runner.lookup(0)
    killed, failed = (line.claim for line in lesson.steps[0].claims)
    with pytest.raises(ClaimError, match="not defined"):
        killed.evaluate(lookup)
    assert failed.evaluate(lookup)[0]


def test_a_live_run_too_long_to_send_is_an_error_even_without_live(tmp_path) -> None:
    """CI never runs live, so the bound is checked on the scenario alone."""
    from tui.lessonbook.checker import check_lesson

    path = tmp_path / "01-long.md"
    path.write_text(
        "---\ntitle: t\nsummary: s\nminutes: 5\ncovers: c\n---\n\n## s\n\n"
        '```scenario fine live\nmodel = "sync"\nio = 10\nrate = 40\nguests = 400\n```\n\n'
        '```scenario slow live\nmodel = "sync"\nio = 10\nrate = 5\nguests = 400\n```\n\n'
        '```scenario many live\nmodel = "sync"\nusers = 2\nio = 10\nguests = 5000\n```\n\n'
        "```claims\nslow.failed < 1\n```\n",
        encoding="utf-8",
    )
    result = check_lesson(path)
    assert [e.split("01-long.md:")[1] for e in result.errors] == [  # at the block's line
        "17: a live run sends for at most 30 s, this one about 80 s: fewer guests, "
        "or a higher rate",
        "24: a live run sends at most 2,000 guests, got 5,000",
    ]
    assert result.skipped == 1  # the fine run; the claim on the slow one is not piled on

"""The lesson format and the claim language: what they accept, and how they refuse."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tui.lessonbook.claims import (
    ClaimError,
    evaluate,
    fill_text,
    parse_claim,
    parse_expr,
    render,
)
from tui.lessonbook.format import LessonError, parse_lesson

NUMBERS = {("a", "p99"): 300.0, ("b", "p99"): 100.0, ("a", "throughput"): 49.0,
           ("a", "workers"): 4.0, ("a", "service_ms"): 80.0, ("a", "utilization"): 0.91}


def lookup(run: str, metric: str) -> float:
    if (run, metric) not in NUMBERS:
        raise ClaimError(f"no {run}.{metric}")
    return NUMBERS[(run, metric)]


# --- the claim language -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, holds",
    [
        ("a.p99 > 2 * b.p99", True),
        ("p99(a) > 3 * p99(b)", False),  # 300 > 300 is false: strict
        ("p99(a) >= 3 * p99(b)", True),
        ("a.throughput within 5% of a.workers / (a.service_ms / 1000)", True),  # 49 vs 50
        ("a.throughput within 1% of a.workers / (a.service_ms / 1000)", False),
        ("a.throughput within 1 of 50", True),
        ("a.utilization > 90%", True),
        ("a.utilization between 0.5 and 0.9", False),
        ("min(a.p99, b.p99) < 2 * -(-b.p99)", True),
        ("a.latency_ms.p99 > b.latency_ms.p99", True),  # the --json names are aliases
    ],
)
def test_claims_evaluate_against_the_numbers(text: str, holds: bool) -> None:
    assert parse_claim(text).evaluate(lookup)[0] is holds


@pytest.mark.parametrize(
    "text, message",
    [
        ("a.p99 == b.p99", "too strict"),
        ("a.p99", "not a claim"),
        ("a.p98 > 1", "unknown result 'p98'"),
        ("a > 1", "alone is not a number"),
        ("a.p99 > __import__('os')", "cannot read"),
        ("a.p99 > __import__(a)", "unknown result '__import__'"),
        ("a.p99 > 1; rm", "cannot read"),
        ("a.p99 within five of b.p99", "needs a number"),
    ],
)
def test_bad_claims_say_why(text: str, message: str) -> None:
    with pytest.raises(ClaimError, match=message):
        parse_claim(text)


def test_a_false_claim_shows_the_numbers_that_decided() -> None:
    holds, shown = parse_claim("b.p99 > a.p99").evaluate(lookup)
    assert not holds
    assert "b.p99 = 100" in shown and "a.p99 = 300" in shown


@pytest.mark.parametrize("text", [
    "dozes.rate * (dozes.cpu_ms + dozes.blocking_ms) / 1000",
    "a.p99 - (b.p99 - c.p99)",
    "a.p99 / (b.p99 * c.p99)",
    "-(a.p99 + b.p99)",
    "2 * (a.cpu_ms + max(a.io_ms, 1000000) - 0.5)",
    "a.p99 - b.p99 - c.p99",
])
def test_expressions_are_shown_as_written_with_their_brackets(text: str) -> None:
    """What the player shows beside a claim's numbers reads back as the same expression."""
    assert render(parse_expr(text)) == text


def test_division_by_zero_is_an_error_not_a_crash() -> None:
    with pytest.raises(ClaimError, match="division by zero"):
        evaluate(parse_expr("a.p99 / (b.p99 - 100)"), lookup)


def test_placeholders_fill_with_formats_and_wait_for_the_run() -> None:
    text = "p99 {{ a.p99 }} ms, busy {{ a.utilization :.0% }}, {{a.throughput:.1f}}/s"
    assert fill_text(text, lookup) == "p99 300 ms, busy 91%, 49.0/s"
    assert fill_text(text, None) == "p99 … ms, busy …, …/s"
    assert math.isclose(evaluate(parse_expr("a.p99 / b.p99"), lookup), 3.0)


# --- the file format --------------------------------------------------------------------

GOOD = """\
---
title: T
summary: S
minutes: 5
covers: a, b
---

Intro text.

## First

```scenario one
model = "sync"
io = 50
```

```predict
Slow or fast?
- slow when one.p99 > 100
- fast when one.p99 <= 100
```

After {{ one.p99 }}.

## Second

```scenario two
like = "one"
model = "async"
```

```claims
two.p99 < one.p99
```
"""


def parse(text: str):
    return parse_lesson(text, Path("lessons/07-x.md"), "lessons/07-x.md")


def test_a_lesson_parses_into_steps_runs_questions_and_claims() -> None:
    lesson = parse(GOOD)
    assert (lesson.number, lesson.slug, lesson.covers) == (7, "x", ["a", "b"])
    first, second = lesson.steps
    assert first.before.startswith("Intro text.") and "After" in first.after
    assert [c.text for c in first.predict.choices] == ["slow", "fast"]
    assert second.runs[0].values == {"model": "async", "io": 50}  # like: inherited io
    assert second.runs[0].origins["io"] == "lessons/07-x.md:14"  # where it was written
    assert second.claims[0].line == 33


@pytest.mark.parametrize(
    "change, where, message",
    [
        (("minutes: 5", "minutes: ten"), 4, "minutes must be a whole number"),
        (("covers: a, b", "covers: a, b\ncolour: red"), 6, "unknown front matter key 'colour'"),
        (("---\ntitle: T", "title: T"), 1, "starts with front matter"),
        (("io = 50", "io = 5 0"), 14, "not valid TOML"),
        (('like = "one"', 'like = "zero"'), 28, "no earlier run has that name"),
        (("- fast when", "- fast if"), 20, "when CLAIM"),
        (("two.p99 < one.p99", "two.p99 ~ one.p99"), 33, "cannot read"),
        (("```claims", "```claim"), 32, "did you mean ```claims"),
    ],
)
def test_format_mistakes_name_file_and_line(change, where, message) -> None:
    with pytest.raises(LessonError, match=message) as caught:
        parse(GOOD.replace(*change))
    assert caught.value.where == f"lessons/07-x.md:{where}"


def test_a_lesson_run_takes_a_guest_mix_and_like_keeps_it() -> None:
    from sim.scenario import build_scenario

    text = GOOD.replace('model = "sync"\nio = 50', 'model = "sync"\n\n[[mix]]\nshare = 80\n'
                        'phases = "io:50"\n\n[[mix]]\nshare = 20\nphases = "cpu:5"')
    lesson = parse(text)
    first, second = lesson.steps[0].runs[0], lesson.steps[1].runs[0]
    assert build_scenario(first.values).mix == "80%=io:50;20%=cpu:5"
    assert build_scenario(second.values).mix == "80%=io:50;20%=cpu:5"  # like = "one"


# --- challenges ---------------------------------------------------------------------------

CHALLENGE = """---
title: T
summary: S
minutes: 5
covers: a
---

## Base

```scenario base
model = "threaded"
io = 50
rate = 100
```

## Tune

```challenge tuned
like = "base"
threads = 2
knobs = { workers = "1..4", threads = "1,2,4,8" }
goal = "tuned.p99 < base.p99 / 2"
cost = "tuned.workers * 10 + tuned.threads"
```

The answer: {{ tuned.workers }}.
"""


def test_a_challenge_block_parses_into_a_start_knobs_a_goal_and_a_cost() -> None:
    lesson = parse(CHALLENGE)
    challenge = lesson.steps[1].challenge
    assert challenge is not None and lesson.steps[1].predict is None
    assert challenge.name == "tuned" and challenge.runs == {"base"}
    # like = "base", then its own keys; a knob the party leaves unset starts at its first value
    assert challenge.start.values == {"model": "threaded", "io": 50, "rate": 100, "threads": 2,
                                      "workers": 1}
    assert challenge.start.origins["threads"] == "lessons/07-x.md:20"
    assert [(k.key, k.values) for k in challenge.knobs] == [("workers", (1, 2, 3, 4)),
                                                            ("threads", (1, 2, 4, 8))]
    assert challenge.points() == 16
    assert render(challenge.cost) == "tuned.workers * 10 + tuned.threads"
    assert lesson.steps[1].after == "The answer: {{ tuned.workers }}."  # shown once met
    threads = challenge.knobs[1]
    assert threads.read(" 4 ") == 4
    with pytest.raises(ValueError, match="threads: choose from 1,2,4,8"):
        threads.read("3")


@pytest.mark.parametrize(
    "change, where, message",
    [
        (('goal = "tuned.p99 < base.p99 / 2"\n', ""), 18, "a challenge needs 'goal'"),
        (('workers = "1..4"', 'model = "1..4"'), 21, "'model' is not a number a learner"),
        (('workers = "1..4"', 'workers = "4..1"'), 21, "must go up by a positive step"),
        (("threads = 2", "threads = 3"), 20, "starts at threads = 3, which the knob does not"),
        (("tuned.p99 < base.p99 / 2", "base.p99 < 300"), 22, "must be about the run 'tuned'"),
        (("tuned.workers * 10", "tuned.p99 * 10"), 23, "cost names only tuned's knobs"),
        (("```challenge tuned", "```challenge"), 18, "write ```challenge NAME"),
        (("## Tune\n", "## Tune\n\n```predict\nq?\nanswer: base.p99\ntolerance: 5%\n```\n"),
         24, "one predict or challenge block per step"),
    ],
)
def test_challenge_mistakes_name_file_and_line(change, where, message) -> None:
    with pytest.raises(LessonError, match=message) as caught:
        parse(CHALLENGE.replace(*change))
    assert caught.value.where == f"lessons/07-x.md:{where}"

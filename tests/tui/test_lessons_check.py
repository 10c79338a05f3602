"""`partyhost lessons check`: every shipped lesson holds; broken ones are named by file:line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tui.cli import main
from tui.lessonbook.checker import check_lesson
from tui.lessonbook.library import lesson_files, lessons_dir

BROKEN = Path(__file__).resolve().parents[1] / "lessons"
README = Path(__file__).resolve().parents[2] / "lessons" / "README.md"


def test_the_lessons_are_found_in_the_checkout() -> None:
    files = lesson_files()
    assert lessons_dir().name == "lessons"
    assert len(files) >= 13, files
    numbers = [int(p.name.split("-")[0]) for p in files]
    assert numbers == list(range(1, len(files) + 1))  # 01, 02, ... no gap, no twice


def test_every_shipped_lesson_and_the_demo_pass_the_check(capsys) -> None:
    """What CI relies on: all lessons parse, every scenario runs, every claim holds."""
    demo = str(lessons_dir() / "demo.md")
    code = main(["lessons", "check", *map(str, lesson_files()), demo])
    out, err = capsys.readouterr()
    assert err == "", err
    assert code == 0, out
    assert re.search(r"\b0 problems\b", out)
    assert "live checks skipped" in out  # lesson 12's live steps, not run without --live


@pytest.mark.parametrize(
    "fixture, line, message",
    [
        ("bad-front-matter.md", 4, "minutes must be a whole number from 1 to 60, got 'ten'"),
        ("unknown-key.md", 12, "unknown scenario key 'workerz'"),
        ("false-claim.md", 27, "claim does not hold: four.p99 > one.p99"),
        ("two-right-choices.md", 17, "2 choices are right, exactly one must be"),
    ],
)
def test_a_broken_lesson_gets_file_line_and_exit_2(capsys, monkeypatch, fixture, line,
                                                   message) -> None:
    monkeypatch.chdir(BROKEN.parents[1])  # files are named relative to where you stand
    code = main(["lessons", "check", str(BROKEN / fixture)])
    _, err = capsys.readouterr()
    assert code == 2
    first = err.splitlines()[0]
    assert first.startswith(f"tests/lessons/{fixture}:{line}: "), first
    assert message in first
    assert "Traceback" not in err


def test_a_missing_file_is_one_line_exit_2(capsys) -> None:
    assert main(["lessons", "check", "no/such-lesson.md"]) == 2
    assert capsys.readouterr().err.strip() == (
        "partyhost: error: no/such-lesson.md: no such lesson file"
    )


def test_the_authoring_guides_example_is_a_lesson_that_holds(tmp_path) -> None:
    text = README.read_text(encoding="utf-8")
    example = text.split("<!-- example-start -->")[1].split("<!-- example-end -->")[0]
    body = example.strip().removeprefix("````markdown").removesuffix("````").strip() + "\n"
    path = tmp_path / "14-example.md"
    path.write_text(body, encoding="utf-8")
    result = check_lesson(path)
    assert result.errors == []
    assert (result.runs, result.claims) == (2, 5)  # 3 claims and 2 questions


def test_a_scenario_error_names_the_lessons_line(tmp_path) -> None:
    path = tmp_path / "01-x.md"
    path.write_text(
        "---\ntitle: t\nsummary: s\nminutes: 5\ncovers: c\n---\n\n## s\n\n"
        '```scenario a\nmodel = "async"\nworkers = 4\n```\n',
        encoding="utf-8",
    )
    result = check_lesson(path)
    assert len(result.errors) == 1
    assert result.errors[0].endswith(
        "01-x.md:12: async is one event loop in one process (uvicorn app:app); "
        "for several, use --model hybrid"
    )


def test_reseed_runs_other_luck_and_the_claims_still_hold(capsys) -> None:
    """Lesson 11's claims are about overload, not about one seed's luck."""
    lesson = next(p for p in lesson_files() if p.name.startswith("11-"))
    result = check_lesson(lesson, reseed=10)
    assert result.errors == [] and result.runs == 4  # fifo, lifo, shed, shed_fast
    assert main(["lessons", "check", "--reseed", "20", "-q", str(lesson)]) == 0
    assert capsys.readouterr() == ("", "")


def _challenge_lesson(tmp_path: Path, knobs: str, goal: str, cost: str = "c.workers") -> Path:
    path = tmp_path / "01-c.md"
    path.write_text(
        "---\ntitle: t\nsummary: s\nminutes: 5\ncovers: c\n---\n\n## s\n\n"
        '```challenge c\nmodel = "sync"\nio = "exp:10"\nrate = 90\nguests = 400\n'
        f'knobs = {{ {knobs} }}\ngoal = "{goal}"\ncost = "{cost}"\n```\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    "knobs, goal, cost, message",
    [  # nine hosts more or fewer cannot make the p99 of 10 ms guests 1 ms
        ('workers = "1..3"', "c.p99 < 1", "c.workers",
         "01-c.md:10: challenge 'c' cannot be met: none of its 3 settings makes c.p99 < 1 hold"),
        # one host meets a lax goal at once: the start gives the answer away
        ('workers = "1..3"', "c.p99 < 100000", "c.workers",
         "01-c.md:10: challenge 'c': the starting setting ({'workers': 1}) already meets"),
        # the cost must be known before a run: a measured number is refused at parse time
        ('workers = "1..3"', "c.p99 < 80", "c.p99",
         "01-c.md:17: cost names only c's knobs, known before a run"),
        ('workers = "1..20", backlog = "1..20"', "c.p99 < 80", "c.workers",
         "01-c.md:15: knobs: 400 settings to search; at most 256"),
    ],
)
def test_a_challenge_must_be_solvable_and_not_solved_at_the_start(tmp_path, knobs, goal, cost,
                                                                   message) -> None:
    result = check_lesson(_challenge_lesson(tmp_path, knobs, goal, cost))
    assert len(result.errors) == 1 and message in result.errors[0], result.errors


def test_the_authoring_guides_challenge_example_holds(tmp_path) -> None:
    text = README.read_text(encoding="utf-8")
    example = text.split("<!-- challenge-example-start -->")[1]
    example = example.split("<!-- challenge-example-end -->")[0]
    body = example.strip().removeprefix("````markdown").removesuffix("````").strip() + "\n"
    path = tmp_path / "15-challenge.md"
    path.write_text(body, encoding="utf-8")
    result = check_lesson(path)
    assert result.errors == []
    assert result.claims == 2  # the challenge (solved, best meets it, start not best), a claim
    assert result.lesson is not None and result.lesson.steps[0].challenge is not None

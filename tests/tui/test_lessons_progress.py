"""Progress: a JSON file in the state directory, written whole, shown in the lesson list."""

from __future__ import annotations

import json

import pytest

from tui.cli import main
from tui.lessonbook.progress import ENV, Progress


def test_progress_lives_where_the_environment_says(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(ENV, str(tmp_path / "state"))
    progress = Progress()
    progress.at_step("05-x", 2, 6)
    progress.predicted("05-x", 1, "the sync hosts", True)
    data = json.loads((tmp_path / "state" / "progress.json").read_text())
    assert data["lessons"]["05-x"]["step"] == 2
    assert Progress().status("05-x") == "step 3/6 (1/1 predicted right)"
    assert Progress().status("06-y") == "new"
    Progress().at_step("05-x", 5, 6)
    assert Progress().status("05-x") == "done (1/1 predicted right)"
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["progress.json"]  # no temp left


def test_a_corrupt_progress_file_is_treated_as_empty(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(ENV, str(tmp_path))
    (tmp_path / "progress.json").write_text("{not json")
    assert Progress().status("01-x") == "new"
    Progress().at_step("01-x", 0, 3)  # and writing repairs it
    assert json.loads((tmp_path / "progress.json").read_text())["lessons"]["01-x"]["step"] == 0


def test_the_lesson_list_shows_every_lesson_with_progress(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv(ENV, str(tmp_path))
    monkeypatch.setenv("COLUMNS", "120")
    Progress().at_step("01-meet-the-hosts", 1, 4)
    assert main(["lessons"]) == 0
    out = capsys.readouterr().out
    assert "Meet the hosts" in out and "step 2/4" in out
    assert "What the blog post got right and wrong" in out
    assert out.count("new") >= 12  # every other lesson


GARBAGE = [
    "[]",
    '{"lessons": []}',
    '{"lessons": {"01-meet-the-hosts": 5}}',
    '{"lessons": {"01-meet-the-hosts": {"step": "two", "steps": 4}}}',
    '{"lessons": {"01-meet-the-hosts": {"step": 1, "predictions": []}}}',
    '{"lessons": {"01-meet-the-hosts": {"predictions": {"1": "yes"}}}}',
    "{not json",
    b"\xff\xfe\x00garbage",
]


def lines(text: str) -> list[str]:
    assert "Traceback" not in text
    return text.splitlines()


@pytest.fixture
def no_app(monkeypatch):
    """``partyhost lesson N`` up to the app, which is not started: the screens it got."""
    from tui.commands import lesson

    opened = []

    def run_app_with(make_screen, **_):
        opened.append(make_screen)
        return 0

    monkeypatch.setattr(lesson, "run_app_with", run_app_with)
    return opened


@pytest.mark.parametrize("garbage", GARBAGE)
def test_a_progress_file_of_the_wrong_shape_is_set_aside_with_one_warning(
        tmp_path, monkeypatch, capsys, no_app, garbage) -> None:
    monkeypatch.setenv(ENV, str(tmp_path))
    monkeypatch.setenv("COLUMNS", "120")
    path = tmp_path / "progress.json"
    path.write_bytes(garbage if isinstance(garbage, bytes) else garbage.encode())
    assert main(["lessons"]) == 0
    out, err = capsys.readouterr()
    assert "Meet the hosts" in out and "new" in out
    assert lines(err) == [lines(err)[0]]
    assert err.startswith(f"partyhost: warning: progress file {path}: ")
    assert "starting afresh" in err
    assert main(["lesson", "2"]) == 0
    assert len(lines(capsys.readouterr().err)) == 1 and len(no_app) == 1
    progress = Progress()
    progress.at_step("01-meet-the-hosts", 1, 4)  # and the next save replaces it
    assert Progress().problem is None
    assert Progress().status("01-meet-the-hosts") == "step 2/4"


def test_a_directory_in_place_of_the_progress_file(tmp_path, monkeypatch, capsys,
                                                     no_app) -> None:
    monkeypatch.setenv(ENV, str(tmp_path))
    (tmp_path / "progress.json").mkdir()
    assert main(["lessons"]) == 0  # a list needs no saving: a warning
    err = capsys.readouterr().err
    assert lines(err) == [f"partyhost: warning: progress file {tmp_path / 'progress.json'}: "
                          "a directory; progress not read"]
    assert main(["lesson", "2"]) == 2  # a lesson would lose its progress: refused
    err = capsys.readouterr().err
    assert len(lines(err)) == 1 and err.startswith("partyhost: error: cannot save progress")
    assert ENV in err and not no_app


def test_a_state_directory_that_cannot_be_written(tmp_path, monkeypatch, capsys,
                                                    no_app) -> None:
    (tmp_path / "a-file").write_text("")
    state = tmp_path / "a-file" / "state"  # cannot be made, even by root
    monkeypatch.setenv(ENV, str(state))
    assert main(["lessons"]) == 0
    assert len(lines(capsys.readouterr().err)) == 1
    assert main(["lesson", "2"]) == 2
    err = capsys.readouterr().err
    assert lines(err) == [f"partyhost: error: cannot save progress in {state}: Not a directory "
                          f"(set {ENV} to a folder you can write)"]
    assert not no_app
    progress = Progress()  # and in the app, a failed save is kept, never raised
    progress.at_step("01-x", 0, 3)
    assert progress.problem and "cannot save progress" in progress.problem

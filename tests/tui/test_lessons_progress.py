"""Progress: a JSON file in the state directory, written whole, shown in the lesson list."""

from __future__ import annotations

import json

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
    assert "What the blog post got wrong" in out
    assert out.count("new") >= 12  # every other lesson

"""The app's tests never read or write the learner's own progress file.

The welcome screen reads the progress (to offer "Continue lesson N"), so every test
that opens the app would otherwise depend on, and write to, the user's state directory.
"""

from __future__ import annotations

import pytest

from tui.lessonbook.progress import ENV


@pytest.fixture(autouse=True)
def _own_progress_file(tmp_path_factory, monkeypatch):
    monkeypatch.setenv(ENV, str(tmp_path_factory.mktemp("state")))

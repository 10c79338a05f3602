"""Where the lessons are, at run time, installed or from a checkout.

Theory of operation. The wheel carries the repository's ``lessons/`` folder inside the
``tui`` package as ``tui/lessons`` (pyproject's force-include), so an installed
partyhost finds them with ``importlib.resources``. An editable install (or running
from a checkout) has no such folder inside ``tui``; there the lessons sit in
``lessons/`` beside the ``tui`` package. ``PARTYHOST_LESSONS_DIR`` overrides both (for
tests and for teachers trying out their own lessons).

Lessons are the files named ``NN-slug.md``, in number order; ``demo.md`` is the
classroom demo's script, and ``README.md`` is the authoring guide, not a lesson.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

LESSON_NAME = re.compile(r"^\d+-[\w-]+\.md$")
ENV = "PARTYHOST_LESSONS_DIR"


def lessons_dir() -> Path:
    override = os.environ.get(ENV)
    if override:
        return Path(override)
    try:
        bundled = Path(str(resources.files("tui") / "lessons"))
        if bundled.is_dir():
            return bundled
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parents[2] / "lessons"


def lesson_files(folder: Path | None = None) -> list[Path]:
    folder = folder or lessons_dir()
    if not folder.is_dir():
        return []
    return sorted(
        (p for p in folder.iterdir() if LESSON_NAME.match(p.name)),
        key=lambda p: (int(p.name.split("-", 1)[0]), p.name),
    )


def lesson_file(number: int, folder: Path | None = None) -> Path | None:
    for path in lesson_files(folder):
        if int(path.name.split("-", 1)[0]) == number:
            return path
    return None


def demo_file(folder: Path | None = None) -> Path:
    return (folder or lessons_dir()) / "demo.md"

"""The learner's progress: which step of which lesson, and how their predictions went.

Theory of operation. One small JSON file per user, ``progress.json`` in the user's
state directory (``platformdirs.user_state_dir("partyhost")``; the
``PARTYHOST_STATE_DIR`` environment variable points it elsewhere, as the tests do).
It is read whole and written whole, through a temporary file and ``os.replace``, so
a crash never leaves half a file. A file that cannot be read, or is not of the shape
below (not JSON, a list, a step that is not a number, a directory in its place), is
treated as empty rather than stopping the app (progress is a convenience, not data to
guard), but never silently: ``problem`` says why, and the commands print it as one
warning line. ``check_writable`` lets a command refuse up front, in one line, a state
directory it could not save to; once the app runs, a failed save is remembered in
``problem`` and the app goes on.

Shape: ``{"lessons": {"05-kitchen": {"step": 2, "steps": 6, "done": false,
"predictions": {"1": {"guess": "...", "right": true}}}}, "last": "05-kitchen"}``; steps
count from 0; ``last`` is the lesson opened most recently (the welcome continues it).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

ENV = "PARTYHOST_STATE_DIR"
FILE = "progress.json"


def state_dir() -> Path:
    override = os.environ.get(ENV)
    if override:
        return Path(override)
    from platformdirs import user_state_dir

    return Path(user_state_dir("partyhost", appauthor=False))


MAX_BYTES = 1_000_000  # a progress file is a few kB; more is not ours


class ProgressError(Exception):
    """The progress file cannot be saved: one line, for the command to print."""


def _valid_entry(entry: object) -> bool:
    if not isinstance(entry, dict):
        return False
    for key, kind in (("step", int), ("steps", int), ("done", bool), ("predictions", dict)):
        value = entry.get(key, kind())
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return False
    return all(isinstance(p, dict) for p in entry.get("predictions", {}).values())


def _shape_problem(loaded: object) -> str | None:
    if not isinstance(loaded, dict) or not isinstance(loaded.get("lessons"), dict):
        return 'not of the shape {"lessons": {...}}'
    for key, entry in loaded["lessons"].items():
        if not _valid_entry(entry):
            return f'lesson {key!r} is not of the shape {{"step": N, "steps": N, ...}}'
    return None


class Progress:
    """The progress file, loaded; ``save()`` writes it back.

    ``problem`` is None, or one line: why the file was set aside (read as empty) or
    why the last save failed.
    """

    def __init__(self, path: Path | None = None):
        self.path = path or state_dir() / FILE
        self.data: dict[str, Any] = {"lessons": {}}
        self.problem: str | None = None
        try:
            if self.path.is_file() and self.path.stat().st_size > MAX_BYTES:
                raise OSError(0, f"over {MAX_BYTES:,} bytes")
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except IsADirectoryError:
            self.problem = f"progress file {self.path}: a directory; progress not read"
            return
        except OSError as exc:
            self.problem = f"progress file {self.path}: {exc.strerror}; progress not read"
            return
        except ValueError as exc:  # not JSON, not UTF-8, too big
            why = "not JSON" if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
            self.problem = f"progress file {self.path}: {why}; starting afresh"
            return
        why = _shape_problem(loaded)
        if why is None:
            self.data = loaded
        else:
            self.problem = f"progress file {self.path}: {why}; starting afresh"

    def check_writable(self) -> None:
        """Raise ``ProgressError`` (one line) unless ``save`` could write the file."""
        hint = f" (set {ENV} to a folder you can write)"
        if self.path.is_dir():
            raise ProgressError(f"cannot save progress: {self.path} is a directory{hint}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".progress-")
            os.close(fd)
            os.unlink(tmp)
        except OSError as exc:
            raise ProgressError(
                f"cannot save progress in {self.path.parent}: {exc.strerror}{hint}"
            ) from None

    def lesson(self, key: str) -> dict[str, Any]:
        return self.data["lessons"].setdefault(
            key, {"step": 0, "steps": 0, "done": False, "predictions": {}}
        )

    def at_step(self, key: str, step: int, steps: int) -> None:
        entry = self.lesson(key)
        entry["step"], entry["steps"] = step, steps
        self.data["last"] = key
        if step >= steps - 1:
            entry["done"] = True
        self.save()

    @property
    def last(self) -> str | None:
        """The key of the lesson opened most recently, if any."""
        last = self.data.get("last")
        return last if isinstance(last, str) and last in self.data["lessons"] else None

    def predicted(self, key: str, step: int, guess: str, right: bool) -> None:
        self.lesson(key)["predictions"][str(step)] = {"guess": guess, "right": right}
        self.save()

    def status(self, key: str) -> str:
        """One word or so for the lesson list: new, step 3/6, done (4/5 right)."""
        entry = self.data["lessons"].get(key)
        if not entry:
            return "new"
        guesses = entry.get("predictions", {})
        right = sum(1 for g in guesses.values() if g.get("right"))
        score = f" ({right}/{len(guesses)} predicted right)" if guesses else ""
        if entry.get("done"):
            return "done" + score
        return f"step {entry.get('step', 0) + 1}/{entry.get('steps', 0) or '?'}" + score

    def save(self) -> None:
        """Write the file whole; a failure is kept in ``problem``, never raised."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".progress-",
                                       suffix=".json")
        except OSError as exc:
            self.problem = f"cannot save progress in {self.path.parent}: {exc.strerror}"
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(self.data, out, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            self.problem = f"cannot save progress to {self.path}: {exc.strerror}"
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

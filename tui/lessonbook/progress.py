"""The learner's progress: which step of which lesson, and how their predictions went.

Theory of operation. One small JSON file per user, ``progress.json`` in the user's
state directory (``platformdirs.user_state_dir("partyhost")``; the
``PARTYHOST_STATE_DIR`` environment variable points it elsewhere, as the tests do).
It is read whole and written whole, through a temporary file and ``os.replace``, so
a crash never leaves half a file; a file that cannot be read is treated as empty
rather than stopping the app (progress is a convenience, not data to guard).

Shape: ``{"lessons": {"05-kitchen": {"step": 2, "steps": 6, "done": false,
"predictions": {"1": {"guess": "...", "right": true}}}}}``; steps count from 0.
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


class Progress:
    """The progress file, loaded; ``save()`` writes it back."""

    def __init__(self, path: Path | None = None):
        self.path = path or state_dir() / FILE
        self.data: dict[str, Any] = {"lessons": {}}
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict) and isinstance(loaded.get("lessons"), dict):
                self.data = loaded
        except (OSError, ValueError):
            pass

    def lesson(self, key: str) -> dict[str, Any]:
        return self.data["lessons"].setdefault(
            key, {"step": 0, "steps": 0, "done": False, "predictions": {}}
        )

    def at_step(self, key: str, step: int, steps: int) -> None:
        entry = self.lesson(key)
        entry["step"], entry["steps"] = step, steps
        if step >= steps - 1:
            entry["done"] = True
        self.save()

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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".progress-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(self.data, out, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

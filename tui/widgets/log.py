"""The narrated log: what just happened, in party words with the real term beside it.

A frame at high speed can hold hundreds of events; nobody reads those, so each batch
writes at most ``PER_FRAME`` sentences and counts the rest. While the party runs that
fast (sentences are being skipped anyway), the log also writes at most ``BUSY_WRITES``
times a second: each write scrolls and re-lays the log out, which cost the app about a
fifth of a core at 1,000 guests in flight. A slow party is told at once, every frame.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import RichLog

from tui.narrate import Narration

PER_FRAME = 5  # sentences per frame: 100 a second at 20 fps is already past reading
BUSY_WRITES = 4.0  # writes per wall second while sentences are being skipped


def narration_text(t: float, narration: Narration) -> Text:
    return Text.assemble((f"{t:9.3f}s ", "dim"), (narration.party, ""), "  ",
                         (f"({narration.real})", "dim italic"))


class NarratedLog(RichLog):
    """A scrolling story of the party; hidden and shown with a key."""

    DEFAULT_CSS = """
    NarratedLog { height: 8; border-top: solid $primary; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(max_lines=400, wrap=False, markup=False, auto_scroll=True, **kwargs)
        self._pending: list[tuple[float, Narration]] = []
        self._skipped = 0
        self._written = 0.0

    def tell(self, lines: list[tuple[float, Narration]], skipped: int = 0,
             busy_ok: bool = False) -> None:
        """Write the sentences; ``busy_ok``: a running frame may hold them back a little.

        A step, a skip or anything the learner asked for is written at once.
        """
        self._pending.extend(lines)
        self._skipped += skipped
        extra = len(self._pending) - PER_FRAME
        if extra > 0:  # keep the newest sentences; count the older ones
            self._skipped += extra
            del self._pending[:extra]
        now = time.monotonic()
        if busy_ok and self._skipped and now - self._written < 1 / BUSY_WRITES:
            return
        self._written = now
        if self._skipped:
            self.write(Text(f"           ... {self._skipped} more events", style="dim"))
        for t, narration in self._pending:
            self.write(narration_text(t, narration))
        self._pending.clear()
        self._skipped = 0

    def clear(self) -> NarratedLog:
        self._pending.clear()
        self._skipped = 0
        return super().clear()

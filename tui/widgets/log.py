"""The narrated log: what just happened, in party words with the real term beside it.

A frame at high speed can hold hundreds of events; nobody reads those, so each batch
writes at most ``PER_FRAME`` sentences and counts the rest. While the party runs that
fast (sentences are being skipped anyway), the log also writes at most ``BUSY_WRITES``
times a second: each write scrolls and re-lays the log out, which cost the app about a
fifth of a core at 1,000 guests in flight. A slow party is told at once, every frame.

A write also grows the log's scrollable size, which in Textual re-lays the whole screen
out (``Widget.virtual_size`` asks for a layout): 10-40 ms a time on a crowded party,
although the log's own box never moves. Here a layout is asked for only when a
scrollbar appears or goes; otherwise the scrollbars are told the new size directly.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.geometry import Size
from textual.reactive import Reactive
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

    # as Widget's, but a new size asks for no layout of the screen (see the docstring)
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, old: Size, new: Size) -> None:
        width, height = self.container_size
        vertical = self.styles.overflow_y == "auto" and (old.height > height) != (
            new.height > height)
        horizontal = self.styles.overflow_x == "auto" and (old.width > width) != (
            new.width > width)
        if vertical or horizontal or not self.is_mounted:
            self.refresh(layout=True)  # a scrollbar comes or goes: the box changes
        else:
            self._scroll_update(new)  # what a layout would do for this widget
            self.refresh()

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

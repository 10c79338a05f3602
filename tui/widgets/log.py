"""The narrated log: what just happened, in party words with the real term beside it.

A frame at high speed can hold hundreds of events; nobody reads those, so each batch
writes at most ``PER_FRAME`` sentences and counts the rest.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from tui.narrate import Narration

PER_FRAME = 5  # sentences per frame: 100 a second at 20 fps is already past reading


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

    def tell(self, lines: list[tuple[float, Narration]], skipped: int = 0) -> None:
        if skipped:
            self.write(Text(f"           ... {skipped} more events", style="dim"))
        for t, narration in lines:
            self.write(narration_text(t, narration))

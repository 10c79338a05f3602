"""The party for a projector: hosts scaled to the screen, a few numbers in large digits.

A terminal cannot print bigger letters, so a projector's party is made bigger by
space: ``BigHosts`` lays the hosts out as a near-square grid of cards that fill the
pane (4 hosts: 2 x 2 cards of about 60 x 20 cells at 200 x 60, not a strip of
28 x 5 cards in a corner), the words centred in each card with a heavy border. When
even the smallest big card does not fit (64 hosts), it draws as ``HostsView`` does.
``BigNumbers`` shows two or three figures of the party in Textual's ``Digits`` (three
rows of box-drawing characters per digit), readable from the back of a room.

``FreezablePane`` is the lesson player's ``PartyPane`` with a freeze: while frozen,
its tick moves no party time (the wall clock is reset, so nothing jumps on thaw),
so the demo's space stops the party as well as the scene's clock.
"""

from __future__ import annotations

import math
import time

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits, Static

from tui.screens.lesson_player import PartyPane
from tui.state import PartyState
from tui.widgets.door import DoorLine
from tui.widgets.hosts import HostsView, rooms_line

MIN_WIDTH = 30  # columns: a narrower big card is no better than a small one
NUMBERS_EVERY = 0.5  # s between updates of the big digits (they must not flicker)


def grid_shape(count: int, width: int, height: int, min_height: int = 7
               ) -> tuple[int, int]:
    """(columns, rows) for ``count`` cards filling width x height, cards near-square to
    the eye (a cell is about twice as tall as wide), few empty places; (0, 0) when
    they cannot be at least ``MIN_WIDTH`` x ``min_height``."""
    best: tuple[float, int, int] = (math.inf, 0, 0)
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        w, h = width // cols, height // rows
        if w < MIN_WIDTH or h < min_height:
            continue
        waste = cols * rows - count
        score = abs(math.log(w / (2.2 * h))) + 2.0 * waste / count  # empty places show
        if score < best[0]:
            best = (score, cols, rows)
    return best[1], best[2]


class BigHosts(HostsView):
    """``HostsView``, with ``big`` on: the cards fill the widget."""

    def __init__(self, state: PartyState, **kwargs) -> None:
        super().__init__(state, **kwargs)
        self.big = False

    def render(self) -> RenderableType:
        s = self.state
        if not self.big or not s.started:
            return super().render()
        width, height = max(self.size.width, 10), max(self.size.height, 2)
        cards = self._loop_cards(width) if s.is_loop else self._host_cards()
        need = max(len(lines) for _, lines, _ in cards) + 4  # a blank line above and below
        cols, rows = grid_shape(len(cards), width, height - 1, need)
        if not cols:
            return super().render()
        card_h = (height - 1) // rows
        grid = Table.grid(expand=True)
        for _ in range(cols):
            grid.add_column(ratio=1)
        row: list[RenderableType] = []
        bar_w = max(4, width // cols - 8)
        for title, lines, border in cards:
            if title.startswith("host ") and len(lines) == 3:  # a sync host: a band of
                # the colour of what it does, visible from the back of the room
                band = Text("─" * bar_w, style="dim") if lines[0].plain == "·" else \
                    Text("█" * bar_w, style=lines[1].style)
                lines = [*lines, Text(""), band]
            pad = max(0, (card_h - 2 - len(lines)) // 2)
            body = Text("\n" * pad) + Text("\n").join(lines)
            body.no_wrap, body.overflow = True, "ellipsis"
            row.append(Panel(body, title=Text(title, style="bold"), title_align="left",
                             border_style=border, box=box.HEAVY, height=card_h,
                             padding=(0, 2)))
            if len(row) == cols:
                grid.add_row(*row)
                row = []
        if row:
            grid.add_row(*row, *[""] * (cols - len(row)))
        return Group(rooms_line(s), grid)


class FreezablePane(PartyPane):
    """The lesson player's party pane, with big hosts on demand and a freeze."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.frozen = False

    def compose(self) -> ComposeResult:
        yield Static("no party in this step", id="pane-title")
        yield DoorLine(PartyState())
        yield BigHosts(PartyState())

    def tick(self) -> None:
        if self.frozen:  # no party time passes; none piles up for the thaw either
            self._wall = time.monotonic()
            return
        super().tick()


class BigNumbers(Horizontal):
    """Served per second, p99 and the line now, in large digits, from a party's state."""

    DEFAULT_CSS = """
    BigNumbers { height: auto; display: none; }
    BigNumbers > Vertical { width: 1fr; height: auto; padding: 0 2; }
    BigNumbers .big-label { color: $text-muted; text-style: bold; }
    BigNumbers Digits { color: $accent; }
    """

    FIGURES = (("served", "served / s"), ("p99", "p99 time inside, ms"),
               ("line", "in line now"))

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown = 0.0
        self.values: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        for key, label in self.FIGURES:
            with Vertical():
                yield Static(label, classes="big-label")
                yield Digits("-", id=f"big-{key}")

    def show(self, state: PartyState | None, force: bool = False) -> None:
        now = time.monotonic()
        if state is None or (not force and now - self._shown < NUMBERS_EVERY):
            return
        self._shown = now
        numbers = state.numbers()
        values = {"served": f"{numbers.throughput:.1f}", "p99": f"{numbers.latency_p99:.0f}",
                  "line": str(len(state.line))}
        for key, value in values.items():
            if self.values.get(key) != value:
                self.query_one(f"#big-{key}", Digits).update(value)
        self.values = values

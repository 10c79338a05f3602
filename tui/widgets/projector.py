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
so the demo's space stops the party as well as the scene's clock. It also counts its
frames and may run at a set ``speed`` (``benchmarks/bench_projector.py`` watches a
crowd of 1,000 at x1), with the party screen's frame budget so a crowd slows the
party rather than the frames.
"""

from __future__ import annotations

import math
import time

from rich.console import Console, RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Digits, Static

from sim.trace import IO
from tui.clock import FRAME_BUDGET
from tui.screens.lesson_player import MAX_FRAME, PartyPane, watch_speed
from tui.state import Loop, PartyState
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
        self._cache_key: tuple = ()
        self._cache: list[Strip] | None = None
        self._resized = 0

    def on_resize(self) -> None:
        self._resized += 1
        self.refresh()

    def show(self, state: PartyState) -> None:
        """Big: repaint only the lines that changed. A loop's card is 45 lines, five of
        which move; repainting all of them was most of the compositor's frame."""
        if state is not self.state:
            self.state, self._drawn = state, -1
        if self._drawn == state.v_hosts:
            return
        self._drawn = state.v_hosts
        old = self._cache
        new = self._big_strips()
        if new is None or old is None or len(old) != len(new):
            self.refresh()
            return
        width = self.size.width
        changed = [Region(0, y, width, 1)
                   for y, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
        if changed:
            self.refresh(*changed)

    def render(self) -> RenderableType:
        return super().render() if self._big_strips() is None else Text("")

    def render_line(self, y: int) -> Strip:
        """Big cards are drawn a line at a time from ready-made strips (Textual's line
        API): through Rich's Text layout the 45 lines of 133 cells took 13 ms for one
        loop's card and 60 ms for 16 hosts a frame (measured); as segments, a few."""
        strips = self._big_strips()
        if strips is None:
            return super().render_line(y)
        return strips[y] if y < len(strips) else Strip.blank(self.content_size.width)

    def _big_cards(self) -> tuple[list, int, int] | None:
        """(cards, columns, rows) when the cards can be big, else None."""
        s = self.state
        if not self.big or not s.started:
            return None
        width, height = self.content_size.width, self.content_size.height
        cards = self._loop_cards(width) if s.is_loop else self._host_cards()
        need = max(len(lines) for _, lines, _ in cards) + 4  # a blank line above and below
        cols, rows = grid_shape(len(cards), width, height - 1, need)
        return (cards, cols, rows) if cols else None

    def _big_strips(self) -> list[Strip] | None:
        """The big cards' lines, built once per change of the hosts; None: not big."""
        key = (id(self.state), self.state.v_hosts, self.state.started, self._resized,
               self.big)  # cheap: this runs for every line of every frame
        if self._cache_key != key:
            self._cache_key = key
            big = self._big_cards()
            self._cache = None if big is None else self._strips(*big)
        return self._cache

    def _strips(self, cards: list, cols: int, rows: int) -> list[Strip]:
        width, height = self.content_size.width, self.content_size.height
        console = self.app.console
        base = self.visual_style.rich_style  # the widget's colours, under the cards'
        card_h, card_w = (height - 1) // rows, width // cols
        bar_w = max(4, card_w - 8)
        drawn: list[list[list[Segment]]] = []
        loops = iter(self.state.loops) if self.state.is_loop else None
        for title, lines, border in cards:
            loop = next(loops, None) if loops is not None else None
            if loop is not None and loop.killed_at is None:
                lines = [*lines, Text(""),
                         *crowd_rows(loop, card_w - 6, card_h - 2 - len(lines) - 3)]
            elif title.startswith("host ") and len(lines) == 3:  # a sync host: a band of
                # the colour of what it does, visible from the back of the room
                band = Text("─" * bar_w, style="dim") if lines[0].plain == "·" else \
                    Text("█" * bar_w, style=lines[1].style)
                lines = [*lines, Text(""), band]
            drawn.append(card(console, base, title, lines, border, card_w, card_h))
        rooms = rooms_line(self.state)
        rooms.truncate(width, overflow="ellipsis", pad=True)
        strips = [Strip(list(Segment.apply_style(rooms.render(console), base)), width)]
        for first in range(0, len(drawn), cols):
            row = drawn[first:first + cols]
            for i in range(card_h):
                segments = [segment for lines in row for segment in lines[i]]
                strips.append(Strip(segments).extend_cell_length(width, base))
        return strips


def crowd_rows(loop: Loop, width: int, rows: int) -> list[Text]:
    """The loop's guests as a picture: a ○ for each at the kitchen, then a ● for each
    waiting for a turn (red while the loop is held), as many rows as the card has room
    for; past that, a count. A thousand guests are a block you see from the back."""
    if rows < 1 or width < 8:
        return []
    kitchen = sum(1 for phase in loop.guests.values() if phase == IO)
    ready = len(loop.ready)
    room = rows * width
    shown_k = min(kitchen, room)
    shown_r = min(ready, room - shown_k)
    cells = "○" * shown_k + "●" * shown_r
    more = kitchen + ready - shown_k - shown_r
    if more > 0:  # the last row ends with the count of those not drawn
        tail = f" +{more}"
        cells = cells[: room - len(tail)] + tail
    held = loop.blocked or loop.busy_with is not None
    out = []
    for start in range(0, len(cells), width):
        row = Text(no_wrap=True)
        chunk = cells[start:start + width]
        k = max(0, min(len(chunk), shown_k - start))
        row.append(chunk[:k], style="dim yellow" if loop.blocked else "yellow")
        row.append(chunk[k:], style="bold red" if held else "white")
        out.append(row)
    return out


def card(console: Console, base: Style, title: str, lines: list[Text], border: str,
         width: int, height: int) -> list[list[Segment]]:
    """One host's card as ``height`` lines of segments, ``width`` cells each: a heavy
    border with the title in it, the lines centred top to bottom; ``base`` (the
    widget's colours) under every segment, so no strip needs restyling after."""
    inner = width - 6  # borders and two cells of margin each side
    edge = base + console.get_style(border)
    shown = title[: max(0, width - 6)]
    out = [[Segment("┏━ ", edge), Segment(shown, edge + Style(bold=True)),
            Segment(" " + "━" * max(0, width - 5 - len(shown)) + "┓", edge)]]
    pad = max(0, (height - 2 - len(lines)) // 2)
    left, right = Segment("┃  ", edge), Segment("  ┃", edge)
    blank = Segment(" " * inner, base)
    for i in range(height - 2):
        j = i - pad
        if 0 <= j < len(lines):
            content = lines[j].copy()
            content.truncate(inner, overflow="ellipsis", pad=True)
            style = base + console.get_style(content.style) if content.style else base
            out.append([left, *Segment.apply_style(content.render(console), style), right])
        else:
            out.append([left, blank, right])
    out.append([Segment("┗" + "━" * max(0, width - 2) + "┛", edge)])
    return out


class FreezablePane(PartyPane):
    """The lesson player's party pane, with big hosts on demand and a freeze."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.frozen = False
        self.speed: float | None = None  # party s per wall s; None: slow enough to watch
        self.frames = 0

    def compose(self) -> ComposeResult:
        yield Static("no party in this step", id="pane-title")
        yield DoorLine(PartyState())
        yield BigHosts(PartyState())

    def tick(self) -> None:
        now = time.monotonic()
        wall, self._wall = min(now - self._wall, MAX_FRAME), now
        session = self.session
        if self.frozen:  # no party time passes; none piles up for the thaw either
            return
        if session is None or self.app.screen is not self.screen:
            return
        if session.driver.finished:
            session.restart()
        speed = self.speed if self.speed is not None else watch_speed(session.scenario)
        session.advance(wall * speed, budget=FRAME_BUDGET / self.fps)
        self.frames += 1
        self.draw()


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

"""The timeline: a lane per host over the last few seconds, and the line of guests below.

Theory of operation. ``Timeline`` is a sink of trace events (``sim.trace``), fed by the
session after each frame's events are folded (``PartySession.listeners``); it knows
nothing of a model but what the trace says, and lays the hosts out from the server's
structure (``sim.servers.structure_of`` of ``ServerStarted.model``): a lane per sync
process, per thread (``p1 t2``), or per event loop. Party time is cut into columns of
``span`` seconds (0.1 s by default). For each host it keeps what the host does now and,
in the open column only, how long it did each thing; when the clock passes the column's
end the column is closed into one byte per lane and pushed on a ring buffer of
``COLUMNS`` columns. So an event costs a few dict look-ups, a column a ``bytes`` copy
plus a few lanes that changed in it, and memory is bounded whatever the party's length.

A cell says, by colour, what the host did most of the column's busy time, and by its
height how much of the column it was busy:

- chatting (cpu, green), standing idle at the kitchen (io, db or a slow upload while
  the host stays with its guest: yellow; only hosts that stay with their guest do
  this), dozing at the kitchen door (a blocking call; on an event loop it freezes every
  guest: red), waiting a turn (a guest but no core or GIL yet: white);
- an event loop whose hands are free while its guests wait at the kitchen is not
  busy: a navy ground (under a loop's short cpu bars too); a free host is a dim ``·``,
  a killed one ``✗``.

Below the hosts, the line outside: each column's longest line as a bar (scaled to the
longest in view), coloured by the longest wait in it (``door.wait_style``: green short,
red long next to a typical service); and the guests outside: ``↻`` a dropped SYN (it
will knock again), ``◐`` half-open, ``✗`` turned away. In live mode the line also takes
the kernel's accept queue, read by the driver (``note_line``).

What it simplifies: a cell shows one colour for a tenth of a second; a host that both
chatted and stood idle in it wears the colour of the longer.
"""

from __future__ import annotations

import math
from collections import deque

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from sim.servers import Structure, structure_of
from sim.trace import (
    BLOCKING,
    CPU,
    Arrived,
    Event,
    Failed,
    Finished,
    HalfOpen,
    LoopBlocked,
    LoopUnblocked,
    PhaseEnded,
    PhaseStarted,
    Queued,
    ServerStarted,
    Started,
    SynDropped,
    TurnedAway,
    WorkerBooted,
    WorkerKilled,
)
from tui.widgets.door import wait_style

SPAN = 0.1  # s of party time per column
COLUMNS = 600  # columns kept: a minute at 0.1 s, more than the widest terminal shows
MAX_LANES = 8  # host lanes drawn; more are counted on one row

# what a host does (one byte per cell: activity * 9 + height 0..8)
FREE, CPU_, HELD, DOZE, TURN, JUGGLE, KILLED = range(7)
BUSY = (CPU_, HELD, DOZE, TURN, KILLED)
LEVELS = " ▁▂▃▄▅▆▇█"
LOOK = {  # activity -> (style, party words, real term)
    CPU_: ("green", "chatting", "cpu"),
    HELD: ("yellow", "idle at the kitchen", "io, host held"),
    DOZE: ("red", "dozing", "blocking"),
    TURN: ("white", "waiting a turn", "core/GIL"),
    JUGGLE: ("blue", "hands free, guests at the kitchen", "loop awaits io"),  # navy ground
    FREE: ("bright_black", "free", ""),
    KILLED: ("magenta", "killed", ""),
}


LINE_EVENTS = (Started, TurnedAway, Finished, Failed)  # a guest may leave the line


JUGGLING = 63  # added to a cell's code: the rest of it, the loop juggled (hands free)
NAVY = "#1c2c54"  # the background of a loop's hands-free time with guests at the kitchen


def decode(code: int) -> tuple[int, int, bool]:
    """A cell's (activity, height 0-8, the loop juggled the rest of it)."""
    activity, level = divmod(code % JUGGLING, 9)
    return activity, level, code >= JUGGLING


def _cell(code: int) -> tuple[str, Style]:
    activity, level, juggling = decode(code)
    style = Style.parse(LOOK[activity][0] + (f" on {NAVY}" if juggling else ""))
    if activity == KILLED:
        return "✗", style
    if activity == JUGGLE:
        return " ", Style.parse(f"on {NAVY}")
    if activity == FREE or level == 0:
        return "·", Style.parse("bright_black")
    return LEVELS[level], style


CELLS = [_cell(code) for code in range(2 * JUGGLING)]


def lane_label(worker: int, structure: Structure, threads: int) -> str:
    """The lane's name from the structure: a process, a thread of one, or a loop."""
    if structure.juggles:
        return f"loop {worker}"
    if structure.threaded:
        threads = max(threads, 1)
        return f"p{worker // threads} t{worker % threads}"
    return f"proc {worker}"


class Timeline:
    """A sink: the trace folded into columns of what each host did, a ring of them."""

    def __init__(self, span: float = SPAN, columns: int = COLUMNS) -> None:
        self.span = span
        self.columns = columns
        self.reset()

    def reset(self, structure: Structure | None = None, hosts: int = 0,
              threads: int = 1, t: float = 0.0) -> None:
        self.structure = structure or Structure()
        self.threads = threads
        self.juggles = self.structure.juggles
        self.cols: deque[bytes] = deque(maxlen=self.columns)
        self.line_cols: deque[tuple[float, float, int, int, int]] = deque(maxlen=self.columns)
        self.index = math.floor(t / self.span)  # the open column's number: no drift
        self.col_start = self.index * self.span
        self.col_end = (self.index + 1) * self.span
        self.now = t
        self.cur = bytearray()  # lane -> activity now
        self.steady = bytearray()  # lane -> the cell of a column spent all in ``cur``
        self.since: list[float] = []
        self.touched: dict[int, list[float]] = {}  # lane -> seconds per activity, open column
        # event loops: guests inside, the guest holding the loop, blocked or not
        self.inside: list[set[int]] = []
        self.holder: list[int | None] = []
        self.blocked: list[bool] = []
        self.host_guest: list[int | None] = []
        # the line: arrival times of guests inside, of guests in line; this column's marks
        self.arrival: dict[int, float] = {}
        self.in_line: dict[int, float] = {}
        self.line_area = 0.0  # guest-seconds in line in the open column
        self.line_since = t
        self.wait_max = 0.0
        self.knocks = self.half_open = self.away = 0
        self.kernel_line = 0  # live: the kernel's accept queue, last read
        self.version = 0
        self._grow(hosts)

    def _grow(self, hosts: int) -> None:
        while len(self.cur) < hosts:
            self.cur.append(FREE)
            self.steady.append(FREE * 9)
            self.since.append(self.now)
            self.inside.append(set())
            self.holder.append(None)
            self.blocked.append(False)
            self.host_guest.append(None)

    @property
    def lanes(self) -> int:
        return len(self.cur)

    # --- the clock ---------------------------------------------------------------------

    def advance(self, t: float) -> None:
        """Close every column that ends at or before ``t``."""
        if t < self.now:
            return
        self.now = t
        if t < self.col_end:
            return
        if t - self.col_end > self.span * self.columns:  # a long quiet: skip ahead
            self._close()
            skip = math.floor((t - self.col_end) / self.span) - self.columns
            if skip > 0:
                self.index += skip
                self.col_start = self.index * self.span
                self.col_end = (self.index + 1) * self.span
        while t >= self.col_end:
            self._close()

    def _close(self) -> None:
        start, end, span = self.col_start, self.col_end, self.span
        if self.touched:
            row = bytearray(self.steady)
            since, cur = self.since, self.cur
            for lane, acc in self.touched.items():
                acc[cur[lane]] += end - max(since[lane], start)
                since[lane] = end
                busy = acc[CPU_] + acc[HELD] + acc[DOZE] + acc[TURN] + acc[KILLED]
                if busy > 0:
                    activity = max(BUSY, key=acc.__getitem__)
                    level = 8 if activity == KILLED else min(8, max(1, round(8 * busy / span)))
                    row[lane] = activity * 9 + level + (JUGGLING if acc[JUGGLE] > acc[FREE]
                                                        else 0)
                else:
                    row[lane] = (JUGGLE if acc[JUGGLE] > acc[FREE] else FREE) * 9
            self.touched = {}
            self.cols.append(bytes(row))
        else:
            self.cols.append(bytes(self.steady))
        oldest = next(iter(self.in_line.values()), None)
        wait = max(self.wait_max, end - oldest if oldest is not None else 0.0)
        self._line_mark(end)
        depth = max(self.line_area / span, self.kernel_line)
        self.line_cols.append((depth, wait, self.knocks, self.half_open, self.away))
        self.line_area = 0.0
        self.wait_max = 0.0
        self.knocks = self.half_open = self.away = 0
        self.index += 1
        self.col_start, self.col_end = end, (self.index + 1) * span
        self.version += 1

    def _line_mark(self, t: float) -> None:
        """Add the line's guest-seconds up to ``t`` (a guest passing in an instant adds
        nothing: a column's bar is the line's mean length over it, not its peak)."""
        since = self.line_since if self.line_since > self.col_start else self.col_start
        if t > since:
            self.line_area += len(self.in_line) * (t - since)
        self.line_since = t

    def _set(self, lane: int, activity: int, t: float) -> None:
        if lane >= len(self.cur):
            self._grow(lane + 1)
        old = self.cur[lane]
        if old == activity:
            return
        acc = self.touched.get(lane)
        if acc is None:
            acc = self.touched[lane] = [0.0] * 7
        since = self.since[lane]
        acc[old] += t - (since if since > self.col_start else self.col_start)
        self.since[lane] = t
        self.cur[lane] = activity
        self.steady[lane] = activity * 9 + (0 if activity in (FREE, JUGGLE) else 8)

    def _loop_now(self, lane: int, t: float, phase: str | None = None) -> None:
        if self.blocked[lane] or phase == BLOCKING:
            activity = DOZE
        elif phase == CPU:
            activity = CPU_
        elif self.inside[lane]:
            activity = JUGGLE
        else:
            activity = FREE
        self._set(lane, activity, t)

    # --- the sink ------------------------------------------------------------------------

    def feed(self, events: list[Event]) -> None:
        for event in events:
            self(event)

    def __call__(self, e: Event) -> None:
        t = e.t
        if isinstance(e, ServerStarted):
            self.reset(structure_of(e.model), e.hosts, e.threads, t)
            self.version += 1
            return
        if t < self.now - self.span:  # the clock went back: a replay from the start
            self.reset(self.structure, self.lanes, self.threads, t)
        if t >= self.col_end:
            self.advance(t)
        else:
            self.now = max(self.now, t)
        kind = type(e)
        if kind in LINE_EVENTS and self.in_line or kind is Queued:
            self._line_mark(t)
        if kind is PhaseStarted:
            lane = e.worker
            if self.juggles:
                self._grow(lane + 1)
                if e.phase in (CPU, BLOCKING):
                    self.holder[lane] = e.guest
                    self._loop_now(lane, t, e.phase)
            else:
                self._set(lane, CPU_ if e.phase == CPU else DOZE if e.phase == BLOCKING
                          else HELD, t)
        elif kind is PhaseEnded:
            lane = e.worker
            if self.juggles:
                self._grow(lane + 1)
                if self.holder[lane] == e.guest:
                    self.holder[lane] = None
                    self._loop_now(lane, t)
            elif lane < len(self.host_guest) and self.host_guest[lane] == e.guest:
                self._set(lane, TURN, t)
        elif kind is Started:
            lane = e.worker
            self._grow(lane + 1)
            arrival = self.in_line.pop(e.guest, None)
            if arrival is not None and t - arrival > self.wait_max:
                self.wait_max = t - arrival
            if self.juggles:
                self.inside[lane].add(e.guest)
                if self.holder[lane] is None:
                    self._loop_now(lane, t)
            else:
                self.host_guest[lane] = e.guest
                self._set(lane, TURN, t)
        elif kind is Arrived:
            self.arrival[e.guest] = t
        elif kind is Queued:
            self.in_line[e.guest] = self.arrival.get(e.guest, t)
        elif kind is Finished or kind is Failed:
            self._leave(e.guest, e.worker, t)
        elif kind is LoopBlocked:
            lane = e.worker
            self._grow(lane + 1)
            self.blocked[lane] = True
            self.holder[lane] = e.guest
            self._set(lane, DOZE, t)
        elif kind is LoopUnblocked:
            lane = e.worker
            self._grow(lane + 1)
            self.blocked[lane] = False
            self._loop_now(lane, t, None if self.holder[lane] is None else CPU)
        elif kind is SynDropped:
            self.knocks += 1
        elif kind is HalfOpen:
            self.half_open += 1
        elif kind is TurnedAway:
            self.away += 1
            self.arrival.pop(e.guest, None)
            self.in_line.pop(e.guest, None)
        elif kind is WorkerKilled:
            self._grow(e.worker + 1)
            if self.juggles:
                self.inside[e.worker].clear()
                self.holder[e.worker] = None
                self.blocked[e.worker] = False
            else:
                self.host_guest[e.worker] = None
            self._set(e.worker, KILLED, t)
        elif kind is WorkerBooted:
            self._grow(e.worker + 1)
            if self.cur[e.worker] == KILLED:
                self._set(e.worker, FREE, t)

    def _leave(self, guest: int, worker: int, t: float) -> None:
        self.arrival.pop(guest, None)
        self.in_line.pop(guest, None)
        if worker < 0 or worker >= len(self.cur):
            return
        if self.juggles:
            self.inside[worker].discard(guest)
            if self.holder[worker] == guest:
                self.holder[worker] = None
                self.blocked[worker] = False
            self._loop_now(worker, t, None if self.holder[worker] is None else CPU)
        elif self.host_guest[worker] == guest:
            self.host_guest[worker] = None
            self._set(worker, FREE, t)

    def note_line(self, depth: int) -> None:
        """Live: the kernel's accept queue now (guests the server has not accepted yet)."""
        self.kernel_line = depth

    def label(self, lane: int) -> str:
        return lane_label(lane, self.structure, self.threads)


SHORT = {CPU_: "cpu", HELD: "io, held", DOZE: "blocking", TURN: "no core/GIL",
         JUGGLE: "loop free, io", FREE: "free", KILLED: "killed"}


def legend(juggles: bool, tier: int = 0) -> Text:
    """What the colours mean: in party words with the real term (tier 0), in party words
    (1), or in real terms (2, the shortest); those of event loops (``juggles``), or of
    hosts that stay with their guest."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for activity in (CPU_, DOZE, JUGGLE, FREE) if juggles else (CPU_, HELD, DOZE, TURN, FREE):
        style, words, real = LOOK[activity]
        if tier == 2:
            words, real = SHORT[activity], ""
        elif tier == 1:
            real = ""
        glyph = " " if activity == JUGGLE else "·" if activity == FREE else "█"
        text.append(glyph, style=f"on {NAVY}" if activity == JUGGLE else style)
        text.append(f" {words}", style="")
        text.append(f" ({real})  " if real else "  ", style="dim")
    text.append("▃ busy part of the cell" if tier == 0 else "", style="dim")
    return text


class TimelineView(Widget):
    """The lanes of a ``Timeline``, newest column at the right edge."""

    DEFAULT_CSS = """
    TimelineView { height: auto; padding: 0 1; }
    """
    LABEL = 10  # columns for a lane's name

    def __init__(self, timeline: Timeline | None = None, service: float = 0.05,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.timeline = timeline or Timeline()
        self.service = service
        self._drawn = (-1, -1)
        self._rows_key: tuple[int, int, int] = (-1, -1, -1)
        self._rows: list[Strip] = []

    def show(self, service: float | None = None, now: float | None = None) -> None:
        """Redraw if a column closed (or the lanes changed) since the last draw."""
        if service is not None:
            self.service = service
        if now is not None:
            self.timeline.advance(now)
        key = (self.timeline.version, self.timeline.lanes)
        if key != self._drawn and self.display:
            if key[1] != self._drawn[1]:
                self.refresh(layout=True)
            else:
                self.refresh()
            self._drawn = key

    def rows(self) -> int:
        lanes = self.timeline.lanes
        if not lanes:
            return 1
        return 1 + (lanes if lanes <= MAX_LANES else MAX_LANES) + 3

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[override]
        return self.rows()

    def render_line(self, y: int) -> Strip:
        """Line API: the rows are built once per closed column (and width), as segments."""
        width = self.size.width
        key = (self.timeline.version, self.timeline.lanes, width)
        if key != self._rows_key:
            base = self.rich_style  # the screen's colours under cells that set none
            self._rows_key = key
            self._rows = [row.apply_style(base) for row in self.picture(width)]
        if y >= len(self._rows):
            return Strip.blank(width)
        return self._rows[y]

    def picture(self, width: int) -> list[Strip]:
        """The rows at ``width`` columns (the widget's own, or a benchmark's)."""
        tl = self.timeline
        if not tl.lanes:
            return [self._strip(Text("timeline: the doors are not open yet", style="dim"),
                                 width)]
        cells = max(width, self.LABEL + 10) - self.LABEL
        cols = list(tl.cols)[-cells:]
        lines = list(tl.line_cols)[-cells:]
        pad = Segment(" " * (cells - len(cols)))
        title = Text(no_wrap=True)
        title.append("timeline ", style="bold")
        title.append(f"({cells * tl.span:.0f} s to now▸, cell {tl.span * 1000:.0f} ms)  ",
                     style="dim")
        for tier in range(3):
            words = legend(tl.juggles, tier)
            if title.cell_len + words.cell_len <= width - 2 or tier == 2:
                title.append_text(words)
                break
        rows = [self._strip(title, width)]
        lanes = tl.lanes
        shown = lanes if lanes <= MAX_LANES else MAX_LANES - 1
        for lane in range(shown):
            segments = [Segment(f"{tl.label(lane):<{self.LABEL - 1}} ", BOLD), pad]
            segments.extend(_runs([CELLS[col[lane]] if lane < len(col) else CELLS[0]
                                   for col in cols]))
            rows.append(Strip(segments).crop_extend(0, width, None))
        if lanes > shown:
            rows.append(self._strip(Text(f"... and {lanes - shown} more hosts, coloured alike",
                                         style="dim"), width))
        top = max(1.0, max((d for d, *_ in lines), default=0.0))  # a lone guest: a full bar
        depth_now = max(len(tl.in_line), tl.kernel_line)
        bars = []
        for depth, wait, *_ in lines:
            if depth < 0.05:
                bars.append(DOT)
            else:
                level = max(1, min(8, math.ceil(8 * depth / top)))
                bars.append((LEVELS[level], WAIT_STYLES[wait_style(wait, self.service)]))
        rows.append(Strip([Segment(f"{'line':<5}{depth_now:>4} ", BOLD), pad, *_runs(bars)]
                          ).crop_extend(0, width, None))
        marks = [OUTSIDE[0 if away else 1 if half_open else 2 if knocks else 3]
                 for _, _, knocks, half_open, away in lines]
        rows.append(Strip([Segment(f"{'outside':<{self.LABEL - 1}} ", BOLD), pad,
                           *_runs(marks)]).crop_extend(0, width, None))
        note = Text(no_wrap=True)
        note.append("line: ", style="bold")
        note.append(f"bar = guests waiting (full = {top:.3g}), colour = longest wait · ",
                    style="dim")
        note.append("↻", style="yellow")
        note.append(" knocking again (SYN dropped)  ", style="dim")
        note.append("◐", style="yellow")
        note.append(" half-open  ", style="dim")
        note.append("✗", style="bold red")
        note.append(" turned away", style="dim")
        rows.append(self._strip(note, width))
        return rows

    @staticmethod
    def _strip(text: Text, width: int) -> Strip:
        return Strip(list(text.render(_CONSOLE))).crop_extend(0, width, None)


_CONSOLE = Console(width=400, color_system="truecolor", force_terminal=True)
BOLD = Style(bold=True)
DOT = ("·", Style.parse("bright_black"))
WAIT_STYLES = {name: Style.parse(name) for name in ("green", "yellow", "bold red")}
OUTSIDE = [("✗", Style.parse("bold red")), ("◐", Style.parse("yellow")),
           ("↻", Style.parse("yellow")), (" ", Style())]


def _runs(cells: list[tuple[str, Style]]) -> list[Segment]:
    """Segments of equal neighbouring cells merged (cheap to draw: runs are long)."""
    out: list[Segment] = []
    run: tuple[str, Style] | None = None
    count = 0
    for cell in cells:
        if cell == run:
            count += 1
            continue
        if run is not None:
            out.append(Segment(run[0] * count, run[1]))
        run, count = cell, 1
    if run is not None:
        out.append(Segment(run[0] * count, run[1]))
    return out

"""The hosts: a card per worker process, with the guest each host serves and what they do.

A sync process is one host; a threaded process is T hosts sharing one GIL token (the
card says which thread holds it); a pool of threads behind an event loop is the same
card with the loop at its head, letting guests in; an event loop is one host juggling many guests,
drawn frozen (red) while a blocking call holds it. The top line shows the rooms
(cores) taken. When the cards do not fit the widget, each host becomes one line, and
when even that does not fit, the rest are counted: the picture degrades, it never
breaks, from a 40x12 terminal to a projector.

What the cores, the GIL and the loop add, all from the state (the trace) and the
structure, never the model's name:

- a shared room: when more hosts want a core than there are (``PartyState.runnable``),
  Linux time-slices them (``sim.model.cores``), and each such host says it runs
  ``cores / runnable`` of the time, with a bar of that many cells filled;
- the GIL token: under a GIL, the thread holding it wears ``◆GIL`` and, while other
  threads of its process wait to chat, how much of its switch interval it has used
  (``GilPassed`` moves the token when the interval runs out); the others say they wait
  for it. Free-threaded (``--gil off``): no token;
- the loop's ready queue: guests back from the kitchen wait in order for a turn (the
  first is next), and the line at the door waits for the turns that let a guest in
  (accept, connection_made, read: ``sim.model.event_loop``).
"""

from __future__ import annotations

import math
from fractions import Fraction

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from sim.trace import BLOCKING, CPU, DB, IO, UPLOAD, VISITOR_BASE, guest_name, is_visitor
from tui.state import Host, Loop, PartyState

# phase -> (party words, real term, style)
DOING = {
    CPU: ("chatting", "CPU, in a room", "bold green"),
    IO: ("waiting for the kitchen", "I/O: host idle", "yellow"),
    BLOCKING: ("dozing at the kitchen door", "blocking call", "bold red"),
    UPLOAD: ("taking a slow coat", "slow upload", "cyan"),
    DB: ("at a kitchen table", "db query: a pool connection", "yellow"),
    None: ("greeting / waiting a turn", "no core or GIL yet", "white"),
}
IDLE = ("idle at the door", "waiting in accept()", "dim")
# a blocking call beside a host that stays with its guest freezes nobody else
HOST_BLOCKING = ("waiting for the kitchen", "blocking call: this host only", "yellow")
VISITOR_STYLE = "bold black on magenta"  # a guest the load generator did not send (live)


def guest_text(guest: int, short: bool = False) -> Text:
    """"guest 7" (or "g7"), and a live party's visitor (curl, the app's key) as a badge
    with the word beside it: they are the learner's own, so they stand out."""
    if is_visitor(guest):
        return Text(f" {guest_name(guest)} ", style=VISITOR_STYLE)
    return Text(f"g{guest}" if short else f"guest {guest}", style="bold")


def host_doing(host: Host, state: PartyState) -> tuple[str, str, str]:
    """What a sync or threaded host is doing: (party words, real term, style)."""
    if host.killed_at is not None:
        return ("thrown out by the manager", "killed: timeout; rebooting", "bold magenta")
    if host.guest is None:
        if state.rebooted_recently(host.booted_at):
            return ("a new host, just arrived", "replacement worker booted", "bold cyan")
        return IDLE
    if host.phase == BLOCKING:
        return HOST_BLOCKING
    return DOING.get(host.phase, DOING[None])


def share_text(state: PartyState) -> str | None:
    """"runs 2/3 ■■□": the share of the time a host in a cpu phase runs when the cores
    are time-sliced among more hosts than there are (short: it fits a thread's row in a
    36-column card); None when each has a core."""
    runnable = state.runnable()
    if runnable <= state.cores:
        return None
    share = Fraction(state.cores, runnable)
    bar = "■" * share.numerator + "□" * (share.denominator - share.numerator)
    return f"runs {share} {bar if share.denominator <= 8 else ''}".rstrip()


def rooms_line(state: PartyState, gloss: bool = True) -> Text:
    """The rooms, the busy hosts and the kitchen on one line (``gloss``: with the
    rooms' real name)."""
    rooms, hosts = rooms_parts(state, gloss, lead="   ")
    line = Text(no_wrap=True, overflow="ellipsis")
    return line.append_text(rooms).append_text(hosts)


def rooms_lines(state: PartyState, width: int, one: bool = False) -> list[Text]:
    """``rooms_line`` in ``width``: whole on one line; else on two (a narrow pane, the
    demo's beside its words, cut "busy hosts 3/4" to "busy hosts 3/…"); or, ``one``
    line wanted (the cards fit only so), without the gloss and cut in the kitchen."""
    line = rooms_line(state)
    if line.cell_len <= width:
        return [line]
    if one:
        return [rooms_line(state, gloss=False)]
    rooms, hosts = rooms_parts(state)
    for part in (rooms, hosts):
        part.no_wrap, part.overflow = True, "ellipsis"
    return [rooms, hosts]


def rooms_parts(state: PartyState, gloss: bool = True, lead: str = "") -> tuple[Text, Text]:
    """(the rooms (cores) and who shares them, the busy hosts and the kitchen); ``lead``
    goes before the busy hosts, in their style (a snapshot draws one run of it)."""
    runnable = state.runnable()
    taken = min(runnable, state.cores)
    text = Text()
    text.append("rooms ", style="bold")
    if gloss:
        text.append("(CPU cores) ", style="dim")
    text.append("■" * taken, style="bold green")
    text.append("□" * (state.cores - taken), style="dim")
    text.append(f" {taken}/{state.cores} taken", style="")
    if runnable > state.cores:
        share = Fraction(state.cores, runnable)
        text.append(f" · {runnable} share them, time-sliced: each runs {share}",
                    style="bold red")
    hosts = Text()  # its own style is under all of it: the busy count alone is dim
    hosts.append(f"{lead}busy hosts {state.busy_hosts()}/{max(state.hosts, 1)}", style="dim")
    kitchen_line(hosts, state)
    return text, hosts


KITCHEN_GLYPHS = 8  # guests drawn at the kitchen before a count


def kitchen_line(text: Text, state: PartyState) -> None:
    """The kitchen with the guests in it (io and db phases), and, where hosts stay with
    their guest, the hosts standing idle beside them: the picture of a sync server's
    cost, where an event loop's kitchen holds no host."""
    if state.is_loop:
        at = sum(1 for loop in state.loops for p in loop.guests.values() if p in (IO, DB))
    else:
        at = sum(1 for host in state.host_list if host.phase in (IO, DB))
    if not at:
        return
    text.append("  kitchen ", style="bold yellow")
    text.append("○" * min(at, KITCHEN_GLYPHS), style="yellow")
    text.append(f" {at}", style="bold")
    text.append(", no host held" if state.is_loop else ", hosts idle",
                style="dim" if state.is_loop else "yellow")


class HostsView(Widget):
    """Every worker, as cards when they fit and as lines when they do not."""

    DEFAULT_CSS = """
    HostsView { height: 1fr; min-height: 4; }
    """

    def __init__(self, state: PartyState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state
        self._drawn = -1

    def show(self, state: PartyState) -> None:
        if state is not self.state:
            self.state, self._drawn = state, -1
        if self._drawn != state.v_hosts:
            self._drawn = state.v_hosts
            self.refresh()

    def on_resize(self) -> None:
        self.refresh()

    # --- the cards -----------------------------------------------------------------

    def render(self) -> RenderableType:
        s = self.state
        width, height = max(self.size.width, 10), max(self.size.height, 2)
        if not s.started:
            return Text("the doors are not open yet", style="dim")
        cards = self._loop_cards(width) if s.is_loop else self._host_cards()
        card_w = 44 if s.is_loop else (36 if s.structure.threaded else 28)
        cols = max(1, min(len(cards), width // card_w))
        card_h = max(len(lines) for _, lines, _ in cards) + 2
        rows = math.ceil(len(cards) / cols)
        rooms = rooms_lines(s, width, one=rows * card_h == height - 1)
        body_h = height - len(rooms)
        if rows * card_h <= body_h:
            return Group(*rooms, self._grid(cards, cols, card_h))
        return Group(*rooms, self._compact(cards, width, body_h))

    def _grid(self, cards: list, cols: int, card_h: int) -> RenderableType:
        """The cards in ``cols`` columns; a lone card (one event loop) is its own panel.

        A one-column grid draws the same as its panel, but measuring it for the grid
        was a third of the card's cost, and an event loop's card is redrawn every frame.
        """
        if cols == 1 and len(cards) == 1:
            return _panel(*cards[0], card_h)
        grid = Table.grid(expand=True)
        for _ in range(cols):
            grid.add_column(ratio=1)
        row: list[RenderableType] = []
        for title, lines, border in cards:
            row.append(_panel(title, lines, border, card_h))
            if len(row) == cols:
                grid.add_row(*row)
                row = []
        if row:
            grid.add_row(*row, *[""] * (cols - len(row)))
        return grid

    def _compact(self, cards: list, width: int, height: int) -> Text:
        """One line per host (a card's first lines), in columns, the rest counted.

        Plain padded Text, not a Rich Table: with 64 hosts this is redrawn every frame.
        """
        lines: list[Text] = []
        for title, body, _ in cards:
            if self.state.is_loop:
                lines.extend([Text(title, style="bold"), *body])
            elif self.state.structure.threaded:
                lines.extend(Text.assemble((f"p{title.split()[1]:<2} ", "bold"), line)
                             for line in body)
            else:  # a sync card: its guest, and what they do
                lines.append(Text.assemble((f"{title:<7} ", "bold"), body[0], " ", body[1]))
        cols = max(1, min(len(lines), width // 40))
        col_w = width // cols
        capacity = max(1, height * cols)
        extra = 0
        if len(lines) > capacity:
            extra = len(lines) - capacity + 1
            lines = lines[: capacity - 1]
        per_col = math.ceil(len(lines) / cols) if lines else 0
        out = Text(no_wrap=True, overflow="ellipsis")
        for r in range(per_col):
            for c in range(cols):
                index = c * per_col + r
                if index < len(lines):
                    cell = lines[index]
                    cell.truncate(col_w - 1, overflow="ellipsis", pad=True)
                    out.append_text(cell)
                    out.append(" ")
            out.append("\n")
        if extra:
            out.append(f"... and {extra} more", style="dim")
        return out

    def _host_cards(self) -> list[tuple[str, list[Text], str]]:
        """Sync: a card per process (one host). Threaded: a card per process, T lines."""
        s = self.state
        cards = []
        threads = max(s.threads, 1) if s.structure.threaded else 1
        for process in range(math.ceil(len(s.host_list) / threads)):
            hosts = s.host_list[process * threads:(process + 1) * threads]
            if threads == 1:
                host = hosts[0]
                party, real, style = host_doing(host, s)
                guest = (guest_text(host.guest) if host.guest is not None
                         else Text("·", style="bold"))
                shared = share_text(s) if host.phase == CPU else None
                share = Fraction(s.cores, s.runnable()) if shared else None  # 24 columns
                lines = [guest, Text(party, style=style),
                         Text(f"shares a core: runs {share}" if shared else real,
                              style="bold red" if shared else "dim")]
                border = "red" if host.killed_at is not None else (
                    "green" if host.phase == CPU else "blue")
                cards.append((f"host {process}", lines, border))
                continue
            holder = s.gil.get(process) if s.has_gil else None
            chatting = [h for h in hosts if h.phase == CPU]
            contended = holder is not None and len(chatting) > 1  # others wait to chat
            shared = share_text(s)
            lines = []
            for host in hosts:
                party, real, style = host_doing(host, s)
                line = Text(no_wrap=True, overflow="ellipsis")
                line.append(f"t{host.worker % threads} ", style="dim")
                if host.guest is not None:
                    line.append_text(guest_text(host.guest, short=True))
                    line.append(" ", style="bold")
                if host.phase == CPU and s.has_gil and holder != host.worker:
                    line.append("waits for the GIL to chat", style="yellow")
                else:
                    line.append(party, style=style)
                if holder == host.worker:
                    line.append(" ")
                    line.append("◆GIL", style="bold black on yellow")
                    if contended:
                        held = min(s.now - s.gil_since.get(process, s.now), s.switch_interval)
                        line.append(f" {held * 1000:.1f}/{s.switch_interval * 1000:g} ms",
                                    style="yellow")
                if shared and host.phase == CPU and (holder == host.worker or not s.has_gil):
                    line.append(f" · {shared}", style="bold red")
                lines.append(line)
            if not s.has_gil:
                gil = "no GIL (free-threaded)"
            elif holder is None:
                gil = "GIL free"
            else:
                gil = f"GIL → thread {holder % threads}"
                if contended:
                    gil += f", passed every {s.switch_interval * 1000:g} ms"
            if s.structure.pool:  # the threads stand behind an event loop at the door
                waiting = len(s.line)
                head = Text.assemble(
                    ("event loop ", "bold"), ("lets every guest in; ", "dim"),
                    (f"{waiting} wait for a thread", "yellow" if waiting else "dim"),
                    (" (pool tokens)", "dim"))
                head.no_wrap, head.overflow = True, "ellipsis"
                lines.insert(0, head)
                title = f"process {process} · loop + {threads} threads · {gil}"
            else:
                title = f"process {process} · {gil}"
            cards.append((title, lines, "blue"))
        return cards

    def _loop_cards(self, width: int) -> list[tuple[str, list[Text], str]]:
        return [loop_card(loop, self.state, width) for loop in self.state.loops]


def _panel(title: str, lines: list[Text], border: str, height: int) -> Panel:
    """A host's card: its lines, never wrapped, in a titled box."""
    body = Text("\n").join(lines)
    body.no_wrap, body.overflow = True, "ellipsis"
    return Panel(body, title=title, title_align="left", border_style=border,
                 height=height, padding=(0, 1))


def loop_card(loop: Loop, state: PartyState, width: int) -> tuple[str, list[Text], str]:
    """An event loop: one host juggling many guests, frozen while a blocking call holds it."""
    if loop.killed_at is not None:
        return (f"event loop {loop.worker}", [
            Text("thrown out by the manager", style="bold magenta"),
            Text("process killed: timeout; every guest inside got no answer", style="dim"),
            Text(""), Text("")], "red")
    kitchen = sum(1 for p in loop.guests.values() if p == IO)
    coats = sum(1 for p in loop.guests.values() if p == UPLOAD)
    ready = list(loop.ready)  # in the order they came back: the first is next
    held = loop.blocked or loop.busy_with is not None
    glyphs = max(4, min(width, 120) - 34)
    head = Text(no_wrap=True, overflow="ellipsis")
    head.append(f"juggling {len(loop.guests)} guests ", style="bold")
    if loop.blocked:
        head.append(" FROZEN ", style="bold white on red")
        head.append(" (event loop blocked)", style="red")
    elif loop.busy_with is not None:
        head.append(" busy ", style="bold black on green")
    else:
        head.append(" turning ", style="bold green")
    if state.rebooted_recently(loop.booted_at):
        head.append(" new loop, just booted", style="bold cyan")
    hands = Text(no_wrap=True, overflow="ellipsis")
    if loop.busy_with is None:
        hands.append("hands free: ", style="bold")
        hands.append("nobody holds the loop", style="dim")
    elif loop.blocked or loop.busy_phase == BLOCKING:
        hands.append(f"dozing at the kitchen door with {guest_name(loop.busy_with)}",
                     style="bold red")
        hands.append("  (blocking call)", style="dim")
    else:
        hands.append(f"chatting with {guest_name(loop.busy_with)}", style="bold green")
        shared = share_text(state)
        if shared:
            hands.append(f"  shares a core: {shared}", style="bold red")
        else:
            hands.append("  (CPU on the loop, has a core)", style="dim")
    wait = Text(no_wrap=True, overflow="ellipsis")
    wait.append(f"kitchen {kitchen:>4} ", style="yellow")
    wait.append("(await I/O) ", style="dim")
    _badges(wait, [g for g, p in loop.guests.items() if p == IO])
    wait.append(_crowd([g for g, p in loop.guests.items() if p == IO], "○", glyphs),
                style="dim yellow" if loop.blocked else "yellow")
    if coats:
        wait.append(f"  coats {coats}", style="cyan")
    turn = Text(no_wrap=True, overflow="ellipsis")
    turn.append(f"ready   {len(ready):>4} ", style="bold red" if held and ready else "white")
    turn.append("(ready queue" + (", wait: loop held) " if held and ready else ") "),
                style="dim")
    _badges(turn, ready)
    if ready:
        turn.append("next▸", style="bold")
    turn.append(_crowd(ready, "●", glyphs - 5), style="red" if held else "white")
    door = Text(no_wrap=True, overflow="ellipsis")
    waiting = len(state.line)
    door.append(f"door    {waiting:>4} ", style="bold red" if held and waiting else "white")
    door.append("(new: accept, connection_made, read: a turn each"
                + (", one line for all loops)" if len(state.loops) > 1 else ")"), style="dim")
    border = "red" if loop.blocked else ("green" if loop.busy_with is not None else "blue")
    return (f"event loop {loop.worker} · one host", [head, hands, wait, turn, door], border)


def _badges(line: Text, guests: list[int]) -> None:
    """Visitors by name before the crowd, so a long crowd never hides them."""
    for guest in guests:
        if guest >= VISITOR_BASE:  # is_visitor, inlined: a crowd is 1,000 guests a frame
            line.append_text(guest_text(guest))
            line.append(" ")


def _crowd(guests: list[int], glyph: str, room: int) -> str:
    """Guest numbers when they fit (the story names them), else a glyph each, else a count."""
    guests = [g for g in guests if g < VISITOR_BASE]  # visitors: by name (_badges)
    if 3 * len(guests) - 1 <= room:  # "g1 g2": 3 columns a guest at least, else no fit
        names = " ".join(f"g{g}" for g in guests)  # (1,000 names a frame cost 0.5 ms)
        if len(names) <= room:
            return names
    if len(guests) <= room:
        return glyph * len(guests)
    return glyph * (room - 6) + f" +{len(guests) - room + 6}"

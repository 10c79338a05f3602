"""The door and the line outside: who waits (coloured by how long), who was turned away.

The line is the listen socket's backlog. Each waiting guest is a dot whose colour
ages from green to red against the guest's typical service time, so "a long wait"
means the same thing for a 5 ms and a 500 ms guest. Guests turned away (on Linux a
full backlog drops their knocks, and they give up at their connect timeout; a half-open
guest is reset with tcp_abort_on_overflow=1) and guests who left unanswered (503, killed worker)
stay visible for a moment, walking off to the right, and are counted. With
``--reuse-port`` the row holds one line per host process, side by side.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from tui.state import PartyState

LEAVING = 1.5  # seconds of party time a turned-away guest stays on screen
KNOCKS = 6  # guests drawn knocking again outside before a count


def wait_style(waited: float, service: float) -> str:
    """Green while the wait is short next to a typical service, red when it is long."""
    scale = service if service > 0 else 0.05
    if waited < scale:
        return "green"
    if waited < 4 * scale:
        return "yellow"
    return "bold red"


class DoorLine(Widget):
    """The line outside the door (listen backlog) and the guests turned away."""

    DEFAULT_CSS = """
    DoorLine { height: 3; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, state: PartyState, service: float = 0.05, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state
        self.service = service
        self._drawn = -1
        self.kernel: tuple[int | None, int] | None = None  # live: (accept queue, unanswered)

    def show(self, state: PartyState, service: float | None = None,
             kernel: tuple[int | None, int] | None = None) -> None:
        """Draw ``state`` (a new one after a restart), only if the door changed.

        ``kernel``, live only: the accept queue read from the kernel and the guests the
        generator sent with no answer yet (``LiveDriver.line_now``); the server cannot
        report guests it has not accepted, so these are the real line."""
        if service is not None:
            self.service = service
        if kernel != self.kernel:
            self.kernel = kernel
            self._drawn = -1
        if state is not self.state:
            self.state, self._drawn = state, -1
        if self._drawn != state.v_door:
            self._drawn = state.v_door
            self.refresh()

    def _lines_per_host(self, text: Text, room: int) -> None:
        """``--reuse-port``: each process's own line ("0 ●● │ 1 ●●●●"), a guest in the line
        the kernel hashed it to; a host takes guests from its line only."""
        s = self.state
        lines: list[list[float]] = [[] for _ in range(max(s.workers, 1))]
        for guest, arrival in s.line.items():
            process = s.line_of.get(guest, 0)
            lines[min(process, len(lines) - 1)].append(arrival)
        each = max((room + 10) // len(lines) - 8, 1)  # dots per line, beside "0 " "+12" " │ "
        for process, arrivals in enumerate(lines):
            if process:
                text.append(" │ ", style="dim")
            text.append(f"{process} ", style="bold")
            for arrival in arrivals[:each]:
                text.append("●", style=wait_style(s.now - arrival, self.service))
            if len(arrivals) > each:
                text.append(f"+{len(arrivals) - each}", style="bold")
            if not arrivals:
                text.append("·", style="dim")

    def render(self) -> Text:
        s = self.state
        width = max(self.size.width, 20)
        text = Text(no_wrap=True, overflow="ellipsis")
        waiting = len(s.line)
        text.append("the line ", style="bold")
        if s.structure.pool:  # the loop let them in: they wait inside for a thread
            text.append("(inside, waiting for a thread-pool token) ", style="dim")
            text.append(f"{waiting}", style="bold")
            text.append(" waiting  ", style="dim")
        elif s.line_per_host:
            text.append("(one per host, --reuse-port) ", style="dim")
            text.append(f"{waiting}", style="bold")
            text.append(" waiting  ", style="dim")
        elif self.kernel is not None:  # live: the kernel's count, beyond the reports
            queue, unanswered = self.kernel
            unseen = queue or 0  # a live server reports a guest once accepted: never these
            waiting += unseen
            text.append("(kernel accept queue) " if queue is not None
                        else "(listen backlog) ", style="dim")
            text.append(f"{waiting}", style="bold red" if unseen else "bold")
            text.append(f"/{s.backlog} waiting, ", style="dim")
            text.append(f"{unanswered}", style="bold")
            text.append(" sent, no answer yet  ", style="dim")
        else:
            text.append("(listen backlog) ", style="dim")
            text.append(f"{waiting}", style="bold")
            text.append(f"/{s.backlog} waiting  ", style="dim")
        outside = ""
        if s.knocking_now or s.half_open_now:  # guests outside who will try again
            knocking, half_open = len(s.knocking_now), len(s.half_open_now)
            outside = f"  outside: {'↻' * min(knocking, KNOCKS)} {knocking} knock again"
            if half_open:
                outside += f", {'◐' * min(half_open, KNOCKS)} {half_open} half-open"
        room = width - text.cell_len - 10 - len(outside)
        if s.line_per_host:  # --reuse-port: a line per host process, side by side
            self._lines_per_host(text, room)
            room = 0
        shown = 0
        for arrival in s.line.values():
            if shown >= room:
                break
            text.append("●", style=wait_style(s.now - arrival, self.service))
            shown += 1
        while shown < min(waiting, room):  # live: in the kernel, not reported: no age known
            text.append("○", style="bold red")
            shown += 1
        if waiting > shown and not s.line_per_host:
            text.append(f" +{waiting - shown}", style="bold")
        if outside:
            text.append(outside, style="yellow")
        text.append("\n")
        text.append("turned away ", style="bold red" if s.turned_away else "bold")
        text.append("(refused, or gave up knocking) ", style="dim")
        text.append(f"{s.turned_away}  ", style="bold")
        leaving = [g for t, g, _ in s.away if s.now - t < LEAVING]
        for guest in leaving[-8:]:
            text.append(f"✗{guest} ", style="red")
        if leaving:
            text.append("→ leaving", style="red dim")
        text.append("\n")
        text.append("left unanswered ", style="bold magenta" if s.failed else "bold")
        text.append("(503 / worker killed) ", style="dim")
        text.append(f"{s.failed}  ", style="bold")
        gone = [(g, r) for t, g, r in s.gone_failed if s.now - t < LEAVING]
        for guest, reason in gone[-6:]:
            text.append(f"✗{guest}:{reason} ", style="magenta")
        return text

"""Compare: two parties side by side, fed the very same guests.

Both sessions are built from scenarios with the same seed and workload, so guest 17
arrives at the same instant and asks the same of both servers; only the hosts differ.
One clock advances both by the same party time each tick, and a table under them puts
their numbers next to each other.
"""

from __future__ import annotations

import time

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Static

from sim.scenario import Scenario, ScenarioError
from sim.servers import SERVERS, contrast
from tui.clock import DEFAULT_SPEED, FPS, FRAME_BUDGET, SPEEDS, WallClock
from tui.session import PartySession, rebuild
from tui.widgets.door import DoorLine
from tui.widgets.footer import FittedFooter
from tui.widgets.hosts import HostsView
from tui.widgets.status import speed_label
from tui.widgets.timeline import TimelineView

TABLE_RATE = 4.0  # numbers table refreshes per wall second, at most


def partner_for(scenario: Scenario) -> Scenario:
    """The party to set beside this one: a lone event loop beside hosts, hosts beside a loop."""
    model, knobs = contrast(scenario.model)
    return rebuild(scenario, model=model, **knobs)


# Every server of the table, as its row suggests showing it ("n" steps through them).
PARTNERS = [{"model": name, **row.example} for name, row in SERVERS.items()]


class SideView(Vertical):
    """One party of the pair: its title, door and hosts."""

    DEFAULT_CSS = """
    SideView { width: 1fr; border: round $primary; }
    SideView > .side-title { height: 1; text-style: bold; }
    SideView DoorLine { height: 2; }
    """

    def __init__(self, session: PartySession, **kwargs) -> None:
        super().__init__(**kwargs)
        self.session = session

    def compose(self) -> ComposeResult:
        yield Static(classes="side-title")
        yield DoorLine(self.session.state, self.session.service)
        timeline = TimelineView(service=self.session.service)
        timeline.display = False  # t shows both sides' timelines
        self.session.listeners.append(timeline.timeline.feed)
        yield timeline
        yield HostsView(self.session.state)

    def draw(self) -> None:
        s = self.session
        self.query_one(TimelineView).show(s.service, s.state.now)
        self.query_one(".side-title", Static).update(
            f"{s.scenario.model}  [dim]{s.scenario.real_command}[/dim]")
        self.query_one(DoorLine).show(s.state, s.service)
        self.query_one(HostsView).show(s.state)


def comparison(left: PartySession, right: PartySession) -> Table:
    """The two parties' numbers in one table, theory beside each."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True, min_width=26)
    for _ in (left, right):
        table.add_column(justify="right", no_wrap=True, min_width=12)
    table.add_row("", *[Text(s.scenario.model, style="bold underline") for s in (left, right)])
    a, b = left.state.numbers(), right.state.numbers()

    def cap(session: PartySession) -> str:
        sat = session.theory.saturation
        return "∞" if sat == float("inf") else f"{sat:.1f}"

    rows = [
        ("served/s (throughput)", f"{a.throughput:.1f}", f"{b.throughput:.1f}"),
        ("  theory's max", cap(left), cap(right)),
        ("latency p50", f"{a.latency_p50:.0f} ms", f"{b.latency_p50:.0f} ms"),
        ("latency p99", f"{a.latency_p99:.0f} ms", f"{b.latency_p99:.0f} ms"),
        ("line now (backlog)", f"{len(left.state.line)}", f"{len(right.state.line)}"),
        ("hosts busy (utilisation)", f"{a.utilization:.0%}", f"{b.utilization:.0%}"),
        ("turned away / no answer", f"{a.turned_away} / {a.failed}",
         f"{b.turned_away} / {b.failed}"),
    ]
    for label, *values in rows:
        table.add_row(label, *[Text(v, justify="right") for v in values])
    return table


class CompareScreen(Screen):
    """Two parties, one clock, the same guests."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("space", "toggle_pause", "Pause", tooltip="Pause or run both parties"),
        Binding("plus,equals_sign", "faster", "Faster"),
        Binding("minus,underscore", "slower", "Slower"),
        Binding("greater_than_sign", "skip", "+1s", show=False),
        Binding("t", "toggle_timeline", "Timelines"),
        Binding("m", "next_partner", "Other model"),
        Binding("r", "restart", "Restart"),
    ]

    def __init__(self, left: Scenario, right: Scenario, *, paused: bool = False,
                 fps: float = FPS) -> None:
        super().__init__()
        self.left = PartySession(left)
        self.right = PartySession(right)
        self.paused = paused
        self.fps = fps
        self.speed_index = DEFAULT_SPEED
        self.partner = 0
        self._wall = WallClock()
        self._table_at = 0.0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="compare-status")
        with Horizontal(id="compare-sides"):
            yield SideView(self.left, id="left")
            yield SideView(self.right, id="right")
        yield Static(id="compare-table")
        yield FittedFooter()  # whole keys only: the rest in ctrl+p

    def on_mount(self) -> None:
        self.set_interval(1 / self.fps, self.tick)
        self.draw(force=True)

    def tick(self) -> None:
        wall = self._wall.lap()
        if not self.paused and self.app.screen is self:
            self.advance(wall * SPEEDS[self.speed_index], FRAME_BUDGET / self.fps / 2)

    def advance(self, seconds: float, budget: float | None = None) -> None:
        """Both parties by the same party time (the left's, if a budget cut it short)."""
        before = self.left.driver.now
        self.left.advance(seconds, budget=budget)
        self.right.advance(self.left.driver.now - before)
        self.draw()

    def draw(self, force: bool = False) -> None:
        state = self.left.state
        self.query_one("#compare-status", Static).update(
            f"[b black on green] SIMULATED [/] [b]compare[/b]: the same guests (seed "
            f"{self.left.scenario.seed}), two servers   t={state.now:.3f}s  "
            f"{speed_label(SPEEDS[self.speed_index])}"
            + ("  [b black on yellow] PAUSED [/] [dim]space to run[/]" if self.paused else ""))
        self.query_one("#left", SideView).draw()
        self.query_one("#right", SideView).draw()
        now = time.monotonic()
        if force or now - self._table_at >= 1 / TABLE_RATE:
            self._table_at = now
            self.query_one("#compare-table", Static).update(comparison(self.left, self.right))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self.draw(force=True)

    def action_faster(self) -> None:
        self.speed_index = min(self.speed_index + 1, len(SPEEDS) - 1)
        self.draw(force=True)

    def action_slower(self) -> None:
        self.speed_index = max(self.speed_index - 1, 0)
        self.draw(force=True)

    def action_skip(self) -> None:
        self.advance(1.0)
        self.draw(force=True)

    def action_toggle_timeline(self) -> None:
        """Both parties' hosts over the last seconds, one above the other's numbers."""
        for timeline in self.query(TimelineView):
            timeline.display = not timeline.display
        self.draw(force=True)

    def action_restart(self) -> None:
        self.left.restart()
        self.right.restart()
        self.draw(force=True)

    def action_next_partner(self) -> None:
        """Set a different model beside the left party (same guests again)."""
        for _ in PARTNERS:
            self.partner = (self.partner + 1) % len(PARTNERS)
            changes = PARTNERS[self.partner]
            if changes["model"] == self.right.scenario.model:
                continue
            try:
                scenario = rebuild(self.left.scenario, **changes)
            except ScenarioError:
                continue
            self.right.restart(scenario)
            self.left.restart()
            self.query_one("#right", SideView).session = self.right
            self.draw(force=True)
            return

    def on_unmount(self) -> None:
        self.left.close()
        self.right.close()

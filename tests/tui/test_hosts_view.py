"""The hosts pane (``tui.widgets.hosts.HostsView``) in a narrow column, as the demo
draws it beside its words: the line of rooms, busy hosts and kitchen must not cut the
busy count ("busy hosts 3/…" at 46 columns, before)."""

from __future__ import annotations

import asyncio
import re

from rich.console import Group
from rich.text import Text
from textual.app import App, ComposeResult

from sim.scenario import build_scenario
from tui.driver import SimDriver
from tui.state import PartyState
from tui.widgets.hosts import HostsView

WIDTH = 46  # the demo's party pane at 120 columns


def busy_four_hosts() -> PartyState:
    """Four sync hosts with guests at the kitchen: the line is ~75 columns whole."""
    driver = SimDriver(build_scenario({"model": "sync", "workers": 4, "rate": 30, "cpu": "5",
                                       "io": "exp:100", "guests": 10**9, "seed": 1}))
    state = PartyState()
    state.feed(driver.advance(5.0))
    return state


def drawn(state: PartyState, height: int) -> tuple[list[str], bool]:
    """The pane's text lines above the hosts (cut to its width), and whether the hosts
    were drawn as cards."""

    class Pane(App):
        CSS = f"HostsView {{ width: {WIDTH}; height: {height}; }}"

        def compose(self) -> ComposeResult:
            yield HostsView(state)

    async def run() -> tuple[list[str], bool]:
        async with Pane().run_test(size=(80, 40)) as pilot:
            await pilot.pause()
            group = pilot.app.query_one(HostsView).render()
            assert isinstance(group, Group)
            lines = [r.plain[:WIDTH] for r in group.renderables if isinstance(r, Text)]
            return lines, not isinstance(group.renderables[-1], Text)

    return asyncio.run(run())


def test_a_narrow_pane_keeps_the_busy_count_whole_on_a_second_line():
    state = busy_four_hosts()
    whole = f"busy hosts {state.busy_hosts()}/4"
    lines, cards = drawn(state, 40)  # room for the cards and two lines
    assert cards and len(lines) == 2
    assert lines[0].startswith("rooms (CPU cores)") and lines[1].startswith(whole)


def test_when_the_cards_fit_only_below_one_line_it_drops_the_gloss_not_the_count():
    state = busy_four_hosts()
    lines, cards = drawn(state, 4 * 5 + 1)  # four cards of five rows, and one line
    assert cards and len(lines) == 1
    assert re.match(rf"rooms \S+ \d/2 taken +busy hosts {state.busy_hosts()}/4", lines[0])

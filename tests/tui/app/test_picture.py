"""What the cores, the GIL and the event loop add to the picture, driven with Pilot.

Each party is seeded, moved one event at a time to a moment that shows the thing, and
drawn by the hosts widget in a running app; the drawing is read back as text and held
to the state or to the trace read independently (``SimDriver.rewind``: the same
party's events from the start). The party screens around it are the snapshots' job.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable, Coroutine

from rich.console import Console
from textual.app import App, ComposeResult

from sim.scenario import build_scenario
from sim.trace import BLOCKING, CPU, DB, IO, UPLOAD, GilPassed, PhaseEnded
from tui.driver import SimDriver
from tui.state import PartyState
from tui.widgets.hosts import HostsView

SIZE = (120, 40)
GIL_PARTY = {"model": "threaded", "workers": 1, "threads": 4, "cpu": "20", "rate": 60,
             "guests": 10**9, "seed": 3}


class HostsApp(App):
    """Just the hosts widget (the party screen around it is pinned by the snapshots):
    an app this small starts in a fraction of the party screen's time."""

    def __init__(self, state: PartyState) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        yield HostsView(self.state)


class Party:
    """A seeded party fed to a state one event at a time, and its picture."""

    def __init__(self, knobs: dict, app: HostsApp) -> None:
        self.scenario = build_scenario(knobs)
        self.driver = SimDriver(self.scenario)
        self.state = app.state
        self.hosts = app.query_one(HostsView)

    def until(self, seconds: float, moment: Callable[[PartyState], bool]) -> None:
        """Move ``seconds`` on, then step until ``moment`` (or fail: it never came)."""
        self.state.feed(self.driver.advance(seconds))
        for _ in range(3000):
            if moment(self.state):
                return
            self.state.feed(self.driver.step())
        raise AssertionError("the moment never came")

    async def picture(self, pilot) -> list[str]:
        """The hosts widget as the learner reads it, one string per row."""
        self.hosts.show(self.state)
        await pilot.pause()
        console = Console(width=self.hosts.size.width, file=io.StringIO(), record=True)
        console.print(self.hosts.render())
        return console.export_text().splitlines()


def run(test: Callable[[HostsApp, object], Coroutine]) -> None:
    async def go() -> None:
        app = HostsApp(PartyState())
        async with app.run_test(size=SIZE) as pilot:
            await test(app, pilot)

    asyncio.run(go())


def chatting(state: PartyState) -> list[int]:
    return [h.worker for h in state.host_list if h.phase == CPU]


def test_under_a_gil_one_cpu_thread_holds_the_token_and_it_moves_each_switch():
    """Three threads of one process chat at once: exactly one row wears the token (the
    thread the trace last gave it to), the other two wait for it, and the token has
    used part of its 5 ms. The next GilPassed moves it to another thread. And under a
    GIL the process needs one core, not three: nobody is drawn sharing a core."""

    async def test(app: HostsApp, pilot) -> None:
        party = Party(GIL_PARTY, app)
        state = party.state
        party.until(1.0, lambda s: len(chatting(s)) >= 3)
        rows = await party.picture(pilot)
        tokens = [row for row in rows if "◆GIL" in row]
        assert len(tokens) == 1
        holder = state.gil[0]
        assert holder in chatting(state)
        assert re.search(rf"\bt{holder} g\d+ chatting ◆GIL \d\.\d/5 ms", tokens[0])
        assert sum("waits for the GIL" in row for row in rows) == len(chatting(state)) - 1
        assert "passed every 5 ms" in rows[1]
        assert not any("runs " in row for row in rows)  # one runnable thread, 2 cores
        party.until(0.0, lambda s: isinstance(s.last, GilPassed))  # the next hand-over
        assert isinstance(state.last, GilPassed) and state.gil[0] == state.last.worker != holder
        rows = await party.picture(pilot)
        assert [row for row in rows if "◆GIL" in row] == [
            row for row in rows if f"t{state.last.worker} " in row and "◆GIL" in row]

    run(test)


def test_free_threaded_hosts_share_the_cores_and_no_token_is_drawn():
    """--gil off: three threads chat on 2 cores; Linux slices them, each runs 2/3 of the
    time (sim.model.cores: C / n), and every chatting row says so; no token anywhere."""

    async def test(app: HostsApp, pilot) -> None:
        party = Party({**GIL_PARTY, "gil": "off", "cpu": "10", "rate": 190, "cores": 2}, app)
        party.until(1.0, lambda s: len(chatting(s)) == 3)
        rows = await party.picture(pilot)
        assert party.state.runnable() == 3
        assert "3 share them, time-sliced: each runs 2/3" in rows[0]
        assert sum("chatting · runs 2/3 ■■□" in row for row in rows) == 3
        assert not any("◆GIL" in row for row in rows)
        assert "no GIL (free-threaded)" in rows[1]

    run(test)


def test_a_held_loop_shows_its_ready_queue_in_the_order_the_kitchen_answered():
    """gevent's hub held by an unpatched call: the guests whose io ended since wait for a
    turn. The ready row counts exactly those (read from the trace afresh), names the
    first back as next, and says the loop is held; the door row counts the line."""

    async def test(app: HostsApp, pilot) -> None:
        knobs = {"model": "gevent", "workers": 1, "rate": 40, "io": "exp:50",
                 "blocking": "20", "guests": 10**9, "seed": 7}
        party = Party(knobs, app)
        state = party.state
        party.until(2.0, lambda s: s.loops[0].blocked and len(s.loops[0].ready) >= 2
                    and s.loops[0].busy_phase == BLOCKING)
        back: dict[int, float] = {}
        for event in SimDriver(party.scenario).rewind(state.events):
            guest = getattr(event, "guest", None)
            if guest is None:
                continue
            back.pop(guest, None)  # any later event of theirs: no longer waiting
            if isinstance(event, PhaseEnded) and event.phase in (IO, DB, UPLOAD):
                back[guest] = event.t
        order = sorted(back, key=back.__getitem__)
        rows = await party.picture(pilot)
        ready = next(row for row in rows if "ready queue" in row)
        assert re.search(rf"ready\s+{len(order)} \(ready queue, wait: loop held\) "
                         rf"next▸g{order[0]} ", ready)
        door = next(row for row in rows if "door " in row and "accept" in row)
        assert re.search(rf"door\s+{len(state.line)} ", door)

    run(test)

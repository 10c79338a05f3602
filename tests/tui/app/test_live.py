"""The live switch: a real server and real guests on screen, and nothing left behind.

Starts real processes (the minimal sync server and its workers) on loopback. Every
check of "no orphan" looks at this test process's descendants with psutil.
"""

from __future__ import annotations

import asyncio
import time

import psutil

from tui.app import create_app
from tui.live import LiveDriver
from tui.screens.party import PartyScreen

EARLIER: set[int] = set()  # descendants from before the test: not ours to judge


def descendants() -> list[psutil.Process]:
    alive = []
    for p in psutil.Process().children(recursive=True):
        try:
            if p.pid not in EARLIER and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
        except psutil.NoSuchProcess:
            pass
    return alive


def wait_gone(timeout: float = 10.0) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    left = descendants()
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = descendants()
    return left


def test_live_switch_draws_real_reports_and_stops_the_server_on_switch_back_and_quit():
    EARLIER.update(p.pid for p in psutil.Process().children(recursive=True))

    async def run() -> None:
        app = create_app(start="party", paused=True)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, PartyScreen)
            await pilot.press("l")
            driver = screen.session.driver
            assert isinstance(driver, LiveDriver) and screen.session.live
            for _ in range(120):  # the server boots, then guests come at 25/s
                await pilot.pause(0.1)
                if driver.server is not None and screen.session.state.served >= 5:
                    break
            assert driver.error is None
            state = screen.session.state
            assert state.model == "sync" and len(state.host_list) == 4
            assert state.served >= 5, "real guests were answered and reported"
            server_pid = driver.server.pid
            assert server_pid in {p.pid for p in descendants()}
            await pilot.press("full_stop")  # real time cannot be stepped: refused, no crash
            await pilot.press("l")  # back to the simulation
            assert not screen.session.live
            assert not wait_gone(), "switching back stops the server and its workers"
            await pilot.press("l")  # live again, then quit while it runs
            for _ in range(100):
                await pilot.pause(0.1)
                if screen.session.driver.server is not None:
                    break
            assert descendants()
            await pilot.press("q")
        assert app.return_code == 0

    asyncio.run(run())
    left = wait_gone()
    assert not left, f"quitting left {[(p.pid, p.cmdline()) for p in left]}"


def test_a_server_that_cannot_start_is_reported_not_raised(monkeypatch):
    """A failing start becomes a notice and the party goes back to the simulation."""

    def broken_start(self) -> None:
        self.error = "ServerError: no server for you"
        self.ready.set()

    monkeypatch.setattr(LiveDriver, "start", broken_start)

    async def run() -> None:
        app = create_app(start="party", paused=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("l")
            await pilot.pause(0.3)
            assert not app.screen.session.live
            assert any("did not start" in n.message for n in app._notifications)

    asyncio.run(run())

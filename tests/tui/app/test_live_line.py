"""The live line is the kernel's accept queue (issue 16: "0/2048 waiting" while ~75 waited).

A real minimal event-loop server on loopback whose loop a 2 s blocking call freezes:
guests sent meanwhile wait in the kernel, unaccepted, so the server cannot report them;
the door must draw them anyway, read from the kernel (``sim.live.acceptq``). Runs under
the measurement lock in CI like every live test; 4.7 s here on a loaded 2-core machine
(1.8 s of it the app's start, 2 s the server's boot).
"""

from __future__ import annotations

import asyncio
import re
import socket
import time

from sim.live.acceptq import accept_queue
from sim.scenario import build_scenario
from tests.tui.app.test_live import EARLIER, descendants, wait_gone
from tui.app import create_app
from tui.live import LiveDriver
from tui.widgets.door import DoorLine
from tui.widgets.timeline import TimelineView

FROZEN = {"model": "async", "rate": 40, "phases": "blocking:2000", "guests": 10**9, "seed": 1}


def test_accept_queue_counts_connections_nobody_accepted():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        assert accept_queue(port) == 0
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
        try:
            deadline = time.monotonic() + 1.0  # the handshakes complete in microseconds
            while accept_queue(port) != 5 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert accept_queue(port) == 5
            listener.accept()[0].close()
            assert accept_queue(port) == 4
        finally:
            for client in clients:
                client.close()


def test_a_frozen_loop_shows_the_guests_waiting_in_the_kernel():
    EARLIER.update(p.pid for p in descendants())

    async def run() -> None:
        app = create_app(build_scenario(FROZEN), start="party", paused=True)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            await pilot.press("l")
            driver = screen.session.driver
            assert isinstance(driver, LiveDriver)
            drawn = 0
            for _ in range(80):  # the server boots (2 s here), the first guest freezes the loop
                await pilot.pause(0.1)
                door = screen.query_one(DoorLine)
                found = re.search(r"(\d+)/\d+ waiting", door.render().plain)
                drawn = int(found.group(1)) if found else 0
                if drawn >= 5:
                    break
            assert driver.error is None
            queue, unanswered = driver.line_now()
            assert drawn >= 5, f"the door drew {drawn} waiting (kernel: {queue})"
            assert unanswered >= drawn  # every guest in the kernel's line was sent
            assert screen.session.state.served == 0  # the loop is still frozen: none served
            assert screen.query_one(TimelineView).timeline.kernel_line >= 5  # its line lane
            driver.server.stop(timeout=0.2)  # frozen, it would take its whole grace period
            await pilot.press("q")

    asyncio.run(run())
    left = wait_gone()
    assert not left, "quitting stops the server and its workers"

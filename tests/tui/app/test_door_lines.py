"""``--reuse-port`` in the party picture: one line per host process, side by side."""

from __future__ import annotations

import asyncio

from sim.scenario import build_scenario
from tui.app import create_app
from tui.widgets.door import DoorLine


def test_the_door_draws_a_line_per_process_with_reuse_port_and_one_without():
    """sync W=2 at 60/s, io 50 ms (overloaded: both lines fill), one second of party time."""

    async def door_text(reuse_port: bool) -> str:
        scenario = build_scenario({"model": "sync", "workers": 2, "rate": 60, "io": "50",
                                   "cpu": "0", "reuse_port": reuse_port, "seed": 2})
        app = create_app(scenario, start="party", paused=True)
        async with app.run_test(size=(100, 32)) as pilot:
            await pilot.press("greater_than_sign")
            await pilot.pause()
            door = app.screen.query_one(DoorLine)
            assert app.screen.session.state.line, "guests are waiting"
            return door.render().plain

    own = asyncio.run(door_text(True))
    first = own.splitlines()[0]
    assert "one per host, --reuse-port" in first and "0 " in first and " │ 1 " in first, own
    shared = asyncio.run(door_text(False))
    assert "(listen backlog)" in shared and "│" not in shared.splitlines()[0], shared

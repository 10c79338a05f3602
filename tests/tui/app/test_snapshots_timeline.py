"""The timeline pinned: sync and async on the same guests (issue 16), looked at as PNGs.

The free-play guests (seed 1: 25 a second, 5 ms of cpu, ~100 ms at the kitchen), 8 s
of party time, paused, the timeline shown with ``t``: four sync processes stand idle at
the kitchen most of each tenth of a second (yellow), where the one event loop chats in
short green bars and juggles its guests at the kitchen with its hands free (blue).
Regenerate with ``pytest --snapshot-update`` only after looking.
"""

from __future__ import annotations

from sim.scenario import build_scenario
from tui.app import create_app
from tui.session import FREE_PLAY, rebuild


async def eight_seconds_on(pilot) -> None:
    """The timeline shown by its key, then 8 s of party time in one advance (one frame)."""
    await pilot.press("t")
    pilot.app.screen.advance(8.0)
    await pilot.pause()


def test_timeline_sync(snap_compare):
    app = create_app(build_scenario(FREE_PLAY), start="party", paused=True)
    assert snap_compare(app, run_before=eight_seconds_on, terminal_size=(120, 40))


def test_timeline_async_same_guests(snap_compare):
    scenario = rebuild(build_scenario(FREE_PLAY), model="async")
    app = create_app(scenario, start="party", paused=True)
    assert snap_compare(app, run_before=eight_seconds_on, terminal_size=(120, 40))

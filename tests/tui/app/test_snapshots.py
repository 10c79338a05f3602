"""What the learner sees, pinned: each SVG was looked at (as a PNG) before it was accepted.

Fixed seeds, parties paused, party time moved only by keys or actions: the same
pixels every run. Regenerate with ``pytest --snapshot-update`` only after looking.
"""

from __future__ import annotations

from sim.scenario import build_scenario
from tui.app import create_app

BLOCKING_PARTY = {"model": "async", "rate": 20, "cpu": "2", "io": "exp:100",
                  "blocking": "40", "guests": 10**9, "seed": 7}


def test_welcome(snap_compare):
    assert snap_compare(create_app(paused=True), terminal_size=(100, 30))


def test_party_sync(snap_compare):
    app = create_app(start="party", paused=True)
    keys = ["greater_than_sign"] * 3 + ["full_stop"] * 4
    assert snap_compare(app, press=keys, terminal_size=(120, 40))


def test_party_sync_small_terminal(snap_compare):
    app = create_app(start="party", paused=True)
    assert snap_compare(app, press=["greater_than_sign"] * 2, terminal_size=(80, 24))


def test_party_async_with_a_blocked_loop(snap_compare):
    app = create_app(build_scenario(BLOCKING_PARTY), start="party", paused=True)

    async def run_before(pilot) -> None:
        screen = pilot.app.screen
        screen.advance(2.0)
        for _ in range(500):  # step on to the moment a blocking call freezes the loop
            screen.action_step()
            if screen.session.state.loops[0].blocked:
                break
        assert screen.session.state.loops[0].blocked
        await pilot.pause()

    assert snap_compare(app, run_before=run_before, terminal_size=(120, 40))


def test_compare(snap_compare):
    app = create_app(start="party", paused=True)
    keys = ["v", "greater_than_sign", "greater_than_sign"]
    assert snap_compare(app, press=keys, terminal_size=(120, 36))


def test_help(snap_compare):
    app = create_app(start="party", paused=True)
    assert snap_compare(app, press=["question_mark"], terminal_size=(100, 32))


POOL_PARTY = {"model": "threadpool", "threads": 8, "rate": 100, "phases": "cpu:1,blocking:20",
              "guests": 10**9, "seed": 3}


def test_party_threadpool(snap_compare):
    """FastAPI's def endpoints: the loop at the head of a pool of threads, one GIL."""
    app = create_app(build_scenario(POOL_PARTY), start="party", paused=True)

    async def run_before(pilot) -> None:
        pilot.app.screen.advance(1.0)
        await pilot.pause()

    assert snap_compare(app, run_before=run_before, terminal_size=(120, 40))

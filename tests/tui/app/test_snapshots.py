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


# What the cores, the GIL and the event loop add (issue 13), and the servers of issue 14.
# Each party is moved to its moment with a few drawn steps (a few dozen at most).


def _party_at(knobs: dict, seconds: float, moment=None):
    """A paused party of ``knobs``, ``seconds`` on, then stepped until ``moment``."""
    app = create_app(build_scenario(knobs), start="party", paused=True)

    async def run_before(pilot) -> None:
        screen = pilot.app.screen
        screen.advance(seconds)
        for _ in range(100):
            if moment is None or moment(screen.session.state):
                break
            screen.action_step()
        assert moment is None or moment(screen.session.state)
        await pilot.pause()

    return app, run_before


def _chatting(state) -> int:
    return sum(1 for host in state.host_list if host.phase == "cpu")


def test_party_threaded_gil_token(snap_compare):
    """gthread, 4 threads, cpu 20 ms: three chat at once, one holds the GIL token (with
    the part of its 5 ms switch interval used), the other two wait for it."""
    app, run_before = _party_at({"model": "threaded", "workers": 1, "threads": 4,
                                 "cpu": "20", "rate": 60, "guests": 10**9, "seed": 3},
                                1.0, lambda s: _chatting(s) >= 3)
    assert snap_compare(app, run_before=run_before, terminal_size=(120, 40))


def test_party_free_threaded_sharing_the_cores(snap_compare):
    """--gil off: no token; three threads chat on 2 cores, each runs 2/3 of the time."""
    app, run_before = _party_at({"model": "threaded", "workers": 1, "threads": 4,
                                 "gil": "off", "cpu": "10", "rate": 190, "cores": 2,
                                 "guests": 10**9, "seed": 3},
                                1.0, lambda s: s.runnable() >= 3)
    assert snap_compare(app, run_before=run_before, terminal_size=(120, 40))


def test_party_gevent_ready_queue(snap_compare):
    """A gevent hub held by an unpatched call: guests back from the kitchen queue for a
    turn (the first is next), the line waits for the turns that let guests in."""
    app, run_before = _party_at({"model": "gevent", "workers": 1, "rate": 40,
                                 "io": "exp:50", "blocking": "20", "guests": 10**9,
                                 "seed": 7},
                                2.05, lambda s: s.loops[0].blocked and len(s.loops[0].ready) >= 2)
    assert snap_compare(app, run_before=run_before, terminal_size=(120, 40))


def test_party_threadpool_db_pool(snap_compare):
    """8 pool threads behind a pool of 3 database connections: 3 at a kitchen table,
    never more (a finite kitchen). A thread waiting for a connection is drawn as waiting
    a turn: the trace tells a db phase only once the connection is in hand."""
    app, run_before = _party_at({"model": "threadpool", "threads": 8, "db_pool": 3,
                                 "phases": "cpu:1,db:30", "rate": 150, "guests": 10**9,
                                 "seed": 3}, 1.0)
    assert snap_compare(app, run_before=run_before, terminal_size=(120, 40))


def test_compare_asgi_worker_and_supervised(snap_compare):
    """The same house under two managers: Gunicorn's arbiter has thrown out the loops
    held past --timeout; uvicorn's supervisor leaves them held."""
    from tui.screens.compare import CompareScreen

    knobs = {"workers": 2, "rate": 4, "cpu": "2", "io": "exp:100", "blocking": "2500",
             "timeout": 1, "guests": 10**9, "seed": 7}
    app = create_app(paused=True)

    async def run_before(pilot) -> None:
        await pilot.app.push_screen(CompareScreen(
            build_scenario({"model": "asgi-worker", **knobs}),
            build_scenario({"model": "supervised", **knobs}), paused=True))
        await pilot.pause()
        pilot.app.screen.advance(6.0)
        pilot.app.screen.draw(force=True)
        await pilot.pause()

    assert snap_compare(app, run_before=run_before, terminal_size=(120, 40))

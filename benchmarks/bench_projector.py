"""The demo's projector mode with a crowd: frames per second and CPU of the app's process.

- The screen: ``DemoScreen`` in projector mode in a 200x60 headless terminal (big host
  cards, big digits, the step's text and table), presenter mode so the scene stays.
- The party in its pane: ``uvicorn`` (one event loop) with 1,000 guests in flight
  (1,000 guests a second, each a second at the kitchen: Little's law L = 1000/s x 1 s,
  a little cpu each), at x1 instead of the demo's watching speed; and a sync party of
  16 hosts at 200 guests a second (16 big cards redrawn each frame).
- Measured: the pane's frames per wall second (target >= 20) and CPU seconds per wall
  second of this process (target < 0.6 of one core), over ``--seconds``, after the
  scene's own runs are in (their thread would otherwise be counted).
- Reference, in the same run: the same party time simulated and folded with no app
  (``PartySession.advance``), so the ratio says what drawing costs on top; and the
  share of a core a busy loop gets on this machine right now, since frames per second
  on a shared 2-core machine are bounded by it. CPU per frame (ms) does not depend on
  how busy the machine is, so it is printed too, with the share of a core 20 frames a
  second would need at that cost.

Measured 2026-11-30 on the 2-core CI-like box with a busy loop getting 1.00 of a core:
1,000 in flight 23.2 frames/s at 0.42 of a core (18.1 ms a frame, party at x1.00);
16 sync hosts 23.2 frames/s at 0.33 (14.1 ms a frame). With other work taking most
of the machine (a busy loop got 0.39 of a core) the crowd fell to 7.8 frames/s at
0.26 of a core: the frames per second follow the core you get, the ms per frame do not.
Before the big cards were drawn as segments (Rich Panels in a Table, every line
repainted) a frame cost about 35 ms.

Run: python benchmarks/bench_projector.py [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_app import CROWD, WARMUP, report  # noqa: E402  (the same crowd, the same rows)

from sim.scenario import build_scenario  # noqa: E402
from tui.app import create_app  # noqa: E402
from tui.screens.demo import DemoScreen  # noqa: E402
from tui.widgets.projector import BigHosts, FreezablePane  # noqa: E402

SIXTEEN = {"model": "sync", "workers": 16, "cores": 4, "rate": 200, "cpu": "2",
           "io": "exp:60", "guests": 10**9, "seed": 1}
SIZE = (200, 60)


async def watch(values: dict, seconds: float) -> dict:
    app = create_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = DemoScreen(presenter=True)  # projector by itself at 200x60
        await app.push_screen(screen)
        deadline = time.monotonic() + 60
        while screen.index not in screen.ready and time.monotonic() < deadline:
            await pilot.pause(0.1)
        assert screen.has_class("-projector") and screen.query_one(BigHosts).big
        pane = screen.query_one(FreezablePane)
        pane.play(build_scenario(values), "bench")
        pane.session.advance(WARMUP)
        pane.speed = 1.0
        inside = len(pane.session.state.arrival)
        await pilot.pause(0.5)  # settle
        frames0, cpu0, wall0 = pane.frames, time.process_time(), time.perf_counter()
        t0 = pane.session.state.now
        await pilot.pause(seconds)
        frames, cpu = pane.frames - frames0, time.process_time() - cpu0
        wall = time.perf_counter() - wall0
        party = pane.session.state.now - t0
        inside_end = len(pane.session.state.arrival)
    return {"fps": frames / wall, "cpu": cpu / wall, "party": party, "wall": wall,
            "inside": (inside, inside_end)}


def available(seconds: float = 1.0) -> float:
    """The share of a core a pure-Python busy loop gets right now (1.0 on an idle box)."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall0 < seconds:
        pass
    return (time.process_time() - cpu0) / (time.perf_counter() - wall0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="wall seconds measured")
    args = parser.parse_args()
    print(f"a busy loop gets {available():.2f} of a core on this machine now")
    report(f"projector {SIZE[0]}x{SIZE[1]}: 1,000 guests in flight (async)",
           asyncio.run(watch(CROWD, args.seconds)), CROWD)
    report(f"projector {SIZE[0]}x{SIZE[1]}: 16 sync hosts, 200 guests/s",
           asyncio.run(watch(SIXTEEN, args.seconds)), SIXTEEN)
    print(f"a busy loop gets {available():.2f} of a core on this machine now")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How right and how costly ``partyhost profile``'s measurement is.

- Accuracy: the apps of known cost in ``tests/sim/profile/known_app.py`` (20 ms of cpu by
  the thread's clock, 12 ms awaited or slept, 10 ms of ``time.sleep`` inside ``async def``
  on /block, 20 ms cpu + 12 ms sleep in a worker thread on /thread), profiled with
  ``-n``: each phase's median and mean beside what the handler does, as a ratio.
- Cost: the instrumented server's own time per request against calling the same ASGI
  app bare on the same loop (no task factory, no clocks), for a handler that does
  nothing but answer (the worst case: all overhead), and the measured cost of timing one
  step (``step_cost``), which the profile takes out of cpu.
- The examples: both shops profiled with ``-n``, their tables.

Run: python benchmarks/bench_profile.py [-n N]   (wrap it in the measure lock on a shared box)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sim.profile.fit import percentile  # noqa: E402
from sim.profile.measure import RunQueue, plan, run_asgi, run_wsgi, step_cost  # noqa: E402
from sim.profile.replay import Endpoint  # noqa: E402
from tests.sim.profile import known_app as known  # noqa: E402


def accuracy(n: int) -> None:
    cases = [
        ("wsgi /a", run_wsgi, known.wsgi, "/a", {"cpu": known.CPU_MS, "io": known.IO_MS}),
        ("asgi /async", run_asgi, known.asgi, "/async",
         {"cpu": known.CPU_MS, "io": known.IO_MS, "blocking": 0.0}),
        ("asgi /block", run_asgi, known.asgi, "/block",
         {"cpu": known.CPU_MS, "io": known.IO_MS, "blocking": known.BLOCK_MS}),
        ("asgi /thread", run_asgi, known.asgi, "/thread",
         {"cpu": known.THREAD_CPU_MS, "io": known.IO_MS, "blocking": 0.0}),
    ]
    print(f"accuracy, {n} requests each after 10 warm-up (ms; ratio = median / known)")
    for name, run, app, path, want in cases:
        samples = run(app, [Endpoint("GET", path, 1)], [0] * (n + 10))[10:]
        parts = []
        for phase, expected in want.items():
            values = [getattr(s, phase) * 1000 for s in samples]
            median = percentile(values, 50)
            ratio = f"x{median / expected:.3f}" if expected else f"+{median:.3f}"
            parts.append(f"{phase} {median:.2f} (mean {statistics.fmean(values):.2f}) {ratio}")
        core = statistics.fmean(s.core_wait for s in samples) * 1000
        print(f"  {name:13} " + "; ".join(parts) + f"; waited for a core {core:.2f}")


async def _bare(app, count: int) -> float:
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"",
             "headers": [], "asgi": {"version": "3.0"}}
    start = time.perf_counter()
    for _ in range(count):
        await asyncio.get_running_loop().create_task(app(scope, receive, send))
    return (time.perf_counter() - start) / count


async def hello(scope, receive, send):
    if scope["type"] != "http":
        raise RuntimeError("no lifespan")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def cost(n: int) -> None:
    count = max(n, 2000)
    bare = statistics.median(asyncio.run(_bare(hello, count)) for _ in range(3))
    walls = []
    for _ in range(3):
        start = time.perf_counter()
        run_asgi(hello, [Endpoint("GET", "/", 1)], plan([1], count))
        walls.append((time.perf_counter() - start) / count)
    queue = RunQueue()
    step = step_cost(queue)
    queue.close()
    print(f"cost: a bare hello request {bare * 1e6:.1f} us, instrumented "
          f"{statistics.median(walls) * 1e6:.1f} us (x{statistics.median(walls) / bare:.1f}); "
          f"timing one step {step * 1e6:.1f} us")


def examples(n: int) -> None:
    from tui.cli import main

    for app, requests in (("examples.flask_shop.app:app", "examples/flask_shop/requests.txt"),
                          ("examples.fastapi_shop.app:app",
                           "examples/fastapi_shop/requests.txt")):
        main(["profile", app, "--requests", requests, "-n", str(n)])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200)
    args = parser.parse_args()
    import os

    os.chdir(REPO)
    accuracy(args.n)
    cost(args.n)
    examples(args.n)

"""How fast the engine simulates, as ratios against bare SimPy measured in the same run.

- Reference: a bare SimPy M/M/c (a Resource and one process per guest, no tracing),
  the textbook way to write it.
- Each model on the same 200,000 guests (sync W=4 style, exp:100 io, rate 32) with
  full tracing: every event built and handed to a sink. Twice: a sink that only
  counts (the cost of tracing), and the streaming Metrics fold (what `simulate` does).
- Peak memory of a 1,000,000-guest `simulate` run, in a fresh process (ru_maxrss).
- A 16-point sweep of 100,000 guests per point over the cores, against the same
  sweep done by bare SimPy in the same pool (the floor no tracing engine can beat).

Run: python benchmarks/bench_engine.py [--guests N] [--skip-memory] [--skip-sweep]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import simpy

from sim.model import build_party
from sim.run import simulate
from sim.scenario import build_scenario
from sim.servers import SERVERS

RATE, SERVICE, C = 32.0, 0.1, 4


def bare_mmc(guests: int, rate: float = RATE, service: float = SERVICE, c: int = C,
             seed: int = 1) -> float:
    """The reference: M/M/c in plain SimPy, no events told to anyone. Returns seconds."""
    rng = random.Random(seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=c)

    def guest():
        with servers.request() as request:
            yield request
            yield env.timeout(rng.expovariate(1 / service))

    def source():
        for _ in range(guests):
            yield env.timeout(rng.expovariate(rate))
            env.process(guest())

    start = time.perf_counter()
    env.process(source())
    env.run()
    return time.perf_counter() - start


class Count:
    def __init__(self) -> None:
        self.events = 0

    def __call__(self, event) -> None:
        self.events += 1


def scenario(model: str, guests: int):
    knobs = {"model": model, "rate": RATE, "io": f"exp:{SERVICE * 1000:g}", "guests": guests,
             "seed": 1, "cores": C}
    row = SERVERS[model]
    if row.has("workers"):  # sync W=4 style: C hosts where the server has several
        knobs["workers"] = C
    elif row.has("threads"):
        knobs["threads"] = C
    return build_scenario(knobs)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def speed(guests: int) -> None:
    bare = min(bare_mmc(guests) for _ in range(2))
    print(f"bare SimPy M/M/{C}: {guests / bare:,.0f} guests/s (reference)")
    print(f"{'model':10} {'tracing':>16} {'ratio':>6} {'+ metrics':>16} {'ratio':>6}")
    for model in SERVERS:
        s = scenario(model, guests)
        traced = min(timed(lambda s=s: build_party(s, Count()).run()) for _ in range(2))
        folded = min(timed(lambda s=s: simulate(s)) for _ in range(2))
        print(f"{model:10} {guests / traced:>12,.0f} g/s {bare / traced:>5.2f}x "
              f"{guests / folded:>12,.0f} g/s {bare / folded:>5.2f}x")


def gil_cost(guests: int) -> None:
    """Threaded with cpu work (so each process builds its GIL), mostly uncontended:
    against the same party free-threaded (no GIL at all), and contended, at 90%."""
    base = {"model": "threaded", "workers": 2, "threads": C, "cores": C, "rate": RATE,
            "phases": "cpu:1,io:exp:100", "guests": guests, "seed": 1}
    for label, knobs in (("uncontended", base),
                         ("contended", {**base, "phases": "cpu:exp:14,io:exp:20",
                                        "workers": 1, "rate": 64})):
        on, off = build_scenario(knobs), build_scenario({**knobs, "gil": "off"})
        with_gil = min(timed(lambda s=on: build_party(s, Count()).run()) for _ in range(2))
        without = min(timed(lambda s=off: build_party(s, Count()).run()) for _ in range(2))
        print(f"threaded {label} GIL: {guests / with_gil:,.0f} g/s, free-threaded "
              f"{guests / without:,.0f} g/s: the GIL costs {with_gil / without:.2f}x")


def memory() -> None:
    code = ("import resource; from sim.run import simulate; from sim.scenario import "
            "build_scenario; simulate(build_scenario({'model': 'sync', 'workers': 4, "
            "'rate': 32, 'io': 'exp:100', 'guests': 1_000_000})); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    base = ("import resource, sim.run; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    peak = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout)
    idle = int(subprocess.run([sys.executable, "-c", base], capture_output=True, text=True,
                              check=True).stdout)
    print(f"peak RSS simulating 1,000,000 guests: {peak / 1024:,.0f} MB "
          f"(the interpreter with sim imported: {idle / 1024:,.0f} MB); target < 300 MB")


def sweep_point(workers: int) -> None:
    simulate(build_scenario({"model": "sync", "workers": workers, "rate": 100,
                             "io": "exp:100", "guests": 100_000, "seed": 1}))


def bare_point(workers: int) -> None:
    bare_mmc(100_000, rate=100, service=0.1, c=workers)


def sweep() -> None:
    jobs = os.cpu_count() or 1
    points = list(range(1, 17))
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(bare_point, [1, 2]))  # warm the pool up
        ours = timed(lambda: list(pool.map(sweep_point, points)))
        bare = timed(lambda: list(pool.map(bare_point, points)))
    print(f"16-point sweep x 100,000 guests on {jobs} cores: {ours:.1f} s "
          f"(bare SimPy, no tracing, same pool: {bare:.1f} s; ratio {ours / bare:.2f}x); "
          "target < 10 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=200_000)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"SimPy {simpy.__version__}; load average {os.getloadavg()[0]:.1f}")
    speed(args.guests)
    gil_cost(args.guests)
    if not args.skip_memory:
        memory()
    if not args.skip_sweep:
        sweep()


if __name__ == "__main__":
    main()

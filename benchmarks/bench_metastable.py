"""A metastable failure: a spike, impatient guests who retry, and a server that stays down.

Bronson et al. (HotOS 2021): a system at a healthy load is pushed over capacity by a
short trigger (here a 10 s spike to 2x capacity); its guests time out and retry, the
retries add load, the server works on requests whose clients have already left
(``wasted``), and so it stays overloaded after the trigger is gone, for as long as the
retries keep coming. Without retries the same spike only leaves a line that drains.

This prints goodput (answers a waiting guest received, per second) before, during and
after the spike, with and without retries, for the simulation and, with ``--live``, for
the minimal live server driven by the load generator (needs ``partyhost live``).

    python benchmarks/bench_metastable.py            # the simulation, ~10 s
    python benchmarks/bench_metastable.py --live     # and the live server, ~4 min
"""

from __future__ import annotations

import argparse

from sim.model import build_party
from sim.scenario import build_scenario
from sim.trace import Arrived, Finished, TurnedAway

# sync W=2, io 50 ms: capacity 40/s; base 30/s (75%); a 10 s spike to 80/s (2x).
BASE = {"model": "sync", "workers": 2, "cpu": 0, "io": 50, "rate": 30, "duration": 120,
        "spike": "20:10:80", "patience": 1000, "seed": 1}
RETRY = {"retries": 3, "backoff": "exp:100"}
WINDOWS = (("before", 0, 20), ("spike", 20, 30), ("after", 30, 80), ("late", 80, 120))


def goodput(values: dict) -> dict[str, float]:
    """Answers a still-waiting guest received per second, in each window."""
    scenario = build_scenario(values)
    gone: set[int] = set()
    answered: list[float] = []
    arrived: list[float] = []

    def sink(event) -> None:
        if isinstance(event, TurnedAway):
            gone.add(event.guest)
        elif isinstance(event, Finished) and event.guest not in gone:
            answered.append(event.t)
        elif isinstance(event, Arrived):
            arrived.append(event.t)

    build_party(scenario, sink).run()
    out = {}
    for name, start, end in WINDOWS:
        out[name] = sum(start <= t < end for t in answered) / (end - start)
        out[name + "_offered"] = sum(start <= t < end for t in arrived) / (end - start)
    return out


def live_goodput(values: dict) -> dict[str, float]:
    """The same windows, measured: the minimal server and the load generator (which
    gives guests the same patience, retries and spike), from the client's side."""
    from sim.live.loadgen import OK
    from sim.side_by_side import live_party

    run = live_party(build_scenario(values), simulate_too=False)
    shots = run.measured.shots
    t0 = min(shot.intended for shot in shots)
    answered = [shot.done - t0 for shot in shots if shot.outcome == OK]
    sent = [shot.intended - t0 for shot in shots]
    out = {}
    for name, start, end in WINDOWS:
        out[name] = sum(start <= t < end for t in answered) / (end - start)
        out[name + "_offered"] = sum(start <= t < end for t in sent) / (end - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="also run the live server")
    args = parser.parse_args()
    print("sync W=2, io 50 ms (capacity 40/s), 30/s with a spike to 80/s at 20-30 s, "
          "patience 1 s")
    print(f"{'':28}" + "".join(f"{f'{w} {a}-{b}s':>14}" for w, a, b in WINDOWS)
          + "   goodput/s (offered/s)")
    for label, extra in (("simulated, no retries", {}), ("simulated, 3 retries", RETRY)):
        g = goodput({**BASE, **extra})
        cells = "".join(f"{g[w]:>9.1f}({g[w + '_offered']:>3.0f})" for w, _, _ in WINDOWS)
        print(f"{label:28}{cells}")
    if args.live:
        for label, extra in (("live, no retries", {}), ("live, 3 retries", RETRY)):
            g = live_goodput({**BASE, **extra})
            cells = "".join(f"{g[w]:>9.1f}({g[w + '_offered']:>3.0f})" for w, _, _ in WINDOWS)
            print(f"{label:28}{cells}", flush=True)


if __name__ == "__main__":
    main()

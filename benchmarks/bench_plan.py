"""Profile, plan, verify: does the plan's gunicorn count hold under real Gunicorn?

``flock /tmp/partyhost-measure.lock python benchmarks/bench_plan.py`` (defaults: the
Flask example, ``examples.flask_shop.app:app`` with ``examples/flask_shop/requests.txt``).

Theory of operation. Issue 17's promise, end to end: profile the app (``partyhost
profile APP --requests FILE -o PROFILE``, in a child process as a user would run it; or
``--profile FILE`` to skip it); measure Gunicorn's own cost a request (``partyhost
calibrate``, or ``--overhead MS``) and add it to the profile; plan the sync Gunicorn
workers for ``--rate`` and ``--p99`` (``sim.plan`` on a process pool, as ``partyhost
plan`` does); start the app under ``gunicorn -w N`` with the count the plan chose
(``sim.verify``), replay the mix at the same rate for ``--seconds``, and print p50 and
p99 predicted beside measured, whether each is within the issue's targets (p50 20%,
p99 35%), and whether the real server met the p99 target. ``--five`` also times a plan
of the hand-written 5-endpoint ASGI profile (``tests/plan_fixture/five.toml``), which
the issue wants under a minute on 2 cores.

The profile measures the app in-process: Gunicorn's own cost a request (accept, parse,
write, close: ~1.1 ms of worker cpu on top of the Flask shop's /items, measured with
psutil here) is not in it, so the benchmark calibrates and adds it, as ``partyhost
live`` suggests. On a shared 2-core machine the load generator and everything else
running compete with the server for the cores, which no prediction knows.

Measured (2026-11-30, a quiet 2-core machine, ``--repeat 5``, defaults, the final
code): calibrate said 0.69 ms; the plan chose ``gunicorn -w 1`` (p99 45.4 ±1.4 ms);
verify's quiet run added 1.15-1.45 ms a request to every guest (the server's cpu and
its 0.57-0.65 ms wait for a core, beyond the profile's) and a 0.44-0.61 ms wake-up; p50
predicted / measured 4.6/5.2, 4.3/4.9, 4.4/5.0, 4.6/5.1, 4.3/4.9 (+11% to +16%: within
20% in 5 of 5, and in 20 of 20 in four more sets), p99 -9% to -3% (5 of 5), and the
real p99 met 100 ms each time. Before the quiet run counted the
wait for a core, p50 was within 20% in 2 of 5 (+5% to +32%); before the quiet run (the
wake-up measured with http.client and added as a constant): +21%, +68%, +17%. On a
shared machine the load of others is printed with each run (``the rest of the
machine``): read the ratios where it is near 0.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sim.plan import load_profile, plan  # noqa: E402
from sim.verify import parse_config, scenario_for, verify  # noqa: E402
from tui.commands.plan import PoolRunner  # noqa: E402

P50_WITHIN = 0.20  # the targets for prediction against measurement
P99_WITHIN = 0.35


def profile_app(app: str, requests: str, out: str) -> None:
    """``partyhost profile`` as a user runs it, in the repository's root."""
    done = subprocess.run([sys.executable, "-m", "tui.cli", "profile", app, "--requests",
                           requests, "-o", out], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    if done.returncode != 0:
        sys.exit(f"bench_plan: partyhost profile failed: {done.stderr.strip()}")


def within(measured: float, predicted: float, share: float) -> tuple[float, bool]:
    diff = measured / predicted - 1 if predicted else float("inf")
    return diff, abs(diff) <= share


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", default="examples.flask_shop.app:app")
    parser.add_argument("--requests", default="examples/flask_shop/requests.txt")
    parser.add_argument("--profile", help="a profile already made (skips profiling)")
    parser.add_argument("--rate", type=float, default=60.0, help="guests/s (default 60)")
    parser.add_argument("--p99", type=float, default=100.0, help="target ms (default 100)")
    parser.add_argument("--seconds", type=float, default=15.0, help="verify run length")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--overhead", type=float,
                        help="gunicorn's own ms a request (default: measured by calibrate)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="verify runs of the plan (default 1); with more, a summary table")
    parser.add_argument("--five", action="store_true",
                        help="also time a plan of the 5-endpoint ASGI fixture profile")
    args = parser.parse_args()
    jobs = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        path = args.profile
        if path is None:
            path = os.path.join(tmp, "profile.toml")
            started = time.monotonic()
            profile_app(args.app, args.requests, path)
            print(f"profiled {args.app} in {time.monotonic() - started:.1f} s -> {path}")
        profile = load_profile(path)
        overhead = args.overhead
        if overhead is None:
            from sim.live.calibrate import calibrate

            overhead = calibrate("gunicorn").overhead_ms
        print(f"gunicorn's own cost: --overhead {overhead:.2f} ms a request "
              f"({'given' if args.overhead is not None else 'partyhost calibrate'})")
        profile = profile.with_overhead(overhead)
        runner = PoolRunner(jobs, None, None)
        failed: BaseException | None = None
        try:
            result = plan(profile, args.rate, args.p99, args.cores, ["sync"], runner=runner)
            if args.five:
                five = load_profile(str(REPO / "tests" / "plan_fixture" / "five.toml"))
                timed = plan(five, 150, 100, 2, runner=runner)
        except BaseException as exc:
            failed = exc
            raise
        finally:
            runner.close(failed)
    print(f"plan: {result.simulations} simulations in {result.waves} waves, "
          f"{result.seconds:.1f} s on {jobs} processes")
    if args.five:
        print(f"plan of the 5-endpoint ASGI profile (5 models): {timed.simulations} "
              f"simulations, {timed.seconds:.1f} s (issue 17: under 60 s on 2 cores)")
    best = result.models[0].best
    if best is None:
        print(f"no sync worker count meets p99 {args.p99:g} ms at {args.rate:g}/s: "
              f"{result.models[0].miss.why if result.models[0].miss else '?'}")
        return 1
    workers = best.knobs["workers"]
    print(f"planned: {profile.command(best.scenario)}  (p99 {best.p99.mean:.1f} "
          f"±{best.p99.half:.1f} ms predicted)")
    deployment = parse_config(f"gunicorn -w {workers}", profile.interface, profile.app)
    scenario = scenario_for(profile, deployment, args.rate, args.seconds, args.cores)
    rows = []
    for number in range(1, args.repeat + 1):
        if args.repeat > 1:
            print(f"-- run {number} of {args.repeat}")
        rows.append(verify_once(profile, deployment, scenario, args.p99))
    if args.repeat > 1:
        print("| run | host + ms | wake ms | others' cores | p50 predicted / measured | "
              "p99 predicted / measured | real p99 meets target |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
        for number, row in enumerate(rows, 1):
            print(f"| {number} | {row['overhead']:.2f} | {row['wake']:.2f} | "
                  f"{row['others']:.2f} | {row['p50']} | "
                  f"{row['p99']} | {'yes' if row['met'] else 'no'} |")
        good = sum(row["ok"] for row in rows)
        print(f"within the issue's 20% / 35%: {good} of {len(rows)} runs")
    return 0 if all(row["ok"] and row["met"] for row in rows) else 1


def verify_once(profile, deployment, scenario, target: float) -> dict:
    """One verify run, printed; the row of the summary table."""
    run = verify(profile, deployment, scenario)
    measured = run.measured.summary
    print(f"verified: {run.command}")
    quiet = run.quiet
    print(f"measured quiet before the run (sim.verify.quiet_run): the server ran "
          f"{quiet.cpu_ms:.2f} ms a request on a core and waited {quiet.runq_ms:.2f} ms for "
          f"one, against the profile's {quiet.profile_cpu_ms:.2f} ms of cpu: "
          f"{quiet.overhead_ms:.2f} ms more on every guest; a sleeping server's wake-up "
          f"{quiet.wake_ms:.2f} ms")
    machine = run.machine
    others = machine.others_cores + machine.steal_cores if machine else float("nan")
    if machine is not None:
        print(f"the rest of the machine during the run: {machine.others_cores:.2f} cores busy, "
              f"{machine.steal_cores:.2f} stolen by the hypervisor (the server and the "
              f"generator: {machine.ours_cores:.2f})")
    print(f"{'':8}{'predicted':>11}{'measured':>10}{'diff':>9}  within")
    row: dict = {"overhead": run.overhead_ms, "wake": run.wake_ms, "others": others, "ok": True}
    for name, key, share in (("p50", "p50", P50_WITHIN), ("p99", "p99", P99_WITHIN)):
        predicted = run.predicted.stat(key).mean
        value = measured.latency_ms[key]
        diff, good = within(value, predicted, share)
        row["ok"] &= good
        row[key] = f"{predicted:.1f} / {value:.1f} ({diff:+.0%})"
        print(f"{name + ' ms':8}{predicted:>11.1f}{value:>10.1f}{diff:>+9.0%}  "
              f"{'yes' if good else 'NO'} ({share:.0%})")
    row["met"] = measured.latency_ms["p99"] <= target and measured.failed == 0
    print(f"real p99 {measured.latency_ms['p99']:.1f} ms {'meets' if row['met'] else 'MISSES'} "
          f"the target {target:g} ms; {measured.served} answered, {measured.failed} failed")
    return row

if __name__ == "__main__":
    sys.exit(main())

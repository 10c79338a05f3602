"""``partyhost sweep`` under abuse: Ctrl-C ends it at once, and a long range is spread."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tui.cli import main

REPO = Path(__file__).resolve().parents[2]
# Two points of 200,000 guests: worth the process pool, and each takes seconds.
SLOW_SWEEP = ["sweep", "--model", "sync", "--vary", "workers=1..2", "--rate", "100",
              "--guests", "200000", "--io", "exp:20", "--jobs", "2", "--json"]


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.parametrize("how", ["once", "twice", "group"])
def test_ctrl_c_ends_a_sweep_and_its_workers_at_once(how: str) -> None:
    sweep = subprocess.Popen([sys.executable, "-m", "tui", *SLOW_SWEEP], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    workers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 20
        while len(workers) < 2 and time.monotonic() < deadline:  # the pool is up
            workers = descendants(sweep.pid)
            time.sleep(0.05)
        assert len(workers) == 2, "the sweep never started its two workers"
        time.sleep(0.5)  # both are in the middle of a point
        began = time.monotonic()
        if how == "group":  # as a terminal does: the whole foreground group
            os.killpg(sweep.pid, signal.SIGINT)
        else:
            sweep.send_signal(signal.SIGINT)
            if how == "twice":
                time.sleep(0.05)
                sweep.send_signal(signal.SIGINT)
        code = sweep.wait(timeout=10)
        took = time.monotonic() - began
        _, alive = psutil.wait_procs(workers, timeout=max(0.0, 2.0 - took))
        gone_after = time.monotonic() - began
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.wait(5)
        for worker in workers:
            if worker.is_running():
                worker.kill()
    _, err = sweep.communicate()
    print(f"{how}: stopped in {took:.2f} s, workers gone in {gone_after:.2f} s")
    assert took < 2.0, f"the sweep took {took:.1f} s to stop"
    assert not alive and gone_after < 2.0
    assert code == 130 and "interrupted" in err and "Traceback" not in err, (code, err)


def test_a_long_range_without_a_step_is_spread_over_16_points(capsys) -> None:
    assert main(["sweep", "--model", "async", "--vary", "rate=20..200", "--io", "5",
                 "--guests", "50", "--json"]) == 0
    out, err = capsys.readouterr()
    assert out.count('"served"') == 16
    assert err == ("partyhost: note: --vary rate=20..200: 181 whole numbers; sweeping 16 of "
                   "them (20, 32, 44, 56, 68, 80, 92, 104, 116, 128, 140, 152, 164, 176, 188, "
                   "200); give a step (20..200:1) or --points 181 for every one\n")


def test_a_step_or_a_short_range_is_taken_as_asked(capsys) -> None:
    assert main(["sweep", "--model", "sync", "--vary", "workers=1..16", "--io", "5",
                 "--guests", "20", "--json"]) == 0
    out, err = capsys.readouterr()
    assert out.count('"served"') == 16 and err == ""
    assert main(["sweep", "--model", "sync", "--vary", "workers=1..40:1", "--io", "5",
                 "--guests", "20", "--json"]) == 0
    out, err = capsys.readouterr()
    assert out.count('"served"') == 40 and err == ""


def test_points_asks_for_more_or_fewer_and_is_bounded(capsys) -> None:
    assert main(["sweep", "--model", "async", "--vary", "rate=20..200", "--points", "4",
                 "--io", "5", "--guests", "20", "--json"]) == 0
    out, err = capsys.readouterr()
    assert out.count('"served"') == 4 and "sweeping 4 of them (20, 80, 140, 200)" in err
    for bad in ("1", "201"):
        assert main(["sweep", "--model", "async", "--vary", "rate=20..200",
                     "--points", bad]) == 2
        assert capsys.readouterr().err.strip() == (
            f"partyhost: error: --points: must be 2 to 200, got {bad}")


def test_the_p99_chart_is_on_a_log_scale() -> None:
    """A linear axis lays every point before the knee flat on the floor: the ticks of a
    log axis grow by a constant factor (plotext spaces them evenly in log10)."""
    import argparse
    import io
    import re

    from rich.console import Console

    from tui.commands.sweep import add_arguments, build_points, chart, run_points

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--model", "sync", "--vary", "workers=1,4", "--rate", "100",
                              "--io", "exp:20", "--guests", "300"])
    key, points = build_points(args)
    summaries = run_points(points, 1, Console(file=io.StringIO()))
    first = chart(key, [1.0, 4.0], summaries, 100)
    # plotext keeps state between figures: the second chart of a process once drew a third,
    # empty panel and lost the p99 title
    assert chart(key, [1.0, 4.0], summaries, 100) == first
    text = re.sub(r"\x1b\[[0-9;]*m", "", first)
    assert "p99 latency [ms, log scale]" in text
    # each line: the throughput chart's tick, then the p99 chart's (the one after "│")
    rows = [re.findall(r"([\d.]+)┤", line) for line in text.splitlines()]
    ticks = [float(row[1]) for row in rows if len(row) == 2]
    ratios = [a / b for a, b in zip(ticks, ticks[1:], strict=False)]
    assert len(ticks) >= 3 and max(ratios) / min(ratios) < 1.2, ticks  # geometric, not linear

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
                   "200); give a step (20..200:1) for every one\n")


def test_a_step_or_a_short_range_is_taken_as_asked(capsys) -> None:
    assert main(["sweep", "--model", "sync", "--vary", "workers=1..16", "--io", "5",
                 "--guests", "20", "--json"]) == 0
    out, err = capsys.readouterr()
    assert out.count('"served"') == 16 and err == ""
    assert main(["sweep", "--model", "sync", "--vary", "workers=1..40:1", "--io", "5",
                 "--guests", "20", "--json"]) == 0
    out, err = capsys.readouterr()
    assert out.count('"served"') == 40 and err == ""

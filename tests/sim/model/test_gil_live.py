"""``--gil off`` live: only with a free-threaded Python; otherwise one line, exit 2.

No server is started here: the refusal comes before any (so no process is left, and
no timing is involved). Where a free-threaded interpreter is on PATH the refusal would
not happen, and the test skips rather than start a live party.
"""

from __future__ import annotations

import shutil
import sys

import pytest

from sim.scenario import build_scenario
from sim.side_by_side import FREE_THREADED, free_threaded_command
from tui.cli import main

HAS_FREE_THREADED = any(shutil.which(name) for name in FREE_THREADED) or (
    getattr(sys, "_is_gil_enabled", lambda: True)() is False)


@pytest.mark.skipif(HAS_FREE_THREADED, reason="a free-threaded Python is here: live would run")
def test_live_with_the_gil_off_refuses_in_one_line_without_a_free_threaded_python(capsys):
    code = main(["live", "threaded", "--threads", "4", "--gil", "off", "--cpu", "5",
                 "--rate", "10", "--duration", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "--gil off" in err and "python3.14t" in err


def test_the_gil_on_needs_no_other_python():
    assert free_threaded_command(build_scenario({"model": "threaded"}), None) is None


def test_a_real_server_with_the_gil_off_is_refused():
    from sim.live import ServerError

    scenario = build_scenario({"model": "threaded", "gil": "off"})
    with pytest.raises(ServerError, match="has a GIL"):
        free_threaded_command(scenario, "gunicorn-gthread")

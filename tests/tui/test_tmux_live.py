"""Hands-on live at a real terminal: a curl of the URL on screen, and the learner's own
guest sent by key, both drawn as visitors; quit, and nothing is left.

The real app runs in tmux (a 120x40 window; under pytest the app has been seen to draw
80 columns in it, unexplained, so nothing here needs more than 80) on a private
socket; the URL is read from the screen (``capture-pane``) as a learner would read
it, and ``curl`` is the real one.
Free play runs 25 guests a second of 5 ms cpu + ~100 ms io on 4 sync hosts, so a
host is free within a frame or two: "within a second" leaves the report batches
(``tui.live.HOLD``, 0.1 s) and a frame room on a busy 2-core machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import psutil
import pytest

from tests.tui.app.test_tmux import Tmux, partyhost_command

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None or shutil.which("curl") is None,
                                reason="tmux or curl is not installed")
CURL_RE = re.compile(r"curl '(http://127\.0\.0\.1:\d+)/guest\?phases=[^']*'")


def listening_ports(procs: list[psutil.Process]) -> list[int]:
    ports = []
    for proc in procs:
        try:
            ports += [c.laddr.port for c in proc.net_connections("tcp")
                      if c.status == psutil.CONN_LISTEN]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return ports


def test_a_curl_and_the_learners_own_guest_appear_as_visitors_then_quit_leaves_nothing():
    env = f"PYTHONPATH={os.environ['PYTHONPATH']} " if os.environ.get("PYTHONPATH") else ""
    term = Tmux(f"env {env}{partyhost_command()}")
    everything: list[psutil.Process] = []
    try:
        term.wait_for("Free play", timeout=10)
        term.keys("2")
        term.wait_for("SIMULATED", timeout=5)
        term.keys("l")
        shown = term.wait_for("Knock yourself: curl 'http", timeout=10)
        found = CURL_RE.search(shown.replace("\n", ""))
        assert found, shown
        assert "Send a guest" in term.wait_for("Send a guest", timeout=5)  # the footer's key
        url = found.group(1)
        everything = term.processes()

        sent = time.monotonic()
        curl = subprocess.Popen(["curl", "-s", "-m", "5", f"{url}/guest?phases=blocking:800"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        shown = term.wait_for("curl or a browser", timeout=3)
        seen = time.monotonic() - sent
        assert seen < 1.0, f"the curl is on screen within a second, not {seen:.2f} s"
        assert re.search(r"visitor \d+ +curl or a browser +host \d: ", shown), shown
        body, _ = curl.communicate(timeout=5)
        assert body.startswith(b"visitor "), body  # the server calls it a visitor too

        term.keys("g")
        term.wait_for("what should it ask for?", timeout=3)  # the dialog, focused
        term.keys("io:300", "Enter")
        term.wait_for("you: io:300", timeout=3)  # pinned, the learner's own
        shown = term.wait_for("served in", timeout=5)
        everything = term.processes()
        assert listening_ports(everything), "the live server listens under the app"

        app = psutil.Process(term.pid)
        term.keys("q")
        _, alive = psutil.wait_procs([app, *everything], timeout=8)
        assert not alive, f"left behind: {[(p.pid, p.cmdline()) for p in alive]}"
        port = int(url.rsplit(":", 1)[1])
        assert port not in [c.laddr.port for c in psutil.net_connections("tcp")
                            if c.status == psutil.CONN_LISTEN], "nobody listens on it"
    finally:
        term.close()
        for proc in everything:  # only if an assertion above failed: never leave them
            if proc.is_running():
                os.kill(proc.pid, 9)

"""A server started by a program that dies unannounced stops by itself: no orphan."""

import signal
import subprocess
import sys
import time

import psutil
import pytest

OWNER = """
import sys, time
from sim.live import start_server
server = start_server(sys.argv[1], **({} if sys.argv[1] == "async" else {"workers": 2}))
print(server.pid, flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize("model", ["async", "sync", "hybrid"])
def test_server_stops_when_its_owner_is_killed_outright(model):
    owner = subprocess.Popen([sys.executable, "-c", OWNER, model], stdout=subprocess.PIPE,
                             text=True)
    try:
        server = psutil.Process(int(owner.stdout.readline()))
        family = [server, *server.children(recursive=True)]
        owner.send_signal(signal.SIGKILL)  # no chance to stop its server
        owner.wait(5)
        # the server looks at its owner every 0.5 s, then stops gracefully (5 s at most)
        gone, alive = psutil.wait_procs(family, timeout=10)
        assert not alive, f"orphans left: {[p.pid for p in alive]}"
    finally:
        if owner.poll() is None:
            owner.kill()
        for proc in psutil.process_iter(["cmdline"]):
            cmd = " ".join(proc.info["cmdline"] or [])
            if "sim.live" in cmd and proc.ppid() == 1 and time.time() - proc.create_time() < 60:
                proc.kill()  # never leave one behind, even when the test fails

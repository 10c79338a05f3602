"""``partyhost serve`` stops cleanly on SIGINT and SIGTERM, every time.

Sixteen rounds in a row, one per model, signal and guest: each of the four models gets
Ctrl-C, SIGINT to the whole process group (as a terminal sends it), and SIGTERM to the
master's pid only (as ``kill`` does), each once with a guest in flight, who must still
get their answer, and once without. Every process of the server must be gone within the
grace period. (The twenty rounds this replaced rotated model and signal in step, so
sync and async only ever got SIGINT and threaded and hybrid SIGTERM: 8 combinations,
some run three times; now all 16 are run, in 4 rounds fewer.)
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

from sim.live import ServerConfig, ServerProcess
from tests.sim.live.conftest import Reply, get, my_children, tree, wait_gone

ROUNDS = 16  # 4 models x 2 signals x (a guest in flight or not)
GRACE = 2.0  # s, --graceful-timeout
MODELS = ["sync", "threaded", "async", "hybrid"]
PARTYHOST_SERVE = [sys.executable, "-m", "tui", "serve"]


def test_the_cli_refuses_bad_flags_in_one_line():
    import subprocess

    result = subprocess.run([*PARTYHOST_SERVE, "async", "--workers", "3"],
                            capture_output=True, text=True, timeout=30)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "hybrid" in result.stderr
    assert "Traceback" not in result.stderr


def ask(port: int, replies: list[Reply]) -> None:
    replies.append(get(port, "/guest?io=300"))


def test_sigint_and_sigterm_end_every_process_within_the_grace_period():
    before = my_children()
    for round_ in range(ROUNDS):
        model = MODELS[round_ % len(MODELS)]
        sig = signal.SIGINT if (round_ // 4) % 2 == 0 else signal.SIGTERM
        workers = 1 if model == "async" else 2
        threads = 2 if model == "threaded" else 1
        config = ServerConfig(model=model, workers=workers, threads=threads, port=0,
                              graceful_timeout=GRACE)  # fmt: skip
        server = ServerProcess(config, PARTYHOST_SERVE)
        try:
            server.start()
            pids = tree(server.pid)
            assert len(pids) == (1 if model == "async" else 1 + workers), (model, pids)
            in_flight: list[Reply] = []
            guest = None
            if round_ >= 8:  # a guest waits for the kitchen when the signal comes
                guest = threading.Thread(target=ask, args=(server.port, in_flight))
                guest.start()
                time.sleep(0.1)
            signalled = time.monotonic()
            if sig == signal.SIGINT:
                os.killpg(server.pid, signal.SIGINT)  # Ctrl-C: the whole process group
            else:
                os.kill(server.pid, signal.SIGTERM)
            left = wait_gone(pids, within=GRACE + 0.5)
            took = time.monotonic() - signalled
            assert not left, f"round {round_} ({model}, {sig.name}): {left} still running"
            assert server.popen.wait(1.0) in (0, -sig, 128 + sig), server.output
            if guest is not None:
                guest.join(5.0)
                assert in_flight and in_flight[0].status == 200, (model, sig.name)
            assert took < GRACE + 0.5
        finally:
            server.stop()
    assert not wait_gone(my_children() - before, within=2.0)

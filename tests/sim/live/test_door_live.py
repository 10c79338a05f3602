"""The simulated SYN ladder is the one this machine's Linux keeps."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from sim.model import door

SYSCTL = Path("/proc/sys/net/ipv4")


def sysctl(name: str, default: int) -> int:
    try:
        return int((SYSCTL / name).read_text())
    except (OSError, ValueError):
        return default


@pytest.mark.skipif(not SYSCTL.exists(), reason="needs Linux's /proc/sys/net/ipv4")
@pytest.mark.parametrize("free_at", [0.5, 1.5])
def test_a_dropped_guest_gets_in_on_the_next_knock_of_the_ladder(free_at):
    """A listener with backlog 0 holds one connection; a second guest's SYN is dropped
    until we accept at ``free_at`` s, and its connect completes at the next SYN of the
    ladder ``sim.model.door`` computes from this kernel's sysctls (1 s, then 2 s on Linux
    >= 6.5; 1 s, then 3 s before). Tolerance: 0.3 s late at most (measured 0.05-0.13 s
    on a loaded 2-core machine: the resend timer's slack and the thread's wake-up), and
    never early."""
    if sysctl("tcp_abort_on_overflow", 0):
        pytest.skip("tcp_abort_on_overflow=1: this kernel refuses instead of dropping")
    ladder = door.syn_times(sysctl("tcp_syn_retries", 6), sysctl("tcp_syn_linear_timeouts", 0))
    expected = next(t for t in ladder if t >= free_at)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    first = socket.create_connection(("127.0.0.1", port), timeout=5)
    taken: list[socket.socket] = []
    done: dict[str, float] = {}

    def knock() -> None:
        start = time.monotonic()
        taken.append(socket.create_connection(("127.0.0.1", port), timeout=15))
        done["t"] = time.monotonic() - start

    try:
        guest = threading.Thread(target=knock)
        guest.start()
        time.sleep(free_at)
        accepted, _ = listener.accept()  # a place in the line comes free
        accepted.close()
        guest.join(15)
        assert "t" in done, "the guest never got in"
        assert expected - 0.02 <= done["t"] <= expected + 0.3, (done["t"], ladder)
    finally:
        first.close()
        for sock in taken:
            sock.close()
        listener.close()

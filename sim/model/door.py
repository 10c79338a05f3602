"""The door as Linux keeps it: the accept queue, the SYN ladder, half-open guests.

Theory of operation. A server asks ``listen(backlog)``; Linux caps the number at
``net.core.somaxconn`` and then lets one more in than it says (the queue is full
only when it holds *more* than the backlog: ``sk_acceptq_is_full`` compares with
``>``). Measured here: ``listen(8)`` and 20 connects leave 9 established, ``ss -ltn``
shows Recv-Q 9 for Send-Q 8.

A SYN that reaches a full accept queue is dropped without a word, whatever
``net.ipv4.tcp_abort_on_overflow`` says: nobody is refused. The client resends its
SYN on a timer (initial RTO 1 s) and the connection completes whenever a resend finds
room, or the client gives up. Since Linux 6.5 the first ``tcp_syn_linear_timeouts``
(default 4) resends are 1 s apart before the gaps double, and the client resends
``tcp_syn_retries + tcp_syn_linear_timeouts`` times in all (``tcp_write_timeout``):
SYNs at 0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s. Older kernels (linear 0): 0, 1, 3, 7,
15, 31, 63 s.

Kernel timers are not exact: the timer wheel (``kernel/time/timer.c``) files a timer
due in d jiffies into a bucket of 1, 8, 64 or 512 jiffies (d < 63, < 504, < 4032, else)
and fires it at the bucket's end, a boundary shared by every timer of that size
(``fires_at``). At this kernel's 250 Hz a 1 s resend is 1.024 s late at most 32 ms, a
4 s one up to 256 ms. Measured on this kernel (6.18, a listener with backlog 0 kept
full, a slot freed at 0.5 / 2 / 5.5 / 8 s): connected at 1.0 / 2.05 / 7.1 / 11.3 s;
the wheel says 1.024 / 2.048 / 7.136 / 11.264.

Because the boundaries are shared, the SYN resends of many waiting clients land at
the same instant. When such a batch finds one free slot, every SYN in it passes the
check (only the accept queue is counted, and the ACKs come back after the batch): one
ACK takes the slot and the others find the queue full again. Those guests are
*half-open*: the client thinks it is connected and sends its request, which is
dropped; with ``tcp_abort_on_overflow=1`` the kernel answers their ACK with a reset
instead (that is all the setting changes). A half-open guest gets in on a later try:
its request resent on the data ladder (RTO 200 ms, doubling), or, while the server
keeps its request sock, an ACK answering the server's SYN-ACK resend (after 1, 2, 4,
8, 16 s: ``tcp_synack_retries`` 5). In by such a bare ACK, its request is not there
yet: a worker that accepts it waits in ``recv`` until the next data resend. More
request socks pending than the backlog, and the kernel answers with syncookies, which
keep no state: such a guest gets in only on a data resend. Measured
(``listen(0)``, 6 clients, one accepted every 2 s): 4 clients "connected" at the
same 3.1 s with one slot free; 3 syncookies (``TCPReqQFullDoCookies``); they were
accepted at 4.56 and 6.56 s, each with its request, on the data ladder. And with
``tcp_abort_on_overflow=1`` and a full queue, 4 of 5 clients timed out connecting,
none refused. Over ``partyhost live gunicorn --workers 2 --io 50 --cpu 0 --rate 60
--backlog 8 --duration 10``: 2,729 ListenOverflows, 1,378 SYN resends, 558
TCPReqQFullDoCookies, 1,222 cookies received back.

Simplifications: the network is otherwise instant (a lone SYN, its ACK and the request
arrive together); the timer wheel is this machine's (``TIMER_HZ``), its jiffies
aligned with the simulation's time 0, and without the slack of idle ticks; the
server's request socks never expire (they do after the fifth SYN-ACK resend, 31 s
and more); the kernel's pruning of old request socks when the queue is half full is
left out; a half-open client gives up at its connect timeout after its first SYN, as
partyhost's generator does with its defaults (really a client with no read timeout
waits for ``tcp_retries2`` = 15 data resends, about 13 minutes). The kernel buffers a request's
bytes while the guest waits in the queue, all of them here (really up to the
socket's receive buffer, 128 KiB or more).
"""

from __future__ import annotations

import math

INITIAL_RTO = 1.0  # s, TCP_TIMEOUT_INIT: the first SYN (and SYN-ACK) resend's timer
RTO_MIN = 0.2  # s, TCP_RTO_MIN: a connected socket's first data resend (loopback's rtt ~0)
RTO_MAX = 120.0  # s, TCP_RTO_MAX
SYNACK_RETRIES = 5  # net.ipv4.tcp_synack_retries: the server resends its SYN-ACK 5 times
TIMER_HZ = 250  # CONFIG_HZ of this machine's kernel (and Debian's): a jiffy is 4 ms
_WHEEL = ((63, 0), (504, 3), (4032, 6), (32256, 9))  # delta below -> shift (kernel/time/timer.c)


def fires_at(now: float, delay: float) -> float:
    """When a kernel timer armed at ``now`` for ``delay`` seconds fires: at the end of
    its timer-wheel bucket (``calc_index``), so never early and up to a bucket late."""
    jiffies = math.floor(now * TIMER_HZ + 1e-9)
    delta = max(1, math.ceil(delay * TIMER_HZ - 1e-9))
    shift = next((shift for below, shift in _WHEEL if delta < below), 12)
    expires = ((jiffies + delta) >> shift) + 1 << shift
    return expires / TIMER_HZ


def capacity(backlog: int, somaxconn: int) -> int:
    """How many connections the accept queue holds: ``min(backlog, somaxconn) + 1``."""
    return min(backlog, somaxconn) + 1


def syn_times(syn_retries: int, linear_timeouts: int) -> tuple[float, ...]:
    """When a client sends its SYNs, in seconds after the first (which is at 0)."""
    times = [0.0]
    gap = INITIAL_RTO
    for resend in range(syn_retries + linear_timeouts):
        if resend > linear_timeouts:
            gap *= 2
        times.append(times[-1] + gap)
    return tuple(times)


def gives_up_after(syn_retries: int, linear_timeouts: int) -> float:
    """When a client whose every SYN was dropped gives up (ETIMEDOUT), in seconds."""
    times = syn_times(syn_retries, linear_timeouts)
    resends = len(times) - 1
    last_gap = INITIAL_RTO * (2 ** max(resends - linear_timeouts, 0))
    return times[-1] + last_gap


def backoff(base: float, attempt: int) -> float:
    """A retry's pause: ``base`` doubled for each earlier retry (attempt counts from 1)."""
    return base * (2 ** (attempt - 1))

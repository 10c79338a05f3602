"""The door as Linux keeps it: the accept queue's size and the client's SYN ladder.

Theory of operation. A server asks ``listen(backlog)``; Linux caps the number at
``net.core.somaxconn`` and then lets one more in than it says (the queue is full
only when it holds *more* than the backlog: ``sk_acceptq_is_full`` compares with
``>``). Measured here: ``listen(8)`` and 20 connects leave 9 established, ``ss -ltn``
shows Recv-Q 9 for Send-Q 8.

When the queue is full, what happens to a new guest depends on
``net.ipv4.tcp_abort_on_overflow``. At 1 the kernel answers the handshake with a
reset: the client sees "connection refused" at once. At 0, the default, the SYN is
dropped without a word: nobody is refused; the client resends its SYN on a timer
(initial RTO 1 s) and the connection completes whenever a resend finds room, or the
client gives up. Since Linux 6.5 the first ``tcp_syn_linear_timeouts`` (default 4)
resends are 1 s apart before the gaps double, and the client resends
``tcp_syn_retries + tcp_syn_linear_timeouts`` times in all (``tcp_write_timeout``):
SYNs at 0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s. Older kernels (linear 0): 0, 1, 3, 7,
15, 31, 63 s. Measured on this kernel (6.18, a listener with backlog 0 kept full, a
slot freed at 0.5 / 2 / 5.5 / 8 s): connected at 1.0 / 2.05 / 7.1 / 11.3 s.

Simplifications: the handshake and the network are instant, so a SYN that finds
room is in the queue at once and no ACK is ever dropped (the real door also has
*half-open* accepts: SYNs let in while one slot was free whose ACKs then find the
queue full; the client thinks it is connected, its request is dropped and resent,
and a worker that accepts it waits in ``recv`` for the resend; not modelled). That
gap is measured: ``partyhost live sync --workers 2 --io 50 --cpu 0 --rate 60 --backlog 8
--duration 10`` served 32/s with p50 1,407 ms where this model says 40/s and 287 ms, and
``nstat`` over the run counted 2,559 ListenOverflows, 1,205 SYN resends, 309
TCPReqQFullDoCookies (the SYN_RECV queue of half-open connections filled up, so Linux
answered with syncookies, which keep no state at all), 1,257 cookies received back and
1,145 lost retransmits: many guests think they are connected, their request is dropped,
and it comes back on the data retransmit ladder (RTO 200 ms doubling), not the SYN
ladder. The kernel buffers a request's bytes while the guest waits in the queue, all of them
here (really up to the socket's receive buffer, 128 KiB or more).
"""

from __future__ import annotations

INITIAL_RTO = 1.0  # s, TCP_TIMEOUT_INIT: the first SYN resend's timer


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

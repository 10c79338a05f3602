"""What happened to one guest, from the client's side: the outcomes and the ``Shot``.

The outcomes are what the client saw (issue 12's words, ``sim.trace``'s reasons):

- ``ok``: a whole answer below 400;
- turned away, never let in: ``refused`` (ECONNREFUSED: nobody listens; a full line
  drops the SYN instead), ``reset`` (the connection died before the request
  was fully sent), ``timed_out`` (the client gave up: no connection within the
  scenario's ``connect_timeout``, or the guest's ``patience`` ran out, or the
  generator's whole-request cap; a guest the hard stop finds unanswered too);
- ``failed``: let in, but no good answer: a 4xx/5xx, or a reset or close after the
  request was sent (a killed worker); never counted as turned away;
- ``client_error``: our side failed (out of ports or file descriptors); failed too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.workload import Guest

OK = "ok"
REFUSED = "refused"
RESET = "reset"
TIMED_OUT = "timed_out"
FAILED = "failed"
CLIENT_ERROR = "client_error"
TURNED_AWAY = (REFUSED, RESET, TIMED_OUT)
OUTCOMES = (OK, REFUSED, RESET, TIMED_OUT, FAILED, CLIENT_ERROR)


@dataclass(slots=True)
class Shot:
    """What happened to one guest (one try), in monotonic seconds.

    ``sent`` is when the generator set out (began to connect, or wrote on a kept-alive
    connection): ``sent - intended`` is the generator's own lag. Connecting is the
    server's business (its backlog), so it counts in the latency, not in the lag.
    ``attempt`` is 0 for a first try, k for a guest's k-th retry (a new guest id).
    ``conn``, ``key`` and ``alarm`` say where a guest in flight is (on a connection,
    still connecting, its patience timer); they are cleared once it is done.
    """

    guest: int
    intended: float
    sent: float = 0.0
    done: float = 0.0
    outcome: str = ""
    status: int = 0
    worker: str | None = None
    process: str | None = None  # the worker's process (X-Worker-Pid, or X-Worker's pid part)
    accepted_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    attempt: int = 0
    spec: Guest | None = None  # the request (its phases, for a retry)
    user: bool = False  # a closed-loop user waits for this guest
    conn: Any = None
    key: Any = None
    alarm: Any = None

    @property
    def latency(self) -> float:
        return self.done - self.intended

    @property
    def kind(self) -> int:
        return self.spec.kind if self.spec is not None else 0

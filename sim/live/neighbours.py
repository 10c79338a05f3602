"""What else ran on the machine while a live run measured: the neighbours' share of the cores.

Theory of operation. A prediction assumes the party has the machine's cores to itself; a
measurement on a shared machine does not. ``Neighbours`` reads the kernel's own counters
at the start and at the end of a run: ``/proc/stat``'s first line (every core's time in
user, nice, system, irq, softirq, and steal: time the hypervisor gave to another virtual
machine) and, for the run's own processes, ``utime + stime`` of each process in the
server's process group (``/proc/PID/stat``, the group ``sim.live.real`` starts the
server in) and of this process (the load generator, all its threads). What is busy and
not ours is the neighbours': other sessions, other test runs, the desktop. Reported as
cores (1.0 = one core busy the whole run), so "0.9 of 2 cores" reads as what it is.

What it simplifies: a process of the server's group keeps its time when it exits (its
parent's ``cutime`` takes it when reaped), unless its parent is outside the group; the
counters tick at ``USER_HZ`` (100/s here: a 10 s run is read to 0.1% of a core).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

HZ = os.sysconf("SC_CLK_TCK")
DISTURBED_CORES = 0.25  # others' cores during a run worth a warning: a quarter of a core
# is 25 ms of every 100 ms that the server's guests may wait for, against a p50 of a few ms
BUSY = (0, 1, 2, 5, 6)  # user nice system irq softirq: /proc/stat's columns after "cpu"
STEAL = 7


def _machine() -> tuple[int, int]:
    """Ticks every core spent busy, and stolen by the hypervisor, since boot."""
    with open("/proc/stat", encoding="ascii") as file:
        fields = [int(x) for x in file.readline().split()[1:]]
    steal = fields[STEAL] if len(fields) > STEAL else 0
    return sum(fields[i] for i in BUSY), steal


def _ticks(stat: str) -> tuple[int, int]:
    """(process group, utime + stime + cutime + cstime) from a ``/proc/PID/stat`` line
    (the name may hold spaces and parentheses: the fields start after the last ``)``).
    A child's time moves to its parent's ``cutime`` when the parent reaps it, so a
    gunicorn worker that exits stays counted, in its master."""
    rest = stat[stat.rindex(")") + 2:].split()
    return int(rest[2]), sum(int(x) for x in rest[11:15])


def _self_ticks() -> int:
    """Ticks of this process: every thread, and the children it has reaped."""
    with open("/proc/self/stat", encoding="ascii", errors="replace") as file:
        return _ticks(file.read())[1]


def _members(group: int) -> Iterator[tuple[str, int]]:
    """(pid, ticks) of every process in ``group`` but this one."""
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as file:
                pgrp, ticks = _ticks(file.read())
        except (OSError, ValueError, IndexError):
            continue  # gone between the listing and the read
        if pgrp == group:
            yield name, ticks


def _group_ticks(group: int) -> int:
    """Ticks of every process in ``group`` but this one."""
    return sum(ticks for _, ticks in _members(group))


def _ours(group: int | None) -> int:
    """Ticks of this process and of every process in ``group``."""
    return _self_ticks() + (_group_ticks(group) if group is not None else 0)


def group_times(group: int) -> tuple[float, float]:
    """Seconds the threads of ``group``'s processes (a server started in its own session)
    have run on a core, and waited in a run queue for one, to the nanosecond: each
    thread's ``/proc/PID/task/TID/schedstat`` (its first two fields), where
    ``/proc/PID/stat`` counts 10 ms ticks, which over a 4 s quiet run of ~300 ms of
    server cpu was 3-6% (±0.25 ms a request). A thread that exited has taken its time
    with it: for a run whose workers stay up."""
    ran = waited = 0
    for name, _ in _members(group):
        try:
            for tid in os.listdir(f"/proc/{name}/task"):
                with open(f"/proc/{name}/task/{tid}/schedstat", "rb") as file:
                    fields = file.read().split()
                ran += int(fields[0])
                waited += int(fields[1])
        except (OSError, ValueError, IndexError):
            continue  # gone between the listing and the read
    return ran / 1e9, waited / 1e9


@dataclass(frozen=True)
class Share:
    """Cores busy on average during the run: the neighbours', the hypervisor's, ours."""

    seconds: float
    others_cores: float
    steal_cores: float
    ours_cores: float

    def disturbed(self, cores: int) -> str | None:
        """A sentence when the neighbours took a noticeable share of the cores while the
        server was measured (which no prediction knows), else None."""
        others = self.others_cores + self.steal_cores
        if others < DISTURBED_CORES:
            return None
        return (f"other processes on this machine kept {others:.2f} of its {cores} "
                f"simulated cores busy during the run: the prediction gives the server every "
                "core; measure on a quieter machine to compare")

    def to_dict(self) -> dict[str, float]:
        return {"seconds": round(self.seconds, 3), "others_cores": round(self.others_cores, 3),
                "steal_cores": round(self.steal_cores, 3),
                "ours_cores": round(self.ours_cores, 3)}


class Neighbours:
    """``start()`` before the run, ``stop()`` after: the share of the cores others used."""

    def __init__(self, group: int | None) -> None:
        self.group = group
        self._start: tuple[float, int, int, int] | None = None

    def start(self) -> None:
        busy, steal = _machine()
        self._start = (time.monotonic(), busy, steal, _ours(self.group))

    def stop(self) -> Share:
        assert self._start is not None, "stop() before start()"
        t0, busy0, steal0, ours0 = self._start
        busy, steal = _machine()
        ours = _ours(self.group)
        seconds = max(time.monotonic() - t0, 1e-9)

        def cores(ticks: int) -> float:
            return max(ticks, 0) / HZ / seconds

        return Share(seconds, cores(busy - busy0 - (ours - ours0)), cores(steal - steal0),
                     cores(ours - ours0))

"""Where a real uvicorn spends its per-request cpu, turn by turn (for ``event_loop.TURNS``).

``partyhost calibrate uvicorn`` gives the whole per-request cost (``--overhead``); the
model spends it over the loop's turns (accept, connection_made, data_received, the
handler task's first step, the write, connection_lost). This script measures the
split on the real thing: it runs ``uvicorn sim.live.apps:asgi_app`` (uvloop and
httptools, as ``uvicorn app:app`` picks them) in a child process whose protocol
callbacks are wrapped with ``time.thread_time`` counters, sends it empty guests from a
closed loop of 8 users (one connection per guest, as ``partyhost live`` does), and
prints the cpu per request of each callback and what is left for the loop itself
(accept, the transport, the ready queue: C code the wrappers cannot see).

Run under the measurement lock:
    flock /tmp/partyhost-measure.lock python benchmarks/loop_turns.py [--duration 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import time

CHILD = r"""
import json, os, signal, sys, time
import uvicorn
from uvicorn.protocols.http import httptools_impl as impl

spent = {"connection_made": 0.0, "data_received": 0.0, "task_step": 0.0,
         "write": 0.0, "connection_lost": 0.0}
count = {"requests": 0}
clock = time.thread_time
first = []  # the process's cpu at the first request: boot is not a request's cost

def wrap(cls, name, key):
    inner = getattr(cls, name)
    def timed(*args, **kwargs):
        t = clock()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[key] += clock() - t
    setattr(cls, name, timed)

wrap(impl.HttpToolsProtocol, "connection_made", "connection_made")
wrap(impl.HttpToolsProtocol, "data_received", "data_received")
wrap(impl.HttpToolsProtocol, "connection_lost", "connection_lost")
send = impl.RequestResponseCycle.send
async def timed_send(self, message):
    t = clock()
    try:
        return await send(self, message)
    finally:
        spent["write"] += clock() - t
impl.RequestResponseCycle.send = timed_send
run_asgi = impl.RequestResponseCycle.run_asgi
async def timed_run_asgi(self, app):  # the whole task (one step for an empty guest)
    count["requests"] += 1
    if not first:
        c = os.times()
        first.append(c.user + c.system)
    t = clock()
    try:
        return await run_asgi(self, app)
    finally:
        spent["task_step"] += clock() - t
impl.RequestResponseCycle.run_asgi = timed_run_asgi

def dump(*_):
    spent["task_step"] -= spent["write"]  # the write happens inside the task's step
    cpu = os.times()
    out = {**spent, **count, "process_cpu": cpu.user + cpu.system - first[0]}
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)
import atexit
atexit.register(dump)
uvicorn.run("sim.live.apps:asgi_app", host="127.0.0.1", port=int(sys.argv[1]),
            log_level="warning", access_log=False, lifespan="off", http="httptools")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()

    from sim.live.loadgen import Generator, Target
    from sim.live.real import free_port
    from sim.scenario import build_scenario

    port = free_port()
    out = f"/tmp/loop-turns-{os.getpid()}.json"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(port), out])
    try:
        deadline = time.monotonic() + 10
        import socket
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        scenario = build_scenario({"model": "async", "users": 8, "phases": "io:0",
                                   "duration": args.duration, "warmup": 0.0})
        before = resource.getrusage(resource.RUSAGE_SELF)
        result = Generator(Target("127.0.0.1", port), scenario, keep_alive=False).run()
        after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        child.send_signal(signal.SIGINT)
        child.wait(timeout=10)
    with open(out) as f:
        spent = json.load(f)
    os.unlink(out)
    n = spent.pop("requests")
    cpu = spent.pop("process_cpu")
    client = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / n
    print(f"{n:,} empty guests, {result.summary.throughput:.0f}/s; "
          f"uvicorn's process cpu {cpu / n * 1000:.3f} ms per request "
          f"(the generator's: {client * 1000:.3f} ms)")
    seen = sum(spent.values())
    rest = cpu / n - seen / n
    rows = {**{k: v / n for k, v in spent.items()}, "loop (accept, transport, C)": rest}
    for name, per in rows.items():
        print(f"  {name:30s} {per * 1000:7.3f} ms  {per / (cpu / n):6.1%}")


if __name__ == "__main__":
    main()

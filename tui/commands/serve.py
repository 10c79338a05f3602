"""``partyhost serve MODEL``: a real minimal server of that model, on this machine.

Thin on purpose: the flags, their checks and the server itself live in ``sim.live``
(``python -m sim.live`` takes the same flags), so this module only turns a
``ConfigError`` into the CLI's one-line error and prints the banner.
"""

from __future__ import annotations

import argparse

from tui.commands import CliError

NAME = "serve"
HELP = "run a real minimal server (sync, threaded, async, hybrid) on 127.0.0.1"
DESCRIPTION = """\
Run a real, minimal web server of one concurrency model, to hit with a load generator,
curl or a browser. It serves / (a hello), /health, and /guest?cpu=MS&io=MS&blocking=MS
(or phases=cpu:2,io:50,cpu:3), doing each phase for real: cpu spins on this thread's
CPU time, io waits the model's way, blocking sleeps even inside the event loop.
Responses say who served the guest (X-Worker) and when (X-Accepted-At, X-Started-At,
X-Finished-At, in time.monotonic() seconds)."""
EPILOG = """\
The real thing each model stands for:
  sync      gunicorn -w W app:app
  threaded  gunicorn -w W --threads T app:app
  async     uvicorn app:app
  hybrid    gunicorn -w W -k uvicorn_worker.UvicornWorker app:app

Examples:
  partyhost serve sync --workers 4
  partyhost serve async --limit-concurrency 100 --port 8001
  partyhost serve hybrid -w 2 --timeout 5 --report /tmp/party.jsonl
  curl 'http://127.0.0.1:8000/guest?cpu=2&io=50'
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from sim.live.config import add_server_arguments

    add_server_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from sim.live import real
    from sim.live.config import ConfigError, config_from_args
    from sim.live.serve import banner, serve

    # real Gunicorn / Uvicorn (sim.live.real, the `real` extra): gunicorn, uvicorn, ...
    if str(args.model).strip().lower() in real.REAL_SERVERS:
        try:
            return real.serve_real_from_args(args)
        except (ValueError, real.RealServerMissing, real.RealServerError) as exc:
            raise CliError(str(exc).splitlines()[0]) from None

    try:
        config = config_from_args(args)
        return serve(config, announce=lambda ready: print("\n".join(banner(ready)), flush=True))
    except ConfigError as exc:
        raise CliError(str(exc)) from None

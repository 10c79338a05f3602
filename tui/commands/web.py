"""``partyhost web``: the app in a browser, served by textual-serve.

textual-serve runs one ``partyhost`` process per browser tab (the very command in a
terminal: ``python -m tui``) and relays its screen over a websocket. It listens on
127.0.0.1 unless told otherwise: anyone who can reach the port gets a partyhost of
their own, which is the point in a classroom and a risk anywhere else, so ``--host``
prints a warning.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from tui.commands import CliError

NAME = "web"
HELP = "serve the app to web browsers (textual-serve), on 127.0.0.1 by default"
DESCRIPTION = """\
Serve partyhost to web browsers: open the printed address and each tab gets its own
partyhost, running on this machine. Stop with Ctrl-C.
"""
EPILOG = """\
Examples:
  partyhost web                        # http://127.0.0.1:8000
  partyhost web --port 9000
  partyhost web --host 0.0.0.0         # a classroom network: read the warning
"""
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", metavar="PORT", default="8000", help="port (default 8000)")
    parser.add_argument("--host", metavar="HOST", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1, this machine only)")


def served_command() -> str:
    """The command each browser tab runs: this very partyhost, with this Python."""
    return f"{shlex.quote(sys.executable)} -m tui"


def run(args: argparse.Namespace) -> int:
    try:
        port = int(args.port)
    except ValueError:
        raise CliError(f"--port: expected a port number, got {args.port!r}") from None
    if not 0 < port < 65536:
        raise CliError(f"--port: must be 1 to 65535, got {port}")
    host = args.host.strip()
    if host not in LOOPBACK:
        print(
            f"partyhost: warning: serving on {host}: anyone who can reach this address and "
            "port gets a partyhost running on this machine. Use it on a classroom network "
            "you trust, never on the open internet.",
            file=sys.stderr,
        )
    from textual_serve.server import Server

    shown = f"[{host}]" if ":" in host else host
    print(f"partyhost web: serving on http://{shown}:{port} (Ctrl-C to stop)", flush=True)
    Server(served_command(), host=host, port=port, title="partyhost").serve()
    return 0

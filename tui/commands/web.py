"""``partyhost web``: the app in a browser, served by textual-serve.

textual-serve runs one ``partyhost`` process per browser tab and relays its screen
over a websocket. It listens on 127.0.0.1 unless told otherwise: anyone who can reach
the port gets a partyhost of their own, which is the point in a classroom and a risk
anywhere else, so a ``--host`` that is not loopback prints a warning.

Theory of operation. Anyone who reaches the port can start sessions, so each is
bounded, and none outlives the server:

- the port is bound before ``serving on`` is printed (a port in use, or an address
  that is not this machine's, is one line and exit 2), and the very socket is handed
  to aiohttp;
- at most ``--max-sessions`` apps run at once; past that the page and the websocket
  answer 503 with a sentence saying so;
- a tab asks for its terminal size (``?width=&height=`` on the websocket, then
  ``resize`` messages); both are clamped to ``MAX_WIDTH`` x ``MAX_HEIGHT`` cells, since
  the app's memory grows with its screen;
- when a tab's websocket ends, its app is asked to quit and, if it has not within
  ``STOP_GRACE`` seconds (one blocked writing to a pipe nobody reads no longer can),
  killed;
- each app is started as ``exec python -m tui.commands.web --owner PID`` (``served_main``
  below): it asks the kernel for SIGTERM when its parent dies (``PR_SET_PDEATHSIG``)
  and watches its parent too, so when the server is killed outright (SIGKILL) its apps
  stop within about a second instead of running on under PID 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import ipaddress
import os
import shlex
import signal
import socket
import sys
import threading
import time
from typing import Any

from tui.commands import CliError

NAME = "web"
HELP = "serve the app to web browsers (textual-serve), on 127.0.0.1 by default"
DESCRIPTION = """\
Serve partyhost to web browsers: open the printed address and each tab gets its own
partyhost, running on this machine (about 55 MB and a share of a core each), at most
--max-sessions at once. Stop with Ctrl-C; every tab's partyhost stops with the server.
"""
EPILOG = """\
Examples:
  partyhost web                        # http://127.0.0.1:8000
  partyhost web --port 9000 --max-sessions 4
  partyhost web --host 0.0.0.0         # a classroom network: read the warning
"""
DEFAULT_MAX_SESSIONS = 8
MAX_SESSIONS_LIMIT = 64
MAX_WIDTH = 300  # cells: a tab may ask for no wider a terminal
MAX_HEIGHT = 120  # rows
STOP_GRACE = 2.0  # s: an app still running this long after its tab went is killed
OWNER_POLL = 0.5  # s between an app's looks at its parent


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", metavar="PORT", default="8000", help="port (default 8000)")
    parser.add_argument("--host", metavar="HOST", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1, this machine only)")
    parser.add_argument(
        "--max-sessions", metavar="N", default=str(DEFAULT_MAX_SESSIONS),
        help=f"browser tabs served at once (default {DEFAULT_MAX_SESSIONS}); one more is "
             "told the server is full",
    )


def served_command(owner: int | None = None) -> str:
    """The command each browser tab runs: this partyhost, with this Python, owned by us."""
    owner = os.getpid() if owner is None else owner
    return f"exec {shlex.quote(sys.executable)} -m tui.commands.web --owner {owner}"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def read_flags(args: argparse.Namespace) -> tuple[str, int, int]:
    try:
        port = int(args.port)
    except ValueError:
        raise CliError(f"--port: expected a port number, got {args.port!r}") from None
    if not 0 < port < 65536:
        raise CliError(f"--port: must be 1 to 65535, got {port}")
    host = args.host.strip()
    if not host:
        raise CliError("--host: empty; give an address to listen on, such as 127.0.0.1 "
                       "(0.0.0.0 means every interface: say so on purpose)")
    try:
        sessions = int(args.max_sessions)
    except ValueError:
        raise CliError(f"--max-sessions: expected a number, got {args.max_sessions!r}") from None
    if not 1 <= sessions <= MAX_SESSIONS_LIMIT:
        raise CliError(f"--max-sessions: must be 1 to {MAX_SESSIONS_LIMIT}, got {sessions}")
    return host, port, sessions


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound now: a mistake is one line before any announcement."""
    from sim.live.serve import listen_on

    try:
        sock = listen_on(host.strip("[]"), port, 128)
    except socket.gaierror as exc:
        raise CliError(f"--host {host}: cannot resolve it ({exc.strerror})") from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CliError(f"--port {port}: already in use on {host} "
                           "(another server? choose another --port)") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise CliError(f"--host {host}: not an address of this machine") from None
        raise CliError(f"--host {host} --port {port}: cannot listen: {exc.strerror}") from None
    sock.setblocking(False)
    return sock


def run(args: argparse.Namespace) -> int:
    host, port, sessions = read_flags(args)
    sock = bind(host, port)
    if not is_loopback(host):
        print(
            f"partyhost: warning: serving on {host}: anyone who can reach this address and "
            "port gets a partyhost running on this machine. Use it on a classroom network "
            "you trust, never on the open internet.",
            file=sys.stderr,
        )
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"
    print(f"partyhost web: serving on {url} (Ctrl-C to stop; at most {sessions} tabs at once)",
          flush=True)
    serve(sock, url, sessions)
    return 0


def clamp(value: Any, default: int, most: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return default
    return max(1, min(number, most))


def serve(sock: socket.socket, url: str, max_sessions: int) -> None:
    """Run the server on ``sock`` until SIGINT/SIGTERM (blocking)."""
    from aiohttp import web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server

    class CappedAppService(AppService):
        """One tab's app: its size clamped, and stopped for sure when the tab goes."""

        async def set_terminal_size(self, width: int, height: int) -> None:
            await super().set_terminal_size(clamp(width, 80, MAX_WIDTH),
                                            clamp(height, 24, MAX_HEIGHT))

        async def end(self) -> None:
            process = self._process
            with contextlib.suppress(Exception):
                await self._download_manager.cancel_app_downloads(
                    app_service_id=self.app_service_id)
            with contextlib.suppress(Exception):  # stdin may be full: do not wait on it
                await asyncio.wait_for(self.send_meta({"type": "quit"}), 0.5)
            if process is not None:
                try:
                    await asyncio.wait_for(process.wait(), STOP_GRACE)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    await process.wait()
            if self._task is not None:
                try:
                    await asyncio.wait_for(self._task, 1.0)
                except (TimeoutError, asyncio.CancelledError, Exception):
                    pass
                self._task = None

    class PartyServer(Server):
        def __init__(self) -> None:
            super().__init__(served_command(), title="partyhost", public_url=url)
            self.sessions: set[object] = set()
            self.full_text = (f"partyhost: all {max_sessions} sessions are in use; "
                              "close a tab or try again later.\n")

        def full(self) -> bool:
            return len(self.sessions) >= max_sessions

        async def on_startup(self, app: web.Application) -> None:
            pass  # run() has said where; textual-serve's banner would say it again

        async def handle_index(self, request: web.Request) -> web.StreamResponse:
            if self.full():
                return web.Response(status=503, text=self.full_text)
            return await super().handle_index(request)

        async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
            if self.full():
                return web.Response(status=503, text=self.full_text)
            key = object()
            self.sessions.add(key)  # counted before the first await: no race past the cap
            service: CappedAppService | None = None
            websocket = web.WebSocketResponse(heartbeat=15)
            try:
                width = clamp(request.query.get("width", "80"), 80, MAX_WIDTH)
                height = clamp(request.query.get("height", "24"), 24, MAX_HEIGHT)
                await websocket.prepare(request)
                service = CappedAppService(
                    self.command, write_bytes=websocket.send_bytes,
                    write_str=websocket.send_str, close=websocket.close,
                    download_manager=self.download_manager, debug=self.debug,
                )
                await service.start(width, height)
                await self._process_messages(websocket, service)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await websocket.close()
            except Exception:  # a malformed message, a dropped tab: end this session only
                pass
            finally:
                try:
                    if service is not None:
                        await service.end()
                finally:
                    self.sessions.discard(key)
            return websocket

        def serve(self, debug: bool = False) -> None:  # noqa: ARG002
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            for number in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(number, self.request_exit)
            web.run_app(self._make_app(), sock=sock, handle_signals=False, loop=loop,
                        print=lambda *args: None)

    PartyServer().serve()


# --- the app's side: started by textual-serve, owned by the server ---------------------


def stop_with_owner(owner: int) -> None:
    """Stop this process when ``owner`` (our parent, the web server) is gone.

    ``PR_SET_PDEATHSIG`` has the kernel send SIGTERM at once (Linux); a thread that
    looks at ``os.getppid()`` each ``OWNER_POLL`` is the guarantee, and if a graceful
    SIGTERM has not ended us ``STOP_GRACE`` later (the main thread blocked writing to a
    pipe nobody reads), it ends the process outright.
    """
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    def watch() -> None:
        while os.getppid() == owner:
            time.sleep(OWNER_POLL)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(STOP_GRACE)
        os._exit(1)

    threading.Thread(target=watch, name="owner-watch", daemon=True).start()


def served_main(argv: list[str]) -> int:
    """``python -m tui.commands.web --owner PID``: the app, for one browser tab."""
    if len(argv) == 2 and argv[0] == "--owner" and argv[1].isdigit():
        stop_with_owner(int(argv[1]))
    from tui.cli import main

    return main([])


if __name__ == "__main__":
    sys.exit(served_main(sys.argv[1:]))

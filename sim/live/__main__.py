"""``python -m sim.live MODEL [flags]``: the live server without the ``partyhost`` CLI.

The same flags and the same banner as ``partyhost serve``; ``ServerProcess`` starts
servers this way because it needs nothing from ``tui``.
"""

from __future__ import annotations

import argparse
import sys

from sim.live.config import ConfigError, add_server_arguments, config_from_args
from sim.live.serve import banner, serve


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m sim.live", description="A minimal live server.")
    add_server_arguments(parser)
    try:
        config = config_from_args(parser.parse_args(argv))
        return serve(config, announce=lambda ready: print("\n".join(banner(ready)), flush=True))
    except ConfigError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # only before the signal handlers are in place
        return 130


if __name__ == "__main__":
    sys.exit(main())

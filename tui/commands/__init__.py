"""The subcommands of ``partyhost``, one module each (see ``tui.cli``)."""


class CliError(Exception):
    """A user mistake on the command line: one line, exit code 2."""

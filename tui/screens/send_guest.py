"""Send a guest: a one-line dialog for the script of one visitor to a live server.

The learner types a script in the engine's words (``blocking:3000``, ``io:200``,
``cpu:5,io:50``); Enter sends it (``tui.live.LiveDriver.send``: a GET of /guest, as
curl would), Esc cancels. A script that cannot be read says why, in the dialog.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from sim.workload import WorkloadError
from tui.live import check_script

DEFAULT_SCRIPT = "blocking:3000"  # three seconds with the host asleep: easy to spot


class SendGuestScreen(ModalScreen[str | None]):
    """Ask for one visitor's script; dismiss with it in the engine's words, or None."""

    DEFAULT_CSS = """
    SendGuestScreen { align: center middle; }
    SendGuestScreen #send { width: 64; max-width: 100%; height: auto; padding: 0 1;
                            border: thick $accent; background: $surface; }
    SendGuestScreen #send-error { color: $error; height: auto; }
    SendGuestScreen #send-hint { color: $text-muted; height: auto; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, script: str = DEFAULT_SCRIPT) -> None:
        super().__init__()
        self.script = script

    def compose(self) -> ComposeResult:
        with Vertical(id="send"):
            yield Static("[b]Send a guest[/b] to the real server: what should it ask for?")
            yield Input(placeholder=f"{self.script}  (Enter sends this)", id="send-script")
            yield Static("", id="send-error")
            yield Static("e.g. blocking:3000 · io:200 · cpu:50 · cpu:5,io:100   "
                         "Enter sends, Esc cancels", id="send-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            script = check_script(event.value or self.script)
        except WorkloadError as exc:
            self.query_one("#send-error", Static).update(Text(str(exc)))
            return
        self.dismiss(script)

    def action_cancel(self) -> None:
        self.dismiss(None)

"""The ``partyhost`` app: one factory for the CLI and the tests, the screens it opens.

Theory of operation. ``create_app`` builds the App; ``run_app`` (what ``partyhost``
with no arguments calls) runs it. The App itself is thin: it owns the scenario the
learner last chose, opens the screens (welcome, the party, help), lists every
screen's actions in the command palette, and switches a party between simulated and
live. Each party screen owns its clock and its session (``tui.session``); widgets
only ever see trace events folded into a ``PartyState``. Styles live in ``app.tcss``.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from sim.scenario import Scenario, build_scenario
from tui.clock import FPS
from tui.screens.compare import CompareScreen, partner_for
from tui.screens.help import HelpScreen
from tui.screens.party import PartyScreen
from tui.screens.welcome import WelcomeScreen
from tui.session import FREE_PLAY


class PartyHostApp(App[int]):
    """Web-server concurrency, as a party, simulated or live."""

    CSS_PATH = "app.tcss"
    TITLE = "partyhost"
    SUB_TITLE = "web-server concurrency, as a party"
    BINDINGS = [
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-normal"), (160, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall"), (50, "-very-tall")]

    def __init__(self, scenario: Scenario | None = None, *, start: str = "welcome",
                 paused: bool = False, fps: float = FPS) -> None:
        super().__init__()
        self.scenario = scenario or build_scenario(FREE_PLAY)
        self.start = start
        self.start_paused = paused
        self.fps = fps

    def on_mount(self) -> None:
        self.push_screen(WelcomeScreen())
        if self.start == "party":
            self.open_party()
        elif self.start == "compare":
            self.open_party()
            self.call_after_refresh(self._start_compare)

    def _start_compare(self) -> None:
        if isinstance(self.screen, PartyScreen):
            self.screen.action_compare()

    def on_party_screen_compare_asked(self, message: PartyScreen.CompareAsked) -> None:
        """A party asked to be compared: the very same guests beside a contrasting server."""
        self.push_screen(CompareScreen(message.scenario, partner_for(message.scenario),
                                       paused=self.start_paused, fps=self.fps))

    def open_party(self, scenario: Scenario | None = None, *,
                   free_play: bool = False) -> PartyScreen:
        """Push a party; ``free_play`` (from the welcome) opens it warmed up, with a hint."""
        screen = PartyScreen(scenario or self.scenario, paused=self.start_paused, fps=self.fps,
                             free_play=free_play)
        self.push_screen(screen)
        return screen

    # --- actions everywhere --------------------------------------------------------

    def action_help(self) -> None:
        """The help, built once: its Markdown tables are hundreds of widgets."""
        if isinstance(self.screen, HelpScreen):
            return
        if not self.is_screen_installed("help"):
            self.install_screen(HelpScreen(), "help")
        self.push_screen("help")

    def toggle_live(self, screen: PartyScreen) -> None:
        """Switch ``screen``'s party between simulated and live (see ``tui.live``)."""
        from tui import live

        live.toggle(self, screen)

    async def action_quit(self) -> None:
        """Quit, stopping every live server and load generator first (no orphans)."""
        self.close_live()
        self.exit(0)

    def close_live(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, PartyScreen):
                screen.session.close()

    def on_unmount(self) -> None:
        self.close_live()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette lists every key of the current screen, so the mouse can reach it."""
        yield from super().get_system_commands(screen)
        seen = set()
        for binding in [*screen.BINDINGS, *self.BINDINGS]:
            if not isinstance(binding, Binding) or binding.action in seen:
                continue
            seen.add(binding.action)
            if binding.action in ("quit",):
                continue
            target = self if binding in self.BINDINGS else screen
            yield SystemCommand(binding.description or binding.action,
                                f"key: {self.keys_shown(binding)}",
                                partial(target.run_action, binding.action))

    def keys_shown(self, binding: Binding) -> str:
        """A binding's keys as a person types them: "." or "→", never "full_stop"; every
        key, even where the footer shows one (``key_display``: "→" for step)."""
        keys = [key.strip() for key in binding.key.split(",") if key.strip()]
        return " or ".join(self.get_key_display(Binding(key, binding.action)) for key in keys)


def create_app(scenario: Scenario | None = None, *, start: str = "welcome",
               paused: bool = False, fps: float = FPS) -> PartyHostApp:
    """The app, as ``partyhost`` opens it and as the tests drive it.

    ``start`` is "welcome", "party" or "compare"; ``paused`` starts parties paused so a
    test advances party time with keys, never with the wall clock.
    """
    return PartyHostApp(scenario, start=start, paused=paused, fps=fps)


def run_app() -> int:
    """Run the app in this terminal; the exit code."""
    app = create_app()
    result = app.run()
    return int(result or 0) if app.return_code is None else app.return_code

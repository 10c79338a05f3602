"""The welcome: what partyhost is, in one line, and three ways in. Never a blank screen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Static

from tui.screens import optional_screen

BANNER = """\
[b]partyhost[/b]
Watch a web server handle many requests at once, as a party:
guests ([i]requests[/i]) queue at the door ([i]listen backlog[/i]),
hosts ([i]workers[/i]) serve them, and some guests wait for the kitchen ([i]I/O[/i]).
"""


class WelcomeScreen(Screen):
    """Three ways in: a lesson, free play, or the classroom demo."""

    BINDINGS = [
        Binding("1", "lesson", "Lesson 1"),
        Binding("2", "free_play", "Free play"),
        Binding("3", "demo", "Classroom demo"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Center(id="welcome-box"):
            with Vertical(id="welcome"):
                yield Static(BANNER, id="banner")
                yield Button("1  Start lesson 1", id="lesson", variant="primary")
                yield Button("2  Free play", id="free_play", variant="success")
                yield Button("3  Classroom demo", id="demo", variant="default")
                yield Static("Press ? any time for the keys and the glossary "
                             "(party words beside server words).", id="hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#free_play", Button).focus()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        # run_action is a coroutine: not awaited, a click or Enter would do nothing
        await self.run_action(event.button.id or "")

    def action_lesson(self) -> None:
        lesson = optional_screen("lesson_player", "LessonScreen")
        if lesson is None:
            self.notify("The lesson player is not installed in this build yet; "
                        "try free play (2).", title="Lesson 1", severity="warning")
            return
        self.app.push_screen(lesson(1))

    def action_free_play(self) -> None:
        self.app.open_party()  # type: ignore[attr-defined]

    def action_demo(self) -> None:
        demo = optional_screen("demo", "DemoScreen")
        if demo is None:
            self.notify("The classroom demo is not installed in this build yet; "
                        "try free play (2).", title="Classroom demo", severity="warning")
            return
        self.app.push_screen(demo())

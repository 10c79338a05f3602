"""The welcome: what partyhost is, in one line, and the ways in. Never a blank screen.

The first button is the course: "Start lesson 1" for a newcomer, "Continue lesson N"
once the progress file (``tui.lessonbook.progress``) says a lesson was begun, the next
lesson after one finished. It is worked out again each time the welcome comes back to
the top, since a lesson just closed moved the progress on. Every button runs the same
action as its number key, by click or by Enter.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Header, Static

from tui.lessonbook.progress import Progress
from tui.screens import optional_screen
from tui.screens.lesson_picker import course_position, lesson_entries, open_lessons
from tui.widgets.footer import FittedFooter

BANNER = """\
[b]partyhost[/b]
Watch a web server handle many requests at once, as a party:
guests ([i]requests[/i]) queue at the door ([i]listen backlog[/i]),
hosts ([i]workers[/i]) serve them, and some guests wait for the kitchen ([i]I/O[/i]).
"""


class WelcomeScreen(Screen):
    """The ways in: the course (a lesson, all lessons), free play, the classroom demo."""

    BINDINGS = [
        Binding("1", "lesson", "Lesson"),
        Binding("2", "free_play", "Free play"),
        Binding("3", "demo", "Demo"),  # the button says "Classroom demo"; 80 columns show q
        Binding("4", "lessons", "All lessons"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.lesson_number = 1

    def compose(self) -> ComposeResult:
        yield Header()
        with Center(id="welcome-box"):
            with Vertical(id="welcome"):
                yield Static(BANNER, id="banner")
                yield Button("1  Start lesson 1", id="lesson", variant="primary")
                yield Button("2  Free play", id="free_play", variant="success")
                yield Button("3  Classroom demo", id="demo", variant="default")
                yield Button("4  All lessons, with your progress", id="lessons",
                             variant="default")
                yield Static("Press ? any time for the keys and the glossary "
                             "(party words beside server words).", id="hint")
        yield FittedFooter()  # whole keys only: the rest in ctrl+p

    def on_mount(self) -> None:
        self.show_course()
        self.query_one("#free_play", Button).focus()

    def on_screen_resume(self) -> None:
        self.show_course()

    def show_course(self) -> None:
        """The first button names the lesson to go on with, from the progress file."""
        progress = Progress()
        number, label = course_position(lesson_entries(progress), progress.last)
        self.lesson_number = number
        self.query_one("#lesson", Button).label = f"1  {label}"

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        # run_action is a coroutine: not awaited, a click or Enter would do nothing
        await self.run_action(event.button.id or "")

    def action_lesson(self) -> None:
        lesson = optional_screen("lesson_player", "LessonScreen")
        if lesson is None:
            self.notify("The lesson player is not installed in this build yet; "
                        "try free play (2).", title="Lesson 1", severity="warning")
            return
        self.app.push_screen(lesson(self.lesson_number))

    def action_lessons(self) -> None:
        open_lessons(self.app)

    def action_free_play(self) -> None:
        self.app.open_party(free_play=True)  # type: ignore[attr-defined]

    def action_demo(self) -> None:
        demo = optional_screen("demo", "DemoScreen")
        if demo is None:
            self.notify("The classroom demo is not installed in this build yet; "
                        "try free play (2).", title="Classroom demo", severity="warning")
            return
        self.app.push_screen(demo())


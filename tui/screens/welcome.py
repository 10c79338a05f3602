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
from textual.widgets import Button, Footer, Header, Static

from tui.lessonbook.progress import Progress
from tui.screens import optional_screen
from tui.screens.lesson_picker import LessonEntry, lesson_entries, open_lessons

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
        Binding("3", "demo", "Classroom demo"),
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
        yield Footer()

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


def course_position(entries: list[LessonEntry], last: str | None = None) -> tuple[int, str]:
    """The lesson the welcome offers, and its button's words.

    The lesson opened last (``last``, a key) is continued if it is not done; after a
    lesson done, the next one not done; otherwise the first lesson begun, or the first
    not done. A newcomer starts at lesson 1, and so does a learner who has done them
    all (to go over them again).
    """
    if not entries:
        return 1, "Start lesson 1"
    keys = [e.key for e in entries]
    at = keys.index(last) if last in keys else None
    if at is not None and not entries[at].done:
        return _continue(entries[at])
    later = entries[at + 1:] if at is not None else []
    after = next((e for e in later if not e.done), None)
    if after is not None:
        return after.number, f"Continue with lesson {after.number}: {after.title}"
    begun = next((e for e in entries if e.started), None)
    if begun is not None:
        return _continue(begun)
    todo = next((e for e in entries if not e.done), None)
    if todo is None:
        return entries[0].number, f"All {len(entries)} lessons done: lesson 1 again"
    if not any(e.done for e in entries):
        return todo.number, f"Start lesson {todo.number}: {todo.title}"
    return todo.number, f"Continue with lesson {todo.number}: {todo.title}"


def _continue(entry: LessonEntry) -> tuple[int, str]:
    step = entry.status.split(" (")[0]
    return entry.number, f"Continue lesson {entry.number}: {entry.title} ({step})"

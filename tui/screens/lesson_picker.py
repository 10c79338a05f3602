"""The lesson picker: every lesson, its length and how far the learner got, one key away.

Theory of operation. The list is read when the screen mounts and again each time it
comes back to the top (a lesson just played moved the progress on): the lesson files
from ``tui.lessonbook.library``, the progress from ``tui.lessonbook.progress``. One
``OptionList`` holds them, so the arrows, Enter and a single mouse click all choose
(a ``DataTable`` wants two clicks). Choosing pushes the lesson player over the
picker, so Esc in the lesson comes back here, and Esc here goes back to whatever
opened the picker (the welcome, a party or a lesson). ``open_lessons`` keeps at most
one picker on the stack: asked for again, it pops back to the one already there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from tui.lessonbook.format import Lesson, LessonError, parse_file
from tui.lessonbook.library import lesson_files, lessons_dir
from tui.lessonbook.progress import Progress
from tui.widgets.footer import FittedFooter


@dataclass(frozen=True)
class LessonEntry:
    """One row of the picker: a lesson as the list shows it."""

    number: int
    key: str
    title: str
    summary: str
    minutes: int
    status: str  # "new", "step 2/5", "done (3/4 predicted right)", or why it is broken

    @property
    def done(self) -> bool:
        return self.status.startswith("done")

    @property
    def started(self) -> bool:
        return self.status.startswith("step")


_PARSED: dict[tuple[Path, int], Lesson] = {}


def _parse(path: Path) -> Lesson:
    """``parse_file``, once per version of the file: the welcome reads every lesson each
    time it comes back to the top, and 13 lessons take about 0.1 s to parse."""
    key = (path, path.stat().st_mtime_ns)
    if key not in _PARSED:
        _PARSED[key] = parse_file(path)
    return _PARSED[key]


def lesson_entries(progress: Progress | None = None) -> list[LessonEntry]:
    """Every lesson file, in order, with the learner's progress (a broken file says why)."""
    progress = progress or Progress()
    out = []
    for path in lesson_files():
        number = int(path.name.split("-", 1)[0])
        try:
            lesson = _parse(path)
        except (LessonError, OSError) as exc:
            out.append(LessonEntry(number, path.stem, path.stem, str(exc), 0, "cannot be read"))
            continue
        out.append(LessonEntry(lesson.number, lesson.key, lesson.title, lesson.summary,
                               lesson.minutes, progress.status(lesson.key)))
    return out


def next_lesson(number: int) -> LessonEntry | None:
    """The lesson after ``number`` (in file order), or None after the last."""
    later = [entry for entry in lesson_entries() if entry.number > number]
    return later[0] if later else None


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


def _prompt(entry: LessonEntry) -> Table:
    """One option: number, title over its summary, minutes, progress, in fixed columns."""
    row = Table.grid(padding=(0, 1), expand=True)
    row.add_column(width=3, justify="right", style="bold")
    row.add_column(ratio=1)
    row.add_column(width=6, justify="right")
    row.add_column(width=14, no_wrap=True, overflow="ellipsis")
    title = Text(entry.title, style="bold")
    title.append("\n")
    title.append(entry.summary, style="dim")
    mark = ("green", "✓ ") if entry.done else (("yellow", "▶ ") if entry.started else ("dim", ""))
    status = Text(mark[1] + entry.status.split(" (")[0], style=mark[0])
    row.add_row(f"{entry.number}", title, f"{entry.minutes} min", status)
    return row


class LessonPickerScreen(Screen):
    """All the lessons with the learner's progress; Enter or a click opens one."""

    DEFAULT_CSS = """
    LessonPickerScreen #picker { height: 1fr; padding: 0 1; }
    LessonPickerScreen #picker-title { height: auto; margin: 1 0 0 0; }
    LessonPickerScreen #lesson-list { height: 1fr; margin-top: 1; }
    LessonPickerScreen #lesson-list > .option-list--option { padding: 0 1; }
    """

    BINDINGS = [Binding("escape", "leave", "Back")]

    def __init__(self, highlight: int | None = None) -> None:
        super().__init__()
        self.highlight = highlight  # the lesson number to put the cursor on
        self.entries: list[LessonEntry] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="picker"):
            yield Static("[b]The lessons[/b] · ↑↓ to choose, Enter or a click opens one, "
                         "Esc goes back", id="picker-title")
            yield OptionList(id="lesson-list")
        yield FittedFooter()  # whole keys only: the rest in ctrl+p

    def on_mount(self) -> None:
        self.title = "Lessons"
        self.reload()
        self.query_one(OptionList).focus()

    def on_screen_resume(self) -> None:
        """Back from a lesson: its progress moved on, and the next one is the natural pick."""
        if self.entries:
            self.reload()

    def reload(self) -> None:
        entries = lesson_entries()
        box = self.query_one(OptionList)
        at = box.highlighted
        self.entries = entries
        box.clear_options()
        if not entries:
            box.add_option(Option(f"no lessons found in {lessons_dir()}", disabled=True))
            return
        box.add_options([Option(_prompt(e), id=f"lesson-{e.number}") for e in entries])
        numbers = [e.number for e in entries]
        if self.highlight in numbers:
            at = numbers.index(self.highlight)
        elif at is None:  # the lesson the welcome offers to go on with
            at = numbers.index(course_position(entries, Progress().last)[0])
        box.highlighted = min(at, len(entries) - 1)
        self.highlight = None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        if option_id.startswith("lesson-"):
            self.open_lesson(int(option_id.removeprefix("lesson-")))

    def open_lesson(self, number: int) -> None:
        from tui.screens.lesson_player import LessonScreen

        try:
            screen = LessonScreen(number)
        except LessonError as exc:
            self.notify(str(exc), title=f"Lesson {number}", severity="error")
            return
        self.app.push_screen(screen)

    def action_leave(self) -> None:
        self.app.pop_screen()


def open_lessons(app: App, highlight: int | None = None) -> LessonPickerScreen:
    """Show the picker: the one already on the stack (popping what is above it), or a new one."""
    for screen in reversed(app.screen_stack):
        if isinstance(screen, LessonPickerScreen):
            while app.screen is not screen:
                app.pop_screen()
            screen.highlight = highlight
            screen.reload()
            return screen
    picker = LessonPickerScreen(highlight)
    app.push_screen(picker)
    return picker

"""The classroom demo: a lesson-format script played by itself, for a projector.

Theory of operation. ``DemoScreen`` reads ``lessons/demo.md`` (any lesson file will
do) and shows one step at a time for the script's ``seconds``: a large caption (the
step's title and its first paragraph), the step's party moving on the right, and,
once the step's runs are done (a thread worker runs them headless, cached, so the
second time round is instant), the explanation with its numbers and a table. A
question is shown first and answered by the run halfway through the step. A challenge
is solved by the same worker (the runner's cheapest-first search): its scene plays the
party the learner starts from and, once solved, shows the best setting, its run in the
table and its numbers in the text; until then the status line says they are being
worked out. At the
end it starts again, until stopped. A scene's clock starts once its numbers are in,
so a slow machine shows every scene complete rather than cutting it short.

Keys: space freezes everything (the step's clock and the party), right skips,
left goes back, p switches presenter mode (a scene stays until the arrow key moves
on), escape closes. ``steps=N`` ends the app after N steps: that is how a test, or
``partyhost demo --headless --steps 3``, plays a few steps and stops.

Projector mode (``projector=True``, or by itself on a terminal of at least
``PROJECTOR_SIZE``): the party takes two thirds of the width with its hosts scaled to
fill it (``tui.widgets.projector.BigHosts``), and the party's served/s, p99 and line
stand above it in large digits. Below that size the layout is the classroom one.
"""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len
from textual import work
from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Markdown, Static

from sim.scenario import ScenarioError
from tui.clock import FPS
from tui.lessonbook.claims import ClaimError, fill_text, fmt
from tui.lessonbook.format import Lesson, parse_file
from tui.lessonbook.library import demo_file
from tui.lessonbook.runner import LessonRunner, LiveSkipped, scenario_of
from tui.screens import escape
from tui.screens.lesson_player import ROWS
from tui.widgets.footer import FittedFooter
from tui.widgets.projector import BigHosts, BigNumbers, FreezablePane

TICK = 0.1  # s between checks of the step's clock
PROJECTOR_SIZE = (160, 50)  # columns, rows: a terminal this big is on a projector
PANE_FPS = 10.0  # the party's frames a second in the classroom layout (as the lesson player)


class DemoScreen(Screen):
    """Scenes of a lesson file, one after another, looping."""

    DEFAULT_CSS = """
    DemoScreen #demo-caption { height: auto; padding: 1 2; margin: 0 1;
                               background: $primary-background; border: heavy $accent;
                               text-style: bold; content-align: center middle; }
    DemoScreen #demo-lead { height: auto; padding: 0 2; text-style: bold; }
    DemoScreen #demo-body { height: 1fr; }
    DemoScreen #demo-left { width: 3fr; padding: 0 1; }
    DemoScreen #demo-right { width: 2fr; min-width: 40; border-left: solid $primary; }
    DemoScreen #demo-answer { height: auto; padding: 0 2; color: $success; text-style: bold; }
    DemoScreen #demo-clock { height: 1; color: $text-muted; padding: 0 2; }
    DemoScreen #demo-results { height: auto; max-height: 14; }
    DemoScreen.-projector #demo-left { width: 1fr; }
    DemoScreen.-projector #demo-right { width: 2fr; }
    DemoScreen.-projector #demo-numbers { display: block; }
    DemoScreen.-projector #demo-caption { padding: 2 2; }
    DemoScreen.-projector #demo-clock { text-style: bold; }
    """

    BINDINGS = [
        Binding("space", "pause", "Freeze"),
        Binding("right,n", "skip", "Next"),
        Binding("left,b", "back", "Back"),
        Binding("p", "presenter", "Presenter"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, path: Path | None = None, *, seconds: float | None = None,
                 steps: int | None = None, animate: bool = True,
                 projector: bool | None = None, presenter: bool = False) -> None:
        super().__init__()
        self.projector_asked = projector  # None: by the terminal's size
        self.presenter = presenter
        self.lesson: Lesson = parse_file(path or demo_file())
        self.runner = LessonRunner(self.lesson)
        self.seconds = seconds or self.lesson.seconds
        self.limit = steps
        self.animate = animate
        self.index = 0
        self.shown = 0  # steps shown so far, loops included
        self.loops = 0
        self.elapsed = 0.0
        self.paused = False
        self.ready: set[int] = set()
        self._text = ""
        # Markdown parses in a thread and mounts the blocks in a task, after update()
        # returns and outside any message: the last text's update, for whoever must see
        # it drawn (the projector snapshot awaits it; no Pilot pause waits for a task)
        self.text_drawn: AwaitComplete | None = None
        self._shown: dict[str, str] = {}  # widget id -> the text it shows

    def compose(self) -> ComposeResult:
        yield Static("", id="demo-caption")
        with Horizontal(id="demo-body"):
            with Vertical(id="demo-left"):
                yield Static("", id="demo-lead")
                yield Static("", id="demo-answer")
                yield Markdown("", id="demo-text")
            with Vertical(id="demo-right"):
                yield BigNumbers(id="demo-numbers")
                # a projector's party draws at the app's frame rate (fixed when composed)
                fps = FPS if self.wants_projector() else PANE_FPS
                yield FreezablePane(animate=self.animate, fps=fps, id="demo-party")
                yield DataTable(id="demo-results", zebra_stripes=True, cursor_type="none")
        yield Static("", id="demo-clock")
        yield FittedFooter()  # whole keys only: the rest in ctrl+p

    def on_mount(self) -> None:
        self.title = self.lesson.title
        self.set_interval(TICK, self.tick)
        self.fit_projector()
        self.show(0)

    def on_resize(self) -> None:
        self.fit_projector()

    # --- closing: nothing draws on a demo that is going -----------------------------------

    @property
    def on_stage(self) -> bool:
        """The demo's widgets are there to draw on: it is on the app's screen stack (on
        top, or under a help) and the app is not quitting.

        A key, a tick of the clock or a finished run can come after the demo began to
        close, and Textual removes a closing screen's widgets before the screen itself:
        popped (escape), it leaves the stack at once and is pruned after; when the app
        quits, it stays on the stack, closed and empty, while keys already sent still
        reach its bindings (seen: a right arrow sent just before the app quit ran
        ``action_skip`` on a closed demo with no children, NoMatches '#demo-caption').
        Every way in that touches a widget asks this first (checking that one widget is
        still there was not enough: '#demo-results' went before '#demo-lead').
        """
        return self.is_attached and self in self.app.screen_stack

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A closing demo takes no keys (Textual asks this before every action)."""
        return self.on_stage

    @property
    def projector(self) -> bool:
        return self.has_class("-projector")

    def wants_projector(self) -> bool:
        """Asked for, or the terminal is projector-sized."""
        if self.projector_asked is not None:
            return self.projector_asked
        size = self.app.size
        return size.width >= PROJECTOR_SIZE[0] and size.height >= PROJECTOR_SIZE[1]

    def fit_projector(self) -> None:
        if not self.on_stage:
            return
        on = self.wants_projector()
        self.set_class(on, "-projector")
        self.query_one(BigHosts).big = on
        self.query_one(BigHosts).refresh()

    # --- the clock -----------------------------------------------------------------------

    def tick(self) -> None:
        if self.paused or not self.on_stage or self.app.screen is not self:
            return
        pane = self.query_one(FreezablePane)
        if self.projector and pane.session is not None:
            self.query_one(BigNumbers).show(pane.session.state)
        if self.index not in self.ready:  # hold the scene until its numbers are in
            return
        if self.elapsed < self.seconds:
            self.elapsed = min(self.seconds, self.elapsed + TICK)
        elif not self.presenter:  # a presenter moves on with the arrow key, not the clock
            self.advance(+1)
            return
        self.draw()

    def advance(self, by: int) -> None:
        steps = len(self.lesson.steps)
        if self.limit is not None and self.shown >= self.limit:
            self.app.exit(0)
            return
        target = self.index + by
        if target >= steps:
            self.loops += 1
        self.show(target % steps)

    # --- a step ----------------------------------------------------------------------------

    def show(self, index: int) -> None:
        if not self.on_stage:
            return
        self.index = index
        self.elapsed = 0.0
        self.shown += 1
        step = self.lesson.steps[index]
        self._put("demo-caption", escape(step.title))
        first = next((spec for spec in step.runs if not spec.live), None)
        if first is None and step.challenge is not None:  # as the lesson player does
            first = step.challenge.start
        if first is not None:
            try:
                self.query_one(FreezablePane).play(scenario_of(first), first.name)
            except ScenarioError:
                pass
        if index not in self.ready:
            self.run_step(index)
        self.draw(new=True)

    def draw(self, new: bool = False) -> None:
        if not self.on_stage:
            return  # a run finished, or a tick came, while the demo was closing
        step = self.lesson.steps[self.index]
        ready = self.index in self.ready
        lead, answer, text = self.scene(self.index, halfway=self.elapsed >= self.seconds / 2)
        self._put("demo-lead", lead)
        self._put("demo-answer", escape(answer))
        if new or text != self._text:
            self._text = text
            self.text_drawn = self.query_one("#demo-text", Markdown).update(text)
            self._table(step, ready)
        left = max(0.0, self.seconds - self.elapsed)
        if self.paused:
            state = "FROZEN: the party and the clock (space to go on)"
        elif not ready:  # the clock waits for the numbers: say so, not "next in 8 s"
            state = ("working out the numbers: the challenge's settings, cheapest first"
                     if self.runner.challenges(self.index) else "working out the numbers")
        elif self.presenter:
            state = "presenter: → next scene when you are ready"
        else:
            state = f"next in {left:.0f} s"
        self._put("demo-clock",
            f"scene {self.index + 1}/{len(self.lesson.steps)} · {state} · "
            "space freeze · → next · ← back · p presenter · esc close")

    def scene(self, index: int, *, halfway: bool) -> tuple[str, str, str]:
        """Step ``index``'s words: the lead (markup), the answer line, the Markdown text.

        Numbers are filled once the step's runs and challenges are worked out (``ready``),
        "…" before; a challenge's answer line is its computed best setting, at once (its
        text below says why it is the best, with the best run's numbers)."""
        step = self.lesson.steps[index]
        ready = index in self.ready
        lookup = self.runner.lookup(index) if ready else None
        lead, _, rest = step.before.partition("\n\n")
        question = step.predict.question if step.predict else ""
        lead = " ".join(fill_text(lead, lookup).split()).replace("`", "")
        asked = f"\n\n[reverse] Question [/reverse] {escape(question)}" if question else ""
        answer = ""
        if step.predict is not None and ready and halfway:
            try:
                answer = f"The run says: {self.runner.judge(index, step.predict, None).truth}"
            except (ClaimError, LiveSkipped):
                answer = ""
        solution = self.runner.solutions.get(index) if step.challenge is not None else None
        if solution is not None and ready:
            answer = (f"The best, worked out by partyhost: {solution.describe()} (tried "
                      f"{solution.tried} of {solution.points} settings, cheapest first)")
        after = step.after if step.predict is None or (ready and halfway) else ""
        text = fill_text("\n\n".join(p for p in (rest, after) if p), lookup)
        return escape(lead) + asked, answer, text

    def _put(self, widget_id: str, content: str) -> None:
        """Update a Static only when its text changes: each update lays the whole screen
        out again, which at 200x60 cost most of a frame ten times a second."""
        if self._shown.get(widget_id) != content:
            self._shown[widget_id] = content
            self.query_one(f"#{widget_id}", Static).update(content)

    def _table(self, step, ready: bool) -> None:
        table = self.query_one("#demo-results", DataTable)
        table.clear(columns=True)
        if not ready:
            return
        results = {s.name: self.runner.results.get((self.index, s.name)) for s in step.runs}
        solution = self.runner.solutions.get(self.index) if step.challenge else None
        if step.challenge is not None and solution is not None:  # its best setting's run
            results[f"{step.challenge.name} (best)"] = solution.values
        results = {k: v for k, v in results.items() if v is not None}
        if not results:
            return
        rows = [[label, *(format(r[key], spec) if spec else fmt(r[key])
                          for r in results.values())] for key, label, spec in ROWS[:6]]
        # Each column's width given, as wide as its widest cell or header: left to grow
        # with the rows, the header was now and then drawn before it grew (" result "
        # over rows of 25 cells, in one projector snapshot of ten).
        for i, header in enumerate(["result", *results]):
            table.add_column(header, width=max(cell_len(header),
                                               *(cell_len(row[i]) for row in rows)))
        for row in rows:
            table.add_row(*row)

    @work(thread=True, group="demo-run")
    def run_step(self, index: int) -> None:
        self.work_out(index)
        self.app.call_from_thread(self._ready, index)

    def work_out(self, index: int) -> None:
        """Run what step ``index`` shows numbers of: its runs and those before it in
        sight, and the challenges in sight (solved here, in the worker's thread: drawing
        a challenge's numbers used to solve it on the UI thread, the scene frozen on
        "…" meanwhile). Cached: the second time round is instant."""
        for step, spec in self.runner.visible(index).values():
            try:
                self.runner.result(step, spec)
            except (LiveSkipped, ScenarioError):
                continue
        for step in self.runner.challenges(index).values():
            try:
                self.runner.solve(step)
            except (LiveSkipped, ScenarioError, ClaimError):
                continue  # its numbers stay "…"; `lessons check` names the cause

    def _ready(self, index: int) -> None:
        self.ready.add(index)
        if index == self.index:
            self.draw(new=True)

    # --- keys --------------------------------------------------------------------------------

    def action_pause(self) -> None:
        """Freeze everything: the scene's clock and the party on screen."""
        self.paused = not self.paused
        self.query_one(FreezablePane).frozen = self.paused
        self.draw()

    def action_presenter(self) -> None:
        """Presenter mode: a scene stays until the arrow key moves on."""
        self.presenter = not self.presenter
        self.notify("presenter mode: → next scene, ← back" if self.presenter else
                    "scenes move on by themselves again", title="Demo")
        self.draw()

    def action_skip(self) -> None:
        self.advance(+1)

    def action_back(self) -> None:
        self.show((self.index - 1) % len(self.lesson.steps))

    def action_close(self) -> None:
        self.app.pop_screen()

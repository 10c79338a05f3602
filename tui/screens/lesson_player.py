"""The lesson player: the lesson's text on one side, its party on the other.

Theory of operation. ``LessonScreen(number)`` reads ``lessons/NN-*.md`` (see
``tui.lessonbook``) and shows one step at a time. Opening a step starts a thread
worker that runs the step's scenarios headless (and any earlier run the step's text
names), while the ``PartyPane`` on the right plays the step's first scenario slowly
with the app's party widgets, so there is something to watch while the numbers come.
A step with a question waits for the learner's answer: **reveal** judges it against
the run (``LessonRunner.judge``), shows the explanation with its ``{{ placeholders }}``
filled, the numbers of every run in a table, and the claims the checker proves, ticked.
A step with no question shows all of that as soon as the run is done.

A step with a challenge shows the goal and one small input per knob, starting at the
lesson's party; **Run** (the same button and key as reveal) runs the learner's setting
in a thread worker and judges it: met or not, and the goal's numbers that say why; met
at the lowest cost or not. The best setting is computed by ``LessonRunner.solve`` (in
the background as soon as the step opens), never typed; once the goal is met the
explanation, filled from that best answer, is shown.

The UI thread never simulates: placeholders read only results already computed, and
show "…" until then. Progress (the step reached, each prediction and whether it was
right) goes to the per-user state file after every move (``tui.lessonbook.progress``);
reopening a lesson resumes at the step reached. Live runs (real servers) start only when
the learner presses ``l``.
"""

from __future__ import annotations

import time
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Button,
    DataTable,
    Header,
    Input,
    Markdown,
    RadioButton,
    RadioSet,
    Static,
)

from sim.scenario import Scenario, ScenarioError
from tui.lessonbook.claims import ClaimError, Lookup, fill_text, fmt
from tui.lessonbook.format import Lesson, LessonError, Step, parse_file
from tui.lessonbook.library import lesson_file, lessons_dir
from tui.lessonbook.progress import Progress
from tui.lessonbook.runner import Attempt, LessonRunner, LiveSkipped, Verdict, scenario_of
from tui.screens import escape
from tui.session import PartySession
from tui.state import PartyState
from tui.widgets.door import DoorLine
from tui.widgets.footer import FittedFooter
from tui.widgets.hosts import HostsView
from tui.widgets.timeline import Timeline, TimelineView

# The rows of the numbers table: (result name, label with the real term, format)
ROWS = [
    ("throughput", "throughput (guests/s)", ".1f"),
    ("p50", "latency p50 (ms)", ""),
    ("p99", "latency p99 (ms)", ""),
    ("mean", "latency mean (ms)", ""),
    ("wait_mean", "wait in line, mean (ms)", ""),
    ("utilization", "hosts busy (utilisation)", ".0%"),
    ("queue", "in line, mean (backlog)", ".2f"),
    ("L", "in the house (L)", ".2f"),
    ("turned_away", "turned away (never let in)", ".0f"),
    ("failed", "no answer (503 / killed)", ".0f"),
    ("killed", "hosts killed (manager)", ".0f"),
]

GUESTS_PER_SECOND = 4.0  # what a watcher can follow in the party pane
MAX_FRAME = 0.25  # s of wall time one tick of the pane may cover


def watch_speed(scenario: Scenario) -> float:
    """Party seconds per wall second so that about GUESTS_PER_SECOND arrive each second."""
    rate = scenario.rate or (scenario.users or 1) * 10.0
    return max(0.002, min(1.0, GUESTS_PER_SECOND / rate))


class PartyPane(Vertical):
    """The door and the hosts of one scenario, moving slowly enough to watch."""

    DEFAULT_CSS = """
    PartyPane { height: 1fr; min-height: 8; }
    PartyPane #pane-title { height: auto; color: $text-muted; }
    PartyPane DoorLine { height: 3; }
    """

    def __init__(self, *, animate: bool = True, fps: float = 10.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.animate = animate
        self.fps = fps
        self.session: PartySession | None = None
        self.label = ""
        self._wall = time.monotonic()

    def compose(self) -> ComposeResult:
        yield Static("no party in this step", id="pane-title")
        yield DoorLine(PartyState())
        yield TimelineView()
        yield HostsView(PartyState())

    def on_mount(self) -> None:
        if self.animate:
            self.set_interval(1 / self.fps, self.tick)

    def play(self, scenario: Scenario | None, label: str = "") -> None:
        """Show this scenario's party from its start (None: keep the last one)."""
        if scenario is None:
            return
        if self.session is not None and self.session.scenario == scenario:
            return
        if self.session is not None:
            self.session.close()
        self.session = PartySession(scenario)
        for timeline in self.query(TimelineView):  # a column per tenth of a wall second
            timeline.timeline = Timeline(span=0.1 * watch_speed(scenario))  # (the demo's
            self.session.listeners.append(timeline.timeline.feed)  # big pane has none)
        self.label = label
        note = "slowed down to watch" if self.animate else "paused"
        self.query_one("#pane-title", Static).update(
            f"{label}: {scenario.real_command}  ·  {note}")
        self.draw()

    def tick(self) -> None:
        now = time.monotonic()
        wall, self._wall = min(now - self._wall, MAX_FRAME), now
        if self.session is None or self.app.screen is not self.screen:
            return
        if self.session.driver.finished:
            self.session.restart()
        self.session.advance(wall * watch_speed(self.session.scenario))
        self.draw()

    def draw(self) -> None:
        if self.session is None:
            return
        state = self.session.state
        self.query_one(DoorLine).show(state, self.session.service)
        for timeline in self.query(TimelineView):
            timeline.show(self.session.service, state.now)
        self.query_one(HostsView).show(state)

    def on_unmount(self) -> None:
        if self.session is not None:
            self.session.close()


class LessonScreen(Screen):
    """One lesson, a step at a time: predict, run, explain."""

    DEFAULT_CSS = """
    LessonScreen #lesson-body { height: 1fr; }
    LessonScreen #lesson-left { width: 3fr; padding: 0 1; }
    LessonScreen #lesson-right { width: 2fr; min-width: 40; border-left: solid $primary; }
    LessonScreen #lesson-step { text-style: bold; color: $accent; height: auto; }
    LessonScreen #lesson-question { height: auto; margin: 1 0; padding: 0 1;
                                    border: round $secondary; }
    LessonScreen #lesson-question.-hidden { display: none; }
    LessonScreen #question-text { text-style: bold; height: auto; }
    LessonScreen #lesson-verdict { height: auto; margin: 0 0 1 0; }
    LessonScreen #lesson-status { height: auto; color: $text-muted; }
    LessonScreen #lesson-runs { height: auto; padding: 0 1; border-top: solid $primary; }
    LessonScreen #lesson-results { height: auto; max-height: 16; }
    LessonScreen #lesson-claims { height: auto; padding: 0 1; }
    LessonScreen #lesson-nav { height: 3; }
    LessonScreen #lesson-nav Button { margin-right: 1; }
    LessonScreen RadioSet { width: 100%; }
    LessonScreen .knob { height: 3; }
    LessonScreen .knob Static { width: 24; padding: 1 1 0 0; }
    LessonScreen .knob Input { width: 16; }
    """

    BINDINGS = [
        Binding("ctrl+n,right", "next", "Next"),
        Binding("ctrl+b,left", "back", "Back"),
        Binding("ctrl+r", "reveal", "Reveal"),
        Binding("l", "live", "Run live steps", show=False),
        Binding("escape", "close", "Close"),
        Binding("n", "next_lesson", "Next lesson"),
        Binding("o", "lessons", "Lessons"),
    ]

    def __init__(self, number: int = 1, *, path: Path | None = None, animate: bool = True,
                 progress: Progress | None = None, resume: bool = True) -> None:
        super().__init__()
        found = path or lesson_file(number)
        if found is None:
            raise LessonError(f"lesson {number}", f"no such lesson in {lessons_dir()}")
        self.lesson: Lesson = parse_file(found)
        self.runner = LessonRunner(self.lesson)
        self.progress = progress or Progress()
        self.animate = animate
        saved = self.progress.lesson(self.lesson.key) if resume else {}
        last = len(self.lesson.steps) - 1
        self.index = min(int(saved.get("step", 0)), last) if not saved.get("done") else 0
        self.ready: set[int] = set()  # steps whose runs are done
        self.revealed: dict[int, Verdict | None] = {}
        self.errors: dict[int, str] = {}
        self.verdicts: dict[int, str] = {}  # what the verdict line said, to show again
        self.attempts: dict[int, Attempt] = {}  # a challenge step's last setting run
        self.trying: set[int] = set()  # challenge steps whose setting is running

    # --- layout --------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="lesson-body"):
            with VerticalScroll(id="lesson-left"):
                yield Static("", id="lesson-step")
                yield Markdown("", id="lesson-text")
                yield Vertical(id="lesson-question")
                yield Static("", id="lesson-verdict")
                yield Markdown("", id="lesson-after")
                with Horizontal(id="lesson-nav"):
                    yield Button("← Back", id="back")
                    yield Button("Reveal", id="reveal", variant="primary")
                    yield Button("Next →", id="next")
                    yield Button("Next lesson →", id="next-lesson", variant="success")
            with Vertical(id="lesson-right"):
                yield PartyPane(animate=self.animate, id="lesson-party")
                yield Static("", id="lesson-runs")
                yield Static("", id="lesson-status")
                yield DataTable(id="lesson-results", zebra_stripes=True, cursor_type="none")
                yield Static("", id="lesson-claims")
        yield FittedFooter()  # whole keys only: the rest in ctrl+p

    async def on_mount(self) -> None:
        self.title = f"Lesson {self.lesson.number}: {self.lesson.title}"
        await self.show_step(self.index)

    @property
    def step(self) -> Step:
        return self.lesson.steps[self.index]

    # --- moving between steps --------------------------------------------------------

    async def show_step(self, index: int) -> None:
        if not self.is_attached or not self.query("#lesson-step"):
            return  # a key came while the screen was leaving, or not yet composed
        self.index = index
        step = self.step
        total = len(self.lesson.steps)
        self.progress.at_step(self.lesson.key, index, total)
        self.sub_title = f"step {index + 1} of {total}"
        self.query_one("#lesson-step", Static).update(
            f"Step {index + 1} of {total}: {escape(step.title)}")
        await self._question(step)
        if not self.is_attached:
            return  # closed while the question was mounting
        self.query_one("#lesson-verdict", Static).update(self.verdicts.get(index, ""))
        self.query_one("#back", Button).disabled = index == 0
        self.query_one("#next", Button).disabled = index == total - 1
        self._offer_next_lesson(index == total - 1)
        described = []
        for spec in step.runs:
            try:
                text = escape(scenario_of(spec).describe())
            except ScenarioError as exc:
                text = f"[red]{escape(str(exc))}[/]"
            live = " [b](live: real servers)[/b]" if spec.live else ""
            described.append(f"[b]{spec.name}[/b]{live}: {text}")
        if step.challenge is not None:
            described.append(f"[b]{step.challenge.name}[/b] (your party, to change): "
                             f"{self._describe(step.challenge.start)}")
        self.query_one("#lesson-runs", Static).update("\n".join(described))
        first = next((spec for spec in step.runs if not spec.live), None)
        if first is None and step.challenge is not None:
            first = step.challenge.start
        if first is not None:
            try:
                self.query_one(PartyPane).play(scenario_of(first), first.name)
            except ScenarioError as exc:
                self.errors[index] = str(exc)
        self.render_step()
        if index not in self.ready:
            self.run_step(index)

    @staticmethod
    def _describe(spec) -> str:
        try:
            return escape(scenario_of(spec).describe())
        except ScenarioError as exc:
            return f"[red]{escape(str(exc))}[/]"

    async def _question(self, step: Step) -> None:
        box = self.query_one("#lesson-question", Vertical)
        await box.remove_children()
        predict = step.predict
        reveal = self.query_one("#reveal", Button)
        reveal.label = "Run" if step.challenge is not None else "Reveal"
        box.set_class(predict is None and step.challenge is None, "-hidden")
        reveal.display = predict is not None or step.challenge is not None
        if step.challenge is not None:
            await self._challenge_inputs(box, step)
            return
        if predict is None:
            return
        # the lesson's own words: brackets in them are text, never Rich markup
        widgets: list = [Static(f"Predict: {escape(predict.question)}", id="question-text")]
        if predict.choices:
            answer: RadioSet | Input = RadioSet(
                *(RadioButton(escape(c.text)) for c in predict.choices), id="choices")
        else:
            unit = f" ({predict.unit})" if predict.unit else ""
            answer = Input(placeholder=f"your guess{unit}", type="number", id="guess")
        await box.mount(*widgets, answer)
        answer.focus()  # the learner answers at once: arrows and Enter, or a number

    async def _challenge_inputs(self, box: Vertical, step: Step) -> None:
        """The goal, then one input per knob, at the learner's last try or the start."""
        challenge = step.challenge
        assert challenge is not None
        tried = self.attempts.get(self.index)
        widgets: list = [Static(f"Challenge: make {escape(challenge.goal.text)} hold, keeping "
                                f"{escape(challenge.cost_text)} as low as you can. Change "
                                "the knobs, then Run (ctrl+r).", id="question-text")]
        for knob in challenge.knobs:
            value = tried.setting[knob.key] if tried else challenge.start.values[knob.key]
            widgets.append(Horizontal(
                Static(f"{knob.key} ({escape(knob.text)})"),
                Input(str(value), type="number", id=f"knob-{knob.key}"),
                classes="knob"))
        await box.mount(*widgets)
        first = box.query(Input).first()
        first.focus()

    def render_step(self) -> None:
        """Draw the text, the verdict, the numbers and the claims for what is known now."""
        step, index = self.step, self.index
        lookup = self._ready_lookup(index)
        if step.challenge is not None:
            tried = self.attempts.get(index)
            shown = tried is not None and tried.met
        else:
            shown = index in self.revealed or step.predict is None
        self.query_one("#lesson-text", Markdown).update(fill_text(step.before, lookup))
        self.query_one("#lesson-after", Markdown).update(
            fill_text(step.after, lookup) if shown and index in self.ready else "")
        self.query_one("#reveal", Button).disabled = (
            index in self.trying if step.challenge is not None else index in self.revealed)
        status = self.query_one("#lesson-status", Static)
        if index in self.errors:
            status.update(f"[red]{escape(self.errors[index])}[/]")
        elif index in self.trying:
            status.update("running your party…")
        elif index not in self.ready and (step.runs or step.challenge):
            status.update("running the party…")
        elif any(spec.live for spec in step.runs) and not self.runner.live:
            status.update("this step also runs real servers: press l to run them")
        else:
            status.update("")
        self._table(step, index, shown)
        self._claims(step, index, shown, lookup)

    def _table(self, step: Step, index: int, shown: bool) -> None:
        table = self.query_one("#lesson-results", DataTable)
        table.clear(columns=True)
        results = {spec.name: self.runner.results.get((index, spec.name)) for spec in step.runs}
        results = {name: r for name, r in results.items() if r is not None}
        tried = self.attempts.get(index)
        if tried is not None:
            results["your try"] = tried.values
            if tried.met and tried.solution is not None:
                results["fewest"] = tried.solution.values
            shown = True
        if not results or not shown:
            return
        table.add_column("result", key="result")
        for name in results:
            table.add_column(name, key=name)
        for key, label, spec in ROWS:
            cells = [format(r[key], spec) if spec else fmt(r[key]) for r in results.values()]
            table.add_row(label, *cells)

    def _claims(self, step: Step, index: int, shown: bool, lookup: Lookup) -> None:
        box = self.query_one("#lesson-claims", Static)
        if not step.claims or not shown or index not in self.ready:
            box.update("")
            return
        lines = ["[b]What partyhost checked[/b]"]
        for claim_line in step.claims:
            try:
                holds, numbers = claim_line.claim.evaluate(lookup)
                mark = "[green]✓[/]" if holds else "[red]✗[/]"
                text = escape(claim_line.claim.text)
                lines.append(f"{mark} {text}\n   [dim]{escape(numbers)}[/]")
            except (ClaimError, LiveSkipped):
                lines.append(f"[dim]· {escape(claim_line.claim.text)} (not run)[/]")
        box.update("\n".join(lines))

    def _ready_lookup(self, index: int) -> Lookup:
        """Numbers already computed; anything else is not known yet (shown as …)."""
        seen = self.runner.visible(index)
        solved = self.runner.challenges(index)

        def lookup(run: str, metric: str) -> float:
            if run in solved and run not in seen:
                solution = self.runner.solutions.get(solved[run])
                if solution is None:
                    raise ClaimError(f"the challenge {run} is not solved yet")
                return solution.values[metric]
            if run not in seen:
                raise ClaimError(f"no run named {run!r}")
            step, spec = seen[run]
            result = self.runner.results.get((step, spec.name))
            if result is None:
                raise ClaimError(f"{run} has not run yet")
            return result[metric]

        return lookup

    # --- running -----------------------------------------------------------------------

    @work(thread=True, group="lesson-run")
    def run_step(self, index: int) -> None:
        """Run every run in sight at ``index`` (cached), off the UI thread."""
        error = ""
        for step, spec in self.runner.visible(index).values():
            try:
                self.runner.result(step, spec)
            except LiveSkipped:
                continue
            except ScenarioError as exc:
                error = str(exc)
            except Exception as exc:  # a live server that would not start, say
                error = f"{spec.name}: {exc}"
        for name, step in self.runner.challenges(index).items():  # its best, in the background
            try:
                self.runner.solve(step)
            except (ScenarioError, ClaimError, LiveSkipped) as exc:
                error = f"{name}: {exc}"
        self.app.call_from_thread(self._step_ready, index, error)

    def _step_ready(self, index: int, error: str) -> None:
        self.ready.add(index)
        if error:
            self.errors[index] = error
        if not self.is_attached or not self.query("#lesson-after"):
            return  # the learner left (or the step is still mounting) while the run went on
        if index == self.index:
            if self.revealed.get(index, False) is None:  # answered while it ran
                self._judge()
            self.render_step()

    # --- the learner's moves ------------------------------------------------------------

    async def action_next(self) -> None:
        if self.index < len(self.lesson.steps) - 1:
            await self.show_step(self.index + 1)
        else:  # the last step: "next" goes on to the next lesson
            self.action_next_lesson()

    # --- the course: the lesson after this one, and the picker ------------------------

    def _offer_next_lesson(self, last: bool) -> None:
        """At the last step, a "Next lesson" button (and the n key); after the last
        lesson, the same button opens the picker."""
        from tui.screens.lesson_picker import next_lesson

        button = self.query_one("#next-lesson", Button)
        button.display = last
        self.refresh_bindings()
        if not last:
            return
        after = next_lesson(self.lesson.number)
        button.label = (f"Next lesson: {after.number} {escape(after.title)} →"
                        if after is not None else "All lessons")
        if self.step.predict is None and self.step.challenge is None:
            button.focus()  # nothing to answer or to try: Enter goes on

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """n (next lesson) only at the last step, so the footer offers it only there."""
        if action == "next_lesson":
            return self.index == len(self.lesson.steps) - 1
        return True

    def action_next_lesson(self) -> None:
        from tui.screens.lesson_picker import next_lesson, open_lessons

        if self.index != len(self.lesson.steps) - 1:
            return
        after = next_lesson(self.lesson.number)
        if after is None:
            open_lessons(self.app, highlight=self.lesson.number)
            return
        self.app.switch_screen(LessonScreen(after.number, progress=self.progress,
                                            animate=self.animate))

    def action_lessons(self) -> None:
        from tui.screens.lesson_picker import open_lessons

        open_lessons(self.app, highlight=self.lesson.number)

    async def action_back(self) -> None:
        if self.index > 0:
            await self.show_step(self.index - 1)

    def action_close(self) -> None:
        self.app.pop_screen()

    def action_live(self) -> None:
        if not any(spec.live for spec in self.step.runs):
            self.notify("This step has no live run.")
            return
        self.runner.live = True
        self.ready.discard(self.index)
        self.notify("Starting real servers on 127.0.0.1…", title="Live")
        self.render_step()
        self.run_step(self.index)

    def action_reveal(self) -> None:
        if self.step.challenge is not None:
            self.action_try()
            return
        predict = self.step.predict
        if predict is None or self.index in self.revealed:
            return
        guess = self.guess()
        if guess is None:
            self.notify("Make your prediction first.", severity="warning")
            return
        self.revealed[self.index] = None  # answered; judged once the run is done
        if self.index in self.ready:
            self._judge()
        self.render_step()

    def guess(self) -> int | str | None:
        predict = self.step.predict
        if predict is None:
            return None
        if predict.choices:
            index = self.query_one("#choices", RadioSet).pressed_index
            return index if index >= 0 else None
        value = self.query_one("#guess", Input).value.strip()
        try:
            float(value)
        except ValueError:
            return None
        return value

    def _judge(self) -> None:
        predict = self.step.predict
        assert predict is not None
        guess = self.guess()
        try:
            verdict = self.runner.judge(self.index, predict, guess)
        except (ClaimError, LiveSkipped, ScenarioError) as exc:
            self.query_one("#lesson-verdict", Static).update(
                f"[red]cannot judge: {escape(str(exc))}[/]")
            self.revealed[self.index] = None
            return
        self.revealed[self.index] = verdict
        said = (predict.choices[guess].text if predict.choices and isinstance(guess, int)
                else f"{guess} {predict.unit}".strip())
        mark = "[green]✓ Right.[/]" if verdict.right else "[yellow]✗ Not this time.[/]"
        line = f"{mark} You said: {escape(said)}. The run says: {escape(verdict.truth)}."
        self.verdicts[self.index] = line
        self.query_one("#lesson-verdict", Static).update(line)
        self.progress.predicted(self.lesson.key, self.index, str(said), verdict.right)

    # --- a challenge: the learner's setting, run and judged --------------------------

    def action_try(self) -> None:
        challenge = self.step.challenge
        if challenge is None or self.index in self.trying:
            return
        setting = {}
        try:
            for knob in challenge.knobs:
                setting[knob.key] = knob.read(self.query_one(f"#knob-{knob.key}", Input).value)
        except ValueError as exc:
            self.notify(str(exc), severity="warning")
            return
        self.trying.add(self.index)
        self.render_step()
        self.try_setting(self.index, setting)

    @work(thread=True, group="lesson-try")
    def try_setting(self, index: int, setting: dict[str, int | float]) -> None:
        """Run the learner's setting (and find the best, if not found yet), off the UI."""
        try:
            attempt: Attempt | None = self.runner.attempt(index, setting)
            error = ""
        except (ScenarioError, ClaimError, LiveSkipped) as exc:
            attempt, error = None, str(exc)
        self.app.call_from_thread(self._tried, index, attempt, error)

    def _tried(self, index: int, attempt: Attempt | None, error: str) -> None:
        self.trying.discard(index)
        if attempt is not None:
            self.attempts[index] = attempt
            self.ready.add(index)  # the best is known now: the explanation can be filled
        if not self.is_attached or not self.query("#lesson-verdict"):
            return
        said = ", ".join(f"{key} = {fmt(value)}" for key, value in
                         (attempt.setting.items() if attempt else []))
        if attempt is None:
            line = f"[red]cannot run it: {escape(error)}[/]"
        elif attempt.best:
            line = (f"[green]✓ Goal met, at the lowest cost ({fmt(attempt.cost)}).[/] "
                    f"You set {escape(said)}: {escape(attempt.shown)}.")
        elif attempt.met:
            best = attempt.solution.cost if attempt.solution else attempt.cost
            line = (f"[yellow]◐ Goal met, but it can be done for less: yours costs "
                    f"{fmt(attempt.cost)}, the fewest {fmt(best)}.[/] You set {escape(said)}: "
                    f"{escape(attempt.shown)}.")
        else:
            line = (f"[yellow]✗ Goal not met.[/] You set {escape(said)}: "
                    f"{escape(attempt.shown)}. Change a knob and run again.")
        if index != self.index:
            self.verdicts[index] = line
            return
        self.verdicts[index] = line
        self.query_one("#lesson-verdict", Static).update(line)
        if attempt is not None:
            self.progress.predicted(self.lesson.key, index, said, attempt.best)
            if attempt.scenario is not None:
                self.query_one(PartyPane).play(attempt.scenario, "your try")
        self.render_step()

    @on(Button.Pressed)
    async def _button(self, event: Button.Pressed) -> None:
        actions = {"next": self.action_next, "back": self.action_back}
        if event.button.id in actions:
            await actions[event.button.id]()
        elif event.button.id == "next-lesson":
            self.action_next_lesson()
        elif event.button.id == "reveal":
            self.action_reveal()

    @on(Input.Submitted, "#guess")
    def _submitted(self) -> None:
        self.action_reveal()

    @on(Input.Submitted, ".knob Input")
    def _knob_submitted(self) -> None:
        self.action_try()

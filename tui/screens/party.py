"""Free play: one party on screen, its clock in the learner's hands.

Theory of operation. The screen owns the clock. A timer fires ``fps`` times a second
(``clock.FramePacer``: on the beat, but never before the last frame was painted);
each tick, unless paused, asks the session for ``speed`` x (wall time since the last
tick) seconds of party time, and hands the batch's result to the widgets, each of which
redraws only if its part of the state moved. Stepping runs the model to exactly one
more event; stepping back replays the same seed to one event fewer. Changing a control
rebuilds the scenario and restarts the party with the same seed. Nothing here knows
SimPy: the session's driver does, or, live, a server's reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Static

from sim.scenario import Scenario
from tui.clock import DEFAULT_SPEED, FPS, FRAME_BUDGET, SPEEDS, FramePacer, WallClock
from tui.session import PartySession, TooFarToReplay
from tui.widgets.door import DoorLine
from tui.widgets.footer import FittedFooter
from tui.widgets.hosts import HostsView
from tui.widgets.log import PER_FRAME, NarratedLog
from tui.widgets.numbers import NumbersPanel
from tui.widgets.status import StatusBar
from tui.widgets.timeline import TimelineView
from tui.widgets.visitors import LivePanel

PAUSED_HINT = "paused: space to run"
SIM_ONLY = {"step", "step_back", "faster", "slower", "skip"}  # hidden while live
LIVE_ONLY = {"send_guest"}  # hidden while simulated
WARM_UP = 4.0  # s of party time free play has already run when it opens: guests to see


def suggestion_for(scenario: Scenario, theory_max: float) -> str:
    """Free play's one suggested experiment, for the party on screen: push a house past
    what it can serve, then let an event loop take the same guests (the line is what
    changes), then look at both side by side. Each Apply of the controls moves it on."""
    rate = scenario.rate if not scenario.users else None
    if math.isinf(theory_max) or theory_max <= 0 or rate is None:
        return "Try this: press c, change the model, Apply, and watch the line."
    # one line at 100 columns: a second line would squeeze the chart out of the screen
    most = f"max {theory_max:.0f}/s served"
    if rate > theory_max and not scenario.structure.juggles:
        return f"The line grows without end ({most}). Try this: press c, model async, Apply."
    if rate > theory_max:
        return f"The line grows without end ({most}). Press c and lower guests per second."
    if not scenario.structure.juggles:
        more = math.ceil(theory_max * 1.15)
        return (f"Try this: press c, guests per second {more}, Apply: the line grows "
                f"(max {theory_max:.0f}/s). Then model async.")
    return "Try this: press v to see the same guests at another server, side by side."


STEPS = Binding.Group("Step", compact=True)  # the footer: "←→ Step", "+- Speed": a word for
SPEED = Binding.Group("Speed", compact=True)  # two keys


class PartyScreen(Screen):
    """The door, the hosts, the numbers and the story of one party."""

    # The footer shows them in this order, as many as fit whole (all in ctrl+p and ?);
    # at 120 columns all that show: "Pause" (the status line says "space to run" when
    # paused), the arrows first (a learner reads "←→" where "., " says nothing), the
    # lessons left to ctrl+p, ? and Esc to the welcome, which offers them.
    BINDINGS = [
        Binding("escape", "leave", "Back"),
        Binding("space", "toggle_pause", "Pause", tooltip="Pause or run the party"),
        Binding("g", "send_guest", "Send a guest"),  # live only: first, so 80 columns show it
        Binding("comma,left", "step_back", "Step back", group=STEPS, key_display="←"),
        Binding("full_stop,right", "step", "Step", group=STEPS, key_display="→"),
        Binding("plus,equals_sign", "faster", "Faster", group=SPEED),
        Binding("minus,underscore", "slower", "Slower", group=SPEED),
        Binding("greater_than_sign", "skip", "+1s", show=False),
        Binding("r", "restart", "Restart"),
        Binding("c", "controls", "Controls"),
        Binding("v", "compare", "Compare"),
        Binding("l", "live", "Live"),
        Binding("t", "toggle_timeline", "Timeline"),
        Binding("n", "toggle_log", "Story"),
        Binding("o", "lessons", "Lessons", show=False),
    ]

    def __init__(self, scenario: Scenario, *, paused: bool = False, fps: float = FPS,
                 free_play: bool = False) -> None:
        """``free_play``: opened from the welcome, so it opens ``WARM_UP`` s on, with
        guests in the house, and shows one suggested experiment."""
        super().__init__()
        self.session = PartySession(scenario)
        self.suggestion = ""
        if free_play:
            self.session.advance(WARM_UP)
            self.suggestion = suggestion_for(scenario, self.session.theory.saturation)
        self.paused = paused
        self.fps = fps
        self.speed_index = DEFAULT_SPEED
        self._wall = WallClock()
        self.note = ""
        self.lagging = False
        self.frames = 0  # ticks that moved the party and drew it (benchmarks read this)
        self.drawable = False  # a key can come before the widgets' own children mount

    # --- layout --------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        state = self.session.state
        yield Header()
        yield StatusBar(id="status")
        yield LivePanel(id="live-panel")
        yield DoorLine(state, self.session.service, id="door")
        timeline = TimelineView(service=self.session.service, id="timeline")
        timeline.display = False  # t shows it
        self.session.listeners.append(timeline.timeline.feed)
        yield timeline
        with Horizontal(id="middle"):
            yield HostsView(state, id="hosts")
            yield NumbersPanel(state, self.session.theory, id="numbers")
        yield NarratedLog(id="story")
        if self.suggestion:
            yield Static(self.suggestion, id="suggestion")
        yield FittedFooter(compact=True)

    def on_mount(self) -> None:
        self.drawable = True
        FramePacer(self, self.fps, self.tick).start()
        self.draw()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """No key acts before the widgets are all there (Esc, 2, . in one burst); the
        footer shows the keys of the party on screen: live, no stepping or speed (real
        time does not wait), and "send a guest" only live (a visitor needs a server)."""
        if not self.drawable:
            return False
        live = self.session.live
        return not (action in SIM_ONLY and live or action in LIVE_ONLY and not live)

    @property
    def speed(self) -> float:
        return SPEEDS[self.speed_index]

    @property
    def scenario(self) -> Scenario:
        return self.session.scenario

    # --- the clock -----------------------------------------------------------------

    def tick(self) -> None:
        wall = self._wall.lap()
        if self.paused or self.app.screen is not self:
            return
        self.advance(wall * self.speed, budget_frames=True)
        self.frames += 1

    def advance(self, seconds: float, budget_frames: bool = False) -> None:
        """Move the party on by ``seconds`` of party time and draw it once."""
        story = self.query_one(NarratedLog)
        budget = FRAME_BUDGET / self.fps if budget_frames else None
        told, untold = self.session.advance(seconds, PER_FRAME if story.display else 0, budget)
        self.lagging = getattr(self.session.driver, "lagging", False)
        if story.display and (told or untold):
            story.tell(told, untold, busy_ok=budget_frames)
        visitors = getattr(self.session.driver, "visitors", None)
        if visitors is not None and visitors.news:  # a visitor's leaving is always told
            for t, sentence in visitors.take_news():
                story.write(Text.assemble((f"{t:9.3f}s ", "dim"), (sentence, "bold magenta")))
        self.draw()

    def draw(self) -> None:
        if not self.drawable:
            return  # on_mount draws
        s = self.session
        state = s.state
        self.query_one(StatusBar).show(
            live=s.live, title=f"{s.scenario.model} · {s.scenario.real_command}",
            now=state.now, speed=self.speed, paused=self.paused, events=state.events,
            note="slowed: too many guests for this speed" if self.lagging else self.note)
        kernel = s.driver.line_now() if s.live else None  # type: ignore[attr-defined]
        self.query_one(DoorLine).show(state, s.service, kernel)
        self.query_one(HostsView).show(state)
        timeline = self.query_one(TimelineView)
        if kernel is not None:
            timeline.timeline.note_line(kernel[0] or 0)
        timeline.show(s.service, state.now)
        self.query_one(NumbersPanel).show(state, s.theory, live=s.live, force=self.paused)
        driver = s.driver
        server = getattr(driver, "server", None)
        self.query_one(LivePanel).show(
            server.url if server is not None and driver.ready.is_set() else "",
            getattr(driver, "visitors", None) if s.live else None, state.now)

    # --- actions -------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.note == PAUSED_HINT:
            self.note = ""
        self._wall = WallClock()
        self.draw()

    def action_step(self) -> None:
        if not self.session.driver.can_step:
            self.notify("A live party cannot be stepped: real time does not wait.")
            return
        self.paused = True
        told, untold = self.session.step()
        self.query_one(NarratedLog).tell(told, untold)
        self.draw()

    def action_step_back(self) -> None:
        if not self.session.driver.can_step:
            self.notify("A live party cannot go back in time.")
            return
        self.paused = True
        try:
            stepped = self.session.step_back()
        except TooFarToReplay as exc:
            self.notify(f"{exc.args[0]} events in: too far to replay from the start. "
                        "Restart (r) and step from there.", title="Step back")
            return
        if stepped:
            self.query_one(NarratedLog).write(
                f"           ↶ back to event {self.session.state.events} (same seed, replayed)")
        self.draw()

    def action_skip(self) -> None:
        """One second of party time at once: handy for teachers, and for tests."""
        self.advance(1.0)

    def action_faster(self) -> None:
        self.speed_index = min(self.speed_index + 1, len(SPEEDS) - 1)
        self.draw()

    def action_slower(self) -> None:
        self.speed_index = max(self.speed_index - 1, 0)
        self.draw()

    def action_restart(self, scenario: Scenario | None = None) -> None:
        self.session.restart(scenario)
        self.query_one(NarratedLog).clear()
        if self.suggestion:  # free play: the next experiment, for the party now on screen
            self.suggestion = suggestion_for(self.scenario, self.session.theory.saturation)
            self.query_one("#suggestion", Static).update(self.suggestion)
        if self.session.live:
            self.start_live(self.session.driver)
        self.draw()

    def action_leave(self) -> None:
        """Back to where the learner came from (the welcome screen); the party stops."""
        if len(self.app.screen_stack) > 2:  # the default screen, then what opened this
            self.app.pop_screen()

    def action_toggle_log(self) -> None:
        story = self.query_one(NarratedLog)
        story.display = not story.display

    def action_toggle_timeline(self) -> None:
        """Show or hide the lanes of the hosts over the last seconds (always recorded)."""
        timeline = self.query_one(TimelineView)
        timeline.display = not timeline.display
        self.draw()

    def action_controls(self) -> None:
        if self.session.live:
            self.notify("Switch back from live (l) to change the controls.")
            return
        from tui.screens.controls import ControlsScreen

        was_paused, self.paused = self.paused, True
        self.draw()

        def done(scenario: Scenario | None) -> None:
            self.paused = was_paused  # a running party runs on, restarted or not
            if scenario is not None:
                self.action_restart(scenario)
                hint = f"; {PAUSED_HINT}" if self.paused else ""
                self.notify(f"restarted: {scenario.describe()}{hint}", title="Controls")
                self.note = PAUSED_HINT if self.paused else ""
            self._wall = WallClock()
            self.draw()

        self.app.push_screen(ControlsScreen(self.scenario), done)

    @dataclass
    class CompareAsked(Message):
        """The learner wants this party beside another; the app opens compare."""

        scenario: Scenario

    def action_compare(self) -> None:
        self.paused = True
        self.draw()
        self.post_message(self.CompareAsked(self.scenario))

    def action_lessons(self) -> None:
        """The lesson picker over the party (which waits: it ticks only on top); Esc there
        comes back here."""
        from tui.screens.lesson_picker import open_lessons

        open_lessons(self.app)

    def action_live(self) -> None:
        self.app.toggle_live(self)  # type: ignore[attr-defined]

    # --- live: the driver starts and reads in thread workers, never on the app's thread

    def start_live(self, driver) -> None:
        self.note = "starting the real server..."
        self._boot_live(driver)
        self._read_live(driver)
        self.draw()

    @work(thread=True, group="live-boot")
    def _boot_live(self, driver) -> None:
        """Boot the server and the load generator (blocking: seconds at most)."""
        driver.start()
        self.app.call_from_thread(self._live_started, driver)

    @work(thread=True, group="live-feed")
    def _read_live(self, driver) -> None:
        """Read the server's reports until the driver is closed."""
        driver.pump()

    def _live_started(self, driver) -> None:
        if driver is not self.session.driver:
            return  # switched back meanwhile; that driver is closed already
        if driver.error:
            self.notify(f"The live server did not start: {driver.error}",
                        title="Live", severity="error", timeout=8)
            self.app.toggle_live(self)  # type: ignore[attr-defined]
            return
        server = driver.server
        self.note = f"pid {server.pid} · real guests"  # the URL: in full in the LivePanel
        self.draw()

    def action_send_guest(self) -> None:
        """Send one visitor of the learner's choosing to the live server (as curl would)."""
        driver = self.session.driver
        if not self.session.live:
            self.notify("Go live first (l): a visitor knocks on a real server.",
                        title="Send a guest")
            return
        if getattr(driver, "server", None) is None or not driver.ready.is_set():
            self.notify("The real server is still starting.", title="Send a guest")
            return
        from tui.screens.send_guest import SendGuestScreen

        def sent(script: str | None) -> None:
            if script is None or driver is not self.session.driver or driver.finished:
                return

            def answered(line: str) -> None:
                self.app.call_from_thread(self.notify, line, title="Your visitor")

            driver.send(script, done=answered)
            self.draw()

        self.app.push_screen(SendGuestScreen(), sent)

    def after_live_change(self, live: bool) -> None:
        """Clear the picture for a new source; controls wait until the party is simulated."""
        self.query_one(NarratedLog).clear()
        for hint in self.query("#suggestion"):  # free play's experiment is for the model
            hint.display = not live
        self.note = "" if not live else "starting the real server..."
        self.refresh_bindings()
        self.draw()

    def on_unmount(self) -> None:
        self.session.close()

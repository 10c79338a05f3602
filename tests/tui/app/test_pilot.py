"""Each screen and interaction, driven as a learner would: keys in, party time out.

Parties start paused (``create_app(paused=True)``), so party time only moves when a
key moves it (step, step back, ``>`` for one second): no test depends on the wall clock.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Coroutine

import pytest
from textual.geometry import Region
from textual.widgets import Input, Select, Static

from sim.scenario import build_scenario
from tui.app import create_app
from tui.screens.compare import CompareScreen
from tui.screens.controls import ControlsScreen
from tui.screens.help import HelpScreen
from tui.screens.party import PartyScreen
from tui.screens.welcome import WelcomeScreen
from tui.widgets.log import NarratedLog

SIZE = (100, 32)


def pilot(test: Callable[[], Coroutine]) -> Callable[[], None]:
    """Run an async Pilot test on its own event loop (no async pytest plugin needed)."""

    def run() -> None:
        asyncio.run(test())

    run.__name__, run.__doc__ = test.__name__, test.__doc__
    return run


@pilot
async def test_welcome_offers_three_ways_in_and_free_play_opens_the_party():
    app = create_app(paused=True)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, WelcomeScreen)
        labels = [str(b.label) for b in app.screen.query("Button")]
        assert [label.split("  ")[1] for label in labels] == [
            "Start lesson 1: Meet the hosts", "Free play", "Classroom demo",
            "All lessons, with your progress"]
        await pilot.press("2")
        party = app.screen
        assert isinstance(party, PartyScreen)
        # free play opens on a party already going, with one experiment suggested
        assert party.session.state.now >= 4.0 and party.session.state.served > 0
        hint = str(party.query_one("#suggestion").render())
        assert "press c, guests per second 44" in hint and "(max 38/s)" in hint


def test_lesson_and_demo_open_their_screen_or_say_why_not(tmp_path, monkeypatch):
    from tui.lessonbook.progress import ENV

    monkeypatch.setenv(ENV, str(tmp_path))  # lesson 1's progress: never the user's file
    asyncio.run(_lesson_and_demo_open())


async def _lesson_and_demo_open():
    app = create_app(paused=True)
    async with app.run_test(size=SIZE) as pilot:
        for key in ("1", "3"):
            await pilot.press(key)
            await pilot.pause()
            if isinstance(app.screen, WelcomeScreen):  # not installed: a clear notice
                assert app._notifications, f"key {key}: no screen and no notice"
                app.clear_notifications()
            else:
                app.pop_screen()
                await pilot.pause()


@pilot
async def test_pause_step_and_step_back_move_one_event_at_a_time():
    app = create_app(start="party", paused=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, PartyScreen) and screen.paused
        await pilot.press("space")
        assert not screen.paused
        await pilot.press("space")
        assert screen.paused
        await pilot.press("r")  # the moment it ran moved the wall clock; start afresh
        for _ in range(12):
            await pilot.press("full_stop")
        assert screen.session.state.events == 12
        last = screen.session.state.last
        await pilot.press("comma")
        assert screen.session.state.events == 11
        await pilot.press("right")  # the same event comes back: same seed
        assert screen.session.state.events == 12
        assert screen.session.state.last == last
        story = screen.query_one(NarratedLog)
        assert story.lines, "stepping tells the story"


@pilot
async def test_skip_moves_party_time_and_speed_keys_change_speed():
    app = create_app(start="party", paused=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.press("greater_than_sign", "greater_than_sign")
        state = screen.session.state
        assert state.now == pytest.approx(2.0)
        assert state.served > 20  # about 25 guests/s arrive, each stays ~0.1 s
        speed = screen.speed
        await pilot.press("plus")
        assert screen.speed > speed
        await pilot.press("minus", "minus")
        assert screen.speed < speed
        await pilot.press("r")
        assert screen.session.state.events == 0


@pilot
async def test_controls_change_a_knob_and_restart_with_the_same_seed():
    app = create_app(start="party", paused=True)
    async with app.run_test(size=SIZE) as pilot:
        party = app.screen
        await pilot.press("greater_than_sign")
        await pilot.press("c")
        assert isinstance(app.screen, ControlsScreen)
        workers = app.screen.query_one("#workers", Input)
        workers.value = "8"
        workers.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is party
        assert party.scenario.workers == 8
        assert party.scenario.seed == 1
        assert party.session.state.events == 0  # restarted
        await pilot.press("greater_than_sign")
        assert len(party.session.state.host_list) == 8


@pilot
async def test_a_bad_control_is_explained_inline_and_nothing_crashes():
    app = create_app(start="party", paused=True)
    async with app.run_test(size=SIZE) as pilot:
        party = app.screen
        await pilot.press("c")
        controls = app.screen
        controls.query_one("#rate", Input).value = "-3"
        await pilot.click("#apply")
        await pilot.pause()
        assert app.screen is controls
        error = str(controls.query_one("#controls-error", Static).render())
        assert "--rate" in error and "> 0" in error
        assert controls.query_one("#rate", Input).has_class("-bad")
        controls.query_one("#rate", Input).value = "30"
        await pilot.click("#apply")
        await pilot.pause()
        assert app.screen is party and party.scenario.rate == 30


@pilot
async def test_the_controls_switch_models_with_no_hand_edits():
    """sync (4 workers) -> async -> hybrid -> threadpool, only the model changed each time:
    a knob the new server lacks is dropped (its field emptied and greyed out), one it
    shares is kept; the focus goes back to a field, so Enter applies as the title says."""
    app = create_app(start="party", paused=True)
    async with app.run_test(size=SIZE) as pilot:
        party = app.screen
        for model, workers, threads in (("async", 1, 1), ("hybrid", 1, 1),
                                        ("threadpool", 1, 40), ("threaded", 1, 4)):
            await pilot.press("c")
            controls = app.screen
            controls.query_one("#model", Select).value = model
            await pilot.pause()
            if model == "async":  # sync's 4 workers: nothing to clear by hand
                workers_field = controls.query_one("#workers", Input)
                assert workers_field.disabled and workers_field.value == ""
                assert isinstance(app.focused, Input) and not app.focused.disabled
                await pilot.press("enter")
            else:
                await pilot.click("#apply")
            await pilot.pause()
            assert app.screen is party, str(app.screen.query_one("#controls-error").render())
            s = party.scenario
            assert (s.model, s.workers, s.threads) == (model, workers, threads)


@pilot
async def test_compare_runs_two_models_on_the_same_guests():
    app = create_app(start="party", paused=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("v")
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await pilot.press("space")  # compare runs on its own clock; pause it
        screen.paused = True
        await pilot.press("greater_than_sign")
        left, right = screen.left, screen.right
        assert (left.scenario.model, right.scenario.model) == ("sync", "async")
        assert left.state.now == right.state.now
        assert left.state.arrived == right.state.arrived > 0
        await pilot.press("m")  # another model beside, same guests again
        assert screen.right.scenario.model not in ("async",)
        assert screen.left.scenario.seed == screen.right.scenario.seed
        await pilot.press("escape")
        assert isinstance(app.screen, PartyScreen)


@pilot
async def test_help_shows_keys_and_glossary_and_closes():
    app = create_app(start="party", paused=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        from tui.screens.help import HELP
        assert "dozing at the kitchen door" in HELP and "Where the analogy breaks" in HELP
        await pilot.press("escape")
        assert isinstance(app.screen, PartyScreen)


@pilot
async def test_story_toggles_and_quit_ends_the_app():
    app = create_app(start="party", paused=True)
    async with app.run_test(size=SIZE) as pilot:
        story = app.screen.query_one(NarratedLog)
        await pilot.press("n")
        assert not story.display
        await pilot.press("n")
        assert story.display
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


@pilot
async def test_every_party_key_is_in_the_command_palette():
    app = create_app(start="party", paused=True)
    async with app.run_test(size=SIZE):
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for wanted in ("Pause", "Step", "Step back", "Back", "Faster", "Slower", "Restart",
                       "Controls", "Compare", "Live", "Story", "Help", "Theme"):
            assert wanted in titles


@pilot
async def test_a_running_party_advances_on_its_own_timer():
    """The one test that lets the wall clock run: the timer really drives the party."""
    app = create_app(build_scenario({"model": "sync", "workers": 2, "rate": 50,
                                     "io": "10", "guests": 10**9}), start="party")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.speed_index = 6  # x10
        await pilot.pause(0.5)
        assert screen.session.state.events > 0


# --- issue 16: the party you can see and touch ------------------------------------------

WAYS_IN = [("lesson", "LessonScreen"), ("free_play", "PartyScreen"), ("demo", "DemoScreen"),
           ("lessons", "LessonPickerScreen")]


@pytest.mark.parametrize(("button", "screen_name"), WAYS_IN)
@pytest.mark.parametrize("how", ["click", "enter"])
def test_each_welcome_button_opens_its_screen_by_click_and_by_enter(
        button, screen_name, how, tmp_path, monkeypatch):
    """The first screen's buttons: a mouse click, or Tab to the button and Enter."""
    from tui.lessonbook.progress import ENV

    monkeypatch.setenv(ENV, str(tmp_path))  # the lesson player saves progress here

    async def run() -> None:
        app = create_app(paused=True)
        async with app.run_test(size=SIZE) as pilot:
            welcome = app.screen
            assert isinstance(welcome, WelcomeScreen)
            if how == "click":
                await pilot.click(f"#{button}")
            else:
                while app.focused is None or app.focused.id != button:
                    await pilot.press("tab")
                await pilot.press("enter")
            await pilot.pause()
            assert type(app.screen).__name__ == screen_name, f"{how} on #{button}"

    asyncio.run(run())


@pilot
async def test_escape_goes_back_from_compare_to_the_party_to_the_welcome():
    """Free play is left the way it was entered: Esc, shown in the footer; Esc also
    leaves compare and the lesson picker (o) for the party."""
    app = create_app(paused=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        party = app.screen
        assert isinstance(party, PartyScreen)
        shown = {key: active.binding.description
                 for key, active in party.active_bindings.items() if active.binding.show}
        assert shown.get("escape") == "Back"
        await pilot.press("v")
        assert isinstance(app.screen, CompareScreen)
        await pilot.press("escape")
        assert app.screen is party
        await pilot.press("o")  # the lesson picker, over the party
        assert type(app.screen).__name__ == "LessonPickerScreen"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is party
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        await pilot.press("escape")  # nothing further back: the welcome stays
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)


def screen_lines(widget) -> list[str]:
    """What a widget shows, line by line, as the terminal gets it."""
    width, height = widget.size
    return ["".join(segment.text for segment in strip)
            for strip in widget.render_lines(Region(0, 0, width, height))]


IO_8MS = {"model": "sync", "workers": 4, "phases": "io:8", "rate": 100, "guests": 10**9}


@pilot
async def test_the_numbers_panel_never_cuts_a_number():
    """4 sync workers, 8 ms each: theory's max is 500.0 guests/s, shown whole at 120 columns."""
    app = create_app(build_scenario(IO_8MS), start="party", paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("greater_than_sign")
        await pilot.pause()
        assert app.screen.session.theory.saturation == 500.0
        lines = screen_lines(app.screen.query_one("#figures"))
        served = next(line for line in lines if line.startswith("served/s"))
        assert "max 500.0" in served
        backlog = next(line for line in lines if line.startswith("line now"))
        assert "mean 0.0, max " in backlog and "…" not in backlog.split("·")[0]


@pilot
async def test_no_closed_form_is_said_plainly_not_in_red():
    app = create_app(build_scenario(IO_8MS), start="party", paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = " ".join(screen_lines(app.screen.query_one("#figures")))
        assert "no closed form for this party (simulation only)" in " ".join(text.split())
    from tui.session import Theory
    from tui.widgets.numbers import theory_line

    def styles(line) -> str:
        return " ".join(str(span.style) for span in line.spans) + f" {line.style}"

    none = theory_line(Theory(None, 500.0))
    assert "red" not in styles(none) and "dim" in styles(none)
    overloaded = build_scenario({**IO_8MS, "workers": 1, "phases": "io:exp:100", "rate": 20})
    from sim.theory import prediction
    pred = prediction(overloaded)
    assert pred is not None and pred.wait == float("inf")
    line = theory_line(Theory(pred, 10.0))
    assert "red" in styles(line) and "overloaded" in line.plain
    fine = theory_line(Theory(prediction(build_scenario({**IO_8MS, "phases": "io:exp:100",
                                                        "rate": 20})), 40.0))
    assert "Erlang C" in fine.plain and "red" not in styles(fine)


@pilot
async def test_palette_and_footer_show_keys_as_typed_never_their_names():
    """"key: >" in the palette, not "key: greater_than_sign"; the same in every footer."""
    app = create_app(paused=True)
    async with app.run_test(size=SIZE) as pilot:
        seen = []
        for key in ("", "2", "v"):  # welcome, the party, compare
            if key:
                await pilot.press(key)
            screen = app.screen
            helps = [c.help for c in app.get_system_commands(screen) if c.help.startswith("key:")]
            footer = [app.get_key_display(active.binding)
                      for active in screen.active_bindings.values() if active.binding.show]
            seen += helps
            for shown in helps + footer:
                assert not re.search(r"[a-z]_[a-z]", shown), f"{type(screen).__name__}: {shown!r}"
        assert "key: >" in seen and "key: . or →" in seen and "key: ?" in seen
        # a palette entry really runs its action (the palette awaits run_action)
        await pilot.press("escape")
        party = app.screen
        assert isinstance(party, PartyScreen) and party.paused
        pause = next(c for c in app.get_system_commands(party) if c.title == "Pause")
        app.call_later(pause.callback)
        await pilot.pause()
        assert not party.paused


@pilot
async def test_controls_open_on_a_field_and_apply_resumes_a_running_party():
    """Enter applies at once (a field has the focus); a party that ran runs on after Apply,
    and one that was paused says so: "paused: space to run"."""
    app = create_app(start="party")  # running, on the wall clock
    async with app.run_test(size=SIZE) as pilot:
        party = app.screen
        assert not party.paused
        await pilot.press("c")
        controls = app.screen
        assert isinstance(controls, ControlsScreen) and party.paused
        first = controls.query(Input).first()
        assert app.focused is first
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is party and not party.paused
        assert "paused" not in str(party.query_one("#status").render())

        await pilot.press("space")  # paused by the learner: Apply leaves it paused, and says so
        await pilot.press("c")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is party and party.paused
        assert "paused: space to run" in str(party.query_one("#status").render())
        await pilot.press("space")
        assert not party.paused
        assert "space to run" not in str(party.query_one("#status").render())


@pilot
async def test_a_key_before_the_party_has_mounted_is_ignored_not_a_crash():
    """Esc, 2, . in one burst (the fuzz test found it): the . may come before the party's
    widgets are all mounted; it does nothing then, and the party works once they are."""
    app = create_app(paused=True)
    async with app.run_test(size=SIZE) as pilot:
        party = app.open_party()  # pushed, not yet mounted
        await app.run_action("step", party)
        await pilot.pause()
        assert app.is_running and app.screen is party
        await pilot.press("full_stop")
        assert party.session.state.events == 1


def footer_line(app) -> str:
    """The footer's row as the terminal gets it: the bottom line of the screen."""
    return app.screen._compositor.render_strips()[-1].text


def footer_entries(screen) -> list[str]:
    """What the footer may show for the screen's keys: "esc Back", a group "←→ Step"
    (its keys, then its word), in the screen's order; hidden keys (show=False) not."""
    entries: list[str] = []
    groups: dict[str, str] = {}
    seen: set[str] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.show or binding.action in seen:
            continue
        seen.add(binding.action)
        key = screen.app.get_key_display(binding)
        if binding.group is None:
            entries.append(f"{key} {binding.description}")
        elif binding.group.description in groups:
            groups[binding.group.description] += key
        else:
            groups[binding.group.description] = key
            entries.append(binding.group.description)
    return [f"{groups[e]} {e}" if e in groups else e for e in entries]


@pilot
async def test_the_party_footer_shows_every_key_whole():
    """At 120 columns the footer ended "t Timeli": its keys ran on under the palette's
    key. Now every key free play offers shows whole at 120 columns, simulated and live;
    at 100 and 80 the first ones show whole and the rest not at all (ctrl+p has them)."""
    from tui.screens.party import SIM_ONLY

    def as_live(screen, action: str, parameters: tuple) -> bool:
        return action not in SIM_ONLY  # the keys check_action leaves a live party

    app = create_app(start="party", paused=True)  # one app, resized: each start costs 1.5 s
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        for width, live in ((120, False), (100, False), (80, False), (80, True), (120, True)):
            if live:  # no real server: only the footer's keys are those of a live party
                screen.check_action = as_live.__get__(screen)
                screen.refresh_bindings()
            await pilot.resize_terminal(width, 40)
            await pilot.pause()
            await pilot.pause()
            line = footer_line(app)
            row, palette = line.split("▏")
            assert palette.strip() == "^p palette", line
            entries = footer_entries(screen)
            assert ("g Send a guest" in entries) == live
            assert ("←→ Step" in entries) != live
            shown = [e for e in entries if e in row]
            assert shown == entries[:len(shown)], (width, line)  # the first ones, in order
            assert row.split() == " ".join(shown).split(), (width, line)  # whole, nothing else
            if width == 120:
                assert shown == entries, line
                assert {"? Help", "q Quit", "t Timeline", "n Story"} <= set(shown)
            else:
                assert len(shown) >= 6 and "esc Back" in shown, line
        await pilot.resize_terminal(80, 24)
        for key, screen_name in (("v", "CompareScreen"), ("escape", "PartyScreen"),
                                 ("escape", "WelcomeScreen")):  # the other footers, whole
            await pilot.press(key)
            await pilot.pause()
            await pilot.pause()
            assert type(app.screen).__name__ == screen_name
            row = footer_line(app).split("▏")[0]
            entries = footer_entries(app.screen)
            shown = [e for e in entries if e in row]
            assert row.split() == " ".join(shown).split(), row
            assert shown == entries[:len(shown)] and len(shown) >= 4, row
        assert "q Quit" in shown  # the welcome, where a learner leaves, shows it at 80

"""The controls: every knob of the party, editable while it is paused.

Each field is a scenario key; Apply hands them all to ``build_scenario`` (through
``tui.session.rebuild``), so the app checks values exactly as the CLI does. A mistake
does not close the form or crash: the ScenarioError's message is shown under the
form and the guilty field is marked. A good scenario is handed back to the party
screen, which restarts with it (same seed unless the seed field changed).

Choosing another model needs no other edit: the knob fields follow the server table
(``KNOBS``): a knob the new server lacks is emptied and greyed out (so ``--workers 4``
never blocks the switch to one event loop), one it has shows the value carried over
from the old server, or is empty with the new server's default as its hint.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from sim.scenario import Scenario, ScenarioError, canonical
from sim.servers import KNOBS, NAMES, SERVERS, server
from tui.session import rebuild

# key, party words, real term: the server's knobs (from the table), then the party's
FIELDS = [
    *((knob.key, knob.party, knob.flag) for knob in KNOBS.values()),
    ("cores", "rooms", "CPU cores"),
    ("rate", "guests per second", "arrival rate, Poisson"),
    ("phases", "what a guest asks", "handler phases, ms"),
    ("backlog", "room in the line", "listen backlog"),
    ("timeout", "manager's patience (s)", "--timeout"),
    ("seed", "which guests come", "random seed"),
]


class ControlsScreen(ModalScreen[Scenario | None]):
    """Edit the scenario; Apply restarts the party, Escape leaves it as it was."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "apply", "Apply")]

    def __init__(self, scenario: Scenario) -> None:
        super().__init__()
        self.scenario = scenario

    def compose(self) -> ComposeResult:
        s = self.scenario
        with Vertical(id="controls"):
            yield Static("[b]Controls[/b] · the party restarts with the same seed "
                         "(Enter in a field or Ctrl+S applies, Escape cancels)",
                         id="controls-title")
            with VerticalScroll(id="controls-scroll"), Grid(id="controls-grid"):
                yield Label("model [dim](server)[/dim]")
                yield Select([(f"{m} · {SERVERS[m].summary}", m) for m in NAMES], value=s.model,
                             allow_blank=False,
                             id="model")
                for key, party, real in FIELDS:
                    yield Label(f"{party} [dim]({real})[/dim]")
                    yield Input(self._value(key), id=key, placeholder=self._hint(key))
            yield Static("", id="controls-error")
            with Horizontal(id="controls-buttons"):
                yield Button("Apply", id="apply", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        """The first field has the focus, so Enter applies as the title says."""
        self.model = self.scenario.model
        self.follow_model(self.model)
        self.focus_first_field()

    def focus_first_field(self) -> None:
        next(field for field in self.query(Input) if not field.disabled).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        """Another model: its knobs, and the focus back on a field where Enter applies."""
        model = str(event.value)
        if event.select.id != "model" or model == getattr(self, "model", model):
            return
        self.model = model
        self.follow_model(model)
        self.focus_first_field()

    def follow_model(self, model: str) -> None:
        """Knob fields for ``model``: greyed out and empty where it has no such knob."""
        row = server(model)
        for key in KNOBS:
            field = self.query_one(f"#{key}", Input)
            if not row.has(key):
                field.value, field.disabled = "", True
                field.placeholder = f"{model} has no such knob"
                continue
            if field.disabled:  # given back: what the old server had, if it had it
                field.value, field.disabled = self._value(key), False
            default = row.default(key)
            field.placeholder = f"empty = {model}'s default" + (
                f" ({default})" if default is not None else " (no limit)")

    def _value(self, key: str) -> str:
        value = getattr(self.scenario, key)
        if key in KNOBS and not server(self.scenario.model).has(key):
            return ""
        if value is None:
            return ""
        return f"{value:g}" if isinstance(value, float) else str(value)

    @staticmethod
    def _hint(key: str) -> str:
        if key in KNOBS:
            having = [name for name in NAMES if SERVERS[name].has(key)]
            return f"{', '.join(having)} only; empty = the default"
        return {"phases": "e.g. cpu:5,io:exp:100 or blocking:20"}.get(key, "")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.action_apply()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_apply()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def values(self) -> dict[str, str | None]:
        """The fields the learner changed; an emptied field means "the default" (None).

        A field left as it was is not passed, so a new model keeps what it shares with
        the old one and takes its own defaults for the rest (``Scenario.replace``); a
        knob the chosen server lacks is not asked of it, whatever the field says.
        """
        out: dict[str, str | None] = {"model": str(self.query_one("#model", Select).value)}
        row = server(str(out["model"]))
        for key, _, _ in FIELDS:
            text = self.query_one(f"#{key}", Input).value.strip()
            if key in KNOBS and not row.has(key):
                continue
            if text != self._value(key):
                out[key] = text or None
        return out

    def action_apply(self) -> None:
        for field in self.query(Input):
            field.remove_class("-bad")
        try:
            scenario = rebuild(self.scenario, **self.values())
        except ScenarioError as exc:
            self.query_one("#controls-error", Static).update(f"[b red]✗[/] {exc}")
            key = canonical(exc.where.removeprefix("--")) if exc.where else ""
            for field in self.query(Input):
                if field.id == key:
                    field.add_class("-bad")
                    field.focus()
            return
        self.dismiss(scenario)

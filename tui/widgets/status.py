"""The status line: simulated or LIVE, the model and its real command, time, speed."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


def speed_label(speed: float) -> str:
    """0.01 -> "x0.01 (slow motion)", 100 -> "x100 (fast)"."""
    word = " slow motion" if speed < 0.1 else (" fast" if speed >= 10 else "")
    return f"x{speed:g}{word}"


class StatusBar(Widget):
    """One line that says what you are watching and whether time is moving."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $boost; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fields: tuple = ()

    def show(
        self,
        *,
        live: bool,
        title: str,
        now: float,
        speed: float,
        paused: bool,
        events: int,
        note: str = "",
    ) -> None:
        fields = (live, title, round(now, 3), speed, paused, events, note)
        if fields != self.fields:
            self.fields = fields
            self.refresh()

    def render(self) -> Text:
        if not self.fields:
            return Text("")
        live, title, now, speed, paused, events, note = self.fields
        text = Text(no_wrap=True, overflow="ellipsis")
        if live:
            text.append(" LIVE ", style="bold white on red")
        else:
            text.append(" SIMULATED ", style="bold black on green")
        text.append(f" {title} ", style="bold")
        text.append(f" t={now:.3f}s ", style="")
        text.append(" real time " if live else f" {speed_label(speed)} ", style="dim")
        if paused:
            text.append(" PAUSED ", style="bold black on yellow")
        else:
            text.append(" running ", style="green")
        text.append(f" {events} events ", style="dim")
        if note:
            text.append(f" {note}", style="italic")
        return text

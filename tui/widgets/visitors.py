"""The live panel: the server's URL, a curl line to paste, and the visitors pinned.

In live mode the learner can knock on the real server: the first line is the very
command to paste in another terminal (or the key that sends a guest from the app);
below it, the newest visitors (guests the load generator did not send, see
``tui.live.Visitors``) stay in view with what they are doing and how long they took,
while the generator's guests scroll by in the story. Hidden while the party is
simulated.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from tui.live import Visitor, Visitors, curl_line
from tui.widgets.hosts import DOING, VISITOR_STYLE

SEND_KEY = "g"  # the party screen's key that sends a visitor


def visitor_line(visitor: Visitor, now: float) -> Text:
    """" visitor 2  (you: blocking:3000) host 1: dozing at the kitchen door · 1.2 s in"."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f" {visitor.name} ", style=VISITOR_STYLE)
    line.append(f" you: {visitor.script} " if visitor.script else " curl or a browser ",
                style="magenta")
    if visitor.left is not None:
        took = (visitor.left - visitor.arrived) * 1000
        style = "green" if visitor.outcome == "served" else "bold red"
        line.append(f"{visitor.outcome} in {took:,.0f} ms", style=style)
        return line
    where = f"host {visitor.worker}: " if visitor.worker is not None else ""
    doing = DOING.get(visitor.phase, DOING[None])[0] if visitor.worker is not None \
        else "at the door"
    line.append(f"{where}{doing}", style="bold")
    line.append(f" · {max(0.0, now - visitor.arrived):.1f} s inside", style="dim")
    return line


class LivePanel(Widget):
    """The curl line and the pinned visitors of a live party (hidden when simulated)."""

    DEFAULT_CSS = """
    LivePanel { height: auto; max-height: 6; padding: 0 1; background: $panel;
                display: none; }
    LivePanel.-on { display: block; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.url = ""
        self.visitors: Visitors | None = None
        self.now = 0.0
        self._drawn: tuple = ()
        self._rows = 0

    def show(self, url: str, visitors: Visitors | None, now: float) -> None:
        """Live when ``visitors`` is given; redraws only when something a reader sees moved."""
        self.set_class(visitors is not None, "-on")
        self.url, self.visitors, self.now = url, visitors, now
        inside = visitors is not None and any(v.left is None for v in visitors.pinned())
        key = (url, visitors.version if visitors else -1, id(visitors),
               round(now, 1) if inside else 0)
        if key != self._drawn:
            self._drawn = key
            rows = 1 + (len(visitors.sent) + len(visitors.pinned()) if visitors else 0)
            self.refresh(layout=rows != self._rows)  # a new line: lay the screen out again
            self._rows = rows

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="fold")
        if not self.url:
            text.append("starting the real server...", style="italic")
            return text
        text.append("Knock yourself: ", style="bold")
        text.append(curl_line(self.url), style="bold cyan")
        text.append(f"   or press {SEND_KEY} to send a guest of your choosing", style="dim")
        visitors = self.visitors
        if visitors is None:
            return text
        for script, _ in visitors.sent:
            text.append("\n")
            text.append(f" you sent {script}: on its way to the door", style="magenta")
        for visitor in reversed(visitors.pinned()):
            text.append("\n")
            text.append_text(visitor_line(visitor, self.now))
        if visitors.count > len(visitors.pinned()):
            text.append(f"\n {visitors.count} visitors so far", style="dim")
        return text

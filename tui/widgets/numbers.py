"""The numbers: what was measured, beside what theory predicts, and a chart over time.

The figures come from ``PartyState.numbers()`` (``sim.metrics``'s definitions, read
cheaply); the prediction from ``sim.theory``, computed once per scenario. The text is
rebuilt at most ``RATE`` times a second of wall time and the chart (plotext is slow)
at most ``CHART_RATE`` times, each only when something changed.
"""

from __future__ import annotations

import math
import time

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from tui.session import Theory
from tui.state import BUCKET, PartyState

RATE = 4.0  # text refreshes per wall second, at most
CHART_RATE = 2.0  # chart refreshes per wall second, at most


def _ms(seconds: float) -> str:
    if math.isinf(seconds):
        return "∞ (overloaded)"
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def numbers_text(state: PartyState, theory: Theory | None, *,
                 live: bool = False) -> Table | Group:
    """The measured numbers (party words, value, real term), with theory's beside them."""
    m = state.numbers()
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(style="bold", no_wrap=True, min_width=12)
    table.add_column(style="bold cyan", justify="right", no_wrap=True, min_width=7)
    table.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
    pred = theory.prediction if theory is not None and not live else None

    def beside(real: str, figures: str = "", style: str = "magenta") -> Text:
        """The real term, after any figures: a narrow panel cuts words, never a number."""
        out = Text()
        if figures:
            out.append(figures, style=style)
            out.append(" · ", style="dim")
        out.append(real, style="dim")
        return out

    sat = ""
    if theory is not None and not live:
        sat = "max ∞" if math.isinf(theory.saturation) else f"max {theory.saturation:.1f}"
    table.add_row("served/s", f"{m.throughput:.1f}", beside("throughput", sat))
    table.add_row("time inside", f"{m.latency_p50:.0f} ms", beside("latency p50"))
    table.add_row("", f"{m.latency_p99:.0f} ms", beside("latency p99"))
    table.add_row("", f"{m.latency_mean:.0f} ms",
                  beside("latency mean", f"theory {_ms(pred.latency)}" if pred else ""))
    table.add_row("wait in line", f"{m.wait_mean:.0f} ms",
                  beside("wait mean", f"theory {_ms(pred.wait)}" if pred else ""))
    table.add_row("line now", f"{len(state.line)}",
                  beside("backlog", f"mean {m.queue_mean:.1f}, max {m.queue_max}", "default"))
    table.add_row("hosts busy", f"{m.utilization * 100:.0f}%", beside("utilisation"))
    table.add_row("served", f"{m.served}", beside("responses"))
    table.add_row("turned away", f"{m.turned_away}", beside("never let in"))
    table.add_row("no answer", f"{m.failed}", beside("failed: 503, killed"))
    kinds = sorted(state.kind_latency.items()) if len(state.kind_latency) > 1 else []
    for kind, sketch in kinds:  # a mix: each kind of guest's own
        table.add_row(f"kind {kind + 1}", f"{sketch.percentile(99) * 1000:.0f} ms",
                      beside("p99", f"of {sketch.count} served", "default"))
    if live:
        return table
    return Group(table, theory_line(theory))


NO_CLOSED_FORM = "no closed form for this party (simulation only)"


def theory_line(theory: Theory | None) -> Text:
    """Which formula theory used: none is no fault (dim); only overload is red.

    The line wraps rather than being cut, so the words always reach the learner.
    """
    pred = theory.prediction if theory is not None else None
    line = Text("theory ", style="bold magenta" if pred is not None else "bold dim")
    if pred is None:
        line.append(NO_CLOSED_FORM, style="dim")
    elif math.isinf(pred.wait):
        line.append(f"{pred.formula}: overloaded, the line grows without end",
                    style="bold red")
    else:
        line.append(pred.formula)
    return line


class Figures(Static):
    """The figures' text, with its height known without drawing it.

    As a plain ``Static`` (``height: auto``) every ``update`` re-laid the whole screen
    out, and every layout drew the table once more just to measure it: about 20 ms a
    layout, several layouts a second at 1,000 guests in flight. Every row of the table
    is one line (no column wraps), and only the theory line below it wraps, so the
    height is counted here, and a new text asks for a layout only if it changed.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._rows = 0  # lines of the table
        self._theory: Text | None = None  # the line that wraps, if any
        self._heights: dict[int, int] = {}  # width -> lines, for this text

    def show(self, content: Table | Group) -> None:
        """Show ``content`` (``numbers_text``'s), re-laying out only if its height moved."""
        table, theory = (content, None) if isinstance(content, Table) else \
            content.renderables  # type: ignore[misc]
        rows, old = table.row_count, (self._rows, self._theory)
        self._rows, self._theory = rows, theory  # type: ignore[assignment]
        same = rows == old[0] and (theory.plain if theory else None) == (
            old[1].plain if old[1] else None)
        if not same:
            self._heights.clear()
        self.update(content, layout=not same)

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[override]
        if self._theory is None and not self._rows:
            return super().get_content_height(container, viewport, width)
        if width not in self._heights:
            wrapped = 0
            if self._theory is not None:
                wrapped = len(self._theory.wrap(self.app.console, max(width, 1)))
            self._heights[width] = self._rows + wrapped
        return self._heights[width]


class NumbersPanel(Vertical):
    """The measured figures beside theory's, and a throughput / line chart."""

    DEFAULT_CSS = """
    NumbersPanel { width: 1fr; }
    NumbersPanel > Static { height: auto; }
    NumbersPanel > PlotextPlot { height: 1fr; min-height: 6; }
    """

    def __init__(self, state: PartyState, theory: Theory | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state
        self.theory = theory
        self.live = False
        self._drawn = -1
        self._chart_drawn: tuple = ()
        self._last_text = 0.0
        self._last_chart = 0.0

    def compose(self) -> ComposeResult:
        yield Figures(id="figures")
        yield PlotextPlot(id="chart")

    def on_mount(self) -> None:
        self.show(self.state, force=True)

    def show(self, state: PartyState, theory: Theory | None = None, *, live: bool | None = None,
             force: bool = False) -> None:
        if theory is not None:
            self.theory = theory
        if live is not None:
            self.live = live
        if state is not self.state:
            self.state, self._drawn, force = state, -1, True
        now = time.monotonic()
        if force or (self._drawn != state.v_numbers and now - self._last_text >= 1 / RATE):
            self._drawn, self._last_text = state.v_numbers, now
            self.query_one("#figures", Figures).show(numbers_text(state, self.theory,
                                                                  live=self.live))
        if force or now - self._last_chart >= 1 / CHART_RATE:
            self._draw_chart(force)
            self._last_chart = now

    def _draw_chart(self, force: bool) -> None:
        chart = self.query_one("#chart", PlotextPlot)
        if not chart.display or chart.size.height < 3:
            return
        points = list(self.state.history)[:-1]  # the last bucket is still filling
        key = (len(points), points[-1].t if points else -1.0, id(self.state))
        if key == self._chart_drawn and not force:
            return
        self._chart_drawn = key
        plt = chart.plt
        plt.clear_data()
        plt.clear_figure()
        # two scales, each with its unit: guests served a second (left) and guests in
        # line (right); on one axis a line of 3 was a flat stripe under 40 served/s
        plt.xlabel("party time (s)")
        plt.ylabel("served/s", yside="left")
        plt.ylabel("in line", yside="right")
        if points:
            xs = [p.t for p in points]
            plt.plot(xs, [p.finished / BUCKET for p in points], label="served/s ←",
                     marker="braille", yside="left")
            plt.plot(xs, [p.queue for p in points], label="line (guests) →",
                     marker="braille", yside="right")
            top = max(max(p.finished / BUCKET for p in points), 1.0)
            plt.ylim(0, top * 1.05, yside="left")  # from 0: a dip is not a collapse
            plt.ylim(0, max(max(p.queue for p in points), 1.0) * 1.05, yside="right")
        chart.refresh()

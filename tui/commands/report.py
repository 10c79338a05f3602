"""Rich renderings of run summaries, shared by simulate, compare and sweep.

Every number shown here comes from a ``Summary`` or from ``sim.theory``; the words
beside them are the party's, with the server term in brackets.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Sequence

from rich import box
from rich.console import Console, Group
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from sim.limits import LONG_GUESTS
from sim.metrics import Summary, metrics_for
from sim.model import build_party
from sim.scenario import Scenario
from sim.theory import db_sizing, prediction, saturation


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2))


def simulate_with_progress(scenario: Scenario, console: Console, label: str = "") -> Summary:
    """Run the party in slices of simulated time, with a progress bar on a terminal."""
    metrics = metrics_for(scenario)
    party = build_party(scenario, metrics)
    total = scenario.guests or 0
    expected = total or (scenario.rate or 0) * (scenario.duration or 0)
    if expected > LONG_GUESTS:
        console.print(f"partyhost: a long party: about {expected:,.0f} guests; the progress "
                      "bar shows how far (Ctrl-C stops it)", style="yellow")
    if not console.is_terminal or (total and total < 20_000):
        party.run()
        return metrics.summary(scenario.to_dict())
    horizon = scenario.duration or total / (scenario.rate or 1.0)
    columns = (
        TextColumn(f"[bold]{label or scenario.model}[/] simulating"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} guests"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("run", total=total or horizon)
        step = max(horizon / 200, 1e-3)
        env = party.env
        while not party.finished.triggered:
            env.run(until=env.now + step)  # run(until=...) never runs dry: it stops there
            progress.update(task, completed=metrics.arrived if total else min(env.now, horizon))
    return metrics.summary(scenario.to_dict())


def _ms(value: float) -> str:
    if math.isinf(value):
        return "∞"
    return f"{value:,.1f}"


def served_by_host(d: dict) -> str:
    """Each worker process's share of the guests served: "52% / 48%" (a range beyond 3)."""
    shares = [row["share"] for row in d.get("per_worker") or ()]
    if len(shares) < 2:
        return ""
    if len(shares) > 3:
        return f"{min(shares):.0%}..{max(shares):.0%}"
    return " / ".join(f"{share:.0%}" for share in shares)


def _telling(d: dict) -> bool:
    """Is the split worth a row: a line per host (--reuse-port), or an uneven one?"""
    shares = [row["share"] for row in d.get("per_worker") or ()]
    return len(shares) > 1 and (bool(d.get("scenario", {}).get("reuse_port"))
                                or max(shares) - min(shares) >= 0.1)


# (party words, the real term, the cell): one number per cell, so five models fit in
# 80 columns; the real terms go under the table, in its caption.
ROWS: list[tuple[str, str, Callable[[dict], str]]] = [
    ("served", "requests answered", lambda d: f"{d['served']:,}"),
    ("served by host", "share each worker process served (--reuse-port: a line each)",
     served_by_host),
    ("turned away", "never answered: refused, reset or timed out (below)",
     lambda d: f"{d['turned_away']:,}"),
    ("  refused", "connection refused (nobody listening: a full line drops the SYN)",
     lambda d: f"{d.get('refused', 0):,}"),
    ("  timed out", "the guest gave up: connect timeout or --patience",
     lambda d: f"{d.get('timed_out', 0):,}"),
    ("  knocks lost", "SYNs Linux dropped at a full line (each knock again counts)",
     lambda d: f"{d.get('syn_dropped', 0):,}"),
    ("  half-open", "in for the client, its request dropped: a SYN batch found one slot",
     lambda d: f"{d.get('half_open', 0):,}"),
    ("failed", "5xx, worker killed", lambda d: f"{d['failed']:,}"),
    ("answered late", "answers that came after the guest gave up (work for nobody)",
     lambda d: f"{d.get('wasted', 0):,}"),
    ("retries", "a client's tries again (--retries)", lambda d: f"{d.get('retries', 0):,}"),
    ("served/s", "throughput, guests/s", lambda d: f"{d['throughput']:,.2f}"),
    ("latency mean", "", lambda d: _ms(d["latency_ms"]["mean"])),
    ("latency p50", "", lambda d: _ms(d["latency_ms"]["p50"])),
    ("latency p99", "", lambda d: _ms(d["latency_ms"]["p99"])),
    ("latency p99.9", "", lambda d: _ms(d["latency_ms"]["p999"])),
    ("latency max", "", lambda d: _ms(d["latency_ms"]["max"])),
    ("wait mean", "in line until accept()", lambda d: _ms(d["wait_ms"]["mean"])),
    ("wait p50", "", lambda d: _ms(d["wait_ms"]["p50"])),
    ("wait p99", "", lambda d: _ms(d["wait_ms"]["p99"])),
    ("hosts busy", "utilisation", lambda d: f"{d['utilization']:.1%}"),
    ("line mean", "listen backlog", lambda d: f"{d['queue']['mean']:,.2f}"),
    ("line max", "", lambda d: f"{d['queue']['max']:,}"),
    ("Little's L", "guests inside, mean", lambda d: f"{d['littles_law']['L']:,.2f}"),
    ("  vs λW", "arrival rate x mean latency", lambda d: f"{d['littles_law']['lambda_W']:,.2f}"),
]
# rows shown only when a column has one: most parties refuse nobody and retry nothing
WHEN_ANY = {"  refused", "  timed out", "  knocks lost", "  half-open", "answered late", "retries",
            "served by host"}  # this one: with a line per host, or an uneven split


def summary_table(title: str, columns: Sequence[tuple[str, Summary]]) -> Group:
    """Party words down the left (never wrapped), one number per cell, times in ms.

    The real term of each row shown is said once under the table (the legend), across the
    terminal's whole width.
    """
    table = Table(title=escape(title), title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    table.add_column("", style="bold", no_wrap=True)
    for label, _ in columns:
        table.add_column(escape(label), justify="right", no_wrap=True)
    dicts = [summary.to_dict() for _, summary in columns]
    shown = []
    for name, real, cell in ROWS:
        cells = [cell(d) for d in dicts]
        if name in WHEN_ANY and all(c == "0" for c in cells):
            continue
        if name == "served by host" and not any(_telling(d) for d in dicts):
            continue
        shown.append((name, real))
        table.add_row(escape(name), *cells)
    legend = "; ".join(f"{name.strip()}: {real}" for name, real in shown if real)
    return Group(table, Text(f"times in ms; {legend}", style="dim"))


def theory_lines(scenario: Scenario, summary: Summary) -> list[str]:
    """What theory predicts beside what was measured, where theory applies."""
    lines = []
    ceiling = saturation(scenario)
    if math.isfinite(ceiling):
        offered = scenario.rate or 0.0
        state = ""
        if not scenario.users:
            state = " (overloaded: the line grows)" if offered >= ceiling else ""
        lines.append(f"saturation: at most {ceiling:,.1f} guests/s for this server{state}")
    lines += kitchen_lines(scenario)
    pred = prediction(scenario)
    if pred is not None and pred.p_refused is not None:
        arrived = summary.served + summary.failed + summary.turned_away
        share = summary.failed / arrived if arrived else 0.0
        lines.append(f"theory {pred.formula}: answered 503 at once {pred.p_refused:.1%}, "
                     f"measured {share:.1%} ({(share - pred.p_refused) * 100:+.1f} points)")
        return lines
    cut = summary.failed + summary.turned_away
    if pred is not None and cut:
        arrived = summary.served + cut
        lines.append(f"theory {pred.formula} does not apply here: {cut:,} of {arrived:,} "
                     f"guests ({cut / arrived:.1%}) were cut short (killed by the manager, "
                     "refused or turned away), and the formula assumes every guest is served")
        return lines
    if pred is not None and math.isfinite(pred.wait) and scenario.db_pool:
        # the servers are the pool's connections, waited for inside (not in the line):
        # the latency holds that wait, the wait until accept() does not
        measured = summary.latency_ms["mean"]
        diff = (measured / (pred.latency * 1000) - 1) * 100
        lines.append(f"theory {pred.formula}, the pool's connections the servers: mean "
                     f"latency {pred.latency * 1000:,.2f} ms, measured {measured:,.2f} ms "
                     f"({diff:+.1f}%)")
        return lines
    if pred is not None and math.isfinite(pred.wait):
        measured = summary.wait_ms["mean"]
        diff = (measured / (pred.wait * 1000) - 1) * 100 if pred.wait > 0 else 0.0
        lines.append(
            f"theory {pred.formula}: mean wait {pred.wait * 1000:,.2f} ms, measured "
            f"{measured:,.2f} ms ({diff:+.1f}%); mean latency {pred.latency * 1000:,.2f} ms"
        )
    return lines


def kitchen_lines(scenario: Scenario) -> list[str]:
    """Little's law for the database pool: what the guests need against what it holds."""
    sizing = db_sizing(scenario)
    if sizing is None:
        return []
    ms = sizing.db_time * 1000
    need = (f"{scenario.rate:,.1f} guests/s x {ms:,.1f} ms of db = {sizing.needed:,.1f} "
            "connections in use on average" if sizing.needed is not None
            else f"{ms:,.1f} ms of db per guest")
    if sizing.pooled is None:
        lines = [f"kitchen (Little's law): {need}; no pool (--db-pool): a connection per query"]
    else:
        short = (" (too small: guests wait for a connection; a wait past --db-timeout is a 500)"
                 if sizing.needed is not None and sizing.needed >= sizing.pooled else "")
        lines = [f"kitchen (Little's law): {need}; the pools hold {sizing.processes} x "
                 f"{sizing.pool} = {sizing.pooled}: at most {sizing.ceiling:,.1f} guests/s "
                 f"(pool / db time){short}"]
    if sizing.db_max is not None:
        asks = sizing.pooled if sizing.pooled is not None else sizing.needed
        if asks is not None and asks > sizing.db_max:
            lines.append(f"the database takes {sizing.db_max:,} connections (--db-max), and the "
                         f"pools may open {asks:,.0f}: the rest are refused (a 500 at once)")
    return lines


def stderr_console() -> Console:
    return Console(file=sys.stderr)

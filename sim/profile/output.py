"""The profile file (a scenario TOML with a ``[profile]`` table) and the ``--json`` object.

The file is also a ``--scenario`` file: its ``[[mix]]`` (or ``phases`` for a one-endpoint
app) is the guest mix; ``sim.scenario.load_toml`` leaves the ``[profile]`` table out.
The layout is the contract ``partyhost plan`` and ``partyhost verify`` read: ``[[mix]]``
(share, phases) in the order of ``[[profile.endpoints]]``; ``[profile]`` with ``app``,
``interface``, ``requests`` or ``log`` (paths as given), ``root`` (the directory the app
was imported from); each endpoint's method, path, share, count, failed, holds_loop,
``runs_in`` (ASGI: "thread" for a handler run in a pool thread, a ``def`` route, or
"loop"; absent for WSGI and in profiles made before it), phases,
``cpu_ms``/``io_ms``/``blocking_ms`` (mean, p50, p99), ``samples`` and, when the
requests file named one, ``body`` (relative to the requests file). Warnings (POSTs of a
log replayed without a body) are comment lines at the top, and ``warnings`` in the JSON.
TOML is written by hand (no writer in the standard library): strings as JSON strings,
which TOML's basic strings read the same.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sim.profile.fit import PHASES, EndpointProfile


@dataclass(frozen=True)
class Profile:
    app: str
    interface: str
    source_key: str  # "requests" or "log"
    source: str  # the path as given
    root: str
    warmup: int
    endpoints: list[EndpointProfile]
    measured: datetime
    warnings: tuple[str, ...] = ()  # what the user should know of how it was measured

    @property
    def requests(self) -> int:
        return sum(e.count + e.failed for e in self.endpoints)

    def scenario(self) -> dict[str, Any]:
        """The scenario keys: ``mix`` for two endpoints or more, ``phases`` for one."""
        if len(self.endpoints) == 1:
            return {"phases": self.endpoints[0].phases}
        return {"mix": [{"share": round(e.share, 4), "phases": e.phases}
                        for e in self.endpoints]}

    def to_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "endpoints": [{
                "method": e.endpoint.method,
                "path": e.endpoint.path,
                "share": round(e.share, 4),
                "count": e.count,
                "cpu_ms": e.stats["cpu"].to_dict(),
                "io_ms": e.stats["io"].to_dict(),
                "blocking_ms": e.stats["blocking"].to_dict(),
            } for e in self.endpoints],
            "scenario": self.scenario(),
            **({"warnings": list(self.warnings)} if self.warnings else {}),
        }

    def to_toml(self) -> str:
        when = self.measured.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        measured = sum(e.count + e.failed for e in self.endpoints)
        lines = [
            f"# partyhost profile of {self.app} ({self.interface.upper()}), measured {when}",
            f"# {len(self.endpoints)} endpoint{'s' if len(self.endpoints) != 1 else ''}, "
            f"{measured} requests after {self.warmup} warm-up; phases in ms, fitted to the "
            "samples below",
            "# (a phase under 0.01 ms is left out; a spread under 5% of the mean is a "
            "constant, else a lognormal of the samples' mean and sd)",
            *(f"# warning: {w}" for w in self.warnings),
            "",
        ]
        scenario = self.scenario()
        if "phases" in scenario:
            lines += [f"phases = {_str(scenario['phases'])}", ""]
        else:
            for entry in scenario["mix"]:
                lines += ["[[mix]]", f"share = {_num(entry['share'])}",
                          f"phases = {_str(entry['phases'])}", ""]
        lines += ["[profile]", f"app = {_str(self.app)}", f"interface = {_str(self.interface)}",
                  f"{self.source_key} = {_str(self.source)}", f"root = {_str(self.root)}", ""]
        for e in self.endpoints:
            lines += [
                "[[profile.endpoints]]",
                f"method = {_str(e.endpoint.method)}",
                f"path = {_str(e.endpoint.path)}",
                f"share = {_num(round(e.share, 4))}",
                f"count = {e.count}",
                f"failed = {e.failed}",
                f"holds_loop = {'true' if e.holds_loop else 'false'}",
                *([f"runs_in = {_str(e.runs_in)}"] if e.runs_in else []),
                f"phases = {_str(e.phases)}",
            ]
            for phase in PHASES:
                stats = e.stats[phase].to_dict()
                lines.append(f"{phase}_ms = {{ " + ", ".join(
                    f"{k} = {_num(v)}" for k, v in stats.items()) + " }")
            lines.append("samples = { " + ", ".join(
                f"{phase}_ms = [{', '.join(_num(v) for v in e.samples[phase])}]"
                for phase in PHASES) + " }")
            if e.endpoint.body_file:
                lines.append(f"body = {_str(e.endpoint.body_file)}")
            lines.append("")
        return "\n".join(lines)


def _str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _num(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    return repr(float(value))

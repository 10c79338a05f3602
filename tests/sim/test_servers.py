"""The server table: one row per server, read by everything that varies by server."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from sim import servers
from sim.scenario import ScenarioError, build_scenario
from sim.servers import NAMES, SERVERS, Server, UnknownServer, load, server

ROOT = Path(__file__).resolve().parents[2]


def test_every_row_names_a_party_and_a_live_server_that_exist():
    for row in SERVERS.values():
        assert isinstance(load(row.party), type), row.party
        assert callable(load(row.live)), row.live


def test_every_real_server_deploys_exactly_one_row():
    from sim.live.real import REAL_SERVERS

    named = [real for row in SERVERS.values() for real in row.real]
    assert sorted(named) == sorted(REAL_SERVERS)


def test_every_rows_knob_defaults_build_a_scenario():
    for name, row in SERVERS.items():
        s = build_scenario({"model": name})
        for key in servers.KNOBS:
            assert getattr(s, key) == row.default(key), (name, key)
        assert s.real_command == row.real_command(workers=s.workers, threads=s.threads)


@pytest.mark.parametrize("knob", list(servers.KNOBS))
def test_a_knob_a_server_lacks_is_refused_in_one_line_that_names_who_has_it(knob):
    for name, row in SERVERS.items():
        if row.has(knob):
            continue
        with pytest.raises(ScenarioError) as caught:
            build_scenario({"model": name, knob: 7})
        assert caught.value.where == servers.KNOBS[knob].flag
        assert "\n" not in str(caught.value)
        having = [n for n in NAMES if SERVERS[n].has(knob)]
        assert any(n in str(caught.value) for n in having) or row.absent.get(knob)


def test_an_unknown_model_is_a_clear_error_at_every_entry_point():
    from sim.live.config import ConfigError, ServerConfig, check
    from sim.live.process import start_server
    from sim.model import build_party

    with pytest.raises(UnknownServer, match="choose sync"):
        server("fork")
    with pytest.raises(ScenarioError, match="unknown model 'fork'"):
        build_scenario({"model": "fork"})
    with pytest.raises(ConfigError, match="unknown model 'fork'"):
        check(ServerConfig(model="fork"))
    with pytest.raises(ConfigError, match="unknown model 'fork'"):
        start_server("fork")  # refused before any process starts
    scenario = dataclasses.replace(build_scenario({}), model="fork")  # past the checks
    with pytest.raises(UnknownServer):
        build_party(scenario, lambda event: None)


@pytest.mark.parametrize("argv", [
    ["simulate", "--model", "fork"],
    ["compare", "--models", "sync,fork"],
    ["serve", "fork"],
    ["live", "fork", "--duration", "1"],
])
def test_the_cli_refuses_an_unknown_model_in_one_line(argv):
    done = subprocess.run([sys.executable, "-m", "tui", *argv], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "fork" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def _strings(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module that are not docstrings."""
    tree = ast.parse(path.read_text())
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docs]


def test_no_module_outside_the_table_names_a_model():
    """tui/ never names a model; in sim/ only the table, and the models' own modules."""
    names = set(NAMES)
    found = []
    for path in [*(ROOT / "tui").rglob("*.py"), *(ROOT / "sim").rglob("*.py")]:
        relative = path.relative_to(ROOT).as_posix()
        if relative == "sim/servers.py" or relative.startswith(("sim/model/", "sim/live/")):
            continue
        found += [f"{relative}:{line} {text!r}" for line, text in _strings(path) if text in names]
    assert found == []


def test_a_new_row_with_a_known_structure_runs_and_is_drawn_with_no_change_elsewhere(
        monkeypatch):
    """The proof of the table: a server nobody wrote code for, from its row alone."""
    from rich.console import Console

    from sim.run import simulate
    from tui.state import PartyState
    from tui.widgets.hosts import HostsView

    row = Server("gthread-lite", "gunicorn -w {workers} -k gthread --threads {threads} app:app",
                 "a test row", {"workers": 1, "threads": 2},
                 SERVERS["threaded"].structure, SERVERS["threaded"].theory,
                 party=SERVERS["threaded"].party, live=SERVERS["threaded"].live)
    monkeypatch.setitem(SERVERS, row.name, row)
    scenario = build_scenario({"model": "gthread-lite", "workers": 2, "rate": 50, "cpu": 4,
                               "io": 20, "guests": 400})
    assert scenario.hosts == 4
    assert simulate(scenario).served == 400
    state = PartyState()
    from sim.model import build_party

    party = build_party(scenario, state)
    party.env.run(until=1.0)
    assert state.structure.gil and not state.is_loop
    view = HostsView(state)
    text = "".join(seg.text for seg in Console(width=120).render(view._host_cards()[0][1][0]))
    assert text.startswith("t0")  # drawn as threads of a process, from the structure

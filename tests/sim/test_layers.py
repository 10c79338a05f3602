"""The layers stay clean: the engine runs where Textual does not exist."""

import ast
import subprocess
import sys
from pathlib import Path

SIM = Path(__file__).resolve().parents[2] / "sim"

BLOCK_TEXTUAL = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("textual", "tui"):
            raise ImportError(f"{name} is not allowed here")
sys.meta_path.insert(0, Block())
import sim, sim.model, sim.metrics, sim.theory, sim.run, sim.scenario, sim.trace, sim.workload
from sim.run import simulate
from sim.scenario import build_scenario
print(simulate(build_scenario({"guests": 200})).served)
"""


def test_sim_imports_and_runs_where_textual_cannot_be_imported():
    done = subprocess.run([sys.executable, "-c", BLOCK_TEXTUAL], capture_output=True, text=True,
                          cwd=SIM.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "200"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_model_and_live_never_import_each_other_nor_the_ui():
    for path in SIM.rglob("*.py"):
        names = imports_of(path)
        assert not any(n.split(".")[0] in ("textual", "tui") for n in names), path
        if "model" in path.parts:
            assert not any(n.startswith("sim.live") for n in names), path
        if "live" in path.parts:
            assert not any(n.startswith("sim.model") for n in names), path


LIVE_ONLY = """
import sys, pkgutil, importlib, sim.live
for info in pkgutil.iter_modules(sim.live.__path__, "sim.live."):
    importlib.import_module(info.name)
bad = sorted(m for m in sys.modules if m.startswith(("sim.model", "simpy", "textual", "tui")))
print(",".join(bad))
"""


def test_the_live_servers_pull_in_no_model_not_even_indirectly():
    """The real servers and the generator load neither SimPy models nor the UI."""
    done = subprocess.run([sys.executable, "-c", LIVE_ONLY], capture_output=True, text=True,
                          cwd=SIM.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""

"""Guest mixes: a real app's endpoints, each a share of the guests with its own script."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.run import simulate
from sim.scenario import ScenarioError, build_scenario, load_toml
from sim.servers import NAMES
from sim.workload import WorkloadError, parse_mix

ROOT = Path(__file__).resolve().parents[2]
MIX = "90%=io:50;10%=cpu:2,blocking:50"


def test_a_mix_reads_and_writes_back_the_same():
    mix = parse_mix(MIX)
    assert [kind.share for kind in mix] == [0.9, 0.1]
    assert ";".join(map(str, mix)) == MIX


@pytest.mark.parametrize("spec, words", [
    ("90%=io:50;20%=cpu:2", "add to 110%"),
    ("100%=io:50", "two kinds"),
    ("90%io:50;10%=cpu:2", "SHARE%=PHASES"),
    ("ninety%=io:50;10%=cpu:2", "not a percentage"),
    ("90%=io:50;10%=nap:2", "PHASE:DIST"),
    ("0%=io:50;100%=cpu:2", "more than 0%"),
])
def test_a_bad_mix_says_what_is_wrong(spec, words):
    with pytest.raises(WorkloadError, match=words):
        parse_mix(spec)
    with pytest.raises(ScenarioError) as caught:
        build_scenario({"mix": spec})
    assert caught.value.where == "--mix"


def test_a_mix_and_phases_are_one_or_the_other():
    with pytest.raises(ScenarioError, match="not both"):
        build_scenario({"mix": MIX, "cpu": "5"})


def test_each_guest_draws_its_kind_from_the_seed_the_same_for_every_model():
    """The kinds come in the shares asked (10% +- 1.5 points over 4,000 guests: the sd of
    a binomial share there is 0.5 points), and the same guest has the same kind and
    phases whoever serves them."""
    guests = list(itertools.islice(build_scenario({"mix": MIX, "seed": 7}).workload.guests(),
                                   4000))
    assert sum(g.kind == 1 for g in guests) / 4000 == pytest.approx(0.10, abs=0.015)
    for g in guests[:200]:
        assert [kind for kind, _ in g.phases] == (["io"] if g.kind == 0 else ["cpu", "blocking"])
    again = [(g.kind, g.phases) for g in itertools.islice(
        build_scenario({"mix": MIX, "seed": 7, "model": "async"}).workload.guests(), 4000)]
    assert again == [(g.kind, g.phases) for g in guests]


def test_each_kind_gets_its_own_numbers_and_they_add_up():
    result = simulate(build_scenario({"model": "async", "mix": MIX, "rate": 10,
                                      "guests": 3000, "seed": 2}))
    first, second = result.kinds
    assert (first["share"], first["phases"]) == (0.9, "io:50")
    assert second["phases"] == "cpu:2,blocking:50"
    assert first["served"] + second["served"] == result.served
    # io guests never hold the loop; the blocking ones do, and wait behind each other
    assert first["latency_ms"]["p50"] == pytest.approx(50, rel=0.05)
    assert second["latency_ms"]["p50"] >= 52


def test_a_toml_file_takes_mix_tables(tmp_path):
    path = tmp_path / "shop.toml"
    path.write_text('model = "threadpool"\nrate = 20\n\n[[mix]]\nshare = 75\nphases = "io:40"\n'
                    '\n[[mix]]\nshare = 25\nphases = "cpu:3,io:10"\n')
    values, origins = load_toml(path)
    scenario = build_scenario(values, origins)
    assert scenario.mix == "75%=io:40;25%=cpu:3,io:10"
    path.write_text('[[mix]]\nshare = 75\nphases = "io:40"\n[[mix]]\nshare = 35\n'
                    'phases = "io:1"\n')
    values, origins = load_toml(path)
    with pytest.raises(ScenarioError) as caught:
        build_scenario(values, origins)
    assert caught.value.where == f"{path}:1" and "110%" in str(caught.value)


def test_every_model_serves_a_mix():
    for name in NAMES:
        result = simulate(build_scenario({"model": name, "mix": MIX, "rate": 10,
                                          "guests": 500}))
        assert result.served == 500 and len(result.kinds) == 2, name


def test_simulate_json_names_each_kind():
    done = subprocess.run([sys.executable, "-m", "tui", "simulate", "--mix", MIX, "--rate", "10",
                           "--guests", "400", "--json"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    kinds = json.loads(done.stdout)["kinds"]
    assert [k["phases"] for k in kinds] == ["io:50", "cpu:2,blocking:50"]
    assert set(kinds[0]) == {"share", "phases", "served", "turned_away", "failed", "latency_ms"}

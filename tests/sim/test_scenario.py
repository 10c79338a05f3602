"""The scenario: one place reads and checks every knob, and names the culprit."""

import pytest

from sim.scenario import ScenarioError, build_scenario, load_toml


def test_defaults_are_a_small_gunicorn_and_a_typical_request():
    s = build_scenario({})
    assert (s.model, s.workers, s.cores, s.backlog, s.timeout) == ("sync", 1, 2, 2048, 30.0)
    assert s.phases == "cpu:5,io:exp:50"
    assert s.real_command == "gunicorn -w 1 app:app"


def test_threaded_defaults_to_four_threads_and_hosts_multiply():
    s = build_scenario({"model": "threaded", "workers": "3"})
    assert (s.threads, s.hosts) == (4, 12)


@pytest.mark.parametrize(
    ("values", "where", "words"),
    [
        ({"model": "fork"}, "--model", "unknown model"),
        ({"rate": "-1"}, "--rate", "> 0"),
        ({"workers": "0"}, "--workers", "at least 1"),
        ({"workers": "two"}, "--workers", "whole number"),
        ({"model": "async", "threads": 4}, "--threads", "threaded"),
        ({"model": "async", "workers": 4}, "--workers", "hybrid"),
        ({"model": "sync", "limit_concurrency": 5}, "--limit-concurrency", "uvicorn"),
        ({"io": "exp:fast"}, "--io", "not a number"),
        ({"phases": "nap:5"}, "--phases", "PHASE:DIST"),
        ({"phases": "io:5", "cpu": "3"}, "--cpu", "not both"),
        ({"think": "100"}, "--think", "--users"),
        ({"discipline": "random"}, "--discipline", "fifo or lifo"),
        ({"warmup": 20, "duration": 10}, "--warmup", "shorter"),
        ({"colour": "red"}, "--colour", "unknown scenario key"),
    ],
)
def test_mistakes_name_their_flag(values, where, words):
    with pytest.raises(ScenarioError) as caught:
        build_scenario(values)
    assert caught.value.where == where
    assert words in str(caught.value)


def test_replace_builds_a_checked_new_scenario():
    s = build_scenario({"model": "sync", "workers": 2, "io": "50"})
    assert s.replace(workers=8).workers == 8
    with pytest.raises(ScenarioError):
        s.replace(workers=-1)


def test_toml_values_carry_their_file_and_line(tmp_path):
    path = tmp_path / "party.toml"
    path.write_text('model = "async"\n# a comment\nrate = -3\n')
    values, origins = load_toml(path)
    with pytest.raises(ScenarioError) as caught:
        build_scenario(values, origins)
    assert caught.value.where == f"{path}:3"


def test_broken_toml_says_which_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('model = "sync"\nrate = = 3\n')
    with pytest.raises(ScenarioError) as caught:
        load_toml(path)
    assert caught.value.where == f"{path}:2"


def test_toml_may_use_a_scenario_table(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('[scenario]\nmodel = "hybrid"\nworkers = 3\nlimit-concurrency = 10\n')
    s = build_scenario(*load_toml(path))
    assert (s.model, s.workers, s.limit_concurrency) == ("hybrid", 3, 10)

"""The headless CLI: simulate, compare, sweep; JSON shape; one-line errors."""

import json
import subprocess
import sys

import pytest

from tui.cli import main

KEYS = {"scenario", "served", "turned_away", "failed", "throughput", "latency_ms", "wait_ms",
        "utilization", "queue", "littles_law",
        # what the client saw (issue 12): turned_away = refused + reset + timed_out
        "refused", "reset", "timed_out", "failed_by", "syn_dropped", "half_open", "retries",
        "wasted",
        "per_worker"}  # guests served by each worker process (one line or one per host)
PCTS = {"mean", "p50", "p90", "p99", "p999", "max"}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_json_has_exactly_the_promised_shape(capsys):
    code, out, _ = run(capsys, "simulate", "--model", "sync", "--workers", "4", "--rate", "32",
                       "--io", "exp:100", "--guests", "3000", "--seed", "7", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == KEYS
    assert set(data["latency_ms"]) == PCTS and set(data["wait_ms"]) == PCTS
    assert set(data["queue"]) == {"mean", "max"} and isinstance(data["queue"]["max"], int)
    assert set(data["littles_law"]) == {"L", "lambda_W"}
    assert isinstance(data["served"], int) and data["served"] == 3000
    assert data["scenario"]["workers"] == 4
    assert data["turned_away"] == data["refused"] + data["reset"] + data["timed_out"]
    assert isinstance(data["failed_by"], dict)
    assert [row["worker"] for row in data["per_worker"]] == [0, 1, 2, 3]
    assert sum(row["guests"] for row in data["per_worker"]) == 3000


def test_the_same_seed_gives_byte_identical_json():
    argv = [sys.executable, "-m", "tui", "simulate", "--model", "hybrid", "--workers", "3",
            "--phases", "cpu:exp:5,io:exp:50", "--rate", "80", "--guests", "2000",
            "--seed", "5", "--json"]
    first = subprocess.run(argv, capture_output=True, check=True).stdout
    second = subprocess.run(argv, capture_output=True, check=True).stdout
    assert first == second
    other = subprocess.run([*argv[:-2], "6", "--json"], capture_output=True, check=True).stdout
    assert other != first


def test_compare_sends_the_same_guests_to_each_model(capsys):
    code, out, _ = run(capsys, "compare", "--models", "sync,async", "--workers", "2",
                       "--rate", "30", "--io", "50", "--guests", "1000", "--json")
    assert code == 0
    results = json.loads(out)
    assert [r["scenario"]["model"] for r in results] == ["sync", "async"]
    assert results[1]["scenario"]["workers"] == 1  # async has no --workers
    assert results[0]["served"] == results[1]["served"] == 1000


def test_compare_prints_a_table_with_theory(capsys):
    code, out, _ = run(capsys, "compare", "--models", "sync,async", "--rate", "5",
                       "--blocking", "exp:20", "--guests", "500")
    assert code == 0
    assert "M/M/1 (Erlang C)" in out and "throughput" in out


def test_sweep_varies_one_knob(capsys):
    code, out, _ = run(capsys, "sweep", "--model", "sync", "--vary", "workers=1..4",
                       "--rate", "30", "--io", "exp:100", "--guests", "1000", "--json")
    assert code == 0
    results = json.loads(out)
    assert [r["scenario"]["workers"] for r in results] == [1, 2, 3, 4]
    assert results[3]["throughput"] > results[0]["throughput"] * 2


def test_sweep_table_and_chart(capsys):
    code, out, _ = run(capsys, "sweep", "--model", "async", "--vary", "rate=10,20,40",
                       "--blocking", "20", "--guests", "500")
    assert code == 0
    assert "throughput" in out and "p99" in out


def test_scenario_file_with_flags_on_top(tmp_path, capsys):
    path = tmp_path / "party.toml"
    path.write_text('model = "threaded"\nworkers = 2\nthreads = 3\nio = "exp:50"\nrate = 20\n')
    code, out, _ = run(capsys, "simulate", "--scenario", str(path), "--rate", "25",
                       "--guests", "500", "--json")
    assert code == 0
    s = json.loads(out)["scenario"]
    assert (s["model"], s["threads"], s["rate"]) == ("threaded", 3, 25.0)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["simulate", "--model", "fork"], "--model: unknown model"),
        (["simulate", "--rate", "-1"], "--rate"),
        (["simulate", "--model", "async", "--threads", "4"], "--threads"),
        (["simulate", "--io", "exp:"], "--io"),
        (["simulate", "--bogus"], "unrecognized arguments: --bogus"),
        (["compare", "--models", "sync,fork"], "--models"),
        (["sweep", "--vary", "workers=5..1"], "--vary"),
        (["sweep", "--vary", "colour=1..3"], "--vary"),
        (["teleport"], "invalid choice"),
        # sizes no party can mean: refused with the limit in the message
        (["simulate", "--workers", "100000000", "--guests", "10"], "at most 1,024"),
        (["simulate", "--model", "threaded", "--threads", "100000"], "at most 1,024"),
        (["simulate", "--model", "threaded", "--workers", "1000", "--threads", "1000"],
         "16,384"),
        (["simulate", "--guests", "1000000000000000"], "at most 1,000,000,000"),
        (["simulate", "--rate", "1e300"], "at most 1,000,000 guests/s"),
        (["simulate", "--rate", "1000000", "--duration", "86400"], "--rate x --duration"),
        (["simulate", "--cores", "100000"], "at most 256"),
        (["compare", "--models", "sync,sync,sync"], "named twice"),
        (["compare", "--models", "sync", "--model", "async"], "compare takes --models"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert words in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_bad_toml_names_file_and_line(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('model = "sync"\nworkers = -2\n')
    code, _, err = run(capsys, "simulate", "--scenario", str(path))
    assert code == 2
    assert f"{path}:2" in err


def test_errors_from_a_real_process_have_no_traceback():
    done = subprocess.run([sys.executable, "-m", "tui", "simulate", "--cores", "0"],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == "partyhost: error: --cores: must be at least 1, got 0"


def test_a_toml_rate_of_1e300_is_refused_with_its_line(tmp_path, capsys):
    path = tmp_path / "huge.toml"
    path.write_text('model = "sync"\nrate = 1e300\n')
    code, _, err = run(capsys, "simulate", "--scenario", str(path))
    assert code == 2
    assert f"{path}:2" in err and "at most" in err

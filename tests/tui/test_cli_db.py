"""The kitchen on the command line: Little's law beside the numbers, and one-line errors."""

from __future__ import annotations

import json

from tui.cli import main


def test_simulate_prints_the_pool_sizing_and_json_counts_failures_by_reason(capsys):
    argv = ["simulate", "--model", "threadpool", "--threads", "40", "--db-pool", "5",
            "--db", "50", "--rate", "200", "--guests", "1500"]
    assert main(argv) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "200.0 guests/s x 50.0 ms of db = 10.0 connections in use on average" in out
    assert "the pools hold 1 x 5 = 5: at most 100.0 guests/s" in out
    assert main([*argv, "--db-timeout", "0.2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["failed"] > 0 and data["failed_by"] == {"db_timeout": data["failed"]}


def test_erlang_c_is_held_against_the_latency_when_connections_are_the_servers(capsys):
    """M/M/5 at a = 4: 77.71 ms mean latency predicted; the guests wait for a connection
    inside (holding a thread), so the wait until accept() is not the queue's wait."""
    assert main(["simulate", "--model", "threadpool", "--db-pool", "5", "--db", "exp:50",
                 "--rate", "80", "--guests", "3000"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "theory M/M/5 (Erlang C), the pool's connections the servers: mean latency " \
           "77.71 ms" in out


def test_a_database_smaller_than_the_pools_is_said(capsys):
    assert main(["simulate", "--model", "hybrid", "--workers", "9", "--db-pool", "10",
                 "--db-max", "50", "--db", "50", "--rate", "1500", "--guests", "1500"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "the database takes 50 connections (--db-max), and the pools may open 90" in out


def test_a_bad_db_flag_is_one_line_and_exit_2(capsys):
    assert main(["simulate", "--db-timeout", "5", "--db", "50"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--db-timeout needs --db-pool" in err and "\n" not in err
    assert "Traceback" not in err

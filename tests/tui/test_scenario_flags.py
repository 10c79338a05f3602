"""``--scenario FILE``: a file that is no scenario is one line and exit 2, never a traceback."""

from __future__ import annotations

import pytest

from tui.cli import main


@pytest.mark.parametrize("name, needle", [
    ("binary.toml", "not a text file"),  # an ELF head, not UTF-8
    ("/dev/zero", "not a regular file"),  # endless: must never be read
    ("huge.toml", "too big"),
])
def test_a_file_that_is_no_scenario_is_one_line(tmp_path, capsys, name, needle):
    (tmp_path / "binary.toml").write_bytes(b"\x7fELF\x02\x01\x01\x00rate = \xd0\xff\xfe\n")
    (tmp_path / "huge.toml").write_text("# padding\n" * 200_000)
    code = main(["simulate", "--scenario", str(tmp_path / name)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("partyhost: error: --scenario ") and needle in err

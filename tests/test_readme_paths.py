"""The README names no file a clone does not have (it once pointed at ../shared/DESIGN.md)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PATHLIKE = re.compile(r"[\w.\-]+(?:/[\w.\-]+)+/?|[\w.\-]+\.(?:md|py|toml|json|txt|sh|yml|yaml)")
SYSTEM = ("/tmp/", "/proc/", "/sys/", "/dev/", "/etc/")  # the machine's, not files of ours


def named_paths(text: str) -> list[str]:
    """Paths in `code spans` and in Markdown link targets; not a flag's argument (a user's
    own file, as in `--scenario party.toml`), nor a URL."""
    found = [target for target in re.findall(r"\]\(([^)\s#]+)", text)
             if not target.startswith(("http://", "https://", "mailto:"))]
    for span in re.findall(r"`([^`\n]+)`", text):
        words = span.split()
        for before, word in zip([""] + words, words, strict=False):
            word = word.strip("(),;:'\"")
            if before.startswith("-") or "://" in word or not PATHLIKE.fullmatch(word):
                continue
            found.append(word)
    return found


def outside_repo(paths: list[str]) -> list[str]:
    """Paths that leave the repo: they may exist on the machine that wrote the README (a
    ../shared/DESIGN.md did), never in a clone."""
    return [p for p in paths if p.startswith(("../", "~")) or "/../" in p
            or (p.startswith("/") and not p.startswith(SYSTEM))]


def test_every_path_the_readme_names_is_in_the_repo() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    paths = named_paths(text)
    assert "DESIGN.md" in paths and "sim/servers.py" in paths  # the reader finds them
    outside = outside_repo(paths)
    assert not outside, f"the README names files outside the repo: {outside}"
    # a bare name (`servers.py` in "sim/ is the engine: `servers.py`...") is found in sim/
    # or tui/, the folders the README's tour describes
    missing = [p for p in paths if not p.startswith("/") and not (REPO / p).exists()
               and not ("/" not in p.rstrip("/") and any(REPO.glob(f"*/{p.rstrip('/')}")))]
    assert not missing, f"the README names paths that are not in the repo: {missing}"


def test_the_check_finds_a_path_outside_the_repo() -> None:
    """The check itself can fail: the old README's line is caught."""
    paths = named_paths("See `../shared/DESIGN.md` and [the design](../shared/DESIGN.md).")
    assert paths == ["../shared/DESIGN.md", "../shared/DESIGN.md"]
    assert outside_repo(paths) == paths

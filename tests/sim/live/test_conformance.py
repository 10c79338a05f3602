"""Gunicorn's request corpus against every live server.

Every file in ``invalid/`` must be answered with a 4xx or a closed connection (never a
2xx, never a 5xx), and the server must answer a plain GET afterwards; every file in
``valid/`` must get an answer that is not a 5xx. (Some ``valid/`` files are valid only
under a Gunicorn option, such as the PROXY protocol; a 4xx for those is honest.)

The corpus lives in ``shared/`` beside the repository, as CI checks it out.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.sim.live.conftest import SHARED, exchange, get, serving

CORPUS = SHARED / "conformance" / "gunicorn-requests"
ESCAPE = re.compile(rb"\\x[0-9A-Fa-f]{2}|\\r|\\n|\\t|\\0")
BYTES = {b"\\r": b"\r", b"\\n": b"\n", b"\\t": b"\t", b"\\0": b"\0"}
STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3}) ")

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"conformance corpus not found at {CORPUS} (shared/ is absent)"
)


def decode(raw: bytes) -> bytes:
    """As gunicorn's treq.py: real newlines are layout; escapes are the bytes."""
    raw = raw.replace(b"\r", b"").replace(b"\n", b"")
    return ESCAPE.sub(lambda m: BYTES.get(m.group(0)) or bytes([int(m.group(0)[2:], 16)]), raw)


def first_status(response: bytes) -> int | None:
    """The first response's status, or None if the server closed without one."""
    match = STATUS.match(response)
    return int(match.group(1)) if match else None


def corpus(kind: str) -> list[Path]:
    return sorted((CORPUS / kind).glob("*.http")) if CORPUS.is_dir() else []


def test_decoding_follows_the_corpus_note():
    assert decode(b"GET / HTTP/1.1\\r\\n\nX: a\\x07\\tb\\0\\r\\n\n\\r\\n\n") == (
        b"GET / HTTP/1.1\r\nX: a\x07\tb\x00\r\n\r\n"
    )


@pytest.mark.parametrize("model", ["sync", "threaded", "async", "hybrid"])
def test_corpus(model: str):
    knobs = {"workers": 1, "threads": 2} if model == "threaded" else {}
    problems = []
    with serving(model, **knobs) as server:
        for path in corpus("invalid"):
            status = first_status(exchange(server.port, decode(path.read_bytes())))
            if status is not None and not 400 <= status < 500:
                problems.append(f"invalid/{path.name}: answered {status}")
            after = get(server.port, "/health", timeout=5.0)
            if after.status != 200:
                problems.append(f"after invalid/{path.name}: /health answered {after.status}")
        for path in corpus("valid"):
            status = first_status(exchange(server.port, decode(path.read_bytes())))
            if status is None or status >= 500:
                problems.append(f"valid/{path.name}: answered {status}")
    assert len(corpus("invalid")) > 0 and len(corpus("valid")) > 0
    assert not problems, "\n".join(problems)

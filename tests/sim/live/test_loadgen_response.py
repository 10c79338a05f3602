"""The hand-written response parser agrees with h11 (the reference it replaced for speed).

``sim.live.loadgen.response`` says why the generator parses by hand (h11 measured 20x
slower per answer); this checks that the hand parser sees what h11 sees: the same
status, the same headers, and the answer complete at the very same byte, fed whole or
a byte at a time, for every way an HTTP/1.1 body can end.
"""

from __future__ import annotations

import pytest

from sim.live.loadgen.response import H11Response, HandResponse, ResponseError

ANSWERS = {
    "content-length": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Worker: 2\r\n\r\nok\n",
    "chunked": (b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"3\r\nbus\r\n2\r\ny\n\r\n0\r\n\r\n"),
    "no content": b"HTTP/1.1 204 No Content\r\nX-Started-At: 1.5\r\n\r\n",
    "until close": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nwhatever comes",
}


def complete_at(parser: HandResponse | H11Response, answer: bytes, step: int) -> int | None:
    """The byte count at which the parser says the answer is whole (None: never)."""
    parser.start(True)
    for end in range(step, len(answer) + step, step):
        if parser.feed(answer[end - step:end]):
            return min(end, len(answer))
    return None


@pytest.mark.parametrize("name", ANSWERS)
@pytest.mark.parametrize("step", [1, 7, 10_000])
def test_the_hand_parser_sees_what_h11_sees(name, step):
    answer = ANSWERS[name]
    hand, ref = HandResponse(), H11Response()
    assert complete_at(hand, answer, step) == complete_at(ref, answer, step)
    assert hand.head is not None and ref.head is not None
    assert hand.head[0] == ref.head[0]
    assert hand.head[1] == ref.head[1]  # both lower-case the names, strip the values
    assert hand.eof() == ref.eof() == (name == "until close")
    assert hand.reusable == ref.reusable == (name in ("content-length", "chunked",
                                                      "no content"))


def test_garbage_is_an_error_for_both():
    for parser in (HandResponse(), H11Response()):
        parser.start(True)
        with pytest.raises(ResponseError):
            parser.feed(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

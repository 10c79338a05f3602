"""The sans-I/O session, without a socket: bytes in, requests or refusals out."""

from __future__ import annotations

import pytest

from sim.live.http import (
    CLOSED,
    LIMIT_REQUEST_LINE,
    NEED_DATA,
    HttpSession,
    Reject,
    Request,
)


def feed(*chunks: bytes, keep_alive: bool = True) -> tuple[HttpSession, object]:
    session = HttpSession(keep_alive=keep_alive)
    for chunk in chunks:
        session.feed(chunk)
    return session, session.next_request()


def test_a_request_arrives_in_pieces():
    session = HttpSession()
    session.feed(b"GET /guest?io=50&cpu=2 HTTP/1.1\r\nHo")
    assert session.next_request() is NEED_DATA
    session.feed(b"st: x\r\nX-Guest-Id: 7\r\n\r\n")
    request = session.next_request()
    assert isinstance(request, Request)
    assert (request.method, request.path) == ("GET", "/guest")
    assert request.query == {"io": "50", "cpu": "2"}
    assert request.headers[b"x-guest-id"] == b"7"


def test_keep_alive_then_the_next_request():
    two = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    session, request = feed(two)
    out = session.respond(request, 200, [], b"hi")
    assert out.startswith(b"HTTP/1.1 200 OK\r\n") and out.endswith(b"hi")
    assert session.next_cycle()
    second = session.next_request()
    assert isinstance(second, Request) and second.path == "/health"


def test_no_keep_alive_says_close_and_ends():
    session, request = feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", keep_alive=False)
    out = session.respond(request, 200, [], b"hi")
    assert b"connection: close" in out.lower()
    assert not session.next_cycle()


def test_the_body_is_read_before_the_handler_runs():
    session, item = feed(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"5\r\nhello\r\n-1\r\n\r\n")  # fmt: skip
    assert isinstance(item, Reject) and item.status == 400


def test_client_closing_between_requests_is_not_an_error():
    session, item = feed(b"", keep_alive=True)
    assert item is CLOSED


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET /" + b"a" * LIMIT_REQUEST_LINE + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"A: b\r\n" * 101 + b"\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\nLong: " + b"v" * 8200 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\nA: one\r\n two\r\n\r\n", 400),  # obs-fold
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent_Length: 3\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x07b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a=b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Type: a\r\nContent-Type: b\r\n\r\n", 400),
        (b"GET foo HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400),
        (b"garbage\r\n\r\n", 400),
    ],
)
def test_refusals(raw: bytes, status: int):
    _, item = feed(raw, b"")
    assert isinstance(item, Reject), item
    assert item.status == status, item.reason

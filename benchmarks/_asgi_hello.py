"""The smallest ASGI app, for uvicorn in ``bench_live_servers``: the same hello bytes."""

BODY = b"Hello from the party! Try /guest?cpu=2&io=50\n"
HEADERS = [(b"content-type", b"text/plain; charset=utf-8"), (b"x-worker", b"0")]


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})

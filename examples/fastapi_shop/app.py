"""A small shop on FastAPI (ASGI), SQLite through aiosqlite, and one mistake on purpose.

Endpoints (``requests.txt`` weights them):
- ``GET /items?page=N`` (``async def``): a page of 20 items through aiosqlite, which runs
  each query in its own thread and awaits it: the loop serves others meanwhile;
- ``GET /items/{id}`` (``async def``): one item, the same way;
- ``GET /search?q=...`` (``def``): every item scored in Python with the sync ``sqlite3``
  driver; FastAPI runs a ``def`` route in its thread pool, so it does not hold the loop
  (but its CPU still holds the GIL);
- ``POST /orders`` (``async def``): the order written through aiosqlite, then the payment
  provider awaited, ``await asyncio.sleep(PAYMENT_S)`` (a stand-in for an async HTTP
  call: a known 20 ms of io);
- ``GET /stock/{id}`` (``async def``): THE MISTAKE. It asks the supplier's stock through
  a sync SDK, ``time.sleep(SUPPLIER_S)`` (a stand-in for ``requests.get``: a known 10 ms),
  inside ``async def``: the whole loop stops for it, and every other request waits.
  ``partyhost profile`` marks it "holds the loop"; the fix is ``def`` or an async client.

Run it for real: ``uvicorn examples.fastapi_shop.app:app`` from the repo root.
"""

from __future__ import annotations

import asyncio
import time

import aiosqlite
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from examples import shopdb

PAYMENT_S = 0.020  # the payment provider, awaited: known, so a profile can be checked
SUPPLIER_S = 0.010  # the supplier's sync SDK, blocking the loop: known too
PAGE = 20

DB = shopdb.db_path("fastapi")
shopdb.seed(DB)
app = FastAPI(title="partyhost's FastAPI shop")


class Order(BaseModel):
    item_id: int
    quantity: int = 1


async def connect() -> aiosqlite.Connection:
    conn = await aiosqlite.connect(DB, timeout=10)
    conn.row_factory = aiosqlite.Row
    await conn.execute("PRAGMA synchronous=NORMAL")
    return conn


@app.get("/items")
async def items(page: int = 1):
    conn = await connect()
    try:
        cursor = await conn.execute(
            "SELECT id, name, price_cents FROM items ORDER BY id LIMIT ? OFFSET ?",
            (PAGE, (max(1, page) - 1) * PAGE))
        return [dict(row) for row in await cursor.fetchall()]
    finally:
        await conn.close()


@app.get("/items/{item_id}")
async def item(item_id: int):
    conn = await connect()
    try:
        cursor = await conn.execute("SELECT * FROM items WHERE id = ?", (item_id,))
        row = await cursor.fetchone()
    finally:
        await conn.close()
    if row is None:
        raise HTTPException(404)
    return dict(row)


@app.get("/search")
def search(q: str = ""):
    conn = shopdb.connect(DB)
    try:
        rows = conn.execute("SELECT id, name, description FROM items").fetchall()
    finally:
        conn.close()
    ranked = sorted(rows, key=lambda r: shopdb.score(q, r["name"], r["description"]),
                    reverse=True)
    return [{"id": r["id"], "name": r["name"]} for r in ranked[:10]]


@app.post("/orders", status_code=201)
async def order(body: Order):
    conn = await connect()
    try:
        cursor = await conn.execute("SELECT price_cents FROM items WHERE id = ?",
                                    (body.item_id,))
        row = await cursor.fetchone()
        if row is None or body.quantity < 1:
            raise HTTPException(400)
        total = row["price_cents"] * body.quantity
        cursor = await conn.execute(
            "INSERT INTO orders (item_id, quantity, total_cents, created) VALUES (?, ?, ?, ?)",
            (body.item_id, body.quantity, total, time.time()))
        await conn.commit()
        order_id = cursor.lastrowid
    finally:
        await conn.close()
    await asyncio.sleep(PAYMENT_S)  # the payment provider, awaited
    return {"order": order_id, "total_cents": total}


@app.get("/stock/{item_id}")
async def stock(item_id: int):
    conn = await connect()
    try:
        cursor = await conn.execute("SELECT stock FROM items WHERE id = ?", (item_id,))
        row = await cursor.fetchone()
    finally:
        await conn.close()
    if row is None:
        raise HTTPException(404)
    time.sleep(SUPPLIER_S)  # the supplier's sync SDK inside async def: the loop stops
    return {"item": item_id, "here": row["stock"], "supplier": 100}

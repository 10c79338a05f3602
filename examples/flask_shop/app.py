"""A small shop on Flask (WSGI) and SQLite through the standard ``sqlite3`` driver.

Endpoints (``requests.txt`` weights them as a shop's day might):
- ``GET /items?page=N``: a page of 20 items (one indexed query);
- ``GET /items/<id>``: one item;
- ``GET /search?q=...``: every item scored in Python (the CPU-heavy one);
- ``POST /orders``: a JSON order, written in a transaction, then charged through a
  payment provider; the provider is a stand-in, ``time.sleep(PAYMENT_S)``, a known
  20 ms wait as a real HTTP call to it would be (no network here);
- ``GET /health``: nothing but an answer.

Each request opens its own connection (Flask's ``g`` pattern) and closes it at teardown.
Run it for real: ``gunicorn -w 4 examples.flask_shop.app:app`` from the repo root.
"""

from __future__ import annotations

import sqlite3
import time

from flask import Flask, abort, g, jsonify, request

from examples import shopdb

PAYMENT_S = 0.020  # the payment provider's answer time: known, so a profile can be checked
PAGE = 20

DB = shopdb.db_path("flask")
shopdb.seed(DB)
app = Flask(__name__)


def db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = shopdb.connect(DB)
    return g.db


@app.teardown_appcontext
def close_db(_exc: BaseException | None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


@app.get("/items")
def items():
    page = max(1, request.args.get("page", 1, type=int))
    rows = db().execute("SELECT id, name, price_cents FROM items ORDER BY id LIMIT ? OFFSET ?",
                        (PAGE, (page - 1) * PAGE)).fetchall()
    return jsonify([dict(row) for row in rows])


@app.get("/items/<int:item_id>")
def item(item_id: int):
    row = db().execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        abort(404)
    return jsonify(dict(row))


@app.get("/search")
def search():
    query = request.args.get("q", "")
    rows = db().execute("SELECT id, name, description FROM items").fetchall()
    ranked = sorted(rows, key=lambda r: shopdb.score(query, r["name"], r["description"]),
                    reverse=True)
    return jsonify([{"id": r["id"], "name": r["name"]} for r in ranked[:10]])


@app.post("/orders")
def order():
    body = request.get_json(force=True, silent=True) or {}
    item_id, quantity = int(body.get("item_id", 0)), int(body.get("quantity", 1))
    conn = db()
    row = conn.execute("SELECT price_cents FROM items WHERE id = ?", (item_id,)).fetchone()
    if row is None or quantity < 1:
        abort(400)
    total = row["price_cents"] * quantity
    with conn:  # one transaction
        cursor = conn.execute("INSERT INTO orders (item_id, quantity, total_cents, created) "
                              "VALUES (?, ?, ?, ?)", (item_id, quantity, total, time.time()))
    time.sleep(PAYMENT_S)  # the payment provider (a stand-in for its HTTP API)
    return jsonify({"order": cursor.lastrowid, "total_cents": total}), 201


@app.get("/health")
def health():
    return "ok"

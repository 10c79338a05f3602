"""The shops' catalogue in SQLite: one file, created and seeded on first use.

Both shops share this schema: ``items`` (500 products in 10 categories, seeded from a
fixed seed, so every run sees the same shop) and ``orders``. The file is
``$SHOP_DB`` if set, else ``shop-<name>.sqlite3`` in the system's temp directory (so a
read-only checkout works, and a shop never writes into the repo). WAL mode lets the
workers of a real server read while one writes; the seeding is one ``BEGIN IMMEDIATE``
transaction, so four gunicorn workers starting at once seed it once.

SQLite is a library, not a server: a query is CPU in the caller's process (plus the page
cache), not a wait on the network as with PostgreSQL. Profiles of these shops show
that: their "database" is mostly cpu.
"""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
from pathlib import Path

ITEMS = 500
CATEGORIES = ("lamps", "chairs", "tables", "rugs", "mugs", "plates", "kettles", "clocks",
              "shelves", "vases")
ADJECTIVES = ("oak", "brass", "linen", "glazed", "folding", "tall", "round", "woven", "tiny",
              "classic")


def db_path(name: str) -> Path:
    return Path(os.environ.get("SHOP_DB") or Path(tempfile.gettempdir()) / f"shop-{name}.sqlite3")


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL: no fsync per commit (SQLite's advice)
    return conn


def seed(path: Path) -> None:
    """Create the tables and the catalogue once; later calls find it there."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT, "
                     "category TEXT, price_cents INTEGER, stock INTEGER, description TEXT)")
        conn.execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, item_id "
                     "INTEGER, quantity INTEGER, total_cents INTEGER, created REAL)")
        if conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] < ITEMS:
            conn.execute("DELETE FROM items")
            rng = random.Random(17)
            rows = []
            for i in range(1, ITEMS + 1):
                category = CATEGORIES[i % len(CATEGORIES)]
                name = f"{rng.choice(ADJECTIVES)} {category[:-1]} {i}"
                words = " ".join(rng.choice(ADJECTIVES) for _ in range(30))
                rows.append((i, name, category, rng.randint(500, 50_000), rng.randint(0, 80),
                             f"A {name} for the home: {words}."))
            conn.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
    finally:
        conn.close()


def score(query: str, name: str, description: str) -> float:
    """How well an item matches a search, in plain Python (the handler's own CPU)."""
    words = query.lower().split()
    text = f"{name} {name} {description}".lower().split()
    hits = sum(text.count(word) for word in words)
    return hits / (1 + len(text) ** 0.5)

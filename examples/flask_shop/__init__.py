"""A small shop on Flask (WSGI) and SQLite (sqlite3): ``examples.flask_shop.app:app``."""

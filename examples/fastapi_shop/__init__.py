"""A small shop on FastAPI (ASGI) and SQLite (aiosqlite): ``examples.fastapi_shop.app:app``."""

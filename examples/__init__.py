"""Two small shops to profile, plan and verify: Flask (WSGI) and FastAPI (ASGI).

Run them from the repo root (``pip install -e '.[examples]'`` brings Flask, FastAPI and
aiosqlite):
  partyhost profile examples.flask_shop.app:app --requests examples/flask_shop/requests.txt
  gunicorn -w 4 examples.flask_shop.app:app
  uvicorn examples.fastapi_shop.app:app
"""

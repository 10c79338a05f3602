"""Import the app (``module:callable``) as gunicorn and uvicorn do, and tell WSGI from ASGI.

The current directory goes first on ``sys.path`` (gunicorn's ``--chdir`` default, and
uvicorn's ``--app-dir .``), so ``examples.flask_shop.app:app`` imports from the repo root.

WSGI or ASGI is read from the callable's shape, as uvicorn's ``--interface auto`` does:
an ``async def`` function, or an object whose ``__call__`` is ``async def``, taking
``(scope, receive, send)`` is ASGI 3; any other callable taking ``(environ,
start_response)`` is WSGI. ASGI 2's double callable (``app(scope)`` returning a
coroutine function) is not supported: it is neither, and said so.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

from sim.profile import ProfileError

WSGI, ASGI = "wsgi", "asgi"


def load_app(spec: str, root: str | None = None) -> tuple[Callable[..., Any], str]:
    """The app object and its interface ("wsgi" or "asgi"); a ProfileError says why not."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ProfileError(f"{spec!r} should be module:callable, like "
                           "examples.flask_shop.app:app")
    root = os.path.abspath(root or os.getcwd())
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        module = importlib.import_module(module_name)
    except BaseException as exc:  # the app's own import may raise anything, even SystemExit
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise ProfileError(f"cannot import {module_name!r} (from {root}): "
                           f"{type(exc).__name__}: {_first_line(exc)}") from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ProfileError(f"{module_name!r} has no {attr!r}") from None
    return obj, interface_of(obj, spec)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "(no message)"


def _takes(func: Callable[..., Any], count: int) -> bool:
    try:
        inspect.signature(func).bind(*range(count))
    except TypeError:
        return False
    except ValueError:  # no signature (a builtin): let the call decide
        return True
    return True


def interface_of(obj: Any, spec: str = "the app") -> str:
    """``"asgi"`` or ``"wsgi"`` by the callable's shape, or a ProfileError."""
    if not callable(obj):
        raise ProfileError(f"{spec} is a {type(obj).__name__}, not a WSGI or ASGI app "
                           "(a callable)")
    if inspect.isclass(obj):
        raise ProfileError(f"{spec} is a class, not an app: give the instance (or an ASGI 2 "
                           "double callable, which is not supported)")
    target = obj if inspect.isroutine(obj) else obj.__call__
    is_async = inspect.iscoroutinefunction(target)
    if is_async and _takes(target, 3):
        return ASGI
    if not is_async and _takes(target, 2):
        return WSGI
    raise ProfileError(f"{spec} is neither WSGI (callable(environ, start_response)) nor ASGI "
                       "(async callable(scope, receive, send))")

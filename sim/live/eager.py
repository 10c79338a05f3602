"""Start a guest's handler now, not on the event loop's next turn.

Why. ``loop.create_task`` only schedules a task's first step for the loop's next turn.
When fifty requests arrive in one turn (and they do: guests who waited on the same
kitchen come back together), the loop parses all fifty first and only then starts any
handler, so the first guest's io begins fifty parses late, for nothing. Every guest
pays the whole wave on every round: measured with ``wrk -c50`` on ``/guest?io=50``, the
async server held 80% of its ceiling that way and 92% with eager starts.

Python 3.12 added eager tasks (``asyncio.Task(..., eager_start=True)``): the coroutine
runs at once, up to its first real wait, and only the rest becomes a scheduled task.
``start_eagerly`` uses them where they exist and does the same by hand on 3.11: it
takes the coroutine's first step itself, then hands the coroutine, suspended on the
future it waits for, to an ordinary Task that waits for that future and resumes it.
"""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Coroutine, Generator
from typing import Any

EAGER_TASKS = sys.version_info >= (3, 12)


def start_eagerly(coro: Coroutine[Any, Any, Any],
                  loop: asyncio.AbstractEventLoop) -> asyncio.Future:  # fmt: skip
    """Run ``coro`` up to its first wait now; a future (or Task) for the rest."""
    if EAGER_TASKS:
        return asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg]
    future = loop.create_future()
    try:
        waiting = coro.send(None)
    except StopIteration as done:  # it never had to wait
        future.set_result(done.value)
        return future
    except asyncio.CancelledError:
        future.cancel()
        return future
    except (KeyboardInterrupt, SystemExit):
        raise  # as a Task does: these are not the coroutine's result
    except BaseException as exc:
        future.set_exception(exc)
        return future
    return loop.create_task(_rest(coro, waiting))


async def _rest(coro: Coroutine[Any, Any, Any], waiting: asyncio.Future | None) -> Any:
    """Wait for what ``coro`` waits for, then drive it on, inside a Task.

    ``waiting`` is the future the coroutine yielded (``None`` for a bare yield, as
    ``asyncio.sleep(0)`` does). Its outcome, a result, an error, or this Task's
    cancellation passed on to it, is not ours to handle: the coroutine reads it
    itself when resumed, exactly as if a Task had run it from the start. One case is
    ours: this Task cancelled just after ``waiting`` had finished (so the future could
    not carry the cancellation). Then the coroutine is closed, its ``finally`` blocks
    run, and this Task ends cancelled.
    """
    if waiting is not None:
        waiting._asyncio_future_blocking = False  # the Task's part, as in Task.__step
        try:
            await waiting
        except asyncio.CancelledError:
            if not waiting.cancelled():
                coro.close()
                raise
        except BaseException:  # noqa: BLE001, S110  the coroutine sees it on resuming
            pass
    return await _resume(coro)


@types.coroutine
def _resume(coro: Coroutine[Any, Any, Any]) -> Generator[Any, None, Any]:
    """Continue an already started coroutine where it is suspended."""
    return (yield from coro)  # type: ignore[misc]

"""Eager starts: the coroutine runs at once up to its first wait, and then as a Task would.

Each test runs twice: through the hand-made 3.11 path and through whatever
``start_eagerly`` picks on this Python (3.12's real eager tasks, where they exist), so
the two are held to the same behaviour.
"""

from __future__ import annotations

import asyncio

import pytest

from sim.live import eager
from sim.live.eager import start_eagerly


@pytest.fixture(params=["by hand", "this python"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "by hand":
        monkeypatch.setattr(eager, "EAGER_TASKS", False)
    return request.param


def run(main) -> None:
    asyncio.run(main())


def test_the_first_step_runs_before_start_returns(mode: str) -> None:
    log: list[str] = []

    async def guest() -> int:
        log.append("first phase begins")
        await asyncio.sleep(0.01)
        log.append("after the wait")
        await asyncio.sleep(0)  # a bare yield, too
        return 42

    async def main() -> None:
        task = start_eagerly(guest(), asyncio.get_running_loop())
        log.append("start returned")
        assert await task == 42

    run(main)
    assert log == ["first phase begins", "start returned", "after the wait"]


def test_a_coroutine_that_never_waits_is_done_at_once(mode: str) -> None:
    async def guest() -> str:
        return "done"

    async def main() -> None:
        future = start_eagerly(guest(), asyncio.get_running_loop())
        assert future.done() and future.result() == "done"

    run(main)


def test_errors_before_and_after_the_first_wait_reach_the_awaiter(mode: str) -> None:
    async def early() -> None:
        raise ValueError("early")

    async def late() -> None:
        await asyncio.sleep(0.001)
        raise ValueError("late")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for coro, text in ((early(), "early"), (late(), "late")):
            with pytest.raises(ValueError, match=text):
                await start_eagerly(coro, loop)

    run(main)


def test_the_coroutine_sees_what_its_future_raised(mode: str) -> None:
    async def guest(future: asyncio.Future) -> str:
        try:
            await future
        except KeyError:
            return "caught inside"
        return "not raised"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        task = start_eagerly(guest(future), loop)
        loop.call_later(0.001, future.set_exception, KeyError("kitchen"))
        assert await task == "caught inside"

    run(main)


def test_cancelling_while_it_waits_cancels_the_coroutine(mode: str) -> None:
    log: list[str] = []

    async def guest() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            log.append("cancelled inside")
            raise
        finally:
            log.append("finally")

    async def main() -> None:
        task = start_eagerly(guest(), asyncio.get_running_loop())
        await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()

    run(main)
    assert log == ["cancelled inside", "finally"]


def test_cancelled_just_after_its_future_finished(mode: str) -> None:
    """The race the hand-made path handles itself: the future cannot carry the cancel."""
    log: list[str] = []

    async def guest(future: asyncio.Future) -> str:
        try:
            await future
            await asyncio.sleep(10)
            return "ran on"
        finally:
            log.append("finally")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        task = start_eagerly(guest(future), loop)
        future.set_result(None)  # the task's wake-up is now scheduled, not run
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main)
    assert log == ["finally"]

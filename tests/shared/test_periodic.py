"""The background loop every service's sweeps and workers run on."""

from __future__ import annotations

import asyncio
import logging

import pytest

from shared.periodic import every


async def test_a_full_batch_runs_again_and_a_failed_pass_does_not_stop_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    answers: list[bool | Exception] = [True, True, False, RuntimeError("a bug in one pass"), False]
    passes = 0

    async def one_pass() -> bool:
        nonlocal passes
        passes += 1
        if not answers:
            stop.set()
            return False
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with caplog.at_level(logging.WARNING, logger="shared.periodic"):
        await asyncio.wait_for(every(lambda: 0.01, one_pass, stop, "test sweep"), timeout=5)
    # Three passes in the first tick (two full batches), one failing in the second, one in the
    # third, and the sixth finds the loop told to stop.
    assert passes == 6
    assert [r.getMessage() for r in caplog.records] == ["test sweep failed; will try again"]


async def test_stop_ends_the_wait_at_once() -> None:
    stop = asyncio.Event()
    ran = False

    async def one_pass() -> bool:
        nonlocal ran
        ran = True
        return False

    loop = asyncio.create_task(every(lambda: 3600, one_pass, stop, "hourly"))
    await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(loop, timeout=1)
    assert not ran


async def test_stop_during_a_run_of_full_batches_ends_the_loop_after_the_current_pass() -> None:
    stop = asyncio.Event()
    passes = 0

    async def one_pass() -> bool:
        # Always a full batch: only `stop` can end the run.
        nonlocal passes
        passes += 1
        if passes == 3:
            stop.set()
        await asyncio.sleep(0)  # lets the timeout below end a loop that would never stop
        return True

    await asyncio.wait_for(every(lambda: 0.01, one_pass, stop, "busy sweep"), timeout=2)
    assert passes == 3

"""Work a service does in the background, every so often: sweeps, mail delivery, reminders."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from shared.db import is_database_outage

log = logging.getLogger(__name__)


async def every(
    interval: Callable[[], float],
    one_pass: Callable[[], Awaitable[bool]],
    stop: asyncio.Event,
    name: str,
) -> None:
    """Until `stop` is set: wait `interval()` seconds, then run `one_pass` again for as long as
    it answers that more is due (a full batch), checking `stop` between passes so a shutdown
    does not wait out a backlog. A pass that fails is logged (a database outage
    in one line, anything else with its traceback) and the next tick tries again: the loop
    outlives an outage, and a bug in one pass does not stop the service's background work."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval())
        if stop.is_set():
            return
        try:
            while await one_pass() and not stop.is_set():
                pass
        except Exception as exc:
            if is_database_outage(exc):
                log.warning("%s stopped: database unreachable; will try again", name)
            else:
                log.exception("%s failed; will try again", name)

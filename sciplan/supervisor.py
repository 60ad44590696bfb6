"""Keeps the services of `sciplan dev` running: one that dies is started again, after a pause
that doubles with each failure in a row (1 s, 2 s, 4 s ... up to 30 s), and the log says so.

A service that stayed up for a minute starts again from the shortest pause. Only the runner
being stopped (Ctrl-C, SIGTERM) stops the product.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from sciplan.stack import Stack

FIRST_PAUSE_SECONDS = 1.0
LONGEST_PAUSE_SECONDS = 30.0
STABLE_AFTER_SECONDS = 60.0


@dataclass
class _Watch:
    started_at: float
    failures: int = 0  # in a row, without a stable run between them
    restart_at: float | None = None
    awaiting_ready: bool = False


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class Supervisor:
    def __init__(
        self,
        stack: Stack,
        say: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stack = stack
        self.say = say
        self.clock = clock
        now = clock()
        self.watches = {name: _Watch(started_at=now) for name in stack.processes}

    def check(self) -> None:
        """Looks at every service once: restarts the dead ones whose pause is over."""
        now = self.clock()
        for name, watch in self.watches.items():
            if watch.restart_at is not None:
                if now >= watch.restart_at:
                    watch.restart_at = None
                    self.stack.start(name)
                    watch.started_at, watch.awaiting_ready = now, True
                    self.say(f"{name}: started again (restart {watch.failures} in a row)")
                continue
            code = self.stack.processes[name].poll()
            if code is not None:
                if now - watch.started_at >= STABLE_AFTER_SECONDS:
                    watch.failures = 0
                watch.failures += 1
                pause = min(LONGEST_PAUSE_SECONDS, FIRST_PAUSE_SECONDS * 2 ** (watch.failures - 1))
                watch.restart_at, watch.awaiting_ready = now + pause, False
                self.say(f"{name} stopped ({describe_exit(code)}); restarting in {pause:g} s")
            elif watch.awaiting_ready and self.stack.is_ready(name, within=0.5):
                watch.awaiting_ready = False
                self.say(f"{name} is ready again")

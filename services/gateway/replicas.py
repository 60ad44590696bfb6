"""A service's replicas as the gateway sees them: base URLs, each request to the next in turn.

`SCIPLAN_GATEWAY_<SERVICE>_URL` names one base URL or several, separated by commas. Requests
go round robin. A replica that cannot be connected to (refused, unreachable, no answer to the
connection) is skipped, and the request goes to the next one: nothing reached the skipped
replica, so any request may go elsewhere. That replica then rests for `REST_SECONDS` (tried only
when every other one fails too), so that a replica that is down costs a connection attempt
every few seconds rather than on every request. A replica that took the request and then
dropped the connection may have acted on it: only a safe request (GET, HEAD, OPTIONS) is then
asked of the next one; any other answers the failure (502).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import aiohttp

from services.gateway.proxy.upstream import Dropped, NotConnected

log = logging.getLogger(__name__)

REST_SECONDS = 5.0
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Nothing was sent: the connection was never made.
NOT_CONNECTED = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError, NotConnected)
# The request may have arrived: the connection broke before the answer's status line.
DROPPED = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, Dropped)

Answer = TypeVar("Answer")


class Replicas:
    def __init__(self, urls: Sequence[str], clock: Callable[[], float] = time.monotonic) -> None:
        if not urls:
            raise ValueError("a service needs at least one base URL")
        self.urls = tuple(urls)
        self._clock = clock
        self._turn = 0
        self._resting_until: dict[str, float] = {}

    def in_turn(self) -> list[str]:
        """Every replica, starting with the one whose turn it is; the resting ones last."""
        if len(self.urls) == 1:
            return list(self.urls)
        start = self._turn % len(self.urls)
        self._turn += 1
        order = [*self.urls[start:], *self.urls[:start]]
        if not self._resting_until:
            return order
        now = self._clock()
        awake = [url for url in order if self._resting_until.get(url, 0.0) <= now]
        return awake + [url for url in order if url not in awake]

    async def ask(
        self, method: str, attempt: Callable[[str], Awaitable[Answer]]
    ) -> tuple[str, Answer]:
        """`attempt(base_url)` on the replicas in turn until one answers; the base URL that
        answered, and its answer. Raises what the last replica tried raised."""
        order = self.in_turn()
        for tried, base in enumerate(order, start=1):
            try:
                answer = await attempt(base)
            except NOT_CONNECTED as exc:
                if len(self.urls) > 1:
                    self._resting_until[base] = self._clock() + REST_SECONDS
                if tried == len(order):
                    raise
                log.warning("replica %s not reachable (%r); trying the next", base, exc)
            except DROPPED as exc:
                if method not in SAFE_METHODS or tried == len(order):
                    raise
                log.warning("replica %s dropped a %s (%r); trying the next", base, method, exc)
            else:
                self._resting_until.pop(base, None)
                return base, answer
        raise AssertionError("unreachable: the last replica's failure is raised")

"""A crash between the commit and the response, then the client's retry.

The server commits before it starts the response, so a connection lost at that moment leaves
the effect in the database while the client learns nothing and sends the request again: the
retry must answer as if the first had been seen, and the money must move once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.funds.conftest import Funds

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
ASGIApp = Callable[..., Awaitable[None]]


class ResponseLost(Exception):
    """The connection broke after the server committed (a crash, a network cut)."""


class LoseResponses:
    """Runs the app to the end, then loses the connection as the response starts: the commit
    has happened (it precedes the response), the client never learns the outcome."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        async def broken(message: Message) -> None:
            if message["type"] == "http.response.start":
                raise ResponseLost("connection lost before the response")
            await send(message)

        await self.app(scope, receive, broken)


async def crash_then_retry(
    app: ASGIApp,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str],
    json: Any = None,
    base_url: str = "http://funds",
    before_retry: Callable[[], Awaitable[None]] | None = None,
) -> httpx.Response:
    """Sends the request once and loses its response, then sends it again unchanged (the same
    caller, the same body) and returns the retry's answer.

    `before_retry` runs in between (e.g. moves the service clock, so the retry's answer shows
    whether it is the committed original or something done again)."""
    lossy_transport = httpx.ASGITransport(app=LoseResponses(app))
    async with httpx.AsyncClient(transport=lossy_transport, base_url=base_url) as lossy:
        with pytest.raises(ResponseLost):
            await lossy.request(method, path, headers=headers, json=json)
    if before_retry is not None:
        await before_retry()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=base_url
    ) as client:
        return await client.request(method, path, headers=headers, json=json)


async def lost_then_retried(
    funds: Funds, method: str, path: str, who: str, json: Any = None
) -> httpx.Response:
    """The first answer is lost after the commit; the retry comes ten minutes later (so a
    retry that did the work again would show the later time)."""

    async def later() -> None:
        funds.clock.advance(minutes=10)

    return await crash_then_retry(
        funds.app, method, path, headers=funds.callers[who].headers, json=json, before_retry=later
    )


def parse_time(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))

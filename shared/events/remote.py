"""Reading another service's event feed over HTTP with a service-account token."""

from __future__ import annotations

from typing import Protocol

import aiohttp

from shared.events.consumer import FetchPage
from shared.events.outbox import EventFeedPage


class TokenSource(Protocol):
    """Service tokens by audience (`ServiceTokens`, or the gateway signing its own)."""

    async def token_for(self, audience: str) -> str: ...

    def forget(self, audience: str) -> None: ...


def http_feed(
    *, feed_url: str, audience: str, tokens: TokenSource, session: aiohttp.ClientSession
) -> FetchPage:
    async def fetch(position: str, limit: int) -> EventFeedPage:
        params = {"after": position, "limit": str(limit)}
        for attempt in range(2):
            token = await tokens.token_for(audience)
            headers = {"Authorization": f"Bearer {token}"}
            async with session.get(feed_url, params=params, headers=headers) as response:
                if response.status == 401 and attempt == 0:
                    tokens.forget(audience)  # e.g. signed with a key retired since
                    continue
                response.raise_for_status()
                return EventFeedPage.model_validate(await response.json())
        raise AssertionError("unreachable")

    return fetch

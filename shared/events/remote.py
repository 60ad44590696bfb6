"""Reading another service's event feed over HTTP with a service-account token."""

from __future__ import annotations

import aiohttp

from shared.auth.service_account import ServiceTokens
from shared.events.consumer import FetchPage
from shared.events.outbox import EventFeedPage


def http_feed(
    *, feed_url: str, audience: str, tokens: ServiceTokens, session: aiohttp.ClientSession
) -> FetchPage:
    async def fetch(position: str, limit: int) -> EventFeedPage:
        token = await tokens.token_for(audience)
        params = {"after": position, "limit": str(limit)}
        headers = {"Authorization": f"Bearer {token}"}
        async with session.get(feed_url, params=params, headers=headers) as response:
            response.raise_for_status()
            return EventFeedPage.model_validate(await response.json())

    return fetch

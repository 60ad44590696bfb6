"""A service's own access tokens, from the gateway's client_credentials grant, cached."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from shared.errors import ServiceUnavailable, Text

REFRESH_MARGIN_SECONDS = 60


class ServiceTokens:
    def __init__(
        self, *, token_url: str, client_id: str, client_secret: str, session: aiohttp.ClientSession
    ) -> None:
        self._url = token_url
        self._client_id = client_id
        self._secret = client_secret
        self._session = session
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = asyncio.Lock()

    def forget(self, audience: str) -> None:
        """Drop a cached token the audience refused (its key may have been retired)."""
        self._tokens.pop(audience, None)

    async def token_for(self, audience: str) -> str:
        cached = self._tokens.get(audience)
        if cached and cached[1] - REFRESH_MARGIN_SECONDS > time.monotonic():
            return cached[0]
        async with self._lock:
            form = {
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._secret,
                "audience": audience,
            }
            async with self._session.post(self._url, data=form) as response:
                if response.status != 200:
                    raise ServiceUnavailable(
                        Text(
                            "无法获取服务令牌", f"could not get a service token ({response.status})"
                        )
                    )
                body = await response.json()
            token = str(body["access_token"])
            self._tokens[audience] = (token, time.monotonic() + float(body["expires_in"]))
            return token

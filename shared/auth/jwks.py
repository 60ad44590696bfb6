"""The gateway's public keys, fetched from its JWKS and cached.

An unknown `kid` triggers one refresh (at most once per `min_refresh_seconds`), so a new key is
picked up at once while a flood of forged kids cannot hammer the gateway. A key removed from
the JWKS stops verifying when the cache is next refreshed (`ttl_seconds`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import jwt

log = logging.getLogger(__name__)


FetchDocument = Callable[[], Awaitable[dict[str, Any]]]


def http_jwks_fetcher(url: str, session: aiohttp.ClientSession) -> FetchDocument:
    async def fetch() -> dict[str, Any]:
        async with session.get(url) as response:
            response.raise_for_status()
            document: dict[str, Any] = await response.json()
            return document

    return fetch


class JwksCache:
    def __init__(
        self,
        fetch: FetchDocument,
        *,
        ttl_seconds: float = 60.0,
        min_refresh_seconds: float = 2.0,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._min_refresh = min_refresh_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> jwt.PyJWK | None:
        now = time.monotonic()
        stale = now - self._fetched_at > self._ttl
        if stale or (kid not in self._keys and now - self._fetched_at > self._min_refresh):
            await self.refresh()
        return self._keys.get(kid)

    def invalidate(self) -> None:
        self._fetched_at = float("-inf")

    async def refresh(self) -> None:
        async with self._lock:
            try:
                document = await self._fetch()
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
                # Keep the keys we had: a gateway restart must not fail every request.
                log.warning("could not fetch JWKS: %r", exc)
                self._fetched_at = time.monotonic() - self._ttl + self._min_refresh
                return
            keys = {}
            for entry in document.get("keys", []):
                try:
                    keys[entry["kid"]] = jwt.PyJWK.from_dict(entry)
                except (KeyError, jwt.PyJWTError) as exc:
                    log.warning("skipping unusable JWK: %s", exc)
            self._keys = keys
            self._fetched_at = time.monotonic()

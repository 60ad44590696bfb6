"""The events the gateway consumes: projects' feed, for the roles its decisions grant.

The gateway is the token issuer, so it signs its own service token for reading the feed rather
than asking itself for one over HTTP (as it does for notify's direct messages).
"""

from __future__ import annotations

import time

import aiohttp

from services.gateway.accounts.notify import GATEWAY_ACCOUNT
from services.gateway.auth.service import TokenIssuer
from services.gateway.config import GatewaySettings
from services.gateway.identity.admissions import admission_handlers
from services.gateway.models import events
from shared.auth.roles import Role
from shared.db import Database
from shared.events.consumer import EventConsumer
from shared.events.remote import http_feed

REFRESH_MARGIN_SECONDS = 60


class OwnServiceTokens:
    """The gateway's service tokens, signed by itself and kept until shortly before expiry."""

    def __init__(self, issuer: TokenIssuer) -> None:
        self._issuer = issuer
        self._tokens: dict[str, tuple[str, float]] = {}

    async def token_for(self, audience: str) -> str:
        cached = self._tokens.get(audience)
        if cached and cached[1] - REFRESH_MARGIN_SECONDS > time.monotonic():
            return cached[0]
        token, lifetime = await self._issuer.access_token(
            subject=GATEWAY_ACCOUNT,
            audience=[audience],
            roles=[Role.service.value],
            extra={"name": "gateway"},
        )
        self._tokens[audience] = (token, time.monotonic() + lifetime)
        return token

    def forget(self, audience: str) -> None:
        self._tokens.pop(audience, None)


def projects_consumer(
    settings: GatewaySettings, issuer: TokenIssuer, db: Database, http: aiohttp.ClientSession
) -> EventConsumer:
    return EventConsumer(
        source="projects",
        fetch=http_feed(
            feed_url=f"{settings.projects_url.rstrip('/')}/internal/v1/events",
            audience="sciplan-projects",
            tokens=OwnServiceTokens(issuer),
            session=http,
        ),
        sessionmaker=db.sessionmaker,
        tables=events,
        handlers=admission_handlers(),
    )

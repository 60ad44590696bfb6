"""The gateway's own service tokens (subject `svc:gateway`): it is the issuer, so it signs them
itself rather than asking itself over HTTP. One cache serves every caller (notify's direct
messages, projects' event feed), each token kept until shortly before it expires."""

from __future__ import annotations

import time

from services.gateway.auth.service import TokenIssuer
from shared.auth.roles import Role

GATEWAY_ACCOUNT = "svc:gateway"
REFRESH_MARGIN_SECONDS = 60


class OwnServiceTokens:
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

"""Logins, token issuing and refresh-token rotation with reuse detection."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.auth.exceptions import (
    InvalidClient,
    InvalidCredentials,
    InvalidRefreshToken,
    LoginBusy,
)
from services.gateway.auth.gate import LoginGate
from services.gateway.auth.keys import KeyStore
from services.gateway.auth.passwords import verify_secret
from services.gateway.auth.repository import CredentialRepository
from services.gateway.auth.schemas import TokenResponse
from services.gateway.auth.throttle import LoginThrottle
from services.gateway.config import GatewaySettings
from services.gateway.models import RefreshToken, User
from services.gateway.service_accounts import is_reserved
from shared.auth.roles import Role
from shared.auth.tokens import ACCESS_TOKEN_TYPE, ALGORITHM, now_seconds
from shared.clock import utcnow
from shared.ids import uuid7


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class TokenIssuer:
    settings: GatewaySettings
    keys: KeyStore

    async def access_token(
        self, *, subject: str, audience: list[str], roles: list[str], extra: dict[str, Any]
    ) -> tuple[str, int]:
        ring = await self.keys.ring()
        lifetime = self.settings.access_token_minutes * 60
        issued = now_seconds()
        claims = {
            "iss": self.settings.jwt_issuer,
            "sub": subject,
            "aud": audience,
            "iat": issued,
            "nbf": issued,
            "exp": issued + lifetime,
            "jti": uuid7().hex,
            "roles": roles,
            **extra,
        }
        token = jwt.encode(
            claims,
            ring.signing_key,
            algorithm=ALGORITHM,
            headers={"kid": ring.signing_kid, "typ": ACCESS_TOKEN_TYPE},
        )
        return token, lifetime


# Asked once a login's turn has come: True if its client has gone (no check is made for it).
Abandoned = Callable[[], Awaitable[bool]]


async def _still_here() -> bool:
    return False


class AuthService:
    def __init__(
        self,
        session: AsyncSession,
        issuer: TokenIssuer,
        throttle: LoginThrottle,
        gate: LoginGate,
    ) -> None:
        self.session = session
        self.repository = CredentialRepository(session)
        self.issuer = issuer
        self.throttle = throttle
        self.gate = gate

    async def login(
        self, username: str, password: str, address: str, abandoned: Abandoned = _still_here
    ) -> TokenResponse:
        # The turn is taken before the first query, so a waiting login holds no connection.
        async with self.gate.turn():
            if await abandoned():
                raise LoginBusy()
            return await self._login(username.strip().lower(), password, address)

    async def _login(self, username: str, password: str, address: str) -> TokenResponse:
        attempt = await self.throttle.check(self.session, username, address)
        user = await self.repository.user_by_username(username)
        ok = await verify_secret(user.password_hash if user else None, password)
        if user is None or not ok or not user.is_active:
            await self.throttle.failed(self.session, attempt)
            raise InvalidCredentials(keep_writes=True)
        await self.throttle.succeeded(self.session, attempt)
        return await self.tokens_for(user, family_id=uuid7())

    async def client_credentials(
        self, client_id: str, client_secret: str, audience: str | None
    ) -> TokenResponse:
        async with self.gate.turn():
            return await self._client_credentials(client_id, client_secret, audience)

    async def _client_credentials(
        self, client_id: str, client_secret: str, audience: str | None
    ) -> TokenResponse:
        # The gateway's own name is never a client's, even were a row left from before.
        client = None if is_reserved(client_id) else await self.repository.api_client(client_id)
        ok = await verify_secret(client.secret_hash if client else None, client_secret)
        if client is None or not ok:
            raise InvalidClient()
        wanted = audience or (client.audiences[0] if client.audiences else "")
        if wanted not in client.audiences:
            raise InvalidClient()
        token, lifetime = await self.issuer.access_token(
            subject=f"svc:{client.client_id}",
            audience=[wanted],
            roles=[Role.service.value],
            extra={"name": client.client_id},
        )
        return TokenResponse(access_token=token, expires_in=lifetime)

    async def refresh(self, presented: str) -> TokenResponse:
        stored = await self.repository.refresh_token(_digest(presented), lock=True)
        if stored is None:
            raise InvalidRefreshToken()
        if stored.used_at is not None or stored.revoked_at is not None:
            # A rotated token came back: someone holds a copy. End the whole family, and keep
            # that revocation although this request fails.
            await self.repository.revoke_family(stored.family_id, utcnow())
            raise InvalidRefreshToken(keep_writes=True)
        if stored.expires_at <= utcnow():
            raise InvalidRefreshToken()
        user = await self.repository.user(stored.user_id)
        if user is None or not user.is_active:
            raise InvalidRefreshToken()
        stored.used_at = utcnow()
        return await self.tokens_for(user, family_id=stored.family_id)

    async def logout(self, presented: str, *, everywhere: bool = False) -> None:
        """Ends this login, or with `everywhere` every login of the token's owner."""
        stored = await self.repository.refresh_token(_digest(presented))
        if stored is None:
            return
        if everywhere:
            await self.repository.revoke_user(stored.user_id, utcnow())
        else:
            await self.repository.revoke_family(stored.family_id, utcnow())

    async def tokens_for(self, user: User, *, family_id: UUID) -> TokenResponse:
        token, lifetime = await self.issuer.access_token(
            subject=str(user.id),
            audience=self.issuer.settings.audiences,
            roles=[r.role for r in user.roles],
            extra={"name": user.username, "org": str(user.org_id) if user.org_id else None},
        )
        refresh = secrets.token_urlsafe(32)
        await self.repository.add_refresh_token(
            RefreshToken(
                family_id=family_id,
                user_id=user.id,
                token_hash=_digest(refresh),
                expires_at=utcnow() + timedelta(days=self.issuer.settings.refresh_token_days),
            )
        )
        return TokenResponse(access_token=token, expires_in=lifetime, refresh_token=refresh)

"""Access tokens: what they carry and how every service verifies them.

Tokens are JWTs signed by the gateway with Ed25519 (`EdDSA`), typed `at+jwt` (RFC 9068).
Every verifier pins the algorithm, its own audience, the issuer and the required claims, so a
token for another service, an unsigned one or one with a swapped algorithm is refused.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import jwt

from shared.errors import Text, Unauthorized

ALGORITHM = "EdDSA"
ACCESS_TOKEN_TYPE = "at+jwt"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti"]
LEEWAY_SECONDS = 10


@dataclass(frozen=True)
class Principal:
    """The caller as a service sees it, taken from a verified token."""

    subject: str
    roles: frozenset[str]
    token_id: str
    username: str | None = None
    org_id: UUID | None = None
    expires_at: int = 0
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def user_id(self) -> UUID | None:
        try:
            return UUID(self.subject)
        except ValueError:
            return None

    @property
    def is_service(self) -> bool:
        return self.subject.startswith("svc:")

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


KeyLookup = Callable[[str], Awaitable[jwt.PyJWK | None]]


class InvalidToken(Unauthorized):
    code = "auth.invalid_token"
    title = Text("身份凭证无效或已过期", "Invalid or expired token")


class TokenVerifier:
    """Verifies access tokens for one audience against keys found by `kid`."""

    def __init__(
        self, *, audience: str, issuer: str, keys: KeyLookup, cache_size: int = 4096
    ) -> None:
        self.audience = audience
        self.issuer = issuer
        self._keys = keys
        # token -> (principal, kid, key): a token verified once is not verified again while it
        # is unexpired and its kid still resolves to the very same key object.
        self._verified: dict[str, tuple[Principal, str, jwt.PyJWK]] = {}
        self._cache_size = cache_size

    async def verify(self, token: str) -> Principal:
        hit = self._verified.get(token)
        if hit is not None:
            principal, kid, key = hit
            if (
                principal.expires_at > time.time() - LEEWAY_SECONDS
                and (await self._keys(kid)) is key
            ):
                return principal
            self._verified.pop(token, None)
        principal, kid, key = await self._verify(token)
        if self._cache_size > 0:
            if len(self._verified) >= self._cache_size:
                self._verified.pop(next(iter(self._verified)))
            self._verified[token] = (principal, kid, key)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, str, jwt.PyJWK]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(Text("凭证格式错误", "Malformed token")) from exc
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or header.get("typ") != ACCESS_TOKEN_TYPE or not kid:
            raise InvalidToken(Text("不是访问令牌", "Not an access token"))
        kid = str(kid)
        key = await self._keys(kid)
        if key is None:
            raise InvalidToken(Text("签名密钥未知或已停用", "Unknown or retired signing key"))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken(Text("凭证已过期", "Token expired")) from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidToken(
                Text("凭证不适用于本服务", "Token not meant for this service")
            ) from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        return principal_from_claims(claims), kid, key


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    roles = claims.get("roles") or []
    org = claims.get("org")
    try:
        org_id = UUID(org) if org else None
    except (ValueError, TypeError) as exc:
        raise InvalidToken() from exc
    if not isinstance(roles, list):
        raise InvalidToken()
    return Principal(
        subject=str(claims["sub"]),
        roles=frozenset(str(r) for r in roles),
        token_id=str(claims["jti"]),
        username=claims.get("name"),
        org_id=org_id,
        expires_at=int(claims["exp"]),
        claims=claims,
    )


def now_seconds() -> int:
    return int(time.time())

"""The gateway's signing keys: Ed25519, kept in its schema, rotated without downtime.

The newest unretired key signs; every unretired key is published in the JWKS and verifies.
Rotating adds a key (tokens signed by the old one stay valid until it is retired); retiring
removes it from the JWKS, so it stops verifying here at once and at the services when their
JWKS cache refreshes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.auth.repository import KeyRepository
from services.gateway.models import SigningKey
from shared.clock import utcnow
from shared.db import Database
from shared.ids import uuid7

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyRing:
    signing_kid: str
    signing_key: Ed25519PrivateKey
    public: dict[str, jwt.PyJWK]
    jwks: dict[str, Any]


def new_signing_key() -> SigningKey:
    private = Ed25519PrivateKey.generate()
    kid = uuid7().hex[:16]
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    jwk = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "alg": "EdDSA", "use": "sig"})
    return SigningKey(kid=kid, private_pem=pem, public_jwk=jwk)


async def ensure_signing_key(session: AsyncSession) -> None:
    repository = KeyRepository(session)
    await repository.lock_keys()
    if not await repository.has_active_key():
        await repository.add(new_signing_key())


async def rotate(session: AsyncSession) -> str:
    key = new_signing_key()
    await KeyRepository(session).add(key)
    return key.kid


async def retire(session: AsyncSession, kid: str) -> bool:
    return await KeyRepository(session).retire(kid, utcnow())


class KeyStore:
    """Reads the key ring from the database, cached briefly (several gateway processes share it).

    A stale ring is served while one background task reloads it. Waiting for the reload instead
    would deadlock under load: a login holds a pooled connection while it asks for the ring, and
    the reload needs a connection from the same pool. Only the first load (and one forced by
    `invalidate`) is waited for.
    """

    def __init__(self, db: Database, cache_seconds: float) -> None:
        self._db = db
        self.cache_seconds = cache_seconds
        self._ring: KeyRing | None = None
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()
        self._reloading: asyncio.Task[None] | None = None

    def invalidate(self) -> None:
        """Forget the ring: the next caller waits for a fresh one (after a rotation here)."""
        self._ring = None
        self._loaded_at = float("-inf")

    async def ring(self) -> KeyRing:
        ring = self._ring
        if ring is None:
            async with self._lock:  # one load at a time, not one per waiting request
                if self._ring is None:
                    self._ring = await self._load()
                    self._loaded_at = time.monotonic()
                return self._ring
        stale = time.monotonic() - self._loaded_at > self.cache_seconds
        if stale and (self._reloading is None or self._reloading.done()):
            self._reloading = asyncio.create_task(self._reload())
        return ring

    async def _reload(self) -> None:
        try:
            ring = await self._load()
        except Exception:  # the stale ring keeps serving; the next request tries again
            logger.warning("signing key reload failed", exc_info=True)
            return
        self._ring, self._loaded_at = ring, time.monotonic()

    async def public_key(self, kid: str) -> jwt.PyJWK | None:
        return (await self.ring()).public.get(kid)

    async def _load(self) -> KeyRing:
        async with self._db.sessionmaker() as session:
            keys = await KeyRepository(session).active_keys()
        if not keys:
            raise RuntimeError("no signing key: run `sciplan migrate` or start the gateway once")
        newest = keys[0]
        private = serialization.load_pem_private_key(newest.private_pem.encode(), password=None)
        assert isinstance(private, Ed25519PrivateKey)
        return KeyRing(
            signing_kid=newest.kid,
            signing_key=private,
            public={k.kid: jwt.PyJWK.from_dict(k.public_jwk) for k in keys},
            jwks={"keys": [k.public_jwk for k in keys]},
        )

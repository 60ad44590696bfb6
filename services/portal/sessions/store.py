"""Session rows: created at login, found by the cookie, renewed before the token expires.

The cookie is `<id>.<key>`: the row is found by SHA-256 of the id and its tokens are decrypted
with the key, which the portal never stores. A session ends after `session_idle_minutes`
without use or `session_max_hours` in all, whichever comes first.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.ext.asyncio import AsyncSession

from services.portal.config import PortalSettings
from services.portal.models import PortalSession

# last_seen_at is written at most this often: a page view is not worth a write each time.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass
class Tokens:
    access: str
    refresh: str
    expires_at: datetime
    # The person as the gateway's /v1/me told it at login or at the last renewal.
    me: dict[str, Any]


@dataclass
class OpenSession:
    id_hash: bytes
    key: bytes
    subject: UUID
    tokens: Tokens


def _hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


def _seal(key: bytes, tokens: Tokens) -> bytes:
    payload = {"access": tokens.access, "refresh": tokens.refresh, "me": tokens.me}
    return Fernet(key).encrypt(json.dumps(payload).encode())


def _open(key: bytes, sealed: bytes, expires_at: datetime) -> Tokens | None:
    try:
        payload = json.loads(Fernet(key).decrypt(sealed))
    except (InvalidToken, ValueError):
        return None
    return Tokens(payload["access"], payload["refresh"], expires_at, payload["me"])


def _parse_cookie(cookie: str) -> tuple[str, bytes] | None:
    session_id, dot, key = cookie.partition(".")
    if not dot or not session_id or len(key) != 44:
        return None
    return session_id, key.encode()


class SessionStore:
    def __init__(self, session: AsyncSession, settings: PortalSettings) -> None:
        self.session = session
        self.idle = timedelta(minutes=settings.session_idle_minutes)
        self.max_age = timedelta(hours=settings.session_max_hours)

    async def create(self, subject: UUID, tokens: Tokens, now: datetime) -> str:
        """A new session; returns the cookie's value."""
        session_id, key = secrets.token_urlsafe(32), Fernet.generate_key()
        self.session.add(
            PortalSession(
                id_hash=_hash(session_id),
                subject=subject,
                tokens=_seal(key, tokens),
                access_expires_at=tokens.expires_at,
                created_at=now,
                last_seen_at=now,
            )
        )
        await self.session.flush()
        return f"{session_id}.{key.decode()}"

    async def find(self, cookie: str, now: datetime, *, lock: bool = False) -> OpenSession | None:
        """The live session the cookie names, or None (an expired one is deleted on the way)."""
        parsed = _parse_cookie(cookie)
        if parsed is None:
            return None
        session_id, key = parsed
        query = sa.select(PortalSession).where(PortalSession.id_hash == _hash(session_id))
        row = (await self.session.execute(query.with_for_update() if lock else query)).scalar()
        if row is None:
            return None
        if now - row.last_seen_at > self.idle or now - row.created_at > self.max_age:
            await self.session.delete(row)
            return None
        tokens = _open(key, row.tokens, row.access_expires_at)
        if tokens is None:
            return None
        if now - row.last_seen_at > TOUCH_EVERY:
            row.last_seen_at = now
        return OpenSession(row.id_hash, key, row.subject, tokens)

    async def replace_tokens(self, open_session: OpenSession, tokens: Tokens) -> None:
        await self.session.execute(
            sa.update(PortalSession)
            .where(PortalSession.id_hash == open_session.id_hash)
            .values(tokens=_seal(open_session.key, tokens), access_expires_at=tokens.expires_at)
        )
        open_session.tokens = tokens

    async def end(self, cookie: str) -> None:
        parsed = _parse_cookie(cookie)
        if parsed is not None:
            await self.session.execute(
                sa.delete(PortalSession).where(PortalSession.id_hash == _hash(parsed[0]))
            )

    async def end_all(self, subject: UUID) -> None:
        await self.session.execute(sa.delete(PortalSession).where(PortalSession.subject == subject))

    async def sweep(self, now: datetime) -> int:
        """Deletes sessions past their idle or total lifetime; returns how many."""
        result = await self.session.execute(
            sa.delete(PortalSession).where(
                (PortalSession.last_seen_at < now - self.idle)
                | (PortalSession.created_at < now - self.max_age)
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

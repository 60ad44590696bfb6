"""Portal sessions on real PostgreSQL: found by their cookie only, over when idle or old, and
the table alone opens nobody's account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.portal.config import PortalSettings
from services.portal.models import PortalSession
from services.portal.sessions.store import SessionStore, Tokens

SETTINGS = PortalSettings(session_idle_minutes=30, session_max_hours=12)
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _tokens(access: str = "access-token-of-zhang") -> Tokens:
    me = {"id": str(uuid4()), "username": "zhang", "roles": ["expert"]}
    return Tokens(access, "refresh-token-of-zhang", T0 + timedelta(minutes=15), me)


async def test_a_session_opens_with_its_cookie_and_nothing_else(session: AsyncSession) -> None:
    store = SessionStore(session, SETTINGS)
    subject = uuid4()
    cookie = await store.create(subject, _tokens(), T0)

    found = await store.find(cookie, T0 + timedelta(minutes=1))
    assert found is not None
    assert (found.subject, found.tokens.access) == (subject, "access-token-of-zhang")

    session_id, _, key = cookie.partition(".")
    other_key = await store.create(uuid4(), _tokens(), T0)
    assert await store.find(f"{session_id}.{other_key.partition('.')[2]}", T0) is None
    assert await store.find(f"{'x' * len(session_id)}.{key}", T0) is None
    assert await store.find("no-dot-at-all", T0) is None


async def test_the_table_alone_holds_no_token(session: AsyncSession) -> None:
    store = SessionStore(session, SETTINGS)
    cookie = await store.create(uuid4(), _tokens("eyJhbGciOi.secret-access"), T0)
    rows = (await session.execute(sa.select(PortalSession))).scalars().all()
    assert rows
    for row in rows:
        assert b"secret-access" not in row.tokens
        assert b"refresh-token-of-zhang" not in row.tokens
        assert cookie.partition(".")[0].encode() not in row.id_hash


async def test_a_session_ends_after_idle_time_or_its_whole_lifetime(session: AsyncSession) -> None:
    store = SessionStore(session, SETTINGS)
    idle = await store.create(uuid4(), _tokens(), T0)
    assert await store.find(idle, T0 + timedelta(minutes=31)) is None
    assert await store.find(idle, T0) is None  # deleted on the way, not just hidden

    busy = await store.create(uuid4(), _tokens(), T0)
    moment = T0
    while moment < T0 + timedelta(hours=11, minutes=50):
        moment += timedelta(minutes=20)  # used every 20 minutes: never idle
        assert await store.find(busy, moment) is not None
    assert await store.find(busy, T0 + timedelta(hours=12, minutes=1)) is None


async def test_logging_out_everywhere_ends_only_that_persons_sessions(
    session: AsyncSession,
) -> None:
    store = SessionStore(session, SETTINGS)
    zhang, li = uuid4(), uuid4()
    phone = await store.create(zhang, _tokens(), T0)
    laptop = await store.create(zhang, _tokens(), T0)
    other = await store.create(li, _tokens(), T0)
    await store.end_all(zhang)
    assert await store.find(phone, T0) is None
    assert await store.find(laptop, T0) is None
    assert await store.find(other, T0) is not None


async def test_the_sweep_deletes_what_is_over(session: AsyncSession) -> None:
    store = SessionStore(session, SETTINGS)
    await store.create(uuid4(), _tokens(), T0)
    fresh = await store.create(uuid4(), _tokens(), T0 + timedelta(minutes=50))
    assert await store.sweep(T0 + timedelta(minutes=60)) >= 1
    assert await store.find(fresh, T0 + timedelta(minutes=60)) is not None

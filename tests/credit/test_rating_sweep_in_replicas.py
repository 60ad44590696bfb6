"""Every credit replica runs the rating sweep: two at once announce each level change once.

Two apps on pools of their own stand for two processes; what they write is committed. The
subjects start as the sweep finds them when a ban ends: last announced at D, due to change
today, with nothing on file any more that keeps them there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from typing import Any
from uuid import UUID

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.engine import Row

from services.credit.config import CreditSettings
from services.credit.main import create_app
from services.credit.models import RatingState, Subject, events
from services.credit.rating.sweep import sweep_once
from shared.clock import in_shanghai
from shared.ids import uuid7
from shared.testing.plugin import running_app
from tests.conftest import Clock
from tests.credit.conftest import START

SUBJECTS = 30


@contextlib.asynccontextmanager
async def replica(
    database_url: str, clock: Clock, gateway_client: httpx.AsyncClient
) -> AsyncIterator[FastAPI]:
    async def jwks() -> dict[str, Any]:
        document: dict[str, Any] = (await gateway_client.get("/.well-known/jwks.json")).json()
        return document

    settings = CreditSettings(database_url=SecretStr(database_url), rating_sweep_seconds=3600)
    app = create_app(settings, jwks_fetch=jwks)
    async with running_app(app):  # its own pool: every pass commits, as in production
        app.state.clock = clock
        yield app


async def sweep_until_done(app: FastAPI) -> None:
    while await sweep_once(app):
        pass


async def test_two_replicas_announce_each_change_once(
    database_url: str, gateway_client: httpx.AsyncClient
) -> None:
    clock = Clock(START)
    async with (
        replica(database_url, clock, gateway_client) as first,
        replica(database_url, clock, gateway_client) as second,
    ):
        subjects = [uuid7() for _ in range(SUBJECTS)]
        try:
            announced, states = await _sweep_twice(first, second, clock, subjects)
        finally:
            await _forget(first, subjects)
    assert Counter(row.payload["subject_id"] for row in announced) == dict.fromkeys(
        [str(s) for s in subjects], 1
    )
    assert {(row.payload["previous_level"], row.payload["level"]) for row in announced} == {
        ("D", "B")
    }
    assert set(states) == {("B", None)}


async def _sweep_twice(
    first: FastAPI, second: FastAPI, clock: Clock, subjects: list[UUID]
) -> tuple[Sequence[Row[Any]], Sequence[Row[Any]]]:
    """The subjects made due, both replicas' sweeps at once; what was announced and kept."""
    today = in_shanghai(clock()).date()
    async with first.state.db.sessionmaker() as session, session.begin():
        await session.execute(
            sa.insert(Subject),
            [
                {"id": s, "kind": "person", "name": f"副本测试{n}", "gateway_user_id": uuid7()}
                for n, s in enumerate(subjects)
            ],
        )
        await session.execute(
            sa.insert(RatingState),
            [{"subject_id": s, "level": "D", "score": 72, "next_change": today} for s in subjects],
        )
    clock.advance(hours=1)

    await asyncio.gather(sweep_until_done(first), sweep_until_done(second))

    async with first.state.db.sessionmaker() as session:
        announced = (
            await session.execute(
                sa.select(events.outbox.c.payload).where(
                    events.outbox.c.event_type == "credit.rating_changed",
                    events.outbox.c.aggregate_id.in_([str(s) for s in subjects]),
                )
            )
        ).all()
        states = (
            await session.execute(
                sa.select(RatingState.level, RatingState.next_change).where(
                    RatingState.subject_id.in_(subjects)
                )
            )
        ).all()
    return announced, states


async def _forget(app: FastAPI, subjects: list[UUID]) -> None:
    """What the test committed goes: other tests read every announcement in the outbox."""
    async with app.state.db.sessionmaker() as session, session.begin():
        await session.execute(
            sa.delete(events.outbox).where(
                events.outbox.c.aggregate_id.in_([str(s) for s in subjects])
            )
        )
        await session.execute(sa.delete(RatingState).where(RatingState.subject_id.in_(subjects)))
        await session.execute(sa.delete(Subject).where(Subject.id.in_(subjects)))

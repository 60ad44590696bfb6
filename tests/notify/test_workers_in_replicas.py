"""Every notify replica runs the delivery worker and the reminder worker: two at once mail each
notice once and make each reminder once.

Two apps on pools of their own stand for two processes; what they write is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import SecretStr

from services.notify.config import NotifySettings
from services.notify.delivery.worker import deliver_due
from services.notify.main import create_app
from services.notify.models import Notification
from services.notify.reminders.worker import remind_due
from shared.auth.roles import Role
from shared.testing.plugin import running_app
from tests.conftest import Clock
from tests.mail_catcher import smtp_server
from tests.notify.conftest import Notify, apply, approved, assigned

PEOPLE = 12


@contextlib.asynccontextmanager
async def replica(
    database_url: str, smtp_port: int, clock: Clock, gateway_client: httpx.AsyncClient
) -> AsyncIterator[FastAPI]:
    async def jwks() -> dict[str, Any]:
        document: dict[str, Any] = (await gateway_client.get("/.well-known/jwks.json")).json()
        return document

    settings = NotifySettings(
        database_url=SecretStr(database_url),
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_timeout_seconds=2,
        delivery_poll_seconds=3600,  # the test runs the workers' passes itself
    )
    app = create_app(settings, jwks_fetch=jwks)
    async with running_app(app):  # its own pool: every pass commits, as in production
        app.state.clock = clock
        yield app


@pytest.fixture
async def two_replicas(
    database_url: str, gateway: FastAPI, gateway_client: httpx.AsyncClient
) -> AsyncIterator[tuple[Notify, FastAPI]]:
    """The first replica (as the tests of notify know it) and a second on the same database."""
    clock = Clock(datetime.now(UTC))
    with smtp_server() as smtp:
        async with (
            replica(database_url, smtp.port, clock, gateway_client) as first,
            replica(database_url, smtp.port, clock, gateway_client) as second,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=first), base_url="http://notify"
            ) as client,
        ):
            notify = Notify(
                app=first,
                client=client,
                clock=clock,
                smtp=smtp,
                sessionmaker=first.state.db.sessionmaker,
                gateway=gateway,
            )
            yield notify, second


async def until_done(work: Callable[[FastAPI, datetime], Awaitable[int]], app: FastAPI) -> None:
    """Passes of a worker while it finds something to do, as its loop runs them."""
    while await work(app, app.state.clock()):
        pass


async def test_two_replicas_mail_each_notice_once(two_replicas: tuple[Notify, FastAPI]) -> None:
    notify, second = two_replicas
    run = uuid4().hex[:8]
    addresses = [f"pi{n}-{run}@example.org" for n in range(PEOPLE)]
    for address in addresses:
        person = await notify.person(Role.applicant, email=address)
        await apply(notify, "projects", approved(person.id))

    await asyncio.gather(until_done(deliver_due, notify.app), until_done(deliver_due, second))

    mailed = Counter(str(m["To"]) for m in notify.smtp.mailbox.received)
    assert mailed == dict.fromkeys(addresses, 1)


async def test_two_replicas_make_each_reminder_once(two_replicas: tuple[Notify, FastAPI]) -> None:
    notify, second = two_replicas
    experts = [await notify.person(Role.expert) for _ in range(PEOPLE)]
    for expert in experts:
        due = notify.clock() + timedelta(days=10)
        await apply(notify, "projects", assigned(expert.id, due_at=due, assigned_at=notify.clock()))
    notify.clock.advance(days=8, hours=1)  # two days before the reviews are due

    await asyncio.gather(until_done(remind_due, notify.app), until_done(remind_due, second))

    async with notify.sessionmaker() as session:
        reminded = (
            await session.scalars(
                sa.select(Notification.user_id).where(
                    Notification.template == "review_due_soon",
                    Notification.user_id.in_([e.id for e in experts]),
                )
            )
        ).all()
    assert Counter(reminded) == dict.fromkeys([e.id for e in experts], 1)

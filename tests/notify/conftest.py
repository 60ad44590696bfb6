"""The notify service in-process, with a real SMTP server (aiosmtpd) in the test process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notify.config import NotifySettings
from services.notify.delivery.worker import deliver_due
from services.notify.main import create_app
from services.notify.models import Channel, directory, events
from services.notify.notifications.repository import NotificationRepository
from shared.auth.roles import Role
from shared.contracts.base import EventContract
from shared.contracts.feed import EventV1
from shared.contracts.projects import ProjectApprovedV1
from shared.contracts.review import ReviewAssignedV1
from shared.ids import uuid7
from shared.testing.plugin import running_app
from tests.conftest import Clock, bearer
from tests.mail_catcher import SmtpServer, smtp_server


@dataclass
class Person:
    id: UUID
    headers: dict[str, str]


@dataclass
class Notify:
    app: FastAPI
    client: httpx.AsyncClient
    clock: Clock
    smtp: SmtpServer
    sessionmaker: async_sessionmaker[AsyncSession]
    gateway: FastAPI

    async def person(
        self,
        *roles: Role,
        org_id: UUID | None = None,
        email: str | None = "someone@example.org",
        name: str = "王芳",
    ) -> Person:
        """Someone in notify's directory (as the gateway's events would put them), with a
        token from the gateway's own issuer."""
        user_id = uuid7()
        async with self.sessionmaker() as session:
            await session.execute(
                sa.insert(directory.users).values(
                    id=user_id,
                    username=f"u-{user_id}",
                    display_name=name,
                    org_id=org_id,
                    roles=[r.value for r in roles] or [Role.applicant.value],
                    is_active=True,
                    updated_at=self.clock(),
                )
            )
            if email is not None:
                await NotificationRepository(session).set_address(
                    user_id, Channel.mail, email, True, self.clock()
                )
            await session.commit()
        token = await self.token(str(user_id), [r.value for r in roles] or ["applicant"])
        return Person(id=user_id, headers=bearer(token))

    async def token(self, subject: str, roles: list[str]) -> str:
        issuer = self.gateway.state.token_issuer
        token, _ = await issuer.access_token(
            subject=subject, audience=issuer.settings.audiences, roles=roles, extra={}
        )
        return str(token)

    async def deliver(self) -> int:
        """One pass of the delivery worker, as the service's loop runs it."""
        return await deliver_due(self.app, self.clock())

    async def call(
        self, method: str, path: str, who: Person | None, **kwargs: Any
    ) -> httpx.Response:
        headers = who.headers if who else {}
        return await self.client.request(method, path, headers=headers, **kwargs)


@pytest.fixture
async def notify(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    gateway: FastAPI,
    gateway_client: httpx.AsyncClient,
) -> AsyncIterator[Notify]:
    async def jwks() -> dict[str, Any]:
        document: dict[str, Any] = (await gateway_client.get("/.well-known/jwks.json")).json()
        return document

    with smtp_server() as smtp:
        settings = NotifySettings(
            database_url=SecretStr(database_url),
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_timeout_seconds=2,
            retry_first_seconds=30,
            max_attempts=5,
            # The tests run the worker themselves (`Notify.deliver`), on their clock.
            delivery_poll_seconds=3600,
        )
        app = create_app(settings, jwks_fetch=jwks)
        clock = Clock(datetime.now(UTC))
        async with running_app(app, sessionmaker):
            app.state.clock = clock
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://notify"
            ) as client:
                yield Notify(
                    app=app,
                    client=client,
                    clock=clock,
                    smtp=smtp,
                    sessionmaker=sessionmaker,
                    gateway=gateway,
                )


def text_of(mail: EmailMessage) -> str:
    return str(mail.get_content())


async def apply(
    notify: Notify, source: str, payload: EventContract, event_id: UUID | None = None
) -> UUID:
    """Applies one event as notify's consumer of `source` would (in its own transaction)."""
    contract = type(payload)
    envelope = EventV1(
        event_id=event_id or uuid7(),
        event_type=contract.event_type,
        aggregate_type=contract.aggregate_type,
        aggregate_id=payload.aggregate_key() or str(uuid7()),
        payload=payload.model_dump(mode="json"),
        occurred_at=notify.clock(),
        position="1:1",
    )
    subscription = notify.app.state.event_sources[source][contract.event_type]
    async with notify.sessionmaker() as session:
        await subscription.handle(session, envelope)
        await session.commit()
    return envelope.event_id


async def published(notify: Notify) -> list[tuple[str, dict[str, Any]]]:
    """What notify wrote into its outbox (its event feed), in order. Read from the table: the
    feed hands out only what committed for good, and a test's transaction never does."""
    async with notify.sessionmaker() as session:
        rows = await session.execute(
            sa.select(events.outbox.c.event_type, events.outbox.c.payload).order_by(
                events.outbox.c.id
            )
        )
        return [(row.event_type, row.payload) for row in rows]


def assigned(expert: UUID, **overrides: Any) -> ReviewAssignedV1:
    """An invitation to review (an ordinary, optional notification)."""
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "assignment_id": uuid7(),
        "expert_id": expert,
        "round_id": uuid7(),
        "round_kind": "proposal",
        "application_id": uuid7(),
        "application_title": "黄河上游生态修复关键技术研究",
        "call_id": uuid7(),
        "call_title": "2026 年度自然科学基金",
        "program_id": uuid7(),
        "due_at": now,
        "assigned_at": now,
    }
    return ReviewAssignedV1(**{**fields, **overrides})


def approved(pi: UUID, **overrides: Any) -> ProjectApprovedV1:
    """A project approved: a formal notice to its PI."""
    fields: dict[str, Any] = {
        "project_id": uuid7(),
        "project_number": "GS2026-0001",
        "application_id": uuid7(),
        "program_id": uuid7(),
        "program_code": "NSF",
        "year": 2026,
        "org_id": uuid7(),
        "pi_id": pi,
        "approved_budget_fen": 30_000_000,
    }
    return ProjectApprovedV1(**{**fields, **overrides})

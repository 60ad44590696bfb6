"""The notify service in-process, with a real SMTP server (aiosmtpd) in the test process."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notify.config import NotifySettings
from services.notify.delivery.worker import deliver_due
from services.notify.main import create_app
from services.notify.models import Channel, directory
from services.notify.notifications.repository import NotificationRepository
from shared.auth.roles import Role
from shared.ids import uuid7
from shared.testing.plugin import running_app
from tests.conftest import Clock, bearer, free_ports


@dataclass
class Mailbox:
    """What the test's SMTP server accepted; `refuse` makes it answer 550 to every recipient."""

    received: list[Message] = field(default_factory=list)
    refuse: bool = False

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.received.append(message_from_bytes(content))
        return "250 Message accepted"


@dataclass
class SmtpServer:
    """aiosmtpd on a fixed port, stopped and started again by the outage test."""

    port: int
    mailbox: Mailbox
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(port=free_ports(1)[0], mailbox=Mailbox())
    server.start()
    try:
        yield server
    finally:
        server.stop()


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


def text_of(mail: Message) -> str:
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()

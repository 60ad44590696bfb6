"""A person whose application to join the expert pool was approved (projects' `expert.admitted`)
gets the expert role from the gateway once: published as `user.updated`, written to the audit
log as a system action, and in their next token. The same event again changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.identity.admissions import SYSTEM_ACTOR, admission_handlers
from services.gateway.identity.schemas import UserUpdate
from services.gateway.identity.service import IdentityService
from services.gateway.models import AuditEntry, events
from shared.auth.roles import Role
from shared.contracts.experts import ExpertAdmittedV1
from shared.events.outbox import Event
from shared.events.parking import Outcome, apply_batch
from shared.ids import uuid7
from tests.conftest import Login, MakeUser, bearer

AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def admitted(user_id: UUID) -> Event:
    payload = ExpertAdmittedV1(
        application_id=uuid7(),
        user_id=user_id,
        decided_by=uuid7(),
        decided_at=AT,
        reason="研究方向与评审需求相符",
    )
    return Event(
        event_id=uuid7(),
        event_type=ExpertAdmittedV1.event_type,
        aggregate_type=ExpertAdmittedV1.aggregate_type,
        aggregate_id=str(payload.application_id),
        payload=payload.model_dump(mode="json"),
        occurred_at=AT,
        position="9:1",
    )


async def deliver(session: AsyncSession, *batch: Event) -> list[Outcome]:
    """As the gateway's consumer of projects' feed applies a batch."""
    outcomes = await apply_batch(
        session, events, source="projects", handlers=admission_handlers(), events=list(batch)
    )
    await session.commit()
    return outcomes


async def updates_of(session: AsyncSession, user_id: UUID) -> list[dict[str, Any]]:
    rows = await session.execute(
        sa.select(events.outbox.c.payload)
        .where(
            events.outbox.c.event_type == "user.updated",
            events.outbox.c.aggregate_id == str(user_id),
        )
        .order_by(events.outbox.c.id)
    )
    return [dict(r.payload) for r in rows]


async def system_rows(session: AsyncSession) -> list[AuditEntry]:
    return list(
        (
            await session.scalars(
                sa.select(AuditEntry)
                .where(AuditEntry.actor == SYSTEM_ACTOR)
                .order_by(AuditEntry.seq)
            )
        ).all()
    )


async def test_an_admitted_expert_gets_the_role_once(
    session: AsyncSession,
    make_user: MakeUser,
    login: Login,
    gateway_client: httpx.AsyncClient,
) -> None:
    person = await make_user(Role.applicant)
    event = admitted(person["id"])

    assert await deliver(session, event) == ["applied"]
    [update] = await updates_of(session, person["id"])
    assert sorted(update["roles"]) == ["applicant", "expert"]
    [audit] = await system_rows(session)
    assert (audit.method, audit.status) == ("EVENT", 200)
    assert str(person["id"]) in audit.path
    assert audit.request_id == f"event-{event.event_id.hex}"

    # Redelivered, or a second approval heard for someone who holds the role: nothing changes.
    assert await deliver(session, event) == ["duplicate"]
    assert await deliver(session, admitted(person["id"])) == ["applied"]
    assert len(await updates_of(session, person["id"])) == 1
    assert len(await system_rows(session)) == 1

    token = (await login(person))["access_token"]
    me = await gateway_client.get("/v1/me", headers=bearer(token))
    assert me.json()["roles"] == ["applicant", "expert"]


async def test_an_unknown_person_is_parked_not_skipped(session: AsyncSession) -> None:
    assert await deliver(session, admitted(uuid7())) == ["failed"]
    letter = (
        await session.execute(sa.select(events.dead_letters.c.error, events.dead_letters.c.source))
    ).one()
    assert letter.source == "projects"
    assert "unknown to the gateway" in letter.error


async def test_a_deactivated_person_is_not_made_an_expert(
    session: AsyncSession, make_user: MakeUser
) -> None:
    person = await make_user(Role.applicant)
    await IdentityService(session).update_user(person["id"], UserUpdate(is_active=False))
    await session.commit()
    before = len(await updates_of(session, person["id"]))

    assert await deliver(session, admitted(person["id"])) == ["applied"]  # not parked
    assert len(await updates_of(session, person["id"])) == before  # nothing granted
    user = await IdentityService(session).get_user(person["id"])
    assert [r.role for r in user.roles] == ["applicant"]
    [audit] = [r for r in await system_rows(session) if str(person["id"]) in r.path]
    assert "not granted: inactive" in audit.path
    assert audit.status == 409

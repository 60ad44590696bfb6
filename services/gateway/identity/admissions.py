"""Roles granted by another service's decision: a program manager approved a person's
application to join the expert pool (projects' `expert.admitted`), so they get the `expert` role.

The grant is published as `user.updated` like any role change, and written to the audit log as
a system action in the same transaction. The consumer's inbox makes a redelivered event a no-op;
a person who holds the role already is left alone (nothing published, nothing audited).

A deactivated person is not granted the role (approved before they left, heard after): nothing
is published, and the audit log says "not granted: inactive" (status 409) so an administrator
who reactivates them sees why they are no expert; parking the event would only hold the feed.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.audit.chain import AuditRecord, append_all
from services.gateway.audit.repository import ChainAppender
from services.gateway.identity.exceptions import UserNotFound
from services.gateway.identity.service import IdentityService
from shared.auth.roles import Role
from shared.clock import utcnow
from shared.contracts.experts import ExpertAdmittedV1
from shared.events.handlers import CannotApply, Received, Subscription, subscriptions

log = logging.getLogger(__name__)

# Who the audit log names for a change no person asked the gateway for.
SYSTEM_ACTOR = "system:projects"


async def expert_admitted(session: AsyncSession, event: Received[ExpertAdmittedV1]) -> None:
    admitted = event.payload
    identity = IdentityService(session)
    try:
        user = await identity.get_user(admitted.user_id)
    except UserNotFound as exc:
        raise CannotApply(f"user {admitted.user_id} is unknown to the gateway") from exc
    if Role.expert.value in {r.role for r in user.roles}:
        return
    about = f"user {user.id} (expert application {admitted.application_id})"
    if not user.is_active:
        log.warning(
            "%s %s: %s is deactivated, expert not granted", event.event_type, event.event_id, about
        )
        await _audit(session, event, f"role expert not granted: inactive {about}", 409)
        return
    await identity.grant_role(user.id, Role.expert, granted_by=admitted.decided_by)
    await _audit(session, event, f"role expert granted to {about}", 200)


async def _audit(
    session: AsyncSession, event: Received[ExpertAdmittedV1], what: str, status: int
) -> None:
    await append_all(
        await ChainAppender.in_session(session),
        [
            AuditRecord(
                at=utcnow(),
                actor=SYSTEM_ACTOR,
                method="EVENT",
                path=f"{event.event_type} {event.event_id}: {what}",
                status=status,
                request_id=f"event-{event.event_id.hex}",
                client_address=None,
            )
        ],
    )


def admission_handlers() -> dict[str, Subscription[Any]]:
    return subscriptions(Subscription(ExpertAdmittedV1, expert_admitted))

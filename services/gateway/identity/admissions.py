"""Roles granted by another service's decision: a program manager approved a person's
application to join the expert pool (projects' `expert.admitted`), so they get the `expert` role.

The grant is published as `user.updated` like any role change, and written to the audit log as
a system action in the same transaction. The consumer's inbox makes a redelivered event a no-op;
a person who holds the role already is left alone (nothing published, nothing audited).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.audit.chain import AuditRecord, append_all
from services.gateway.identity.exceptions import UserNotFound
from services.gateway.identity.service import IdentityService
from shared.auth.roles import Role
from shared.clock import utcnow
from shared.contracts.experts import ExpertAdmittedV1
from shared.events.handlers import CannotApply, Received, Subscription, subscriptions

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
    await identity.grant_role(user.id, Role.expert, granted_by=admitted.decided_by)
    await append_all(
        session,
        [
            AuditRecord(
                at=utcnow(),
                actor=SYSTEM_ACTOR,
                method="EVENT",
                path=(
                    f"{event.event_type} {event.event_id}: role expert granted to user "
                    f"{user.id} (expert application {admitted.application_id})"
                ),
                status=200,
                request_id=f"event-{event.event_id.hex}",
                client_address=None,
            )
        ],
    )


def admission_handlers() -> dict[str, Subscription[Any]]:
    return subscriptions(Subscription(ExpertAdmittedV1, expert_admitted))
